//! The parallel aggregation pipeline: pass A aggregates every row on every core; when
//! record ids repeat, pass B finds the repeated ids' rows and takes back all but the last.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use stackbill_core::scenario::json::{self, Document, RawUsage};
use stackbill_core::usage::parse_instant;
use stackbill_core::{Partial, Quantity, Scenario, UsageRecord};

use crate::csv::{Columns, Splitter};
use crate::error::IngestError;
use crate::fingerprint::{Fingerprints, fingerprint};
use crate::format::{Format, FormatKind};
use crate::source::{Block, BlockReader};

/// Which pass is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading and aggregating every row.
    Aggregate,
    /// Re-reading to resolve repeated record ids.
    Dedup,
}

/// How far a pass has got, in bytes of input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The pass.
    pub phase: Phase,
    /// Bytes read so far.
    pub bytes: u64,
    /// Total bytes of all files.
    pub total: u64,
}

/// A progress callback, called from the reading threads.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How to run.
#[derive(Clone, Default)]
pub struct Options {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Called after each block.
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("threads", &self.threads)
            .finish()
    }
}

/// A row that was counted as `invalid_usage`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reject {
    /// Index of the source: 0 for the scenario's own usage, then the files in order.
    pub source: usize,
    /// Physical line of the row (for the scenario's usage: the 1-based element index).
    pub line: u64,
    /// Why it is invalid.
    pub reason: String,
    /// The row as read (truncated to 512 bytes).
    pub row: String,
}

/// The merged aggregation of all sources.
#[derive(Debug)]
pub struct Ingest<'s> {
    /// Aggregates and record-level unbilled entries, ready for rating.
    pub partial: Partial<'s>,
    /// Rows read, from all sources.
    pub rows: u64,
    /// Rows counted as `invalid_usage`, in (source, line) order.
    pub rejects: Vec<Reject>,
    /// Rows taken back because a later row had the same id.
    pub superseded: u64,
    /// Source names, index-aligned with [`Reject::source`].
    pub sources: Vec<String>,
}

/// Longest raw row kept in a reject.
const REJECT_ROW_BYTES: usize = 512;

#[derive(Debug, Clone)]
struct OwnedRecord {
    id: String,
    subscription: Option<String>,
    meter: Option<String>,
    sku: Option<String>,
    start: Option<i64>,
    end: Option<i64>,
    quantity: Option<Quantity>,
    malformed: bool,
}

impl OwnedRecord {
    fn of(id: &str, r: &UsageRecord<'_>) -> Self {
        Self {
            id: id.to_owned(),
            subscription: r.subscription.map(str::to_owned),
            meter: r.meter.map(str::to_owned),
            sku: r.sku.map(str::to_owned),
            start: r.start,
            end: r.end,
            quantity: r.quantity,
            malformed: r.malformed,
        }
    }

    fn record(&self) -> UsageRecord<'_> {
        UsageRecord {
            id: Some(&self.id),
            subscription: self.subscription.as_deref(),
            meter: self.meter.as_deref(),
            sku: self.sku.as_deref(),
            start: self.start,
            end: self.end,
            quantity: self.quantity,
            malformed: self.malformed,
        }
    }
}

/// What a pass does with each row.
enum Mode<'r> {
    /// Aggregate, fingerprint ids, collect rejects.
    Aggregate,
    /// Keep the rows whose id fingerprint is repeated.
    Collect(&'r HashSet<u64>),
}

struct Worker<'s> {
    partial: Partial<'s>,
    fingerprints: Fingerprints,
    rejects: Vec<Reject>,
    /// (source, line, record) of rows with a repeated id fingerprint (pass B).
    matches: Vec<(usize, u64, OwnedRecord)>,
    rows: u64,
    splitter: Splitter,
}

impl<'s> Worker<'s> {
    fn new(scenario: &'s Scenario) -> Self {
        Self {
            partial: Partial::new(scenario),
            fingerprints: Fingerprints::default(),
            rejects: Vec::new(),
            matches: Vec::new(),
            rows: 0,
            splitter: Splitter::default(),
        }
    }

    fn row(
        &mut self,
        mode: &Mode<'_>,
        source: usize,
        line: u64,
        record: &UsageRecord<'_>,
        raw: &[u8],
    ) -> Result<(), IngestError> {
        self.rows += 1;
        match mode {
            Mode::Aggregate => {
                self.partial.push(record)?;
                if let Some(id) = record.id {
                    self.fingerprints.push(fingerprint(id));
                }
                if let Some(why) = record.invalidity() {
                    let raw = &raw[..raw.len().min(REJECT_ROW_BYTES)];
                    self.rejects.push(Reject {
                        source,
                        line,
                        reason: why.message().to_owned(),
                        row: String::from_utf8_lossy(raw).into_owned(),
                    });
                }
            }
            Mode::Collect(repeated) => {
                if let Some(id) = record.id {
                    if repeated.contains(&fingerprint(id)) {
                        self.matches
                            .push((source, line, OwnedRecord::of(id, record)));
                    }
                }
            }
        }
        Ok(())
    }

    fn block(&mut self, mode: &Mode<'_>, block: &Block) -> Result<(), IngestError> {
        match block.kind {
            FormatKind::Csv => self.csv_block(mode, block),
            FormatKind::Ndjson => self.ndjson_block(mode, block),
        }
    }

    fn csv_block(&mut self, mode: &Mode<'_>, block: &Block) -> Result<(), IngestError> {
        let data = &block.data[..];
        let Some(columns) = block.columns.as_deref() else {
            return Ok(());
        };
        let mut pos = 0;
        let mut line = block.first_line;
        let mut splitter = std::mem::take(&mut self.splitter);
        while pos < data.len() {
            let row = splitter.split(data, pos);
            let raw = &data[row.raw.0..row.raw.1];
            if !raw.iter().all(|b| b.is_ascii_whitespace()) {
                let record = csv_record(&splitter, data, columns);
                self.row(mode, block.source, line, &record, raw)?;
            }
            line += row.lines;
            pos = row.next;
        }
        self.splitter = splitter;
        Ok(())
    }

    fn ndjson_block(&mut self, mode: &Mode<'_>, block: &Block) -> Result<(), IngestError> {
        for (this, raw) in (block.first_line..).zip(block.data.split(|&b| b == b'\n')) {
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            match std::str::from_utf8(raw)
                .ok()
                .and_then(|t| json::parse_usage_line(t).ok())
            {
                Some(usage) => json::with_record(&usage, |record| {
                    self.row(mode, block.source, this, record, raw)
                })?,
                None => {
                    let record = UsageRecord {
                        malformed: true,
                        ..UsageRecord::default()
                    };
                    self.row(mode, block.source, this, &record, raw)?;
                }
            }
        }
        Ok(())
    }
}

fn text<'a>(field: Option<&'a [u8]>, malformed: &mut bool) -> Option<&'a str> {
    let f = field?;
    if f.is_empty() {
        return None;
    }
    match std::str::from_utf8(f) {
        Ok(s) => Some(s),
        Err(_) => {
            *malformed = true;
            None
        }
    }
}

fn csv_record<'a>(sp: &'a Splitter, data: &'a [u8], c: &Columns) -> UsageRecord<'a> {
    let mut malformed = sp.broken || sp.len() != c.count;
    let field = |i: usize| sp.field(data, i);
    let id = c.id.and_then(|i| text(field(i), &mut malformed));
    let subscription = text(field(c.subscription), &mut malformed);
    let meter = text(field(c.meter), &mut malformed);
    let sku = c.sku.and_then(|i| text(field(i), &mut malformed));
    let _resource = c.resource.and_then(|i| text(field(i), &mut malformed));
    let start = text(field(c.start), &mut malformed).and_then(parse_instant);
    let end = text(field(c.end), &mut malformed).and_then(parse_instant);
    let quantity = text(field(c.quantity), &mut malformed).and_then(Quantity::parse);
    UsageRecord {
        id,
        subscription,
        meter,
        sku,
        start,
        end,
        quantity,
        malformed,
    }
}

fn inline_rows<'d>(doc: &'d Document<'d>) -> impl Iterator<Item = (u64, &'d RawUsage<'d>)> + 'd {
    doc.usage()
        .iter()
        .enumerate()
        .map(|(i, u)| (i as u64 + 1, u))
}

/// Runs one pass over the inline usage and all files with `threads` workers.
fn pass<'s>(
    scenario: &'s Scenario,
    inline: Option<&Document<'_>>,
    files: &[(PathBuf, Format)],
    mode: &Mode<'_>,
    phase: Phase,
    options: &Options,
    total: u64,
) -> Result<Vec<Worker<'s>>, IngestError> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // The scenario's own usage comes first in input order; it is small, so one thread.
    let mut first = Worker::new(scenario);
    if let Some(doc) = inline {
        for (line, raw) in inline_rows(doc) {
            json::with_record(raw, |record| first.row(mode, 0, line, record, b""))?;
        }
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let reader = Mutex::new(BlockReader::new(files.to_vec(), bytes.clone()));
    let failed = Mutex::new(None);
    let mut workers: Vec<Worker<'s>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let reader = &reader;
                let failed = &failed;
                let bytes = &bytes;
                scope.spawn(move || {
                    let mut worker = Worker::new(scenario);
                    let mut buf = Vec::new();
                    loop {
                        let next = match reader.lock() {
                            Ok(mut r) => r.next_block(std::mem::take(&mut buf)),
                            Err(_) => return worker,
                        };
                        let block = match next {
                            Ok(Some(block)) => block,
                            Ok(None) => return worker,
                            Err(e) => {
                                if let Ok(mut f) = failed.lock() {
                                    f.get_or_insert(e);
                                }
                                return worker;
                            }
                        };
                        if let Err(e) = worker.block(mode, &block) {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                            return worker;
                        }
                        if let Some(progress) = &options.progress {
                            progress(Progress {
                                phase,
                                bytes: bytes.load(Ordering::Relaxed),
                                total,
                            });
                        }
                        buf = block.data;
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    workers.insert(0, first);
    Ok(workers)
}

/// Aggregates the scenario's own usage (if `inline` is given) followed by `files`, in
/// that input order, on `options.threads` cores.
pub fn aggregate<'s>(
    scenario: &'s Scenario,
    inline: Option<&Document<'_>>,
    files: &[PathBuf],
    options: &Options,
) -> Result<Ingest<'s>, IngestError> {
    let mut typed = Vec::with_capacity(files.len());
    let mut total = 0;
    for path in files {
        let format = Format::from_path(path)
            .ok_or_else(|| IngestError::UnknownFormat { path: path.clone() })?;
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        total += meta.len();
        typed.push((path.clone(), format));
    }
    let mut sources = vec!["scenario".to_owned()];
    sources.extend(files.iter().map(|p| p.display().to_string()));

    let workers = pass(
        scenario,
        inline,
        &typed,
        &Mode::Aggregate,
        Phase::Aggregate,
        options,
        total,
    )?;
    let mut partial = Partial::new(scenario);
    let mut rows = 0;
    let mut rejects = Vec::new();
    let mut fingerprints = Vec::with_capacity(workers.len());
    for w in workers {
        partial.merge(w.partial)?;
        rows += w.rows;
        rejects.extend(w.rejects);
        fingerprints.push(w.fingerprints);
    }
    rejects.sort();

    let repeated = Fingerprints::repeated(fingerprints);
    let mut superseded = 0;
    if !repeated.is_empty() {
        let mode = Mode::Collect(&repeated);
        let workers = pass(
            scenario,
            inline,
            &typed,
            &mode,
            Phase::Dedup,
            options,
            total,
        )?;
        let mut matches: Vec<(usize, u64, OwnedRecord)> =
            workers.into_iter().flat_map(|w| w.matches).collect();
        matches.sort_by_key(|(source, line, _)| (*source, *line));
        // For each id, every row but the last in input order is taken back.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, (_, _, r)) in matches.iter().enumerate() {
            last.insert(&r.id, i);
        }
        for (i, (_, _, r)) in matches.iter().enumerate() {
            if last.get(r.id.as_str()) != Some(&i) {
                partial.retract(&r.record())?;
                superseded += 1;
            }
        }
    }
    Ok(Ingest {
        partial,
        rows,
        rejects,
        superseded,
        sources,
    })
}

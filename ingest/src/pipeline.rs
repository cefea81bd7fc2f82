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
    bounds: Vec<(usize, usize)>,
    instants: Instants,
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
            bounds: Vec::new(),
            instants: Instants::default(),
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
        self.rows = self.rows.saturating_add(1);
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
                if let Some(id) = record.id
                    && repeated.contains(&fingerprint(id))
                {
                    self.matches
                        .push((source, line, OwnedRecord::of(id, record)));
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
        let Some(columns) = block.columns.as_deref() else {
            return Ok(());
        };
        if memchr::memchr(b'"', &block.data).is_none() {
            self.plain_csv_block(mode, block, columns)
        } else {
            self.quoted_csv_block(mode, block, columns)
        }
    }

    /// The common case: no quote anywhere in the block. One SIMD scan finds every comma
    /// and newline, and the block is checked for UTF-8 once instead of field by field.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "offsets stay within the buffer, whose length is far below usize::MAX; line counts are u64"
    )]
    fn plain_csv_block(
        &mut self,
        mode: &Mode<'_>,
        block: &Block,
        columns: &Columns,
    ) -> Result<(), IngestError> {
        let data = &block.data[..];
        let text = std::str::from_utf8(data).ok();
        let mut bounds = std::mem::take(&mut self.bounds);
        bounds.clear();
        let mut line = block.first_line;
        let (mut row_start, mut field_start) = (0, 0);
        let mut result = Ok(());
        let row_end = |this: &mut Self, bounds: &mut Vec<(usize, usize)>, start, end, line| {
            let raw = &data[start..end];
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            let cell = |k: usize| {
                bounds.get(k).map(|&(a, b)| match text {
                    Some(t) => t.get(a..b).map_or(Cell::Invalid, Cell::Text),
                    None => std::str::from_utf8(&data[a..b]).map_or(Cell::Invalid, Cell::Text),
                })
            };
            let record = csv_record(bounds.len(), false, columns, cell, &mut this.instants);
            this.row(mode, block.source, line, &record, raw)
        };
        for i in memchr::memchr2_iter(b',', b'\n', data) {
            if data[i] == b',' {
                bounds.push((field_start, i));
                field_start = i + 1;
                continue;
            }
            let end = if i > field_start && data[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            bounds.push((field_start, end));
            result = row_end(self, &mut bounds, row_start, end, line);
            if result.is_err() {
                break;
            }
            bounds.clear();
            line += 1;
            row_start = i + 1;
            field_start = i + 1;
        }
        if result.is_ok() && row_start < data.len() {
            bounds.push((field_start, data.len()));
            result = row_end(self, &mut bounds, row_start, data.len(), line);
        }
        self.bounds = bounds;
        result
    }

    #[expect(
        clippy::arithmetic_side_effects,
        reason = "offsets stay within the buffer, whose length is far below usize::MAX; line counts are u64"
    )]
    fn quoted_csv_block(
        &mut self,
        mode: &Mode<'_>,
        block: &Block,
        columns: &Columns,
    ) -> Result<(), IngestError> {
        let data = &block.data[..];
        let mut pos = 0;
        let mut line = block.first_line;
        let mut splitter = std::mem::take(&mut self.splitter);
        let mut result = Ok(());
        while pos < data.len() {
            let row = splitter.split(data, pos);
            let raw = &data[row.raw.0..row.raw.1];
            if !raw.iter().all(u8::is_ascii_whitespace) {
                let cell = |k: usize| {
                    splitter
                        .field(data, k)
                        .map(|f| std::str::from_utf8(f).map_or(Cell::Invalid, Cell::Text))
                };
                let record = csv_record(
                    splitter.len(),
                    splitter.broken,
                    columns,
                    cell,
                    &mut self.instants,
                );
                result = self.row(mode, block.source, line, &record, raw);
                if result.is_err() {
                    break;
                }
            }
            line += row.lines;
            pos = row.next;
        }
        self.splitter = splitter;
        result
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

/// One CSV field's text.
enum Cell<'a> {
    Text(&'a str),
    /// Not UTF-8.
    Invalid,
}

/// The previous row's start and end texts with their parsed values: rows of one
/// collection hour share them, and comparing 20 bytes is cheaper than parsing.
#[derive(Debug, Default)]
struct Instants {
    start: (String, Option<i64>),
    end: (String, Option<i64>),
}

fn cached_instant(cache: &mut (String, Option<i64>), text: &str) -> Option<i64> {
    if cache.0 != text {
        cache.0.clear();
        cache.0.push_str(text);
        cache.1 = parse_instant(text);
    }
    cache.1
}

fn csv_record<'a>(
    count: usize,
    broken: bool,
    c: &Columns,
    cell: impl Fn(usize) -> Option<Cell<'a>>,
    instants: &mut Instants,
) -> UsageRecord<'a> {
    let mut malformed = broken || count != c.count;
    let mut text = |i: usize| match cell(i) {
        Some(Cell::Text("")) | None => None,
        Some(Cell::Text(t)) => Some(t),
        Some(Cell::Invalid) => {
            malformed = true;
            None
        }
    };
    let id = c.id.and_then(&mut text);
    let subscription = text(c.subscription);
    let meter = text(c.meter);
    let sku = c.sku.and_then(&mut text);
    let _resource = c.resource.and_then(&mut text);
    let start = text(c.start).and_then(|t| cached_instant(&mut instants.start, t));
    let end = text(c.end).and_then(|t| cached_instant(&mut instants.end, t));
    let quantity = text(c.quantity).and_then(Quantity::parse);
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
        .map(|(i, u)| ((i as u64).saturating_add(1), u))
}

/// The text a panic carried, if any.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
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
    first.fingerprints.sort();
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
                            Ok(None) => {
                                worker.fingerprints.sort();
                                return worker;
                            }
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
        handles
            .into_iter()
            .map(|h| {
                h.join().map_err(|panic| IngestError::WorkerPanicked {
                    message: panic_message(panic.as_ref()),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
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
    let mut total: u64 = 0;
    for path in files {
        let format = Format::from_path(path)
            .ok_or_else(|| IngestError::UnknownFormat { path: path.clone() })?;
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        total = total.saturating_add(meta.len());
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
    let mut rows: u64 = 0;
    let mut rejects = Vec::new();
    let mut fingerprints = Vec::with_capacity(workers.len());
    for w in workers {
        partial.merge(w.partial)?;
        rows = rows.saturating_add(w.rows);
        rejects.extend(w.rejects);
        fingerprints.push(w.fingerprints);
    }
    rejects.sort();

    let repeated = Fingerprints::repeated(fingerprints);
    let mut superseded: u64 = 0;
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
                superseded = superseded.saturating_add(1);
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

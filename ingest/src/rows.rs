//! Reading usage files row by row as text, for stores that keep each record exactly as it
//! was reported (`stackbill usage import`). Rating uses the parallel pipeline instead.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use stackbill_core::scenario::json::{self, UsageText};

use crate::csv::{Columns, Splitter};
use crate::error::IngestError;
use crate::format::{Format, FormatKind};
use crate::source::BlockReader;

/// One row of a usage file, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowText {
    /// Physical line number of the row.
    pub line: u64,
    /// Its fields; `malformed` when the row could not be split or a field is not UTF-8.
    pub text: UsageText,
}

fn csv_row(sp: &Splitter, data: &[u8], c: &Columns) -> UsageText {
    let mut malformed = sp.broken || sp.len() != c.count;
    let mut field = |i: Option<usize>| -> Option<String> {
        let raw = sp.field(data, i?)?;
        if raw.is_empty() {
            return None;
        }
        match std::str::from_utf8(raw) {
            Ok(s) => Some(s.to_owned()),
            Err(_) => {
                malformed = true;
                None
            }
        }
    };
    let id = field(c.id);
    let subscription = field(Some(c.subscription));
    let meter = field(Some(c.meter));
    let sku = field(c.sku);
    let resource = field(c.resource);
    let start = field(Some(c.start));
    let end = field(Some(c.end));
    let quantity = field(Some(c.quantity));
    UsageText {
        id,
        subscription,
        meter,
        sku,
        resource,
        start,
        end,
        quantity,
        malformed,
    }
}

/// Calls `f` with every row of `path` in order, and `progress` with the bytes read so far
/// after each block. Stops at the first error `f` returns.
pub fn read_rows<E: From<IngestError>>(
    path: &Path,
    bytes: Arc<AtomicU64>,
    mut f: impl FnMut(RowText) -> Result<(), E>,
    mut progress: impl FnMut(u64),
) -> Result<(), E> {
    let format = Format::from_path(path).ok_or_else(|| IngestError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    let mut reader = BlockReader::new(vec![(path.to_path_buf(), format)], bytes.clone());
    let mut buf = Vec::new();
    let mut splitter = Splitter::default();
    while let Some(block) = reader.next_block(std::mem::take(&mut buf))? {
        let data = &block.data[..];
        let line = block.first_line;
        match (block.kind, block.columns.as_deref()) {
            (FormatKind::Csv, Some(columns)) => {
                let mut line = line;
                let mut pos = 0;
                while pos < data.len() {
                    let row = splitter.split(data, pos);
                    if !data[row.raw.0..row.raw.1]
                        .iter()
                        .all(u8::is_ascii_whitespace)
                    {
                        f(RowText {
                            line,
                            text: csv_row(&splitter, data, columns),
                        })?;
                    }
                    line = line.saturating_add(row.lines);
                    pos = row.next;
                }
            }
            _ => {
                for (this, raw) in (line..).zip(data.split(|&b| b == b'\n')) {
                    if raw.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let text = std::str::from_utf8(raw)
                        .ok()
                        .and_then(|t| json::parse_usage_line(t).ok())
                        .map_or(
                            UsageText {
                                malformed: true,
                                ..UsageText::default()
                            },
                            |u| u.text(),
                        );
                    f(RowText { line: this, text })?;
                }
            }
        }
        progress(bytes.load(std::sync::atomic::Ordering::Relaxed));
        buf = block.data;
    }
    Ok(())
}

//! Cutting usage files into record-aligned blocks for the workers.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::csv::{Columns, Splitter, last_record_end};
use crate::error::IngestError;
use crate::format::{Format, FormatKind};

/// Bytes handed to a worker at a time.
const BLOCK: usize = 4 << 20;

/// A record-aligned piece of one file.
#[derive(Debug)]
pub(crate) struct Block {
    /// Index of the file (1-based: 0 is the scenario's inline usage).
    pub(crate) source: usize,
    /// Physical line number of the block's first byte.
    pub(crate) first_line: u64,
    pub(crate) data: Vec<u8>,
    pub(crate) kind: FormatKind,
    /// The file's CSV header mapping.
    pub(crate) columns: Option<Arc<Columns>>,
}

/// Counts bytes read from the underlying file, for progress.
struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Open {
    source: usize,
    path: PathBuf,
    kind: FormatKind,
    reader: Box<dyn Read + Send>,
    carry: Vec<u8>,
    line: u64,
    eof: bool,
    columns: Option<Arc<Columns>>,
}

/// Reads files one after the other, handing out blocks.
pub(crate) struct BlockReader {
    files: Vec<(PathBuf, Format)>,
    next: usize,
    current: Option<Open>,
    bytes: Arc<AtomicU64>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl BlockReader {
    pub(crate) fn new(files: Vec<(PathBuf, Format)>, bytes: Arc<AtomicU64>) -> Self {
        Self {
            files,
            next: 0,
            current: None,
            bytes,
        }
    }

    fn open(&mut self) -> Result<bool, IngestError> {
        let Some((path, format)) = self.files.get(self.next).cloned() else {
            return Ok(false);
        };
        self.next = self.next.saturating_add(1);
        let file = File::open(&path).map_err(io(&path))?;
        let counting = Counting {
            inner: file,
            bytes: self.bytes.clone(),
        };
        let reader: Box<dyn Read + Send> = if format.gzip {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
                1 << 20,
                counting,
            )))
        } else {
            Box::new(counting)
        };
        let mut open = Open {
            source: self.next,
            path,
            kind: format.kind,
            reader,
            carry: Vec::new(),
            line: 1,
            eof: false,
            columns: None,
        };
        if format.kind == FormatKind::Csv {
            read_header(&mut open)?;
        }
        self.current = Some(open);
        Ok(true)
    }

    /// The next block, filling `buf` (whose allocation is reused); `None` at the end.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "offsets stay within the buffer, whose length is far below usize::MAX; line counts are u64"
    )]
    pub(crate) fn next_block(&mut self, mut buf: Vec<u8>) -> Result<Option<Block>, IngestError> {
        loop {
            if self.current.is_none() && !self.open()? {
                return Ok(None);
            }
            let Some(open) = self.current.as_mut() else {
                continue;
            };
            buf.clear();
            buf.append(&mut open.carry);
            let mut want = BLOCK;
            let end = loop {
                while !open.eof && buf.len() < want {
                    let len = buf.len();
                    buf.resize(want.max(len + 64 * 1024), 0);
                    let n = open.reader.read(&mut buf[len..]).map_err(io(&open.path))?;
                    buf.truncate(len + n);
                    if n == 0 {
                        open.eof = true;
                    }
                }
                if open.eof {
                    break buf.len();
                }
                let found = match open.kind {
                    FormatKind::Csv => last_record_end(&buf),
                    FormatKind::Ndjson => memchr::memrchr(b'\n', &buf).map(|i| i + 1),
                };
                match found {
                    Some(end) => break end,
                    // One record longer than a block: read on.
                    None => want = buf.len() * 2,
                }
            };
            open.carry.extend_from_slice(&buf[end..]);
            buf.truncate(end);
            if buf.is_empty() {
                if open.eof {
                    self.current = None;
                }
                continue;
            }
            let first_line = open.line;
            open.line += bytecount::count(&buf, b'\n') as u64;
            return Ok(Some(Block {
                source: open.source,
                first_line,
                data: buf,
                kind: open.kind,
                columns: open.columns.clone(),
            }));
        }
    }
}

fn read_header(open: &mut Open) -> Result<(), IngestError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = last_record_end(&buf) {
            // The header is the first record, not the last complete one.
            let mut sp = Splitter::default();
            let row = sp.split(&buf, 0);
            let _ = end;
            break row.next;
        }
        let n = open.reader.read(&mut chunk).map_err(io(&open.path))?;
        if n == 0 {
            open.eof = true;
            break buf.len();
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if buf.is_empty() {
        return Err(IngestError::Header {
            path: open.path.clone(),
            message: "the file is empty (a header line is required)".into(),
        });
    }
    let mut sp = Splitter::default();
    let row = sp.split(&buf[..end], 0);
    let fields: Vec<&[u8]> = (0..sp.len()).filter_map(|i| sp.field(&buf, i)).collect();
    let columns = Columns::from_header(&fields).map_err(|message| IngestError::Header {
        path: open.path.clone(),
        message,
    })?;
    open.line = open.line.saturating_add(row.lines);
    open.columns = Some(Arc::new(columns));
    open.carry = buf[end..].to_vec();
    Ok(())
}

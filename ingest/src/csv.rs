//! RFC 4180 rows: a fast path for rows without quotes, a full state machine otherwise.

use memchr::{memchr, memchr_iter};

/// Where each usage field sits in a row, from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Columns {
    pub(crate) id: Option<usize>,
    pub(crate) subscription: usize,
    pub(crate) meter: usize,
    pub(crate) sku: Option<usize>,
    pub(crate) resource: Option<usize>,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) quantity: usize,
    /// Number of fields every row must have.
    pub(crate) count: usize,
}

impl Columns {
    /// Maps header names (case-insensitive, trimmed) to positions.
    pub(crate) fn from_header(fields: &[&[u8]]) -> Result<Columns, String> {
        let names: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let required = |name: &str| {
            find(name).ok_or_else(|| {
                format!(
                    "no {name:?} column (expected id,subscription,meter,sku,resource,start,end,quantity; found {})",
                    names.join(",")
                )
            })
        };
        Ok(Columns {
            id: find("id"),
            subscription: required("subscription")?,
            meter: required("meter")?,
            sku: find("sku"),
            resource: find("resource"),
            start: required("start")?,
            end: required("end")?,
            quantity: required("quantity")?,
            count: names.len(),
        })
    }
}

/// Splits rows, reusing its buffers across rows.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    /// Unescaped field text for quoted rows.
    scratch: Vec<u8>,
    /// Field bounds, into the row (fast path) or into `scratch` (quoted path).
    bounds: Vec<(usize, usize)>,
    quoted: bool,
    /// The row broke RFC 4180 (a stray or unterminated quote).
    pub(crate) broken: bool,
    /// The row ended because the data did, not at a line end (inside a quoted field, or
    /// a last line without a newline): it may go on in the next bytes.
    truncated: bool,
}

/// One split row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// Offset just past the row's line end.
    pub(crate) next: usize,
    /// Physical lines the row spans (more than one with quoted newlines).
    pub(crate) lines: u64,
    /// The row's raw bytes, line end excluded.
    pub(crate) raw: (usize, usize),
}

impl Splitter {
    /// Number of fields of the last row split.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Field `i` of the last row split from `data`.
    pub(crate) fn field<'a>(&'a self, data: &'a [u8], i: usize) -> Option<&'a [u8]> {
        let &(a, b) = self.bounds.get(i)?;
        Some(if self.quoted {
            &self.scratch[a..b]
        } else {
            &data[a..b]
        })
    }

    /// Splits the row starting at `pos` (which must be < `data.len()`).
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "offsets stay within the buffer, whose length is far below usize::MAX; line counts are u64"
    )]
    pub(crate) fn split(&mut self, data: &[u8], pos: usize) -> Row {
        self.bounds.clear();
        self.broken = false;
        self.truncated = false;
        let line_end = memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        if memchr(b'"', &data[pos..line_end]).is_none() {
            self.quoted = false;
            let end = if line_end > pos && data[line_end - 1] == b'\r' {
                line_end - 1
            } else {
                line_end
            };
            let mut start = pos;
            for comma in memchr_iter(b',', &data[pos..end]) {
                self.bounds.push((start, pos + comma));
                start = pos + comma + 1;
            }
            self.bounds.push((start, end));
            return Row {
                next: (line_end + 1).min(data.len()),
                lines: 1,
                raw: (pos, end),
            };
        }
        self.split_quoted(data, pos)
    }

    #[expect(
        clippy::arithmetic_side_effects,
        reason = "offsets stay within the buffer, whose length is far below usize::MAX; line counts are u64"
    )]
    fn split_quoted(&mut self, data: &[u8], pos: usize) -> Row {
        self.quoted = true;
        self.scratch.clear();
        let mut i = pos;
        let mut lines = 1;
        let mut field_start = 0;
        loop {
            // At the start of a field.
            if data.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match data.get(i) {
                        None => {
                            self.broken = true; // unterminated quote
                            break;
                        }
                        Some(b'"') if data.get(i + 1) == Some(&b'"') => {
                            self.scratch.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            if c == b'\n' {
                                lines += 1;
                            }
                            self.scratch.push(c);
                            i += 1;
                        }
                    }
                }
            }
            // Unquoted text, or whatever follows a closing quote.
            while let Some(&c) = data.get(i) {
                if c == b',' || c == b'\n' || (c == b'\r' && data.get(i + 1) == Some(&b'\n')) {
                    break;
                }
                if c == b'"' || (self.scratch.len() > field_start && data[i - 1] == b'"') {
                    self.broken = true;
                }
                self.scratch.push(c);
                i += 1;
            }
            self.bounds.push((field_start, self.scratch.len()));
            field_start = self.scratch.len();
            match data.get(i) {
                Some(b',') => i += 1,
                Some(b'\r') => {
                    let raw_end = i;
                    return Row {
                        next: (i + 2).min(data.len()),
                        lines,
                        raw: (pos, raw_end),
                    };
                }
                Some(b'\n') => {
                    return Row {
                        next: i + 1,
                        lines,
                        raw: (pos, i),
                    };
                }
                _ => {
                    self.truncated = true;
                    return Row {
                        next: data.len(),
                        lines,
                        raw: (pos, data.len()),
                    };
                }
            }
        }
    }
}

/// The end of the last complete record in `data` (which starts at a record), or `None`
/// if there is none. With no quote in the data that is just past the last newline;
/// otherwise the rows are split exactly as the workers will split them, so a block cut
/// here reads the same rows as the whole file (a stray quote inside an unquoted field is
/// literal text there, and must not count as opening a quoted section here).
pub(crate) fn last_record_end(data: &[u8]) -> Option<usize> {
    if memchr(b'"', data).is_none() {
        return memchr::memrchr(b'\n', data).map(|i| i.saturating_add(1));
    }
    let mut splitter = Splitter::default();
    let mut last = None;
    let mut pos = 0;
    while pos < data.len() {
        let row = splitter.split(data, pos);
        let complete = !splitter.truncated && data.get(row.next.wrapping_sub(1)) == Some(&b'\n');
        if !complete || row.next <= pos {
            break;
        }
        last = Some(row.next);
        pos = row.next;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> (Vec<String>, Row, bool) {
        let mut sp = Splitter::default();
        let row = sp.split(s.as_bytes(), 0);
        let f = (0..sp.len())
            .map(|i| String::from_utf8(sp.field(s.as_bytes(), i).unwrap().to_vec()).unwrap())
            .collect();
        (f, row, sp.broken)
    }

    #[test]
    fn plain_rows() {
        let (f, row, broken) = fields("a,b,,d\nnext");
        assert_eq!(f, ["a", "b", "", "d"]);
        assert_eq!((row.next, row.lines, broken), (7, 1, false));
        let (f, row, _) = fields("a,b\r\n");
        assert_eq!(f, ["a", "b"]);
        assert_eq!(row.next, 5);
    }

    #[test]
    fn quoted_rows() {
        let (f, row, broken) = fields("\"a,1\",\"say \"\"hi\"\"\",\"two\nlines\",x\r\nnext");
        assert_eq!(f, ["a,1", "say \"hi\"", "two\nlines", "x"]);
        assert_eq!(row.lines, 2);
        assert!(!broken);
        let (_, _, broken) = fields("\"unterminated,x\n");
        assert!(broken);
        let (_, _, broken) = fields("a\"b,c\n");
        assert!(broken);
        let (f, _, broken) = fields("\"a\"x,c\n");
        assert!(broken);
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn record_ends_respect_quotes() {
        assert_eq!(last_record_end(b"a\nb\nc"), Some(4));
        assert_eq!(last_record_end(b"abc"), None);
        assert_eq!(last_record_end(b"a\n\"b\nc"), Some(2));
        assert_eq!(last_record_end(b"a\n\"b\nc\"\nd"), Some(8));
        // Found by fuzzing: a quote inside an unquoted field is literal, so the quote that
        // follows opens a quoted field running over the newline; quote parity alone cut
        // the record there and split it differently from the whole file.
        assert_eq!(last_record_end(b"u,4\",\"s\n2\"x,x\ny,z\n"), Some(18));
        assert_eq!(last_record_end(b"u,4\",\"s\n2"), None);
    }

    #[test]
    fn header_mapping() {
        let c = Columns::from_header(&[b"quantity", b"End", b"start", b"meter", b"subscription"])
            .unwrap();
        assert_eq!((c.quantity, c.end, c.id, c.count), (0, 1, None, 5));
        assert!(
            Columns::from_header(&[b"id", b"meter"])
                .unwrap_err()
                .contains("subscription")
        );
    }
}

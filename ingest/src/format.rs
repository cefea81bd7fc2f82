//! Usage file formats, chosen by file name.

use std::path::Path;

/// The row syntax of a usage file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    /// RFC 4180 CSV with the header `id,subscription,meter,sku,resource,start,end,quantity`
    /// (any column order; `id`, `sku` and `resource` optional; extra columns ignored).
    Csv,
    /// One JSON usage object per line, fields as in the scenario's `usage`.
    Ndjson,
}

/// A usage file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Row syntax.
    pub kind: FormatKind,
    /// Whether the file is gzip-compressed.
    pub gzip: bool,
}

impl Format {
    /// `.csv`, `.ndjson` / `.jsonl`, each optionally followed by `.gz`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (stem, gzip) = match name.strip_suffix(".gz") {
            Some(stem) => (stem.to_owned(), true),
            None => (name, false),
        };
        let kind = if stem.ends_with(".csv") {
            FormatKind::Csv
        } else if stem.ends_with(".ndjson") || stem.ends_with(".jsonl") {
            FormatKind::Ndjson
        } else {
            return None;
        };
        Some(Format { kind, gzip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension() {
        let f = |p: &str| Format::from_path(Path::new(p));
        assert_eq!(
            f("a.csv"),
            Some(Format {
                kind: FormatKind::Csv,
                gzip: false
            })
        );
        assert_eq!(
            f("a.CSV.gz"),
            Some(Format {
                kind: FormatKind::Csv,
                gzip: true
            })
        );
        assert_eq!(
            f("dir/a.ndjson"),
            Some(Format {
                kind: FormatKind::Ndjson,
                gzip: false
            })
        );
        assert_eq!(
            f("a.jsonl.gz"),
            Some(Format {
                kind: FormatKind::Ndjson,
                gzip: true
            })
        );
        assert_eq!(f("a.json"), None);
        assert_eq!(f("a.gz"), None);
    }
}

//! Exports: billing data as files people open elsewhere — CSV for bulk and for tools, XLSX
//! for people — written from one [`Table`] so both formats carry the same cells.
//!
//! CSV keeps every number exactly as the engine wrote it (a decimal string, never a float);
//! a text cell that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or
//! carriage return) is neutralised with a leading `'`. XLSX writes numbers as numbers (money
//! with its currency's decimals as the number format) and dates as dates; text is always a
//! string cell, so it can never become a formula there. XLSX numbers are IEEE doubles: CSV
//! is the exact form. This crate does no I/O beyond the writer it is given.

mod csv_out;
mod table;
mod xlsx_out;

pub use table::{Cell, Table};

/// A file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV, UTF-8, CRLF line ends, a header row.
    Csv,
    /// An Excel 2007+ workbook: a bold, frozen header row and one sheet per 1,048,575 rows.
    Xlsx,
}

impl Format {
    /// The format named `csv` or `xlsx` (any case).
    pub fn from_name(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The format a media type asks for (`text/csv`, the XLSX media type).
    pub fn from_media_type(media: &str) -> Option<Format> {
        let essence = media.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case(Format::Csv.media_type()) {
            Some(Format::Csv)
        } else if essence.eq_ignore_ascii_case(Format::Xlsx.media_type()) {
            Some(Format::Xlsx)
        } else {
            None
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// The media type (without parameters).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A row does not have one cell per column (a bug in the caller).
    #[error("row {row} of {table:?} has {got} cells for {expected} columns")]
    Width {
        /// The table's title.
        table: String,
        /// 0-based row index.
        row: usize,
        /// Columns of the table.
        expected: usize,
        /// Cells in the row.
        got: usize,
    },
    /// A cell cannot be written in this format (a date outside Excel's range, a table
    /// wider than a sheet).
    #[error("{0}")]
    Unwritable(String),
    /// The writer failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// `table` in `format`, as bytes.
pub fn write(table: &Table, format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Csv => {
            let mut out = Vec::new();
            csv_out::write(table, &mut out)?;
            Ok(out)
        }
        Format::Xlsx => xlsx_out::write(table, xlsx_out::SHEET_ROWS),
    }
}

/// `table` as CSV into `out`, row by row (for streaming a large export).
pub fn write_csv(table: &Table, out: impl std::io::Write) -> Result<(), ExportError> {
    csv_out::write(table, out)
}

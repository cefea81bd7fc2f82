//! XLSX: one sheet per [`SHEET_ROWS`] rows under a bold, frozen header; money as numbers
//! with its currency's decimals, dates as dates, text always as string cells.

use std::collections::BTreeMap;

use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::table::at_scale;
use crate::{Cell, ExportError, Table};

/// Data rows per sheet: Excel's 1,048,576 rows less the header.
pub(crate) const SHEET_ROWS: usize = 1_048_575;

/// Excel's sheet name limit, in characters.
const NAME_CHARS: usize = 31;

struct Formats {
    header: Format,
    date: Format,
    money: BTreeMap<u32, Format>,
}

impl Formats {
    fn money(&mut self, decimals: u32) -> &Format {
        self.money.entry(decimals).or_insert_with(|| {
            let places = "0".repeat(usize::try_from(decimals).unwrap_or(0));
            let pattern = if places.is_empty() {
                "#,##0".to_owned()
            } else {
                format!("#,##0.{places}")
            };
            Format::new().set_num_format(pattern)
        })
    }
}

/// `table` as a workbook, starting a new sheet after every `per_sheet` rows.
pub(crate) fn write(table: &Table, per_sheet: usize) -> Result<Vec<u8>, ExportError> {
    let mut book = Workbook::new();
    let mut formats = Formats {
        header: Format::new().set_bold(),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        money: BTreeMap::new(),
    };
    let chunks: Vec<&[Vec<Cell>]> = if table.rows().is_empty() {
        vec![&[]]
    } else {
        table.rows().chunks(per_sheet.max(1)).collect()
    };
    for (n, rows) in chunks.iter().enumerate() {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(table.title(), n)).map_err(xlsx)?;
        write_sheet(sheet, table.headers(), rows, &mut formats).map_err(xlsx)?;
    }
    book.save_to_buffer().map_err(xlsx)
}

fn write_sheet(
    sheet: &mut Worksheet,
    headers: &[String],
    rows: &[Vec<Cell>],
    formats: &mut Formats,
) -> Result<(), XlsxError> {
    for (c, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, column(c)?, header, &formats.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r)
            .ok()
            .and_then(|r| r.checked_add(1))
            .ok_or(XlsxError::RowColumnLimitError)?;
        for (c, cell) in row.iter().enumerate() {
            let c = column(c)?;
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => {
                    sheet.write_string(r, c, text)?;
                }
                Cell::Money { amount, decimals } => {
                    let value = float(at_scale(*amount, *decimals));
                    let format = formats.money(*decimals);
                    sheet.write_number_with_format(r, c, value, format)?;
                }
                Cell::Number(value) => {
                    sheet.write_number(r, c, float(*value))?;
                }
                Cell::Integer(value) => {
                    // Counts and line numbers: far below 2^53, exact as doubles.
                    #[allow(clippy::cast_precision_loss)]
                    sheet.write_number(r, c, *value as f64)?;
                }
                Cell::Date(date) => {
                    let year = u16::try_from(date.year())
                        .map_err(|_| XlsxError::DateTimeRangeError(date.to_string()))?;
                    // Month 1–12 and day 1–31 always fit a u8.
                    let month = u8::try_from(date.month()).unwrap_or(u8::MAX);
                    let day = u8::try_from(date.day()).unwrap_or(u8::MAX);
                    let value = ExcelDateTime::from_ymd(year, month, day)?;
                    sheet.write_datetime_with_format(r, c, &value, &formats.date)?;
                }
            }
        }
    }
    sheet.autofit();
    Ok(())
}

fn column(c: usize) -> Result<u16, XlsxError> {
    u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)
}

/// The nearest double; every decimal the engine stores is within its range.
fn float(value: rust_decimal::Decimal) -> f64 {
    value.to_f64().unwrap_or(f64::NAN)
}

/// The title as a valid sheet name (no `[]:*?/\`, at most 31 characters, not starting or
/// ending with `'`), numbered from the second sheet on.
fn sheet_name(title: &str, n: usize) -> String {
    let suffix = if n == 0 {
        String::new()
    } else {
        format!(" ({})", n.saturating_add(1))
    };
    let room = NAME_CHARS.saturating_sub(suffix.chars().count());
    let clean: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(room)
        .collect();
    let clean = clean.trim().trim_matches('\'').trim();
    let clean = if clean.trim().is_empty() {
        "Export"
    } else {
        clean
    };
    format!("{clean}{suffix}")
}

fn xlsx(e: XlsxError) -> ExportError {
    ExportError::Unwritable(format!("XLSX: {e}"))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx};
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use super::*;

    fn sheets(bytes: Vec<u8>) -> Vec<(String, Vec<Vec<Data>>)> {
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an XLSX");
        let names = book.sheet_names();
        names
            .into_iter()
            .map(|name| {
                let range = book.worksheet_range(&name).expect("sheet");
                (name, range.rows().map(<[Data]>::to_vec).collect())
            })
            .collect()
    }

    #[test]
    fn cells_read_back_as_what_they_are() {
        let mut t = Table::new(
            "Invoices 2026-01",
            &["name", "total", "qty", "lines", "due"],
        );
        t.push(vec![
            Cell::text("=cmd|' /C calc'!A0"),
            Cell::Money {
                amount: Decimal::new(12345, 3),
                decimals: 3,
            },
            Cell::Number(Decimal::new(15, 1)),
            Cell::Integer(200),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 2, 28).expect("date")),
        ])
        .expect("row");
        t.push(vec![
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ])
        .expect("row");
        let got = sheets(write(&t, SHEET_ROWS).expect("xlsx"));
        assert_eq!(got.len(), 1);
        let (name, rows) = &got[0];
        assert_eq!(name, "Invoices 2026-01");
        assert_eq!(rows[0][0], Data::String("name".into()));
        assert_eq!(rows[1][0], Data::String("=cmd|' /C calc'!A0".into()));
        assert_eq!(rows[1][1], Data::Float(12.345));
        assert_eq!(rows[1][2], Data::Float(1.5));
        assert_eq!(rows[1][3], Data::Float(200.0));
        match &rows[1][4] {
            Data::DateTime(d) => assert_eq!(
                d.as_datetime().map(|t| t.date()),
                NaiveDate::from_ymd_opt(2026, 2, 28)
            ),
            other => panic!("a date cell, got {other:?}"),
        }
        assert!(
            rows.get(2)
                .is_none_or(|r| r.iter().all(|c| *c == Data::Empty))
        );
    }

    #[test]
    fn long_tables_continue_on_numbered_sheets_and_names_are_made_valid() {
        let mut t = Table::new("Lines: a/b [all] of a very long title indeed", &["n"]);
        for n in 0..5 {
            t.push(vec![Cell::Integer(n)]).expect("row");
        }
        let got = sheets(write(&t, 2).expect("xlsx"));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Lines_ a_b _all_ of a very long",
                "Lines_ a_b _all_ of a very (2)",
                "Lines_ a_b _all_ of a very (3)"
            ]
        );
        let counts: Vec<usize> = got.iter().map(|(_, rows)| rows.len()).collect();
        assert_eq!(counts, [3, 3, 2], "a header on every sheet");
        let empty = sheets(write(&Table::new("''", &["a"]), 2).expect("xlsx"));
        assert_eq!(empty[0].0, "Export");
        assert_eq!(empty[0].1.len(), 1);
    }
}

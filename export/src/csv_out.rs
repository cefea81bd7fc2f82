//! CSV: RFC 4180 with a header row, quoting only where needed, CRLF line ends.

use std::io::Write;

use crate::{ExportError, Table};

pub(crate) fn write(table: &Table, out: impl Write) -> Result<(), ExportError> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(table.headers()).map_err(io)?;
    let mut record = Vec::with_capacity(table.headers().len());
    for row in table.rows() {
        record.clear();
        record.extend(row.iter().map(crate::Cell::csv_text));
        w.write_record(&record).map_err(io)?;
    }
    w.flush()?;
    Ok(())
}

/// The csv crate reports writer failures as its own error; they are I/O failures here
/// (every record has the table's width, checked when it was pushed).
fn io(e: csv::Error) -> ExportError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => ExportError::Io(e),
        other => ExportError::Unwritable(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use crate::{Cell, Format, Table, write};

    #[test]
    fn quotes_only_what_needs_quoting_and_reads_back() {
        let mut t = Table::new("Invoices", &["tenant", "total"]);
        let total = Cell::Money {
            amount: Decimal::new(1250, 2),
            decimals: 2,
        };
        for name in [
            "Contoso",
            "Fabrikam, Inc.",
            "say \"hi\"",
            "two\nlines",
            "نور",
            "株式会社",
        ] {
            t.push(vec![Cell::text(name), total.clone()]).expect("row");
        }
        let bytes = write(&t, Format::Csv).expect("csv");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(text.starts_with("tenant,total\r\nContoso,12.50\r\n\"Fabrikam, Inc.\",12.50\r\n"));
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let names: Vec<String> = reader
            .records()
            .map(|r| r.expect("record")[0].to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "Contoso",
                "Fabrikam, Inc.",
                "say \"hi\"",
                "two\nlines",
                "نور",
                "株式会社"
            ]
        );
    }
}

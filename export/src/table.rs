//! The table every export is written from: a title, column headers and typed cells.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::ExportError;

/// One cell, typed so each format can write it as what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Nothing (an absent optional value).
    Empty,
    /// Text, written as text in every format.
    Text(String),
    /// An amount of money shown with its currency's `decimals` (2 for USD, 3 for KWD).
    Money {
        /// The amount, already rounded by the engine.
        amount: Decimal,
        /// Minor-unit digits of its currency.
        decimals: u32,
    },
    /// An exact decimal (a quantity, a rate, a percentage), written with the scale it has.
    Number(Decimal),
    /// A whole number (a count, a line number).
    Integer(i64),
    /// A calendar date.
    Date(NaiveDate),
}

impl Cell {
    /// A text cell.
    pub fn text(text: impl Into<String>) -> Cell {
        Cell::Text(text.into())
    }

    /// A text cell, or [`Cell::Empty`] for `None`.
    pub fn text_or_empty(text: Option<impl Into<String>>) -> Cell {
        text.map_or(Cell::Empty, Cell::text)
    }

    /// A decimal cell, or [`Cell::Empty`] for `None`.
    pub fn number_or_empty(value: Option<Decimal>) -> Cell {
        value.map_or(Cell::Empty, Cell::Number)
    }

    /// A date cell, or [`Cell::Empty`] for `None`.
    pub fn date_or_empty(value: Option<NaiveDate>) -> Cell {
        value.map_or(Cell::Empty, Cell::Date)
    }

    /// The cell as CSV text: decimals exactly (money at its currency's scale), dates as
    /// `YYYY-MM-DD`, and text that a spreadsheet would evaluate prefixed with `'`.
    pub fn csv_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) => neutralised(text),
            Cell::Money { amount, decimals } => at_scale(*amount, *decimals).to_string(),
            Cell::Number(value) => value.to_string(),
            Cell::Integer(value) => value.to_string(),
            Cell::Date(date) => date.format("%Y-%m-%d").to_string(),
        }
    }
}

/// `amount` with exactly `decimals` digits after the point (rounding half away from zero
/// only if the engine's value carried more; it never does for stored amounts).
pub(crate) fn at_scale(amount: Decimal, decimals: u32) -> Decimal {
    let mut shown = amount.round_dp_with_strategy(
        decimals,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    shown.rescale(decimals);
    shown
}

/// Text that cannot start a formula in a spreadsheet opening the CSV (OWASP's CSV
/// injection advice: a leading `'` before `=`, `+`, `-`, `@`, tab and carriage return).
fn neutralised(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Rows under headers, with a title (the XLSX sheet name and the default file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these column headers.
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Table {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have one cell per column.
    pub fn push(&mut self, row: Vec<Cell>) -> Result<(), ExportError> {
        if row.len() != self.headers.len() {
            return Err(ExportError::Width {
                table: self.title.clone(),
                row: self.rows.len(),
                expected: self.headers.len(),
                got: row.len(),
            });
        }
        self.rows.push(row);
        Ok(())
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The column headers.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The rows, in order.
    pub fn rows(&self) -> &[Vec<Cell>] {
        &self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn csv_text_keeps_numbers_exact_and_neutralises_formulas() {
        let money = |a: &str, d| Cell::Money {
            amount: dec(a),
            decimals: d,
        };
        assert_eq!(money("12.5", 2).csv_text(), "12.50");
        assert_eq!(money("-0.125", 3).csv_text(), "-0.125");
        assert_eq!(money("7", 0).csv_text(), "7");
        assert_eq!(
            Cell::Number(dec("0.0000001234567890123456789")).csv_text(),
            "0.0000001234567890123456789"
        );
        assert_eq!(Cell::Number(dec("1.500")).csv_text(), "1.500");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(Cell::text(formula).csv_text(), format!("'{formula}"));
        }
        assert_eq!(Cell::text("Contoso = Ltd").csv_text(), "Contoso = Ltd");
        assert_eq!(
            Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 31).expect("date")).csv_text(),
            "2026-01-31"
        );
        assert_eq!(Cell::Empty.csv_text(), "");
    }

    #[test]
    fn a_row_of_the_wrong_width_is_refused() {
        let mut t = Table::new("T", &["a", "b"]);
        assert!(t.push(vec![Cell::Empty, Cell::Empty]).is_ok());
        let e = t.push(vec![Cell::Empty]).expect_err("too narrow");
        assert_eq!(e.to_string(), "row 1 of \"T\" has 1 cells for 2 columns");
    }
}

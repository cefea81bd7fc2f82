//! Foreign exchange: the rate in force on a date, direct or inverse.
//!
//! Rates are kept with their `as_of` date so that past invoices can be reproduced exactly
//! (the manual asks for historical FX to be preserved).

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::Currency;

/// One published rate: 1 `from` = `rate` `to`, from `as_of` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRate {
    /// Source currency.
    pub from: Currency,
    /// Target currency.
    pub to: Currency,
    /// Units of `to` per unit of `from`; always > 0.
    pub rate: Decimal,
    /// First date the rate applies.
    pub as_of: NaiveDate,
}

impl FxRate {
    /// Reads a published rate from its text fields (an administrator's entry, a CLI
    /// argument), reporting each bad field by its contract name (`from`, `to`, `rate`,
    /// `as_of`): ISO 4217 codes, two different currencies, an exact decimal > 0, and a
    /// date `YYYY-MM-DD`.
    pub fn parse(
        from: &str,
        to: &str,
        rate: &str,
        as_of: &str,
    ) -> Result<FxRate, crate::InvalidScenario> {
        use crate::Problem;
        let mut problems = Vec::new();
        let mut currency = |field: &str, code: &str| match Currency::from_code(code) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(Problem::new(field, e.to_string()));
                None
            }
        };
        let (from, to) = (currency("from", from), currency("to", to));
        if from.is_some() && from == to {
            problems.push(Problem::new("to", "must differ from `from`"));
        }
        let rate = match crate::number::parse_decimal(rate) {
            Ok(r) if r > Decimal::ZERO => Some(r),
            Ok(_) => {
                problems.push(Problem::new("rate", "must be > 0"));
                None
            }
            Err(e) => {
                problems.push(Problem::new("rate", e.to_string()));
                None
            }
        };
        let date = NaiveDate::parse_from_str(as_of, "%Y-%m-%d")
            .ok()
            .filter(|_| as_of.len() == 10);
        if date.is_none() {
            problems.push(Problem::new(
                "as_of",
                format!("{as_of:?} is not a date of the form YYYY-MM-DD"),
            ));
        }
        match (from, to, rate, date) {
            (Some(from), Some(to), Some(rate), Some(as_of)) if problems.is_empty() => Ok(FxRate {
                from,
                to,
                rate,
                as_of,
            }),
            _ => Err(crate::InvalidScenario { problems }),
        }
    }
}

/// How one currency becomes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Same currency: nothing to do, and no `fx_rate` is shown.
    Identity,
    /// Multiply by this rate (already rounded to 10 places when derived from an inverse).
    Rate(Decimal),
}

impl Conversion {
    /// Converts an unrounded amount.
    pub fn apply(self, amount: Decimal) -> Option<Decimal> {
        match self {
            Conversion::Identity => Some(amount),
            Conversion::Rate(r) => amount.checked_mul(r),
        }
    }

    /// The rate to show on a line, `None` for identity.
    pub fn shown(self) -> Option<Decimal> {
        match self {
            Conversion::Identity => None,
            Conversion::Rate(r) => Some(r),
        }
    }
}

/// All known rates.
#[derive(Debug, Clone, Default)]
pub struct FxTable {
    /// For each (from, to), the entries in input order.
    pairs: HashMap<(Currency, Currency), Vec<(NaiveDate, Decimal)>>,
}

/// Decimal places of a rate derived as 1/r from an inverse entry.
const INVERSE_DP: u32 = 10;

impl FxTable {
    /// Builds the table; rates must already be validated as > 0.
    pub fn new(rates: impl IntoIterator<Item = FxRate>) -> Self {
        let mut pairs: HashMap<_, Vec<_>> = HashMap::new();
        for r in rates {
            pairs
                .entry((r.from, r.to))
                .or_default()
                .push((r.as_of, r.rate));
        }
        Self { pairs }
    }

    /// The direct rate for (from, to) with the latest `as_of` not after `on`; among equal
    /// `as_of` dates the last in input order.
    fn direct(&self, from: Currency, to: Currency, on: NaiveDate) -> Option<Decimal> {
        let mut best: Option<(NaiveDate, Decimal)> = None;
        for &(as_of, rate) in self.pairs.get(&(from, to))? {
            if as_of <= on && best.is_none_or(|(d, _)| as_of >= d) {
                best = Some((as_of, rate));
            }
        }
        best.map(|(_, r)| r)
    }

    /// The conversion in force on `on` (billing-semantics §7): direct entry, else 1/r of
    /// the inverse entry rounded to 10 places half-even, else `None`.
    pub fn conversion(&self, from: Currency, to: Currency, on: NaiveDate) -> Option<Conversion> {
        if from == to {
            return Some(Conversion::Identity);
        }
        if let Some(rate) = self.direct(from, to, on) {
            return Some(Conversion::Rate(rate));
        }
        let inverse = self.direct(to, from, on)?;
        let rate = Decimal::ONE
            .checked_div(inverse)?
            .round_dp_with_strategy(INVERSE_DP, RoundingStrategy::MidpointNearestEven);
        Some(Conversion::Rate(rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn c(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }
    fn day(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap()
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn a_published_rate_is_read_field_by_field() {
        let ok = FxRate::parse("USD", "AUD", "1.531200000000000000001", "2026-10-31");
        assert_eq!(
            ok.map(|r| r.rate.to_string()).ok().as_deref(),
            Some("1.531200000000000000001")
        );
        let bad = FxRate::parse("usd", "USD", "0", "2026-10-1")
            .err()
            .map(|e| e.problems);
        let paths: Vec<String> = bad
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(paths, ["from", "rate", "as_of"]);
        let same = FxRate::parse("AUD", "AUD", "1", "2026-10-01")
            .err()
            .map(|e| e.problems);
        assert_eq!(same.unwrap_or_default()[0].path, "to");
    }

    #[test]
    fn latest_as_of_then_inverse() {
        let t = FxTable::new([
            FxRate {
                from: c("USD"),
                to: c("AUD"),
                rate: d("1.4821"),
                as_of: day("2026-09-30"),
            },
            FxRate {
                from: c("USD"),
                to: c("AUD"),
                rate: d("1.5312"),
                as_of: day("2026-10-31"),
            },
            FxRate {
                from: c("USD"),
                to: c("AUD"),
                rate: d("1.6"),
                as_of: day("2026-11-01"),
            },
            FxRate {
                from: c("NZD"),
                to: c("USD"),
                rate: d("0.5893"),
                as_of: day("2026-10-15"),
            },
            FxRate {
                from: c("EUR"),
                to: c("USD"),
                rate: d("1.1"),
                as_of: day("2026-10-01"),
            },
            FxRate {
                from: c("EUR"),
                to: c("USD"),
                rate: d("1.2"),
                as_of: day("2026-10-01"),
            },
        ]);
        let on = day("2026-10-31");
        assert_eq!(
            t.conversion(c("USD"), c("AUD"), on),
            Some(Conversion::Rate(d("1.5312")))
        );
        assert_eq!(
            t.conversion(c("USD"), c("NZD"), on),
            Some(Conversion::Rate(d("1.6969285593")))
        );
        assert_eq!(
            t.conversion(c("EUR"), c("USD"), on),
            Some(Conversion::Rate(d("1.2")))
        );
        assert_eq!(
            t.conversion(c("AUD"), c("AUD"), on),
            Some(Conversion::Identity)
        );
        assert_eq!(t.conversion(c("JPY"), c("AUD"), on), None);
        assert_eq!(t.conversion(c("USD"), c("AUD"), day("2026-09-01")), None);
    }
}

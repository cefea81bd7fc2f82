//! Usage records as they arrive from a region, before any validation.
//!
//! A record may be malformed (a field that cannot be read); it is still counted, under
//! `invalid_usage`, so nothing a region reported is ever silently dropped.

use chrono::DateTime;

use crate::quantity::Quantity;

/// One usage record, borrowed from its source (a JSON document, a CSV line, a DB row).
///
/// `None` in `start`, `end` or `quantity` means the field was missing or unreadable; the
/// record is then `invalid_usage`. `malformed` flags any other field that was present but
/// unreadable (e.g. a `sku` that is a number, a CSV row with too few fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageRecord<'a> {
    /// Records sharing an id count once: the last in input order wins.
    pub id: Option<&'a str>,
    /// The Azure Stack subscription id.
    pub subscription: Option<&'a str>,
    /// The meter id, in any spelling (canonicalised on the way in).
    pub meter: Option<&'a str>,
    /// The VM size (`additionalInfo.ServiceType`), compared exactly.
    pub sku: Option<&'a str>,
    /// Start instant, Unix nanoseconds.
    pub start: Option<i64>,
    /// End instant, Unix nanoseconds.
    pub end: Option<i64>,
    /// Quantity in the meter's unit, exact.
    pub quantity: Option<Quantity>,
    /// Some other field was present but could not be read.
    pub malformed: bool,
}

/// Why a record is `invalid_usage`, for reject reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidity {
    /// A field was present but unreadable (or the row could not be split into fields).
    Malformed,
    /// No subscription.
    MissingSubscription,
    /// No meter.
    MissingMeter,
    /// `start` missing or not an RFC 3339 instant.
    BadStart,
    /// `end` missing or not an RFC 3339 instant.
    BadEnd,
    /// `quantity` missing or not a decimal.
    BadQuantity,
    /// `quantity` below zero.
    NegativeQuantity,
    /// `end` not after `start`.
    EmptyInterval,
}

impl Invalidity {
    /// A short human explanation.
    pub fn message(self) -> &'static str {
        match self {
            Self::Malformed => "a field is present but unreadable",
            Self::MissingSubscription => "subscription is missing",
            Self::MissingMeter => "meter is missing",
            Self::BadStart => "start is missing or not an RFC 3339 instant",
            Self::BadEnd => "end is missing or not an RFC 3339 instant",
            Self::BadQuantity => "quantity is missing or not a decimal",
            Self::NegativeQuantity => "quantity is negative",
            Self::EmptyInterval => "end is not after start",
        }
    }
}

impl UsageRecord<'_> {
    /// The first reason the record is `invalid_usage` (billing-semantics §3), if any.
    pub fn invalidity(&self) -> Option<Invalidity> {
        if self.malformed {
            return Some(Invalidity::Malformed);
        }
        if self.subscription.is_none() {
            return Some(Invalidity::MissingSubscription);
        }
        if self.meter.is_none() {
            return Some(Invalidity::MissingMeter);
        }
        let Some(start) = self.start else {
            return Some(Invalidity::BadStart);
        };
        let Some(end) = self.end else {
            return Some(Invalidity::BadEnd);
        };
        let Some(q) = self.quantity else {
            return Some(Invalidity::BadQuantity);
        };
        if q.is_negative() {
            return Some(Invalidity::NegativeQuantity);
        }
        if end <= start {
            return Some(Invalidity::EmptyInterval);
        }
        None
    }

    /// Whether the record must be reported as `invalid_usage`.
    pub fn is_invalid(&self) -> bool {
        self.invalidity().is_some()
    }
}

/// Parses an RFC 3339 instant into Unix nanoseconds; `None` if malformed or outside the
/// years 1678–2261 that nanoseconds in an `i64` can hold.
///
/// The common shapes (`2026-10-01T00:00:00Z`, `…+00:00`) take a fast path that accepts a
/// subset of what the general parser accepts, with identical values.
pub fn parse_instant(text: &str) -> Option<i64> {
    match fast_instant(text.as_bytes()) {
        Some(nanos) => Some(nanos),
        None => DateTime::parse_from_rfc3339(text)
            .ok()?
            .timestamp_nanos_opt(),
    }
}

#[expect(clippy::arithmetic_side_effects, reason = "two decimal digits")]
fn two(b: &[u8], i: usize) -> Option<i64> {
    let (h, l) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (h < 10 && l < 10).then(|| i64::from(h) * 10 + i64::from(l))
}

/// `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM`, no fraction, year 1970–2261.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "every field is at most four decimal digits, so the seconds stay far inside i64"
)]
fn fast_instant(b: &[u8]) -> Option<i64> {
    if !(b.len() == 20 || b.len() == 25)
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let (month, day) = (two(b, 5)?, two(b, 8)?);
    let (hour, minute, second) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if !(1970..=2261).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let offset = match (b.len(), b[19]) {
        (20, b'Z') => 0,
        (25, sign @ (b'+' | b'-')) if b[22] == b':' => {
            let (oh, om) = (two(b, 20)?, two(b, 23)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    seconds.checked_mul(1_000_000_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
#[expect(
    clippy::arithmetic_side_effects,
    reason = "years 0-9999, months 1-12, days 1-31: the day count stays far inside i64"
)]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            parse_instant("1970-01-01T10:00:01+10:00"),
            Some(1_000_000_000)
        );
        assert_eq!(parse_instant("1970-01-01T00:00:00.5Z"), Some(500_000_000));
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(parse_instant("2026-10-01"), None);
        assert_eq!(parse_instant("9999-01-01T00:00:00Z"), None);
        assert_eq!(parse_instant("2026-02-29T00:00:00Z"), None);
        assert_eq!(parse_instant("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        let mut checked = 0;
        for year in [1970, 1999, 2000, 2024, 2026, 2100, 2261] {
            for month in 1..=12 {
                for day in [1, 15, 28, 29, 30, 31] {
                    for (h, offset) in [
                        (0, "Z"),
                        (23, "+00:00"),
                        (7, "+10:00"),
                        (12, "-05:30"),
                        (1, "+14:00"),
                    ] {
                        let s = format!("{year:04}-{month:02}-{day:02}T{h:02}:59:58{offset}");
                        let slow = DateTime::parse_from_rfc3339(&s)
                            .ok()
                            .and_then(|t| t.timestamp_nanos_opt());
                        let fast = fast_instant(s.as_bytes());
                        if let Some(f) = fast {
                            assert_eq!(Some(f), slow, "{s}");
                            checked += 1;
                        }
                        assert_eq!(parse_instant(&s), slow, "{s}");
                    }
                }
            }
        }
        assert!(checked > 2000);
    }

    #[test]
    fn invalid_records() {
        let ok = UsageRecord {
            subscription: Some("s"),
            meter: Some("m"),
            start: Some(0),
            end: Some(1),
            quantity: Some(Quantity::parse("1").unwrap()),
            ..Default::default()
        };
        assert_eq!(ok.invalidity(), None);
        assert_eq!(
            UsageRecord { end: Some(0), ..ok }.invalidity(),
            Some(Invalidity::EmptyInterval)
        );
        assert_eq!(
            UsageRecord {
                quantity: Quantity::parse("-1"),
                ..ok
            }
            .invalidity(),
            Some(Invalidity::NegativeQuantity)
        );
        assert!(
            !UsageRecord {
                quantity: Quantity::parse("0"),
                ..ok
            }
            .is_invalid()
        );
        assert_eq!(
            UsageRecord { meter: None, ..ok }.invalidity(),
            Some(Invalidity::MissingMeter)
        );
        assert_eq!(
            UsageRecord {
                malformed: true,
                ..ok
            }
            .invalidity(),
            Some(Invalidity::Malformed)
        );
        assert_eq!(
            UsageRecord { start: None, ..ok }.invalidity(),
            Some(Invalidity::BadStart)
        );
    }
}

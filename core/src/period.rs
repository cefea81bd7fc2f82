//! Billing periods: calendar months bounded by local midnights in a tenant's time zone.
//!
//! A month's length in hours follows the zone's DST rules (743 or 745 hours, 743.5 on Lord
//! Howe Island), and `per: month` prices divide by that real length when monthly variable
//! pricing is on, so the bounds are computed exactly rather than assumed.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rust_decimal::Decimal;

/// A calendar month `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

/// The text was not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a month of the form YYYY-MM")]
pub struct BadPeriod(pub String);

impl Period {
    /// A valid month for code that needs one before the real one is known.
    pub const PLACEHOLDER: Period = Period {
        year: 2000,
        month: 1,
    };

    /// The month `year`-`month`; `None` unless `month` is 1..=12 and the year has 4 digits.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1000..=9998).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The first calendar day of the month.
    pub fn first_day(&self) -> NaiveDate {
        // `new` guarantees a valid year and month.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The month after this one.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "months are 1-12 and years within chrono's range (Period::new), far from i32's ends"
    )]
    pub fn next(&self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before this one.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "months are 1-12 and years within chrono's range (Period::new), far from i32's ends"
    )]
    pub fn previous(&self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The last calendar day of the month: the date on which FX rates are read.
    pub fn last_day(&self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// The period's bounds in `tz`.
    pub fn bounds(&self, tz: Tz) -> PeriodBounds {
        PeriodBounds {
            start: local_midnight(tz, self.first_day()),
            end: local_midnight(tz, self.next().first_day()),
        }
    }

    /// The month containing `date`.
    pub fn containing(date: NaiveDate) -> Period {
        Period {
            year: date.year(),
            month: date.month(),
        }
    }
}

impl FromStr for Period {
    type Err = BadPeriod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPeriod(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let month: u32 = s[5..].parse().map_err(|_| bad())?;
        Period::new(year, month).ok_or_else(bad)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A period's start (inclusive) and end (exclusive) in one time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodBounds {
    /// Local midnight on the 1st.
    pub start: DateTime<Tz>,
    /// Local midnight on the 1st of the next month.
    pub end: DateTime<Tz>,
}

impl PeriodBounds {
    /// Real hours between the bounds, exact (fractional in half-hour-DST zones).
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "two timestamps in chrono's range differ by far less than i64; a Decimal divided by 3600 cannot overflow"
    )]
    pub fn hours(&self) -> Decimal {
        let seconds = self.end.timestamp() - self.start.timestamp();
        Decimal::from(seconds) / Decimal::from(3600)
    }

    /// `[start, end)` in Unix nanoseconds (saturating outside the years 1678–2261).
    pub fn nanos(&self) -> (i64, i64) {
        (
            self.start.timestamp().saturating_mul(1_000_000_000),
            self.end.timestamp().saturating_mul(1_000_000_000),
        )
    }
}

/// Local midnight of `date` in `tz`. Where midnight falls in a DST gap (some zones move
/// clocks at 00:00), the day starts at the first local time that exists; where it is
/// ambiguous, at the earlier instant.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Tz> {
    let mut local = date.and_time(chrono::NaiveTime::MIN);
    for _ in 0..(24 * 4) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t,
            LocalResult::Ambiguous(early, _) => return early,
            LocalResult::None => match local.checked_add_signed(Duration::minutes(15)) {
                Some(later) => local = later,
                None => break,
            },
        }
    }
    // No real zone skips a whole day at midnight apart from historic date-line moves,
    // where the day simply does not exist; start at UTC midnight of that date then.
    tz.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// Formats an instant as RFC 3339 with its local offset and no fraction.
pub fn format_local(t: &DateTime<Tz>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_months() {
        assert_eq!(
            "2026-10".parse::<Period>().unwrap(),
            Period::new(2026, 10).unwrap()
        );
        for bad in [
            "2026-13", "2026-00", "26-10", "2026/10", "2026-1", "2026-100", "",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn melbourne_october_has_743_hours() {
        let b = Period::new(2026, 10)
            .unwrap()
            .bounds(chrono_tz::Australia::Melbourne);
        assert_eq!(b.hours(), Decimal::from(743));
        assert_eq!(format_local(&b.start), "2026-10-01T00:00:00+10:00");
        assert_eq!(format_local(&b.end), "2026-11-01T00:00:00+11:00");
    }

    #[test]
    fn berlin_october_has_745_hours_and_melbourne_april_721() {
        let b = Period::new(2026, 10)
            .unwrap()
            .bounds(chrono_tz::Europe::Berlin);
        assert_eq!(b.hours(), Decimal::from(745));
        let b = Period::new(2026, 4)
            .unwrap()
            .bounds(chrono_tz::Australia::Melbourne);
        assert_eq!(b.hours(), Decimal::from(721));
    }

    #[test]
    fn lord_howe_half_hour_dst() {
        let b = Period::new(2026, 10)
            .unwrap()
            .bounds(chrono_tz::Australia::Lord_Howe);
        assert_eq!(b.hours(), Decimal::new(7435, 1));
    }

    #[test]
    fn leap_february() {
        let p = Period::new(2028, 2).unwrap();
        assert_eq!(p.bounds(chrono_tz::UTC).hours(), Decimal::from(696));
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2028, 2, 29).unwrap());
    }

    #[test]
    fn midnight_in_a_dst_gap_starts_at_first_existing_time() {
        // America/Santiago springs forward at 00:00 on 2026-09-06.
        let t = local_midnight(
            chrono_tz::America::Santiago,
            NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(),
        );
        assert_eq!(format_local(&t), "2026-09-06T01:00:00-03:00");
    }
}

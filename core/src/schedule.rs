//! Calendars for StackBill's schedules (collection, nightly usage processing, month-end
//! invoices and commissions): the five fields of cron (minute, hour, day of month,
//! month, day of week), read in the platform's time zone, so "01:00 on the 1st" is the
//! operator's first of the month. Each field takes `*`, a number, a range `a-b`, a list
//! `a,b` and a step `*/n` or `a-b/n`; day of week counts 0–6 from Sunday (7 is Sunday
//! too). As in cron, when both day fields are restricted a day matching either runs.
//!
//! Local times that do not exist (the hour a daylight-saving change skips) have no slot;
//! a local time that occurs twice (the hour it repeats) has one slot, at its first
//! occurrence. A schedule therefore never runs twice for one slot.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// How far a calendar is searched for its next or last slot: a schedule matching only
/// 29 February on a Monday recurs within 28 years.
const HORIZON_DAYS: i64 = 366 * 29;

/// A calendar expression that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CronError {
    /// The field at fault: `minute`, `hour`, `day of month`, `month`, `day of week`, or
    /// `expression` for the whole.
    pub field: &'static str,
    /// What was wrong.
    pub message: String,
}

/// A parsed calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    any_day: bool,
    any_weekday: bool,
    text: String,
}

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

fn field_bits(text: &str, (name, min, max): (&'static str, u32, u32)) -> Result<u64, CronError> {
    let bad = |message: String| CronError {
        field: name,
        message,
    };
    let number = |s: &str| -> Result<u32, CronError> {
        let n: u32 = s
            .parse()
            .map_err(|_| bad(format!("{s:?} is not a number")))?;
        if n < min || n > max {
            return Err(bad(format!("{n} is outside {min}–{max}")));
        }
        Ok(n)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| bad(format!("step {s:?} is not a number")))?;
                if step == 0 {
                    return Err(bad("a step must be at least 1".into()));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(bad(format!("range {a}-{b} runs backwards")));
            }
            (a, b)
        } else {
            let n = number(range)?;
            // `5/15` means from 5 to the end in steps of 15, as in cron.
            (n, if part.contains('/') { max } else { n })
        };
        let mut n = low;
        while n <= high {
            bits |= 1u64 << n;
            n = match n.checked_add(step) {
                Some(next) => next,
                None => break,
            };
        }
    }
    Ok(bits)
}

impl Cron {
    /// Reads a five-field expression such as `0 1 1 * *` (01:00 on the 1st).
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        let parts: Vec<&str> = expression.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError {
                field: "expression",
                message: format!(
                    "{expression:?} has {} fields; a calendar has five: minute hour day-of-month month day-of-week",
                    parts.len()
                ),
            });
        }
        let mut bits = [0u64; 5];
        for (i, (part, spec)) in parts.iter().zip(FIELDS).enumerate() {
            if let Some(slot) = bits.get_mut(i) {
                *slot = field_bits(part, spec)?;
            }
        }
        let [minutes, hours, days, months, weekdays] = bits;
        // Sunday is 0 and 7.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        Ok(Cron {
            minutes,
            hours: u32::try_from(hours).unwrap_or(u32::MAX),
            days: u32::try_from(days).unwrap_or(u32::MAX),
            months: u16::try_from(months).unwrap_or(u16::MAX),
            weekdays: u8::try_from(weekdays).unwrap_or(u8::MAX),
            any_day: parts.get(2) == Some(&"*"),
            any_weekday: parts.get(4) == Some(&"*"),
            text: parts.join(" "),
        })
    }

    /// The expression as written (fields separated by one space).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn runs_on(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (false, true) => day,
            (true, false) => weekday,
            (false, false) => day || weekday,
        }
    }

    /// The day's slots in order, as instants.
    fn slots_on(&self, date: NaiveDate, tz: Tz) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        if !self.runs_on(date) {
            return out;
        }
        for hour in (0..24u32).filter(|h| self.hours & (1 << h) != 0) {
            for minute in (0..60u32).filter(|m| self.minutes & (1 << m) != 0) {
                let Some(local) = date.and_hms_opt(hour, minute, 0) else {
                    continue;
                };
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(t) => out.push(t.with_timezone(&Utc)),
                    LocalResult::Ambiguous(first, _) => out.push(first.with_timezone(&Utc)),
                    LocalResult::None => {}
                }
            }
        }
        out
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // From the day before in local time: a slot's local date can differ from UTC's.
        let start = after.with_timezone(&tz).date_naive().pred_opt()?;
        (0..HORIZON_DAYS)
            .filter_map(|d| start.checked_add_signed(Duration::days(d)))
            .flat_map(|date| self.slots_on(date, tz))
            .find(|t| *t > after)
    }

    /// The last slot at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let start = at.with_timezone(&tz).date_naive().succ_opt()?;
        (0..HORIZON_DAYS)
            .filter_map(|d| start.checked_sub_signed(Duration::days(d)))
            .flat_map(|date| self.slots_on(date, tz).into_iter().rev())
            .find(|t| *t <= at)
    }

    /// The slots in `(after, until]`, oldest first, at most `limit` of the newest.
    pub fn slots_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        tz: Tz,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut cursor = self.last_at_or_before(until, tz);
        while let Some(t) = cursor {
            if t <= after || out.len() >= limit {
                break;
            }
            out.push(t);
            cursor = t
                .checked_sub_signed(Duration::seconds(1))
                .and_then(|before| self.last_at_or_before(before, tz));
        }
        out.reverse();
        out
    }
}

/// A slot's name: its instant in UTC to the second (`2026-12-01T01:00:00Z`), which
/// makes a slot's job unique.
pub fn slot_name(slot: DateTime<Utc>) -> String {
    slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn cron(s: &str) -> Cron {
        Cron::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn month_end_runs_on_the_first_in_the_platform_zone() {
        let c = cron("0 1 1 * *");
        let tz: Tz = "Australia/Sydney".parse().unwrap_or(Tz::UTC);
        // 01:00 on 1 December in Sydney (UTC+11) is 14:00 UTC on 30 November.
        assert_eq!(
            c.next_after(utc("2026-11-15T00:00:00Z"), tz),
            Some(utc("2026-11-30T14:00:00Z"))
        );
        assert_eq!(
            c.last_at_or_before(utc("2026-12-06T00:00:00Z"), tz),
            Some(utc("2026-11-30T14:00:00Z"))
        );
    }

    #[test]
    fn missed_slots_are_listed_oldest_first_and_capped() {
        let c = cron("0 1 1 * *");
        let all = c.slots_between(
            utc("2026-01-15T00:00:00Z"),
            utc("2026-05-01T01:00:00Z"),
            Tz::UTC,
            100,
        );
        let want: Vec<_> = ["02", "03", "04", "05"]
            .iter()
            .map(|m| utc(&format!("2026-{m}-01T01:00:00Z")))
            .collect();
        assert_eq!(all, want);
        let capped = c.slots_between(
            utc("2026-01-15T00:00:00Z"),
            utc("2026-05-01T01:00:00Z"),
            Tz::UTC,
            2,
        );
        assert_eq!(capped, want[2..].to_vec());
    }

    #[test]
    fn a_skipped_local_hour_has_no_slot_and_a_repeated_one_has_one() {
        let tz: Tz = "Europe/Berlin".parse().unwrap_or(Tz::UTC);
        let c = cron("30 2 * * *");
        // 29 March 2026: 02:00 → 03:00 in Berlin; 02:30 does not exist.
        let next = c.next_after(utc("2026-03-28T02:00:00Z"), tz);
        assert_eq!(next, Some(utc("2026-03-30T00:30:00Z")));
        // 25 October 2026: 02:30 happens twice; the slot is the first (UTC+2).
        let next = c.next_after(utc("2026-10-24T02:00:00Z"), tz);
        assert_eq!(next, Some(utc("2026-10-25T00:30:00Z")));
        let after = c.next_after(utc("2026-10-25T00:30:00Z"), tz);
        assert_eq!(after, Some(utc("2026-10-26T01:30:00Z")));
    }

    #[test]
    fn fields_lists_ranges_steps_and_either_day() {
        let c = cron("*/20 8-9 13 * 5");
        // Friday the 13th of November 2026, and every Friday, and every 13th.
        let slots = c.slots_between(
            utc("2026-11-12T00:00:00Z"),
            utc("2026-11-21T00:00:00Z"),
            Tz::UTC,
            100,
        );
        let days: Vec<u32> = slots.iter().map(|t| t.day()).collect();
        assert_eq!(days, vec![13, 13, 13, 13, 13, 13, 20, 20, 20, 20, 20, 20]);
        assert_eq!(slots.first(), Some(&utc("2026-11-13T08:00:00Z")));
        assert_eq!(slots.last(), Some(&utc("2026-11-20T09:40:00Z")));
        let sunday = utc("2026-11-12T00:00:00Z");
        assert_eq!(
            cron("0 0 * * 7").next_after(sunday, Tz::UTC),
            cron("0 0 * * 0").next_after(sunday, Tz::UTC)
        );
        assert_eq!(
            cron("0 0 * * 7").next_after(sunday, Tz::UTC),
            Some(utc("2026-11-15T00:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_name_the_field() {
        let e = |s: &str| Cron::parse(s).err().map(|e| e.to_string());
        assert_eq!(
            e("0 1 * *").map(|m| m.starts_with("expression:")),
            Some(true)
        );
        assert_eq!(e("60 * * * *"), Some("minute: 60 is outside 0–59".into()));
        assert_eq!(e("0 25 * * *"), Some("hour: 25 is outside 0–23".into()));
        assert_eq!(
            e("0 0 0 * *"),
            Some("day of month: 0 is outside 1–31".into())
        );
        assert_eq!(
            e("0 0 * 5-2 *"),
            Some("month: range 5-2 runs backwards".into())
        );
        assert_eq!(
            e("0 0 * * x"),
            Some("day of week: \"x\" is not a number".into())
        );
        assert_eq!(
            e("*/0 * * * *"),
            Some("minute: a step must be at least 1".into())
        );
    }

    #[test]
    fn slots_are_named_to_the_second() {
        // Interval schedules can have several slots a minute; each needs its own name.
        assert_eq!(
            slot_name(utc("2026-12-06T10:00:07Z")),
            "2026-12-06T10:00:07Z"
        );
        assert_ne!(
            slot_name(utc("2026-12-06T10:00:07Z")),
            slot_name(utc("2026-12-06T10:00:08Z"))
        );
    }

    #[test]
    fn an_impossible_date_has_no_slot() {
        assert_eq!(
            cron("0 0 31 2 *").next_after(utc("2026-01-01T00:00:00Z"), Tz::UTC),
            None
        );
    }
}

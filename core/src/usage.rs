//! Usage records as they arrive from a region, before any validation.
//!
//! A record may be malformed (a field that cannot be read); it is still counted, under
//! `invalid_usage`, so nothing a region reported is ever silently dropped.

use chrono::DateTime;
use rust_decimal::Decimal;

/// One usage record, borrowed from its source (a JSON document, a CSV line, a DB row).
///
/// `None` in `start`, `end` or `quantity` means the field was missing or unreadable; the
/// record is then `invalid_usage`. `malformed` flags any other field that was present but
/// unreadable (e.g. a `sku` that is a number).
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
    /// Quantity in the meter's unit.
    pub quantity: Option<Decimal>,
    /// Some other field was present but could not be read.
    pub malformed: bool,
}

impl UsageRecord<'_> {
    /// Whether the record must be reported as `invalid_usage` (billing-semantics §3).
    pub fn is_invalid(&self) -> bool {
        let (Some(start), Some(end), Some(q)) = (self.start, self.end, self.quantity) else {
            return true;
        };
        self.malformed
            || self.subscription.is_none()
            || self.meter.is_none()
            || q.is_sign_negative() && !q.is_zero()
            || end <= start
    }
}

/// Parses an RFC 3339 instant into Unix nanoseconds; `None` if malformed or outside the
/// years 1678–2261 that nanoseconds in an `i64` can hold.
pub fn parse_instant(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()?
        .timestamp_nanos_opt()
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
    }

    #[test]
    fn invalid_records() {
        let ok = UsageRecord {
            subscription: Some("s"),
            meter: Some("m"),
            start: Some(0),
            end: Some(1),
            quantity: Some(Decimal::ONE),
            ..Default::default()
        };
        assert!(!ok.is_invalid());
        assert!(UsageRecord { end: Some(0), ..ok }.is_invalid());
        assert!(
            UsageRecord {
                quantity: Some(Decimal::NEGATIVE_ONE),
                ..ok
            }
            .is_invalid()
        );
        assert!(
            !UsageRecord {
                quantity: Some(Decimal::ZERO),
                ..ok
            }
            .is_invalid()
        );
        assert!(UsageRecord { meter: None, ..ok }.is_invalid());
        assert!(
            UsageRecord {
                malformed: true,
                ..ok
            }
            .is_invalid()
        );
        assert!(UsageRecord { start: None, ..ok }.is_invalid());
    }
}

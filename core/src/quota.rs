//! Threshold alerts on plan quotas (manual: Operations → Monitoring & Alerts, "notify
//! when consumption approaches plan quotas"). A plan's quotas are limits on what is in
//! use at once (64 cores, 2048 GB); Azure Stack Hub reports use in unit-hours (virtual
//! core hours, GB hours). A subscription's use of a quota over a day is therefore the
//! meter's quantity for that day divided by the 24 hours: the average in use. It is an
//! average, not a peak: a day's burst that the stamp's own quota already capped does not
//! warn, a sustained approach does.

use rust_decimal::Decimal;

/// Hours in the day a use is averaged over.
const HOURS: Decimal = Decimal::from_parts(24, 0, 0, false, 0);

/// How much of a quota a subscription used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    /// Average units in use over the day.
    pub used: Decimal,
    /// The quota's limit.
    pub limit: u64,
    /// `used` as a percentage of `limit` (at most two decimals; `None` for a zero limit).
    pub percent: Option<Decimal>,
    /// Whether it reached the plan's alert percentage.
    pub alert: bool,
}

/// Assesses a day's unit-hours of a quota's meter against the quota's `limit` and the
/// plan's `alert_percent`. Use at or above `limit × alert_percent / 100` alerts; any use
/// of a zero quota alerts.
pub fn assess(unit_hours: Decimal, limit: u64, alert_percent: u8) -> QuotaUse {
    let used = unit_hours
        .checked_div(HOURS)
        .unwrap_or(Decimal::MAX)
        .normalize();
    let limit_d = Decimal::from(limit);
    let percent = if limit == 0 {
        None
    } else {
        used.checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(limit_d))
            .map(|p| p.round_dp(2).normalize())
    };
    let threshold = limit_d
        .checked_mul(Decimal::from(alert_percent))
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .unwrap_or(Decimal::MAX);
    let alert = if limit == 0 {
        used > Decimal::ZERO
    } else {
        used >= threshold
    };
    QuotaUse {
        used,
        limit,
        percent,
        alert,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_day_of_unit_hours_is_the_average_in_use() {
        // 52 cores all day on a 64-core quota: 81.25 %, over an 80 % alert.
        let u = assess(d("1248"), 64, 80);
        assert_eq!(
            (u.used, u.percent, u.alert),
            (d("52"), Some(d("81.25")), true)
        );
        // Exactly at the threshold alerts; a unit-hour under it does not.
        assert!(assess(d("1228.8"), 64, 80).alert);
        assert!(!assess(d("1227.8"), 64, 80).alert);
    }

    #[test]
    fn a_zero_quota_alerts_on_any_use_and_has_no_percentage() {
        let u = assess(d("0.5"), 0, 80);
        assert_eq!((u.percent, u.alert), (None, true));
        assert!(!assess(Decimal::ZERO, 0, 80).alert);
    }

    #[test]
    fn extreme_inputs_do_not_overflow() {
        // A percentage past Decimal's range is left out; the alert is still decided.
        let u = assess(Decimal::MAX, u64::MAX, 100);
        assert!(u.alert);
        assert_eq!(u.percent, None);
        assert!(assess(Decimal::MAX, 1, 1).alert);
        assert!(!assess(Decimal::ONE, u64::MAX, 1).alert);
    }
}

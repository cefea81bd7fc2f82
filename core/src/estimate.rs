//! The estimator: what given quantities would cost a tenant under the price lists of a
//! scenario. It rates them exactly as billing would (precedence, tiers, monthly rates,
//! FX, credits, tax), by turning each quote into one usage record placed in the middle
//! of the period, where no time zone can push it outside.

use chrono::{Duration, NaiveTime};

use crate::Result;
use crate::quantity::Quantity;
use crate::rating::{Outcome, Rater};
use crate::scenario::Scenario;
use crate::usage::UsageRecord;

/// One line of an estimate request.
#[derive(Debug, Clone, Copy)]
pub struct Quote<'a> {
    /// The subscription the usage would run in (it decides region and tenant prices).
    pub subscription: &'a str,
    /// The meter, in any spelling.
    pub meter: &'a str,
    /// The VM size, for SKU prices.
    pub sku: Option<&'a str>,
    /// Quantity for the whole period, in the meter's unit.
    pub quantity: Quantity,
}

/// Rates `quotes` as the period's only usage.
pub fn estimate(scenario: &Scenario, quotes: &[Quote<'_>]) -> Result<Outcome> {
    // The 15th at 00:00 UTC is inside the month in every zone (offsets stay within ±14 h).
    let first = scenario.period().first_day();
    let middle = first
        .checked_add_signed(Duration::days(14))
        .unwrap_or(first)
        .and_time(NaiveTime::MIN);
    let start = middle.and_utc().timestamp().saturating_mul(1_000_000_000);
    let end = start.saturating_add(3_600 * 1_000_000_000);
    let mut rater = Rater::new(scenario);
    for quote in quotes {
        rater.push(&UsageRecord {
            id: None,
            subscription: Some(quote.subscription),
            meter: Some(quote.meter),
            sku: quote.sku,
            start: Some(start),
            end: Some(end),
            quantity: Some(quote.quantity),
            malformed: false,
        })?;
    }
    rater.finish()
}

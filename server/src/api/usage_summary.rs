//! `GET /usage/summary`: the manual's subscription Summary — for reporting and
//! reconciliation, each subscription's usage totals over a range of days and what its
//! invoices of those months billed for it.
//!
//! Usage comes from the daily roll-ups kept at ingest (exact sums, corrected when a
//! record is replaced), so the cost grows with days and meters, not records. Days are
//! UTC days of the usage's start, as the roll-ups keep them; the invoices are those
//! whose month overlaps the range, in the invoice's own currency.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stackbill_core::scenario::json::read_document_lines;
use stackbill_store::{InvoiceFilter, InvoiceStatus};
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, ReadUsage};
use super::ops::{Op, many, query, query_required};
use super::wire::{self, ApiError, ApiResult, Params, ok};

/// Most subscriptions whose roll-ups are asked for by name; above it every roll-up of
/// each day is read once.
const NAMED: usize = 200;

/// Longest range one summary covers.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SummaryQuery {
    from: String,
    to: String,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    subscription_id: Option<String>,
}

/// One meter's (and VM size's) usage of a subscription over the range.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MeterTotal {
    meter_id: String,
    sku: Option<String>,
    /// The exact sum of the records' quantities.
    #[schema(value_type = String)]
    quantity: String,
    records: i64,
}

/// What invoices billed for a subscription, in one currency.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Billed {
    currency: String,
    /// Sum of the subscription's lines on issued and paid invoices.
    #[schema(value_type = String)]
    issued: String,
    /// Sum of its lines on preview invoices (not yet issued).
    #[schema(value_type = String)]
    preview: String,
    /// The months those invoices are for.
    periods: Vec<String>,
}

/// One subscription's summary.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionSummary {
    subscription_id: String,
    name: String,
    tenant_id: String,
    status: String,
    /// Usage records starting in the range.
    records: i64,
    /// Records that could not be read (no quantity or start): billed as `invalid_usage`.
    invalid_records: i64,
    usage: Vec<MeterTotal>,
    billed: Vec<Billed>,
}

#[derive(Default)]
struct Totals {
    records: i64,
    invalid: i64,
    meters: BTreeMap<(String, Option<String>), (Decimal, i64)>,
    billed: BTreeMap<String, (Decimal, Decimal, Vec<String>)>,
}

fn add(sum: &mut Decimal, more: Decimal) -> ApiResult<()> {
    *sum = sum
        .checked_add(more)
        .ok_or_else(|| ApiError::internal("a usage or billing sum overflowed"))?;
    Ok(())
}

/// The months `[from, to]` touches, as `YYYY-MM`.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) <= (to.year(), to.month()) {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 {
            (y.saturating_add(1), 1)
        } else {
            (y, m.saturating_add(1))
        };
    }
    out
}

async fn summary(
    State(state): State<AppState>,
    auth: Allowed<ReadUsage>,
    Params(q): Params<SummaryQuery>,
) -> ApiResult<wire::Ok<Vec<SubscriptionSummary>>> {
    let from = wire::date("from", &q.from)?;
    let to = wire::date("to", &q.to)?;
    if to < from {
        return Err(ApiError::field("to", "must not be before from"));
    }
    if to.signed_duration_since(from).num_days() >= MAX_DAYS {
        return Err(ApiError::field(
            "to",
            format!("at most {MAX_DAYS} days after from"),
        ));
    }
    let dir = auth.directory();
    if let Some(t) = &q.tenant_id {
        auth.found("tenant", t, dir.tenant(t), |r| dir.tenant_path_by_id(&r.id))
            .map_err(|_| ApiError::field("tenantId", format!("no tenant {t:?} in your scope")))?;
    }
    let subscriptions: Vec<_> = auth
        .visible(dir.subscription_entries())
        .into_iter()
        .filter(|s| {
            q.tenant_id
                .as_deref()
                .is_none_or(|t| s.tenant.eq_ignore_ascii_case(t))
        })
        .filter(|s| {
            q.subscription_id
                .as_deref()
                .is_none_or(|id| s.id.eq_ignore_ascii_case(id))
        })
        .collect();
    let index: HashMap<String, usize> = subscriptions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_ascii_lowercase(), i))
        .collect();
    // Only the invoices of these subscriptions' tenants are read.
    let tenants: HashSet<String> = subscriptions
        .iter()
        .map(|s| s.tenant.to_ascii_lowercase())
        .collect();
    let mut totals: Vec<Totals> = subscriptions.iter().map(|_| Totals::default()).collect();
    let store = state.store();
    let epoch = NaiveDate::default();
    let (first, last) = (
        from.signed_duration_since(epoch).num_days(),
        to.signed_duration_since(epoch).num_days(),
    );
    // A few subscriptions: their keys' roll-ups only. Many: every roll-up of each day
    // once, which is cheaper than naming thousands of keys.
    let mut rollups: Vec<(stackbill_store::UsageKey, stackbill_store::UsageRollup)> = Vec::new();
    if subscriptions.len() <= NAMED {
        let ids: Vec<String> = subscriptions.iter().map(|s| s.id.clone()).collect();
        rollups = store.usage_rollups_of((first, last), &ids).await?;
    } else {
        let keys: HashMap<i64, stackbill_store::UsageKey> = store
            .usage_keys()
            .await?
            .into_iter()
            .map(|k| (k.id, k))
            .collect();
        for day in first..=last {
            for r in store.usage_rollups(day).await? {
                if let Some(key) = keys.get(&r.key) {
                    rollups.push((key.clone(), r));
                }
            }
        }
    }
    for (key, rollup) in rollups {
        let Some(&i) = key
            .subscription
            .as_deref()
            .and_then(|s| index.get(&s.to_ascii_lowercase()))
        else {
            continue;
        };
        let t = &mut totals[i];
        t.records = t.records.saturating_add(rollup.records);
        if rollup.invalid {
            t.invalid = t.invalid.saturating_add(rollup.records);
            continue;
        }
        let quantity: Decimal = rollup.quantity.parse().map_err(|e| {
            ApiError::internal(format!("roll-up quantity {:?}: {e}", rollup.quantity))
        })?;
        let meter = key.meter.clone().unwrap_or_default().to_ascii_lowercase();
        let entry = t
            .meters
            .entry((meter, key.sku.clone()))
            .or_insert((Decimal::ZERO, 0));
        add(&mut entry.0, quantity)?;
        entry.1 = entry.1.saturating_add(rollup.records);
    }
    for period in months(from, to) {
        let invoices = store
            .invoices(&InvoiceFilter {
                period: Some(period.clone()),
                tenant: q.tenant_id.clone(),
                status: None,
            })
            .await?;
        for row in invoices {
            if row.status == InvoiceStatus::Void
                || !tenants.contains(&row.tenant.to_ascii_lowercase())
            {
                continue;
            }
            let lines = read_document_lines(&row.document.to_string())
                .map_err(|e| ApiError::internal(format!("invoice {}: {e}", row.id)))?;
            for line in lines {
                let Some(&i) = line
                    .billed
                    .subscription
                    .as_ref()
                    .and_then(|s| index.get(&s.to_string().to_ascii_lowercase()))
                else {
                    continue;
                };
                let entry = totals[i].billed.entry(row.currency.clone()).or_insert((
                    Decimal::ZERO,
                    Decimal::ZERO,
                    Vec::new(),
                ));
                match row.status {
                    InvoiceStatus::Preview => add(&mut entry.1, line.billed.amount)?,
                    _ => add(&mut entry.0, line.billed.amount)?,
                }
                if !entry.2.contains(&row.period) {
                    entry.2.push(row.period.clone());
                }
            }
        }
    }
    let out = subscriptions
        .into_iter()
        .zip(totals)
        .map(|(s, t)| SubscriptionSummary {
            subscription_id: s.id.clone(),
            name: s.name.clone(),
            tenant_id: s.tenant.clone(),
            status: s.status.clone(),
            records: t.records,
            invalid_records: t.invalid,
            usage: t
                .meters
                .into_iter()
                .map(|((meter_id, sku), (quantity, records))| MeterTotal {
                    meter_id,
                    sku,
                    quantity: quantity.normalize().to_string(),
                    records,
                })
                .collect(),
            billed: t
                .billed
                .into_iter()
                .map(|(currency, (issued, preview, periods))| Billed {
                    currency,
                    issued: issued.to_string(),
                    preview: preview.to_string(),
                    periods,
                })
                .collect(),
        })
        .collect();
    Ok(ok(out))
}

pub(crate) fn ops() -> Vec<Op> {
    vec![
        Op::new(
            Method::GET,
            "/api/v1/usage/summary",
            "Usage",
            "Summary of subscriptions' usage totals and billing over a range of days",
            get(summary),
        )
        .queries(vec![
            query_required(
                "from",
                "First day, YYYY-MM-DD (UTC days of the usage's start).",
            ),
            query_required("to", "Last day, YYYY-MM-DD, at most 366 days after from."),
            query("tenantId", "Only this tenant's subscriptions."),
            query("subscriptionId", "Only this subscription."),
        ])
        .data(many::<SubscriptionSummary>()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn the_months_a_range_touches() {
        assert_eq!(months(day("2026-10-05"), day("2026-10-05")), ["2026-10"]);
        assert_eq!(
            months(day("2026-11-30"), day("2027-01-01")),
            ["2026-11", "2026-12", "2027-01"]
        );
    }
}

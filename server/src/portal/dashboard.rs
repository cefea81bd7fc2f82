//! The dashboard: what the visitor's scope holds, and what it was invoiced month by month
//! (each currency its own chart: amounts in different currencies never add up), drawn as
//! SVG on the server with the same numbers in a table for screen readers and copying.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use stackbill_core::rbac::Action;
use stackbill_store::{InvoiceFilter, InvoiceStatus};

use super::session::Visitor;
use super::{Chrome, refused};
use crate::api::AppState;
use crate::api::access::{Allowed, ReadNode};

/// Months a chart shows, the latest last.
const MONTHS: usize = 6;

#[derive(Template)]
#[template(path = "portal/dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    counts: Vec<(&'static str, usize)>,
    cost: Vec<Chart>,
    open_alerts: Option<usize>,
}

/// A bar chart of one currency's invoiced totals.
struct Chart {
    currency: String,
    width: u32,
    height: u32,
    /// Where the period labels sit, under the bars.
    label_y: u32,
    summary: String,
    bars: Vec<Bar>,
}

struct Bar {
    period: String,
    value: String,
    current: bool,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    label_x: u32,
    value_y: u32,
}

async fn page_for(state: &AppState, visitor: &Visitor) -> Result<Dashboard, String> {
    let caller = &visitor.caller;
    let nodes = Allowed::<ReadNode>::new(caller.clone());
    let dir = caller.directory.as_ref();
    let counts = vec![
        (
            "distributors",
            nodes.visible(dir.distributor_entries()).len(),
        ),
        ("partners", nodes.visible(dir.partner_entries()).len()),
        ("tenants", nodes.visible(dir.tenant_entries()).len()),
        (
            "subscriptions",
            nodes.visible(dir.subscription_entries()).len(),
        ),
    ];
    let mut cost = Vec::new();
    if caller.can_somewhere(Action::ReadBilling) {
        let invoices = state
            .store()
            .invoice_summaries(&InvoiceFilter::default())
            .await
            .map_err(|e| e.to_string())?;
        // currency → period → total, over the invoices the visitor may read.
        let mut sums: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
        for invoice in invoices {
            if invoice.status == InvoiceStatus::Void {
                continue;
            }
            let readable = dir
                .tenant_path_by_id(&invoice.tenant)
                .is_some_and(|p| caller.can(Action::ReadBilling, &p));
            let Ok(total) = invoice.total.parse::<Decimal>() else {
                continue;
            };
            if readable {
                let by_period = sums.entry(invoice.currency).or_default();
                let sum = by_period.entry(invoice.period).or_default();
                *sum = sum.checked_add(total).unwrap_or(*sum);
            }
        }
        cost = sums
            .into_iter()
            .map(|(currency, by_period)| chart(currency, by_period))
            .collect();
    }
    let open_alerts = if caller.can(
        Action::ReadJobs,
        &stackbill_core::rbac::NodePath::platform(),
    ) {
        Some(
            state
                .store()
                .alerts(true)
                .await
                .map_err(|e| e.to_string())?
                .len(),
        )
    } else {
        None
    };
    Ok(Dashboard {
        chrome: Chrome::signed_in(state, visitor, "/dashboard"),
        counts,
        cost,
        open_alerts,
    })
}

pub(crate) async fn page(State(state): State<AppState>, visitor: Visitor) -> Response {
    match page_for(&state, &visitor).await {
        Ok(dashboard) => super::page(&state, Some(&visitor), &dashboard),
        Err(e) => {
            tracing::warn!(error = %e, "the dashboard could not be read");
            refused("The dashboard could not be read from the database. Try again in a moment.")
        }
    }
}

/// The last [`MONTHS`] periods of `by_period` as bars scaled to the largest (geometry in
/// floating point: it only places pixels; the amounts shown are the exact decimals).
fn chart(currency: String, by_period: BTreeMap<String, Decimal>) -> Chart {
    let mut shown: Vec<(String, Decimal)> = by_period.into_iter().rev().take(MONTHS).collect();
    shown.reverse();
    let (width, height, top, bottom) = (600.0_f64, 240.0_f64, 24.0_f64, 24.0_f64);
    let slot = width / MONTHS as f64;
    let span = height - top - bottom;
    let max = shown
        .iter()
        .filter_map(|(_, v)| v.to_f64())
        .fold(0.0_f64, f64::max);
    let last = shown.len().saturating_sub(1);
    let px = |v: f64| v.round().clamp(0.0, width) as u32;
    let bars = shown
        .iter()
        .enumerate()
        .map(|(i, (period, value))| {
            let v = value.to_f64().unwrap_or(0.0);
            let h = if max > 0.0 && v > 0.0 {
                span * v / max
            } else {
                0.0
            };
            let x = slot * i as f64 + slot / 6.0;
            let y = height - bottom - h;
            Bar {
                period: period.clone(),
                value: value.round_dp(2).to_string(),
                current: i == last,
                x: px(x),
                y: px(y),
                w: px(slot * 2.0 / 3.0),
                h: px(h),
                label_x: px(x + slot / 3.0),
                value_y: px((y - 6.0).max(12.0)),
            }
        })
        .collect::<Vec<_>>();
    let summary = bars
        .iter()
        .map(|b| format!("{}: {} {currency}", b.period, b.value))
        .collect::<Vec<_>>()
        .join("; ");
    Chart {
        currency,
        width: px(width),
        height: px(height),
        label_y: px(height - 6.0),
        summary,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_month_and_keep_the_last_six() {
        let months: BTreeMap<String, Decimal> = (1..=8)
            .map(|m| (format!("2026-{m:02}"), Decimal::from(m * 100)))
            .collect();
        let c = chart("AUD".into(), months);
        assert_eq!(c.bars.len(), MONTHS);
        assert_eq!(c.bars[0].period, "2026-03");
        assert_eq!(c.bars[5].h, 240 - 48, "the largest fills the plot");
        assert!(c.bars[5].current && !c.bars[4].current);
        assert_eq!(c.bars[0].h, (192.0f64 * 300.0 / 800.0).round() as u32);
        assert!(c.summary.starts_with("2026-03: 300 AUD"), "{}", c.summary);
    }
}

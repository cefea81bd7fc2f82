//! The dashboard: what the visitor's scope holds, and what it was invoiced month by month
//! (each currency its own chart: amounts in different currencies never add up), drawn as
//! SVG on the server with the same numbers in a table for screen readers and copying.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use stackbill_core::rbac::Action;
use stackbill_store::{InvoiceFilter, InvoiceStatus};

use super::breakdown::{BY, Breakdown};
use super::session::{self, Visitor};
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
    /// Open alerts, for platform roles; whether the visitor may acknowledge them.
    open_alerts: Option<Vec<OpenAlert>>,
    acknowledge: bool,
    /// How many of them are listed.
    shown: usize,
    /// The latest invoiced month against the one before, grouped as the visitor chose.
    breakdown: Option<Breakdown>,
    /// The grouping tabs: (query value, label, chosen).
    tabs: Vec<(&'static str, &'static str, bool)>,
    /// Jobs by kind and status, for platform roles: (kind, status, how many).
    jobs: Option<Vec<(String, String, i64)>>,
    csrf: String,
    notice: Option<String>,
}

/// One open alert as the dashboard lists it.
struct OpenAlert {
    id: i64,
    severity: String,
    subject: String,
    message: String,
    raised_at: String,
    occurrences: i64,
    acknowledged: Option<String>,
}

/// Alerts listed on the dashboard; the rest are counted.
const ALERTS_SHOWN: usize = 20;

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

async fn page_for(
    state: &AppState,
    visitor: &Visitor,
    notice: Option<String>,
    by: &'static str,
) -> Result<Dashboard, String> {
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
    let mut breakdown = None;
    if caller.can_somewhere(Action::ReadBilling) {
        let invoices = state
            .store()
            .invoice_summaries(&InvoiceFilter::default())
            .await
            .map_err(|e| e.to_string())?;
        breakdown = super::breakdown::of(state.store(), caller, dir, by, &invoices).await?;
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
        let alerts = state
            .store()
            .alerts(true)
            .await
            .map_err(|e| e.to_string())?;
        Some(
            alerts
                .into_iter()
                .map(|a| OpenAlert {
                    id: a.id,
                    severity: a.severity,
                    subject: a.subject,
                    message: a.message,
                    raised_at: a.raised_at,
                    occurrences: a.occurrences,
                    acknowledged: a
                        .acknowledged_by
                        .map(|by| format!("by {by} at {}", a.acknowledged_at.unwrap_or_default())),
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let platform = caller.can(
        Action::ReadJobs,
        &stackbill_core::rbac::NodePath::platform(),
    );
    let jobs = if platform {
        let counts = state
            .store()
            .job_counts()
            .await
            .map_err(|e| e.to_string())?;
        Some(
            counts
                .into_iter()
                .filter(|(_, status, _)| status != "succeeded")
                .collect(),
        )
    } else {
        None
    };
    Ok(Dashboard {
        chrome: Chrome::signed_in(state, visitor, "/dashboard"),
        breakdown,
        tabs: BY
            .iter()
            .map(|(value, label)| (*value, *label, *value == by))
            .collect(),
        jobs,
        counts,
        cost,
        open_alerts,
        acknowledge: caller.can(
            Action::ManageSettings,
            &stackbill_core::rbac::NodePath::platform(),
        ),
        shown: ALERTS_SHOWN,
        csrf: visitor.csrf(state),
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    acknowledged: Option<i64>,
    /// How the month comparison is grouped (`region`, `distributor`, `partner`,
    /// `tenant`); by default the level just below the visitor's.
    #[serde(default)]
    by: Option<String>,
}

/// The grouping asked for, or the level below the visitor's highest role.
fn grouping(asked: Option<&str>, caller: &crate::api::access::Caller) -> &'static str {
    if let Some(by) = BY.iter().find(|(v, _)| Some(*v) == asked) {
        return by.0;
    }
    let top = caller
        .principal
        .scopes
        .iter()
        .map(|s| s.role().level())
        .min();
    match top {
        Some(stackbill_core::rbac::Level::Platform) | None => "distributor",
        Some(stackbill_core::rbac::Level::Distributor) => "partner",
        Some(_) => "tenant",
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Notice>,
) -> Response {
    let notice = q
        .acknowledged
        .map(|id| format!("Alert {id} was acknowledged."));
    let by = grouping(q.by.as_deref(), &visitor.caller);
    match page_for(&state, &visitor, notice, by).await {
        Ok(dashboard) => super::page(&state, Some(&visitor), &dashboard),
        Err(e) => {
            tracing::warn!(error = %e, "the dashboard could not be read");
            refused("The dashboard could not be read from the database. Try again in a moment.")
        }
    }
}

/// Acknowledges an open alert (it stays open until its condition clears, but says who
/// has seen it), through the API's `alerts/{id}/acknowledge`.
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<session::Csrf>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    let answer = super::calls::call(
        &state,
        &visitor,
        Method::POST,
        &format!("/api/v1/alerts/{id}/acknowledge"),
        None,
    )
    .await;
    if !answer.status.is_success() {
        return answer.refusal("The alert was not acknowledged");
    }
    Redirect::to(&format!("/dashboard?acknowledged={id}")).into_response()
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

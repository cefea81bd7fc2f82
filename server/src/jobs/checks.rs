//! Platform health checks, each raising its alert once while its condition holds and
//! clearing it when it ends: sign-in failure spikes and the served certificate's expiry
//! (on the schedules' beat) and plan quotas (a job, hourly and on request).

use serde_json::Value;
use stackbill_store::NewAlert;

use crate::api::AppState;
use crate::api::wire::{ApiError, ApiResult};

/// Minutes over which failed sign-ins are counted.
const WINDOW_MINUTES: i64 = 5;

/// `auth.failure_spike`: more failed sign-ins across the platform in the last five
/// minutes than System Settings → Platforms → `authFailureAlertThreshold` (50 by
/// default): someone may be guessing passwords.
pub(crate) async fn sign_in_failures(state: &AppState, now: i64) -> ApiResult<()> {
    let threshold = state.snapshot().await?.settings["platforms"]["authFailureAlertThreshold"]
        .as_i64()
        .unwrap_or(50);
    let since = now
        .div_euclid(60)
        .saturating_sub(WINDOW_MINUTES.saturating_sub(1));
    let failures = state.store().sign_in_failures_since(since).await?;
    let key = "auth.failure_spike:platform";
    let at = crate::api::now_rfc3339();
    if failures > threshold {
        let alert = NewAlert {
            key: key.into(),
            kind: "auth.failure_spike".into(),
            subject: "platform".into(),
            severity: "warning".into(),
            message: format!(
                "{failures} failed sign-ins in the last {WINDOW_MINUTES} minutes (threshold {threshold})"
            ),
        };
        state.store().raise_alert(&alert, &at).await?;
    } else {
        state.store().clear_alert(key, &at).await?;
    }
    Ok(())
}

/// Days before its expiry that a served certificate is warned of, unless System Settings
/// → Platforms → `certificateExpiryWarningDays` says otherwise.
const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// `tls.expiring`: the certificate this process serves HTTPS with expires within System
/// Settings → Platforms → `certificateExpiryWarningDays` (30 by default; an error once
/// expired). Named by the certificate's subject, so replicas serving one certificate
/// raise one alert, and a renewed certificate (same subject, later expiry) clears it
/// when its process restarts with it.
pub(crate) async fn certificate(state: &AppState, now: i64) -> ApiResult<()> {
    let Some(cert) = &state.config.certificate else {
        return Ok(());
    };
    let warn_days = state.snapshot().await?.settings["platforms"]["certificateExpiryWarningDays"]
        .as_i64()
        .unwrap_or(CERTIFICATE_WARNING_DAYS);
    let key = format!("tls.expiring:{}", cert.subject);
    let at = crate::api::now_rfc3339();
    let left = cert.not_after.saturating_sub(now);
    let expiry = chrono::DateTime::from_timestamp(cert.not_after, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let (severity, message) = if left <= 0 {
        (
            "error",
            format!(
                "the served certificate {} expired at {expiry}",
                cert.subject
            ),
        )
    } else if left < warn_days.saturating_mul(86_400) {
        let days = left.div_euclid(86_400);
        (
            "warning",
            format!(
                "the served certificate {} expires at {expiry} (in {days} day(s)); renew it and restart",
                cert.subject
            ),
        )
    } else {
        state.store().clear_alert(&key, &at).await?;
        return Ok(());
    };
    let alert = NewAlert {
        key,
        kind: "tls.expiring".into(),
        subject: cert.subject.clone(),
        severity: severity.into(),
        message,
    };
    state.store().raise_alert(&alert, &at).await?;
    Ok(())
}

/// What one quota check found.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QuotaCheck {
    /// The UTC day checked (`YYYY-MM-DD`).
    day: String,
    /// (subscription, quota) pairs assessed.
    assessed: u64,
    /// Of them, at or over their plan's alert percentage (each an open alert).
    over: u64,
    /// Alerts cleared because use fell back (or the plan no longer alerts).
    cleared: u64,
}

/// `quota.threshold`: for each subscription of a plan with quota alerts, its use of each
/// alerting quota on UTC `day` (days since the epoch), from the day's usage roll-ups —
/// see `stackbill_core::quota`. Raises an alert per subscription and quota at or over
/// the plan's percentage, and clears the open ones that no longer are.
pub(crate) async fn quotas(state: &AppState, day: i64) -> ApiResult<QuotaCheck> {
    use stackbill_core::Decimal;
    use std::collections::{BTreeMap, HashMap};

    let store = state.store();
    let plans: HashMap<String, stackbill_store::PlanRow> = store
        .plans()
        .await?
        .into_iter()
        .filter(|p| p.quota_alerts.is_some())
        .map(|p| (p.id.to_ascii_lowercase(), p))
        .collect();
    // Subscriptions billed under an alerting plan (closed ones are not watched).
    let watched: HashMap<String, (String, &stackbill_store::PlanRow)> = store
        .subscriptions()
        .await?
        .into_iter()
        .filter(|s| s.status != "cancelled")
        .filter_map(|s| {
            let plan = plans.get(&s.plan.as_deref()?.to_ascii_lowercase())?;
            Some((s.id.to_ascii_lowercase(), (s.id, plan)))
        })
        .collect();
    // The day's unit-hours per (subscription, meter), summed exactly.
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    if !watched.is_empty() {
        let keys: HashMap<i64, (String, String)> = store
            .usage_keys()
            .await?
            .into_iter()
            .filter_map(|k| {
                let sub = k.subscription?.to_ascii_lowercase();
                watched.contains_key(&sub).then(|| {
                    (
                        k.id,
                        (sub, k.meter.unwrap_or_default().to_ascii_lowercase()),
                    )
                })
            })
            .collect();
        for rollup in store.usage_rollups(day).await? {
            let Some(key) = keys.get(&rollup.key).filter(|_| !rollup.invalid) else {
                continue;
            };
            let quantity: Decimal = rollup.quantity.parse().map_err(|e| {
                ApiError::internal(format!("usage roll-up {:?}: {e}", rollup.quantity))
            })?;
            let sum = sums.entry(key.clone()).or_default();
            *sum = sum
                .checked_add(quantity)
                .ok_or_else(|| ApiError::internal(format!("usage of {} overflows", key.0)))?;
        }
    }
    let date = chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let at = crate::api::now_rfc3339();
    let mut report = QuotaCheck {
        day: date.clone(),
        ..QuotaCheck::default()
    };
    let mut over_keys = std::collections::HashSet::new();
    for (sub_key, (sub_id, plan)) in &watched {
        let Some(alerts) = &plan.quota_alerts else {
            continue;
        };
        for (quota, meter) in &alerts.meters {
            let Some(limit) = plan.quotas.get(quota).and_then(|v| v.as_u64()) else {
                continue;
            };
            let unit_hours = sums
                .get(&(sub_key.clone(), meter.to_ascii_lowercase()))
                .copied()
                .unwrap_or_default();
            let assessed = stackbill_core::quota::assess(unit_hours, limit, alerts.percent);
            report.assessed = report.assessed.saturating_add(1);
            if !assessed.alert {
                continue;
            }
            report.over = report.over.saturating_add(1);
            let key = format!("quota.threshold:{sub_key}:{quota}");
            let share = assessed
                .percent
                .map_or_else(|| "a zero quota".to_owned(), |p| format!("{p} %"));
            let alert = NewAlert {
                key: key.clone(),
                kind: "quota.threshold".into(),
                subject: format!("{sub_id}:{quota}"),
                severity: "warning".into(),
                message: format!(
                    "subscription {sub_id} used on average {} of {limit} {quota} on {date} \
                     ({share}; plan {} warns at {} %)",
                    assessed.used, plan.name, alerts.percent
                ),
            };
            store.raise_alert(&alert, &at).await?;
            over_keys.insert(key);
        }
    }
    for open in store.alerts(true).await? {
        if open.kind == "quota.threshold" && !over_keys.contains(&open.key) {
            store.clear_alert(&open.key, &at).await?;
            report.cleared = report.cleared.saturating_add(1);
        }
    }
    Ok(report)
}

/// The `alerts.quota` job: checks the quotas of the day in its parameters.
pub(crate) async fn run_quotas(
    state: &AppState,
    job: i64,
    params: &Value,
) -> ApiResult<crate::jobs::Done> {
    let day = params["day"]
        .as_i64()
        .ok_or_else(|| ApiError::internal(format!("job {job}: no day")))?;
    let report = quotas(state, day).await?;
    let message = format!(
        "{}: {} quota(s) assessed, {} at or over their alert percentage, {} cleared",
        report.day, report.assessed, report.over, report.cleared
    );
    crate::jobs::Done::of(job, message, &report)
}

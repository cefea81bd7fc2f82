//! Alerts (manual: Operations → Monitoring & Alerts): conditions the platform raises
//! once while they hold (a region unreachable, its credentials refused, collection
//! failing, usage of a meter not in the catalogue, a failed job, a sign-in spike, a
//! quota approached, a tenant's directory gone, a certificate expiring), listed and
//! acknowledged here; the quota and identity checks can be run on request.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use stackbill_store::AlertRow;
use utoipa::ToSchema;

use super::AppState;
use super::access::{ManageSettings, Platform, ReadJobs};
use super::ops::{Op, many, one, query};
use super::wire::{self, ApiError, ApiResult, Body, Params, ok};
use crate::jobs;
use serde_json::json;

/// An alert.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Alert {
    id: i64,
    /// `region.unreachable`, `region.token_refused`, `collection.failed`, `meter.unknown`,
    /// `job.failed`, `auth.failure_spike`, `quota.threshold`, `tenant.identity`,
    /// `tls.expiring`.
    kind: String,
    /// What it is about (a region id, a meter id).
    subject: String,
    /// `warning` or `error`.
    severity: String,
    /// The latest message.
    message: String,
    /// `open` or `cleared`.
    status: String,
    raised_at: String,
    last_seen_at: String,
    /// Times the condition was seen while open.
    occurrences: i64,
    cleared_at: Option<String>,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<String>,
}

impl From<AlertRow> for Alert {
    fn from(a: AlertRow) -> Self {
        Alert {
            id: a.id,
            kind: a.kind,
            subject: a.subject,
            severity: a.severity,
            message: a.message,
            status: if a.cleared_at.is_some() {
                "cleared"
            } else {
                "open"
            }
            .into(),
            raised_at: a.raised_at,
            last_seen_at: a.last_seen_at,
            occurrences: a.occurrences,
            cleared_at: a.cleared_at,
            acknowledged_by: a.acknowledged_by,
            acknowledged_at: a.acknowledged_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlertQuery {
    #[serde(default)]
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadJobs>,
    Params(q): Params<AlertQuery>,
) -> ApiResult<wire::Ok<Vec<Alert>>> {
    let open_only = match q.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("all") => false,
        Some("open") => true,
        Some(_) => return Err(ApiError::field("status", "must be open or all")),
    };
    let rows = state.store().alerts(open_only).await?;
    Ok(ok(rows.into_iter().map(Alert::from).collect()))
}

async fn acknowledge(
    State(state): State<AppState>,
    Platform(auth): Platform<ManageSettings>,
    Path(id): Path<String>,
) -> ApiResult<wire::Ok<Alert>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no alert {id:?}")))?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let row = state
        .store()
        .acknowledge_alert(id, &auth.caller.actor(), &now)
        .await?;
    state
        .audit(
            &auth.caller.actor(),
            "alert.acknowledge",
            &id.to_string(),
            None,
            None,
        )
        .await?;
    Ok(ok(Alert::from(row)))
}

/// Which day's quotas to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct QuotaCheckIn {
    /// A UTC day `YYYY-MM-DD`; yesterday (UTC) when absent.
    #[serde(default)]
    day: Option<String>,
}

/// Checks plan quotas now (the schedule does so hourly): useful after changing a plan's
/// quotas or alert percentage, or once late usage of a day is in.
async fn check_quotas(
    State(state): State<AppState>,
    headers: HeaderMap,
    Platform(auth): Platform<ManageSettings>,
    Body(body): Body<QuotaCheckIn>,
) -> ApiResult<Response> {
    let today = chrono::Utc::now().timestamp().div_euclid(86_400);
    let day = match body.day.as_deref() {
        None => today.saturating_sub(1),
        Some(text) => {
            let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| ApiError::field("day", "must be a date YYYY-MM-DD"))?;
            let day = date
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp().div_euclid(86_400))
                .ok_or_else(|| ApiError::field("day", "must be a date YYYY-MM-DD"))?;
            if day > today {
                return Err(ApiError::field("day", "must not be in the future"));
            }
            day
        }
    };
    let job = jobs::submit(
        &state,
        "alerts.quota",
        &json!({"day": day}),
        None,
        &auth.caller.actor(),
    )
    .await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

/// Checks every tenant's Entra tenant now (the schedule does so daily at 04:00 when
/// System Settings → Subscriptions → Perform Tenant Identity Health Checks is on).
async fn check_identities(
    State(state): State<AppState>,
    headers: HeaderMap,
    Platform(auth): Platform<ManageSettings>,
) -> ApiResult<Response> {
    let job = jobs::submit(
        &state,
        "tenants.identity",
        &json!({}),
        None,
        &auth.caller.actor(),
    )
    .await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "System";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/alerts",
            t,
            "List alerts (newest first)",
            get(list),
        )
        .queries(vec![query(
            "status",
            "`open` for open alerts only; `all` (default).",
        )])
        .data(many::<Alert>()),
        Op::new(
            Method::POST,
            "/api/v1/alerts/{id}/acknowledge",
            t,
            "Acknowledge an alert",
            post(acknowledge),
        )
        .data(one::<Alert>()),
        Op::new(
            Method::POST,
            "/api/v1/alerts/quota-check",
            t,
            "Check plan quotas against a day's usage now",
            post(check_quotas),
        )
        .body(one::<QuotaCheckIn>())
        .data(one::<crate::jobs::checks::QuotaCheck>())
        .job(),
        Op::new(
            Method::POST,
            "/api/v1/alerts/identity-check",
            t,
            "Check every tenant's Entra tenant now",
            post(check_identities),
        )
        .data(one::<crate::jobs::identity::IdentityCheck>())
        .job(),
    ]
}

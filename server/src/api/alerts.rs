//! Alerts (manual: Operations → Monitoring & Alerts): conditions the platform raises
//! once while they hold (a region unreachable, its credentials refused, collection
//! failing, usage of a meter not in the catalogue), listed and acknowledged here.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use stackbill_store::AlertRow;
use utoipa::ToSchema;

use super::AppState;
use super::access::{ManageSettings, Platform, ReadJobs};
use super::ops::{Op, many, one, query};
use super::wire::{self, ApiError, ApiResult, Params, ok};

/// An alert.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Alert {
    id: i64,
    /// `region.unreachable`, `region.token_refused`, `collection.failed`, `meter.unknown`.
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
    ]
}

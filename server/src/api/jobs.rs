//! `/api/v1/jobs`: the job list (platform roles), one job (platform roles, and whoever
//! queued it, so a partner administrator can follow the billing run they started), and
//! cancellation (a platform administrator or whoever queued it).

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use stackbill_core::rbac::{Action, NodePath};
use stackbill_store::JobRow;

use super::AppState;
use super::access::{Allowed, Platform, ReadJobs};
use super::ops::{Op, many, one, paging};
use super::wire::{ApiError, ApiResult, Paging, Params, ok};
use crate::jobs::{JobView, now_ms};

/// Newest first.
async fn list(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadJobs>,
    Params(paging): Params<Paging>,
) -> ApiResult<crate::api::wire::Ok<Vec<JobView>>> {
    let jobs = state.store().jobs().await?;
    Ok(ok(paging
        .apply(jobs)?
        .into_iter()
        .map(JobView::from)
        .collect()))
}

fn job_id(text: &str) -> ApiResult<i64> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("no job {text:?}")))
}

/// The job, if the caller may see it; jobs outside the caller's reach answer as missing.
async fn visible(state: &AppState, auth: &Allowed<ReadJobs>, id: &str) -> ApiResult<JobRow> {
    let missing = || ApiError::NotFound(format!("no job {id:?}"));
    let job = state.store().job(job_id(id)?).await?.ok_or_else(missing)?;
    let own = job.requested_by.as_deref() == Some(auth.caller.actor().as_str());
    if own || auth.allows(&NodePath::platform()) {
        Ok(job)
    } else {
        Err(missing())
    }
}

async fn show(
    State(state): State<AppState>,
    auth: Allowed<ReadJobs>,
    Path(id): Path<String>,
) -> ApiResult<crate::api::wire::Ok<JobView>> {
    Ok(ok(JobView::from(visible(&state, &auth, &id).await?)))
}

/// A queued job ends at once; a running one stops at its next lease renewal (within a
/// third of the lease). A job that already ended answers 409.
async fn cancel(
    State(state): State<AppState>,
    auth: Allowed<ReadJobs>,
    Path(id): Path<String>,
) -> ApiResult<crate::api::wire::Ok<JobView>> {
    let job = visible(&state, &auth, &id).await?;
    let own = job.requested_by.as_deref() == Some(auth.caller.actor().as_str());
    if !own
        && !auth
            .caller
            .can(Action::ManageSettings, &NodePath::platform())
    {
        return Err(ApiError::Forbidden(
            "only a platform administrator or whoever queued a job may cancel it".into(),
        ));
    }
    if !matches!(job.status.as_str(), "queued" | "running") {
        return Err(ApiError::Conflict(format!(
            "job {} already {}",
            job.id, job.status
        )));
    }
    let row = state.store().cancel_job(job.id, now_ms()).await?;
    state
        .audit(
            &auth.caller.actor(),
            "job.cancel",
            &row.id.to_string(),
            None,
            Some(serde_json::json!({"kind": row.kind, "status": row.status})),
        )
        .await?;
    Ok(ok(JobView::from(row)))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "System";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/jobs",
            t,
            "List jobs (newest first)",
            get(list),
        )
        .queries(paging())
        .data(many::<JobView>()),
        Op::new(
            Method::GET,
            "/api/v1/jobs/{id}",
            t,
            "View a job and its outcome",
            get(show),
        )
        .data(one::<JobView>()),
        Op::new(
            Method::POST,
            "/api/v1/jobs/{id}/cancel",
            t,
            "Cancel a queued or running job",
            post(cancel),
        )
        .data(one::<JobView>()),
    ]
}

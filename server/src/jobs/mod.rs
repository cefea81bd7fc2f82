//! Jobs: work that outlives the request that asked for it (billing runs, commission
//! runs, usage processing, collection). A request validates and scope-checks what it
//! asks, queues a job in the database and answers `202 Accepted` with the job's URL;
//! a worker in any server process (or `stackbill worker`) claims it, runs it under a
//! lease it renews, and stores the outcome. A client that would rather wait sends
//! `Prefer: wait=N` and gets the finished job's answer, as before jobs existed, when it
//! ends within N seconds.

pub(crate) mod archive;
pub(crate) mod checks;
pub(crate) mod identity;
mod kinds;
pub(crate) mod notices;
pub(crate) mod schedule;
pub(crate) mod submission;
#[cfg(test)]
mod test_support;
mod worker;

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use stackbill_store::{JobRow, NewJob};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::api::wire::{ApiError, ApiResult, json_response};

pub(crate) use kinds::Done;
pub(crate) use worker::{Progress, Worker, WorkerConfig};

/// Longest `Prefer: wait` honoured, in seconds.
const MAX_WAIT_SECONDS: u64 = 600;

/// Milliseconds since the Unix epoch on this process's clock.
pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Queues a job of `kind` with `params`, due now, and wakes this process's worker.
/// `run_key` makes it exist once (a schedule's slot).
pub(crate) async fn submit(
    state: &AppState,
    kind: &str,
    params: &Value,
    run_key: Option<String>,
    requested_by: &str,
) -> ApiResult<i64> {
    let job = NewJob {
        kind: kind.to_owned(),
        run_key,
        params: params.to_string(),
        requested_by: Some(requested_by.to_owned()),
        due_at: now_ms(),
    };
    let id = state.store().enqueue_job(&job).await?.id();
    state.wake_worker();
    Ok(id)
}

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobView {
    id: i64,
    /// `billing.generate`, `commissions.generate`, `usage.process`, `usage.collect`.
    kind: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    status: String,
    /// Percent done.
    progress: i64,
    message: String,
    /// Where to follow it.
    url: String,
    /// Who asked (an e-mail address, `schedule`, or `alerts`).
    requested_by: Option<String>,
    /// A schedule's slot (`collect:fra01@2026-12-06T10:00:00Z`) or an alert event and
    /// target: what makes the job exist once.
    run_key: Option<String>,
    /// Claims so far: more than one means another process took it over.
    attempts: i64,
    /// Someone asked to cancel it.
    cancel_requested: bool,
    /// Queued, started and ended (RFC 3339).
    created_at: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    /// When it succeeded: what the request would have answered had it waited (an
    /// object or a list, depending on the job).
    result: Option<Value>,
    /// When it failed: the problems, as in an error response.
    #[schema(value_type = Option<Vec<Object>>)]
    errors: Option<Value>,
}

fn instant(ms: Option<i64>) -> Option<String> {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl From<JobRow> for JobView {
    fn from(j: JobRow) -> Self {
        let outcome: Option<Value> = j
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        let (result, errors) = match &outcome {
            Some(o) if j.status == "succeeded" => (o.get("data").cloned(), None),
            Some(o) => (None, o.pointer("/body/errors").cloned()),
            None => (None, None),
        };
        JobView {
            url: format!("/api/v1/jobs/{}", j.id),
            id: j.id,
            kind: j.kind,
            status: j.status,
            progress: j.progress,
            message: j.message,
            requested_by: j.requested_by,
            run_key: j.run_key,
            attempts: j.attempts,
            cancel_requested: j.cancel_requested,
            created_at: instant(j.created_at),
            started_at: instant(j.first_claimed_at),
            finished_at: instant(j.finished_at),
            result,
            errors,
        }
    }
}

/// What a request that started a job asked for in `Prefer` (RFC 7240): to wait up to
/// some seconds for the outcome, or (the default) an answer at once.
fn wait_preference(headers: &HeaderMap) -> ApiResult<Option<Duration>> {
    let mut wait = None;
    for value in headers.get_all("prefer") {
        let text = value
            .to_str()
            .map_err(|_| ApiError::field("Prefer", "is not ASCII"))?;
        for token in text.split(',').map(str::trim) {
            let Some(seconds) = token.strip_prefix("wait=") else {
                // `respond-async` and preferences we do not know are the default.
                continue;
            };
            let seconds: u64 = seconds.trim().parse().map_err(|_| {
                ApiError::field("Prefer", "wait= takes whole seconds, e.g. wait=60")
            })?;
            wait = Some(Duration::from_secs(seconds.min(MAX_WAIT_SECONDS)));
        }
    }
    Ok(wait)
}

/// The answer to a request that queued job `id`: `202 Accepted` with the job and its
/// URL in `Location`, or, under `Prefer: wait=N`, the finished job's own answer.
pub(crate) async fn accepted(state: &AppState, id: i64, headers: &HeaderMap) -> Response {
    match answer(state, id, headers).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn answer(state: &AppState, id: i64, headers: &HeaderMap) -> ApiResult<Response> {
    let wait = wait_preference(headers)?;
    let started = tokio::time::Instant::now();
    let wait_for = wait.unwrap_or_default();
    loop {
        let job = state
            .store()
            .job(id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("job {id} vanished")))?;
        if wait.is_some() && matches!(job.status.as_str(), "succeeded" | "failed") {
            return Ok(finished(&job));
        }
        if wait.is_none() || job.status == "cancelled" || started.elapsed() >= wait_for {
            let view = JobView::from(job);
            let mut response = json_response(
                StatusCode::ACCEPTED,
                &json!({"code": 202, "data": view, "errors": []}),
            );
            if let Ok(location) = HeaderValue::from_str(&view_url(id)) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            return Ok(response);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn view_url(id: i64) -> String {
    format!("/api/v1/jobs/{id}")
}

/// A finished job's answer: its stored response.
fn finished(job: &JobRow) -> Response {
    let outcome: Value = job
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    match outcome.get("status").and_then(Value::as_u64) {
        Some(status) => {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json_response(status, &outcome["body"])
        }
        None if job.status == "succeeded" => json_response(
            StatusCode::OK,
            &json!({"code": 200, "data": outcome.get("data").cloned().unwrap_or(Value::Null), "errors": []}),
        ),
        None => ApiError::Conflict(format!("job {} {}: {}", job.id, job.status, job.message))
            .into_response(),
    }
}

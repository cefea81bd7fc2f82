//! What each kind of job does: the job's parameters are the request as validated and
//! scope-checked when it was queued; its outcome is what that request answers.

use serde_json::{Value, json};
use stackbill_store::ClaimedJob;

use super::Progress;
use crate::api::AppState;
use crate::api::wire::ApiError;

/// A job's successful end: a line for the job list, and the answer's `data`.
#[derive(Debug)]
pub(crate) struct Done {
    /// What happened, for a person.
    pub message: String,
    /// The request's answer.
    pub data: Value,
}

impl Done {
    /// A success whose answer is `data`, serialised.
    pub(crate) fn of<T: serde::Serialize>(
        job: i64,
        message: String,
        data: &T,
    ) -> Result<Done, ApiError> {
        let data = serde_json::to_value(data)
            .map_err(|e| ApiError::internal(format!("job {job}: {e}")))?;
        Ok(Done { message, data })
    }
}

/// Runs a claimed job to its end.
pub(super) async fn execute(
    state: &AppState,
    job: &ClaimedJob,
    progress: &Progress,
) -> Result<Done, ApiError> {
    let params: Value = serde_json::from_str(&job.params)
        .map_err(|e| ApiError::internal(format!("job {} parameters: {e}", job.id)))?;
    let actor = job.requested_by.as_deref().unwrap_or("schedule");
    match job.kind.as_str() {
        "billing.generate" => {
            crate::api::billing::run_generate(state, job.id, &params, actor, progress).await
        }
        "commissions.generate" => {
            crate::api::commissions::run_generate(state, job.id, &params, actor, progress).await
        }
        "usage.process" => {
            crate::api::catalogue::run_process(state, job.id, &params, actor, progress).await
        }
        "usage.collect" => {
            crate::api::collection::run_collect(state, job.id, &params, actor, progress).await
        }
        "invoices.submit" => super::submission::run(state, job.id, &params, actor, progress).await,
        "invoices.archive" => super::archive::run(state, job.id, progress).await,
        "invoices.delinquent" => super::notices::run_delinquent(state, job.id).await,
        "mail.send" => crate::mail::run_send(state, job.id, &params).await,
        "alerts.quota" => super::checks::run_quotas(state, job.id, &params).await,
        "tenants.identity" => super::identity::run(state, job.id).await,
        "alert.forward" => {
            crate::forwarding::run_forward(state, job.id, &params, actor, progress).await
        }
        other => Err(ApiError::internal(format!(
            "job {}: no worker knows the kind {other:?}",
            job.id
        ))),
    }
}

/// The stored outcome of a job: its answer's `data`, or the error response's status and
/// body, so that a client waiting on it gets what the request would have answered.
pub(super) fn outcome(result: &Result<Done, ApiError>) -> Value {
    match result {
        Ok(done) => json!({"data": done.data}),
        Err(e) => {
            let status = e.status().as_u16();
            json!({
                "status": status,
                "body": {"code": status, "data": null, "errors": e.problems()},
            })
        }
    }
}

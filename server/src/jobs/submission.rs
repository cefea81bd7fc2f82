//! Invoice submission: with Auto Create Invoices on, the previews of a month that has
//! closed are issued once its Invoice Submission Delay (days, System Settings → Invoices)
//! has passed, dated the day they are issued. The delay is the operator's time to review
//! the month-end previews; until it passes they stay previews, and re-billing replaces them.
//!
//! A daily slot (`invoices.submit`, 03:00 in the platform's time zone, after the month-end
//! run at 01:00 and the nightly run at 02:00) queues one job for the latest month whose
//! delay has passed. The job issues that month's remaining previews one by one (each issue
//! is its own transaction with a gap-free number), so a job taken over after a crash, or
//! the next day's job, issues what is left and nothing twice. While a billing run is queued
//! or running the job issues nothing (the run may be replacing those previews) and says so;
//! the next day's slot issues them.

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use stackbill_store::{InvoiceFilter, InvoiceStatus};

use super::{Done, Progress};
use crate::api::AppState;
use crate::api::wire::ApiError;

/// The month whose previews a slot on `day` submits: the month before the one
/// `day - delay` falls in (`YYYY-MM`).
pub(crate) fn period_due(day: NaiveDate, delay_days: u64) -> String {
    let start = day.checked_sub_days(Days::new(delay_days)).unwrap_or(day);
    let (year, month) = if start.month() == 1 {
        (start.year().saturating_sub(1), 12)
    } else {
        (start.year(), start.month().saturating_sub(1))
    };
    format!("{year:04}-{month:02}")
}

/// The Invoice Submission Delay of the settings, in days (0 when unset).
pub(crate) fn delay_days(settings: &Value) -> u64 {
    settings["invoices"]["invoiceSubmissionDelayDays"]
        .as_u64()
        .unwrap_or(0)
}

/// What a submission job did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Submitted {
    period: String,
    issue_date: String,
    /// The invoices issued, by number.
    issued: Vec<String>,
    /// Previews that could not be issued, each with why (issued by a person or replaced
    /// by a billing run since the list was read).
    skipped: Vec<String>,
    /// Whether a billing run in progress held the submission back.
    deferred: bool,
    /// Issued invoices whose documents could not be rendered and kept at issue, each with
    /// why; they are rendered and kept when first requested.
    documents_not_kept: Vec<String>,
    /// Issued invoices not e-mailed although Auto Email Invoices is on, each with why
    /// (no billing contact, no SMTP settings).
    not_emailed: Vec<String>,
}

fn text<'a>(params: &'a Value, key: &str, job: i64) -> Result<&'a str, ApiError> {
    params[key]
        .as_str()
        .ok_or_else(|| ApiError::internal(format!("job {job}: parameter {key} missing")))
}

/// Runs one submission job (`{"period": "YYYY-MM", "issueDate": "YYYY-MM-DD"}`).
pub(crate) async fn run(
    state: &AppState,
    job: i64,
    params: &Value,
    actor: &str,
    progress: &Progress,
) -> Result<Done, ApiError> {
    let period = text(params, "period", job)?.to_owned();
    let issue_date = text(params, "issueDate", job)?.to_owned();
    let mut out = Submitted {
        period: period.clone(),
        issue_date: issue_date.clone(),
        issued: Vec::new(),
        skipped: Vec::new(),
        deferred: false,
        documents_not_kept: Vec::new(),
        not_emailed: Vec::new(),
    };
    let billing = state.store().jobs().await?.into_iter().find(|j| {
        j.kind == "billing.generate" && matches!(j.status.as_str(), "queued" | "running")
    });
    if let Some(run) = billing {
        out.deferred = true;
        let message = format!(
            "{period}: nothing issued while billing job {} is {}; the next day's submission issues the previews",
            run.id, run.status
        );
        return Done::of(job, message, &out);
    }
    let previews = state
        .store()
        .invoices(&InvoiceFilter {
            period: Some(period.clone()),
            status: Some(InvoiceStatus::Preview),
            ..InvoiceFilter::default()
        })
        .await?;
    let total = previews.len();
    let documents = crate::documents::Context::load(state.store()).await;
    for (n, preview) in previews.iter().enumerate() {
        use stackbill_store::StoreError;
        let issued = match state.store().issue_invoice(preview.id, &issue_date).await {
            Ok(issued) => issued,
            Err(
                e @ (StoreError::NotFound { .. }
                | StoreError::InvalidState(_)
                | StoreError::Conflict { .. }),
            ) => {
                out.skipped.push(format!("invoice {}: {e}", preview.id));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        state
            .audit(
                actor,
                "invoice.issue",
                &issued.id.to_string(),
                Some(serde_json::json!({"status": "preview"})),
                Some(serde_json::json!({
                    "status": "issued", "number": issued.number, "issueDate": issued.issue_date,
                    "dueDate": issued.due_date, "total": issued.total, "jobId": job,
                })),
            )
            .await?;
        let kept = match &documents {
            Ok(ctx) => crate::documents::keep_at_issue(state.store(), ctx, &issued).await,
            Err(e) => Err(crate::documents::DocumentFailure::Unreadable(
                issued.id,
                e.to_string(),
            )),
        };
        if let Err(e) = kept {
            let number = issued.number.clone().unwrap_or_default();
            tracing::error!(invoice = issued.id, error = %e, "documents not kept at issue");
            out.documents_not_kept.push(format!("{number}: {e}"));
        }
        if let Err(why) = super::notices::invoice_issued(state, &issued).await {
            let number = issued.number.clone().unwrap_or_default();
            out.not_emailed.push(format!("{number}: {why}"));
        }
        out.issued.extend(issued.number);
        let done = n
            .saturating_add(1)
            .saturating_mul(100)
            .checked_div(total)
            .and_then(|p| i64::try_from(p).ok())
            .unwrap_or(100);
        progress.set(
            done,
            format!("{period}: issued {} of {total}", n.saturating_add(1)),
        );
    }
    let message = format!(
        "{period}: {} preview(s) issued on {issue_date}, {} skipped",
        out.issued.len(),
        out.skipped.len()
    );
    Done::of(job, message, &out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use stackbill_store::NewJob;

    use super::*;

    async fn previews(state: &AppState) -> Vec<i64> {
        let filter = InvoiceFilter {
            period: Some("2026-10".into()),
            status: Some(InvoiceStatus::Preview),
            ..InvoiceFilter::default()
        };
        let rows = state.store().invoices(&filter).await.unwrap();
        rows.iter().map(|r| r.id).collect()
    }

    /// The demo's October, billed: a submission while a billing run is queued issues
    /// nothing; then it issues every preview once, dated the submission day with due dates
    /// from the tenants' terms; a second run (a retry, the next day's slot) issues nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn submission_issues_each_preview_once_and_waits_for_billing_runs() {
        let dir = crate::jobs::test_support::temp_dir("stackbill-submission");
        let state = crate::jobs::test_support::demo(&dir).await;
        stackbill_store::billing::bill(state.store(), "2026-10", None)
            .await
            .unwrap();
        let waiting = previews(&state).await;
        assert!(waiting.len() > 10, "{}", waiting.len());
        let params = json!({"period": "2026-10", "issueDate": "2026-11-04"});
        let progress = Progress::default();

        let run_job = state
            .store()
            .enqueue_job(&NewJob {
                kind: "billing.generate".into(),
                run_key: None,
                params: json!({"period": "2026-11", "tenants": null}).to_string(),
                requested_by: Some("test".into()),
                due_at: i64::MAX,
            })
            .await
            .unwrap()
            .id();
        let held = run(&state, 1, &params, "schedule", &progress)
            .await
            .unwrap();
        assert_eq!(held.data["deferred"], json!(true), "{}", held.data);
        assert_eq!(held.data["issued"], json!([]));
        assert_eq!(previews(&state).await, waiting);
        state.store().cancel_job(run_job, i64::MAX).await.unwrap();

        let done = run(&state, 2, &params, "schedule", &progress)
            .await
            .unwrap();
        assert_eq!(done.data["deferred"], json!(false));
        assert_eq!(done.data["skipped"], json!([]));
        let numbers = done.data["issued"].as_array().unwrap();
        assert_eq!(numbers.len(), waiting.len());
        assert!(previews(&state).await.is_empty());
        for id in &waiting {
            let invoice = state.store().invoice(*id).await.unwrap();
            assert_eq!(invoice.status, InvoiceStatus::Issued);
            assert_eq!(invoice.issue_date.as_deref(), Some("2026-11-04"));
            assert!(
                invoice.due_date.as_deref() > Some("2026-11-04"),
                "{invoice:?}"
            );
            assert!(numbers.contains(&json!(invoice.number)), "{invoice:?}");
        }
        let again = run(&state, 3, &params, "schedule", &progress)
            .await
            .unwrap();
        assert_eq!(again.data["issued"], json!([]));
        let audit = state.store().audit_log().await.unwrap();
        let issues = audit.iter().filter(|e| e.action == "invoice.issue").count();
        assert_eq!(issues, waiting.len(), "one audit entry per invoice issued");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn a_month_is_submitted_once_its_delay_has_passed() {
        assert_eq!(period_due(day("2026-12-01"), 0), "2026-11");
        assert_eq!(period_due(day("2026-12-03"), 3), "2026-10");
        assert_eq!(period_due(day("2026-12-04"), 3), "2026-11");
        assert_eq!(period_due(day("2027-01-01"), 0), "2026-12");
        // December is submitted on 1 January + 40 days.
        assert_eq!(period_due(day("2027-02-09"), 40), "2026-11");
        assert_eq!(period_due(day("2027-02-10"), 40), "2026-12");
    }
}

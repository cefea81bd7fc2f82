//! Invoices by e-mail: the issued invoice with its PDF when Auto Email Invoices is on, and
//! delinquent payment notices every Delinquent Payment Notification Interval (days) while
//! Send Delinquent Payment Notifications is on, each to the tenant's billing contact.
//!
//! A notice's key counts the intervals since the invoice fell due (`delinquent:42:0` the
//! first interval, `:1` the next), so however often the check runs, and on however many
//! processes, each interval queues one notice; once the invoice is paid it is no longer
//! delinquent and no notice follows.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use stackbill_document::format_money;
use stackbill_store::{InvoiceFilter, InvoiceRow, InvoiceStatus};

use super::Done;
use crate::api::AppState;
use crate::api::access::Directory;
use crate::api::system::effective_settings;
use crate::api::wire::ApiError;
use crate::mail::{InvoiceAttachment, Outgoing};

async fn invoice_settings(state: &AppState) -> Result<Value, ApiError> {
    let settings = state.store().settings().await?;
    Ok(effective_settings("invoices", settings.get("invoices")))
}

/// The tenant's name and billing contact.
fn recipient(dir: &Directory, row: &InvoiceRow) -> Result<(String, String), String> {
    let tenant = dir
        .tenant(&row.tenant)
        .ok_or_else(|| format!("tenant {} is unknown", row.tenant))?;
    let contact = tenant.details["billingContact"]
        .as_str()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("tenant {} has no billing contact", row.tenant))?;
    Ok((tenant.name.clone(), contact.to_owned()))
}

fn total(row: &InvoiceRow) -> String {
    let decimals = stackbill_core::money::Currency::from_code(&row.currency)
        .map(|c| c.minor_unit())
        .unwrap_or(2);
    let amount = row.total.parse().unwrap_or_default();
    format!("{} {}", format_money(amount, decimals), row.currency)
}

/// A message about `row` to `to`, with its PDF attached and the payment details after
/// `text`.
fn about(
    row: &InvoiceRow,
    key: String,
    to: String,
    subject: String,
    text: String,
    settings: &Value,
) -> Outgoing {
    let number = row.number.clone().unwrap_or_default();
    let details = settings["invoicePaymentDetails"]
        .as_str()
        .unwrap_or_default();
    Outgoing {
        key,
        to,
        subject,
        body: format!("{text}\n\n{details}"),
        sealed: false,
        attachment: Some(InvoiceAttachment {
            invoice: row.id,
            file_name: format!("{number}.pdf"),
        }),
        attempt: 1,
    }
}

/// The e-mail of issued invoice `row` to its tenant's billing contact, with its PDF:
/// sent on issue (Auto Email Invoices) and again whenever someone asks (Email Invoice).
/// `Err` says why there is no one to send it to.
pub(crate) fn invoice_message(
    dir: &Directory,
    row: &InvoiceRow,
    key: String,
    settings: &Value,
) -> Result<Outgoing, String> {
    let (name, to) = recipient(dir, row)?;
    let number = row.number.clone().unwrap_or_default();
    let due = row.due_date.clone().unwrap_or_default();
    Ok(about(
        row,
        key,
        to,
        format!("Invoice {number} for {}", row.period),
        format!(
            "Dear {name},\n\nattached is invoice {number} for {}: {} due on {due}.",
            row.period,
            total(row)
        ),
        settings,
    ))
}

/// The Invoices settings in force (payment details, delivery switches).
pub(crate) async fn settings(state: &AppState) -> Result<Value, ApiError> {
    invoice_settings(state).await
}

/// Queues the e-mail of a just-issued invoice when Auto Email Invoices is on. `Err` says
/// why it was not queued (no billing contact, no SMTP settings), for the caller to show.
pub(crate) async fn invoice_issued(state: &AppState, row: &InvoiceRow) -> Result<(), String> {
    let settings = invoice_settings(state).await.map_err(|e| e.to_string())?;
    if settings["autoEmailInvoices"].as_bool() != Some(true) {
        return Ok(());
    }
    crate::mail::ready(state).await.map_err(|e| e.to_string())?;
    let snapshot = state.snapshot().await.map_err(|e| e.to_string())?;
    let message = invoice_message(
        &snapshot.directory,
        row,
        format!("invoice:{}", row.id),
        &settings,
    )?;
    crate::mail::queue(state, &message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Which interval of overdue days `today` is in for an invoice due on `due` (0 from the
/// first day after it), `None` while it is not overdue.
pub(crate) fn interval_of(due: NaiveDate, today: NaiveDate, every_days: i64) -> Option<i64> {
    let overdue = today.signed_duration_since(due).num_days();
    (overdue >= 1).then(|| overdue.saturating_sub(1).div_euclid(every_days.max(1)))
}

/// What a notices run did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Noticed {
    /// Invoice numbers a notice was queued for in this run (not those whose notice for
    /// the current interval was queued before).
    queued: Vec<String>,
    /// Delinquent invoices no notice could be queued for, each with why.
    not_sent: Vec<String>,
}

/// Runs an `invoices.delinquent` job: a notice for each delinquent invoice whose current
/// interval has none yet.
pub(crate) async fn run_delinquent(state: &AppState, job: i64) -> Result<Done, ApiError> {
    let settings = invoice_settings(state).await?;
    let mut out = Noticed {
        queued: Vec::new(),
        not_sent: Vec::new(),
    };
    if settings["sendDelinquentPaymentNotifications"].as_bool() != Some(true) {
        return Done::of(
            job,
            "Send Delinquent Payment Notifications is off: no notices".into(),
            &out,
        );
    }
    crate::mail::ready(state).await?;
    let every = settings["delinquentPaymentNotificationIntervalDays"]
        .as_i64()
        .unwrap_or(7);
    let today = crate::api::billing::today(state.store()).await?;
    let snapshot = state.snapshot().await?;
    let issued = state
        .store()
        .invoices(&InvoiceFilter {
            status: Some(InvoiceStatus::Issued),
            ..InvoiceFilter::default()
        })
        .await?;
    for row in issued {
        let Some(due) = row
            .due_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        let Some(interval) = interval_of(due, today, every) else {
            continue;
        };
        let number = row.number.clone().unwrap_or_default();
        let (name, to) = match recipient(&snapshot.directory, &row) {
            Ok(r) => r,
            Err(why) => {
                out.not_sent.push(format!("{number}: {why}"));
                continue;
            }
        };
        let days = today.signed_duration_since(due).num_days();
        let message = about(
            &row,
            format!("delinquent:{}:{interval}", row.id),
            to,
            format!("Payment overdue: invoice {number}"),
            format!(
                "Dear {name},\n\ninvoice {number} for {} ({}) was due on {due} and is {days} day(s) overdue. \
                 Please pay it, or let us know if you already have.",
                row.period,
                total(&row)
            ),
            &settings,
        );
        if crate::mail::queue(state, &message).await? {
            out.queued.push(number);
        }
    }
    let message = format!(
        "{} delinquent notice(s) queued (one per invoice and {every}-day interval), {} not sendable",
        out.queued.len(),
        out.not_sent.len()
    );
    Done::of(job, message, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn one_notice_per_interval_from_the_first_overdue_day() {
        let due = day("2026-11-30");
        assert_eq!(interval_of(due, day("2026-11-30"), 7), None);
        assert_eq!(interval_of(due, day("2026-12-01"), 7), Some(0));
        assert_eq!(interval_of(due, day("2026-12-07"), 7), Some(0));
        assert_eq!(interval_of(due, day("2026-12-08"), 7), Some(1));
        assert_eq!(interval_of(due, day("2027-01-05"), 7), Some(5));
        assert_eq!(interval_of(due, day("2026-12-02"), 1), Some(1));
    }
}

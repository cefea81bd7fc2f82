//! `POST /billing/invoices/{id}/email`: the manual's Email Invoice — an issued invoice
//! sent to its tenant's billing contact with the PDF kept at issue, whether or not Auto
//! Email Invoices sent it already (a contact that lost it, a corrected address).
//!
//! The message is a `mail.send` job like every other, so it is retried, listed under
//! Jobs and sent once by one replica. Its key holds the minute it was asked for: a
//! double click, or the same request repeated by a retrying client, is one message.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::post;
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use stackbill_store::InvoiceStatus;
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, ManageBilling};
use super::billing::find_invoice;
use super::ops::{Op, one};
use super::wire::{self, ApiError, ApiResult, ok};
use crate::jobs::notices;

/// An invoice queued for e-mail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Emailed {
    /// The invoice id (a number, as text).
    invoice_id: String,
    /// The invoice number.
    number: String,
    /// The tenant's billing contact it is sent to.
    to: String,
    /// `false` when this invoice was already asked for in the same minute: that message
    /// is the one sent, not a second.
    queued: bool,
}

async fn email_invoice(
    State(state): State<AppState>,
    auth: Allowed<ManageBilling>,
    Path(id): Path<String>,
) -> ApiResult<wire::Ok<Emailed>> {
    let row = find_invoice(&state, &auth, &id).await?;
    if !matches!(row.status, InvoiceStatus::Issued | InvoiceStatus::Paid) {
        return Err(ApiError::Conflict(format!(
            "invoice {id} is {}: only an issued (or paid) invoice is e-mailed; issue it first",
            row.status.name()
        )));
    }
    crate::mail::ready(&state).await?;
    let settings = notices::settings(&state).await?;
    let minute = Utc::now().format("%Y%m%dT%H%M");
    let message = notices::invoice_message(
        auth.directory(),
        &row,
        format!("invoice:{}:email:{minute}", row.id),
        &settings,
    )
    .map_err(|why| ApiError::Conflict(format!("{why}: set the tenant's billingContact")))?;
    let queued = crate::mail::queue(&state, &message).await?;
    state
        .audit(
            &auth.caller.actor(),
            "invoice.email",
            &row.id.to_string(),
            None,
            Some(json!({"to": message.to, "queued": queued})),
        )
        .await?;
    Ok(ok(Emailed {
        invoice_id: row.id.to_string(),
        number: row.number.clone().unwrap_or_default(),
        to: message.to,
        queued,
    }))
}

pub(crate) fn ops() -> Vec<Op> {
    vec![
        Op::new(
            Method::POST,
            "/api/v1/billing/invoices/{id}/email",
            "Billing",
            "E-mail an issued invoice, with its PDF, to the tenant's billing contact",
            post(email_invoice),
        )
        .data(one::<Emailed>()),
    ]
}

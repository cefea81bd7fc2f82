//! `GET /billing/invoices/{id}/document`: an invoice as the PDF or HTML a tenant pays
//! from, scoped like the invoice itself. An issued invoice answers the document kept at
//! issue; a preview is rendered on request and says PREVIEW.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::access::{Allowed, ManageBilling, Platform, ReadBilling};
use super::billing::find_invoice;
use super::ops::Op;
use super::wire::{ApiError, ApiResult, Params};
use crate::documents::{self, Format};

/// Query of the document endpoint.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DocumentQuery {
    #[serde(default)]
    format: Option<String>,
}

/// An HTML invoice needs its inline styles and `data:` logo, and nothing else.
const HTML_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                           frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The format `format` (which wins) or `Accept` asks for; PDF when neither says.
fn wanted(format: Option<&str>, headers: &HeaderMap) -> ApiResult<Format> {
    if let Some(name) = format {
        return match name.trim().to_ascii_lowercase().as_str() {
            "pdf" => Ok(Format::Pdf),
            "html" => Ok(Format::Html),
            _ => Err(ApiError::field(
                "format",
                format!("{name:?} is not pdf or html"),
            )),
        };
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Pdf);
    };
    for item in accept.split(',') {
        let media = item.split(';').next().unwrap_or_default().trim();
        let is = |m: &str| media.eq_ignore_ascii_case(m);
        if is("application/pdf") || is("application/*") || is("*/*") {
            return Ok(Format::Pdf);
        }
        if is("text/html") || is("text/*") {
            return Ok(Format::Html);
        }
    }
    Err(ApiError::Status(
        StatusCode::NOT_ACCEPTABLE,
        "not_acceptable",
        format!("Accept {accept:?}: an invoice document is application/pdf or text/html"),
    ))
}

async fn invoice_document(
    State(state): State<AppState>,
    auth: Allowed<ReadBilling>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(q): Params<DocumentQuery>,
) -> ApiResult<Response> {
    let format = wanted(q.format.as_deref(), &headers)?;
    let row = find_invoice(&state, &auth, &id).await?;
    let bytes = documents::document(state.store(), &row, format).await?;
    let name = match &row.number {
        Some(n) => n.clone(),
        None => format!("invoice-{}-{}-preview", row.tenant, row.period),
    };
    let safe = super::export::safe_file_name(&name);
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    let disposition = format!("inline; filename=\"{safe}.{}\"", format.name());
    for (key, value) in [
        (header::CONTENT_TYPE, format.media_type().to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ] {
        let value = HeaderValue::from_str(&value)
            .map_err(|_| ApiError::internal(format!("header value {value:?}")))?;
        h.insert(key, value);
    }
    if format == Format::Html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(HTML_POLICY),
        );
    }
    Ok(response)
}

/// Queues a job of `kind` now for the platform (both also run on a schedule).
async fn queue_now(
    state: &AppState,
    headers: &HeaderMap,
    auth: &Allowed<ManageBilling>,
    kind: &str,
) -> ApiResult<Response> {
    let job = crate::jobs::submit(
        state,
        kind,
        &serde_json::json!({}),
        None,
        &auth.caller.actor(),
    )
    .await?;
    Ok(crate::jobs::accepted(state, job, headers).await)
}

async fn invoice_settings(state: &AppState) -> ApiResult<serde_json::Value> {
    let settings = state.store().settings().await?;
    Ok(super::system::effective_settings(
        "invoices",
        settings.get("invoices"),
    ))
}

/// Queues an `invoices.archive` job now (it also runs hourly while archiving is on).
async fn archive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Platform(auth): Platform<ManageBilling>,
) -> ApiResult<Response> {
    if crate::jobs::archive::configured(&invoice_settings(&state).await?)?.is_none() {
        return Err(ApiError::Conflict(
            "Store Invoices In Azure Storage is off (System Settings → Invoices)".into(),
        ));
    }
    queue_now(&state, &headers, &auth, "invoices.archive").await
}

/// Queues an `invoices.delinquent` job now (it also runs daily at 06:00 while the notices
/// are on).
async fn delinquent_notices(
    State(state): State<AppState>,
    headers: HeaderMap,
    Platform(auth): Platform<ManageBilling>,
) -> ApiResult<Response> {
    let invoices = invoice_settings(&state).await?;
    if invoices["sendDelinquentPaymentNotifications"].as_bool() != Some(true) {
        return Err(ApiError::Conflict(
            "Send Delinquent Payment Notifications is off (System Settings → Invoices)".into(),
        ));
    }
    crate::mail::ready(&state).await?;
    queue_now(&state, &headers, &auth, "invoices.delinquent").await
}

pub(crate) fn ops() -> Vec<Op> {
    vec![
        Op::new(
            Method::GET,
            "/api/v1/billing/invoices/{id}/document",
            "billing",
            "An invoice's document (PDF or HTML): kept at issue, PREVIEW for a preview",
            get(invoice_document),
        )
        .document(),
        Op::new(
            Method::POST,
            "/api/v1/billing/invoices/archive",
            "billing",
            "Copy issued invoices not yet archived to Azure Blob storage (a job)",
            post(archive),
        )
        .job(),
        Op::new(
            Method::POST,
            "/api/v1/billing/invoices/delinquent-notices",
            "billing",
            "E-mail a notice for each delinquent invoice whose interval has none yet (a job)",
            post(delinquent_notices),
        )
        .job(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn the_query_wins_then_accept_then_pdf() {
        assert_eq!(
            wanted(Some("HTML"), &accept("application/pdf")),
            Ok(Format::Html)
        );
        assert_eq!(wanted(None, &HeaderMap::new()), Ok(Format::Pdf));
        assert_eq!(
            wanted(None, &accept("text/html, application/pdf;q=0.5")),
            Ok(Format::Html)
        );
        assert_eq!(wanted(None, &accept("*/*")), Ok(Format::Pdf));
        assert!(wanted(Some("docx"), &HeaderMap::new()).is_err());
        let refused = wanted(None, &accept("application/json"));
        assert!(matches!(
            refused,
            Err(ApiError::Status(StatusCode::NOT_ACCEPTABLE, _, _))
        ));
    }
}

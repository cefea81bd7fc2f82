//! Subscriptions → Summary: the API's usage and billing summary of the visitor's
//! subscriptions over a range of days, as a table (the manual's View Subscription
//! Summary). A plain GET form, so a summary is a link that can be kept and shared.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::calls::call;
use super::session::Visitor;
use super::{Chrome, page};
use crate::api::AppState;

/// One subscription's row.
struct Row {
    id: String,
    name: String,
    tenant: String,
    status: String,
    records: String,
    /// One line per meter: `meter (sku): quantity in n record(s)`.
    usage: Vec<String>,
    /// One line per currency.
    issued: Vec<String>,
    preview: Vec<String>,
}

#[derive(Template)]
#[template(path = "portal/summary.html")]
struct Summary {
    chrome: Chrome,
    tenant: String,
    from: String,
    to: String,
    error: Option<String>,
    tenant_error: Option<String>,
    from_error: Option<String>,
    to_error: Option<String>,
    summary: Option<String>,
    rows: Vec<Row>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SummaryQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn row(s: &Value) -> Row {
    let list = |key: &str| s[key].as_array().cloned().unwrap_or_default();
    let usage = list("usage")
        .iter()
        .map(|m| {
            let sku = m["sku"]
                .as_str()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default();
            format!(
                "{}{sku}: {} in {} record(s)",
                text(&m["meterId"]),
                text(&m["quantity"]),
                text(&m["records"])
            )
        })
        .collect();
    let billed = list("billed");
    let money = |key: &str| {
        billed
            .iter()
            .map(|b| format!("{} {}", text(&b[key]), text(&b["currency"])))
            .collect()
    };
    Row {
        id: text(&s["subscriptionId"]),
        name: text(&s["name"]),
        tenant: text(&s["tenantId"]),
        status: text(&s["status"]),
        records: text(&s["records"]),
        usage,
        issued: money("issued"),
        preview: money("preview"),
    }
}

pub(crate) async fn page_of(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<SummaryQuery>,
) -> Response {
    if !super::opens(&visitor.caller, "/lists/subscriptions") {
        return super::not_yours();
    }
    let mut template = Summary {
        chrome: Chrome::signed_in(&state, &visitor, "/lists/subscriptions"),
        tenant: q.tenant.trim().to_owned(),
        from: q.from.trim().to_owned(),
        to: q.to.trim().to_owned(),
        error: None,
        tenant_error: None,
        from_error: None,
        to_error: None,
        summary: None,
        rows: Vec::new(),
    };
    if template.from.is_empty() && template.to.is_empty() {
        return page(&state, Some(&visitor), &template);
    }
    let mut query = vec![
        ("from", template.from.as_str()),
        ("to", template.to.as_str()),
    ];
    if !template.tenant.is_empty() {
        query.push(("tenantId", template.tenant.as_str()));
    }
    let path = format!(
        "/api/v1/usage/summary?{}",
        serde_urlencoded::to_string(&query).unwrap_or_default()
    );
    let answer = call(&state, &visitor, Method::GET, &path, None).await;
    if answer.status.is_success() {
        template.rows = answer
            .data
            .as_array()
            .map(|a| a.iter().map(row).collect())
            .unwrap_or_default();
        template.summary = Some(format!(
            "{} subscription(s), {} to {}.",
            template.rows.len(),
            template.from,
            template.to
        ));
        return page(&state, Some(&visitor), &template);
    }
    template.tenant_error = answer.error_for("tenantId");
    template.from_error = answer.error_for("from");
    template.to_error = answer.error_for("to");
    if template.tenant_error.is_none()
        && template.from_error.is_none()
        && template.to_error.is_none()
    {
        template.error = Some(answer.summary());
    }
    super::refused_form(&state, &visitor, &template, answer.status)
}

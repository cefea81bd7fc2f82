//! Billing actions in the portal: generate previews for a period (or recalculate them
//! after a price change), and issue, e-mail, mark paid, void or delete one invoice. Each asks for confirmation on its own page first (nothing
//! happens on a link), then sends the API's own call with the visitor's token, so the
//! rules, scope, audit and jobs are the API's.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::calls::call;
use super::session::{self, Visitor};
use super::{Chrome, Confirm, page};
use crate::api::AppState;

/// The actions on one invoice: (path segment, heading verb, button).
const ACTIONS: &[(&str, &str, &str)] = &[
    ("issue", "Issue", "Issue invoice"),
    ("email", "E-mail", "Email invoice"),
    ("pay", "Mark paid", "Mark as paid"),
    ("void", "Void", "Void invoice"),
    ("delete", "Delete", "Delete preview"),
];

fn action(name: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    ACTIONS.iter().find(|(n, _, _)| *n == name)
}

fn confirm_page(
    state: &AppState,
    visitor: &Visitor,
    id: &str,
    name: &str,
    error: Option<String>,
) -> Option<Confirm> {
    let (_, verb, button) = action(name)?;
    let question = match name {
        "issue" => {
            "Issuing numbers the invoice and fixes it: it can then only be paid or voided, never changed. Issue it?"
        }
        "email" => "Send this invoice, with its PDF, to the tenant's billing contact by e-mail?",
        "pay" => "Record that this invoice has been paid?",
        "void" => "Voiding cancels an issued invoice for good; its number stays used. Void it?",
        _ => "Deleting removes this preview; the next billing run writes it again. Delete it?",
    };
    Some(Confirm {
        chrome: Chrome::signed_in(state, visitor, "/invoices"),
        heading: format!("{verb} invoice {id}"),
        question: question.into(),
        action: format!("/invoices/{id}/{name}"),
        button,
        cancel: format!("/invoices/{id}"),
        error,
    })
}

pub(crate) async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    match confirm_page(&state, &visitor, &id, &name, None) {
        Some(p) => page(&state, Some(&visitor), &p),
        None => super::not_found(),
    }
}

pub(crate) async fn perform(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
    Form(form): Form<session::Csrf>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    if action(&name).is_none() || !id.chars().all(|c| c.is_ascii_digit()) {
        return super::not_found();
    }
    let (method, path) = match name.as_str() {
        "delete" => (Method::DELETE, format!("/api/v1/billing/invoices/{id}")),
        other => (
            Method::POST,
            format!("/api/v1/billing/invoices/{id}/{other}"),
        ),
    };
    let body = (method == Method::POST).then(|| json!({}));
    let answer = call(&state, &visitor, method, &path, body).await;
    if answer.status.is_success() {
        let to = if name == "delete" {
            "/invoices?done=deleted".to_owned()
        } else {
            format!("/invoices/{id}?done={name}")
        };
        return Redirect::to(&to).into_response();
    }
    if answer.status == StatusCode::NOT_FOUND {
        return super::not_found();
    }
    match confirm_page(&state, &visitor, &id, &name, Some(answer.summary())) {
        Some(p) => {
            let mut response = page(&state, Some(&visitor), &p);
            *response.status_mut() = answer.status;
            response
        }
        None => super::not_found(),
    }
}

/// A billing run the portal starts from a form: generate previews (Billing → Invoices →
/// Generate) or re-rate them with the prices now in force (Pricing → Recalculate). Both
/// take a period and optional tenants, and send the API's own call.
pub(crate) struct Run {
    /// The form's address.
    path: &'static str,
    /// The API call it sends.
    api: &'static str,
    heading: &'static str,
    intro: &'static str,
    button: &'static str,
    /// The screen it belongs to, and the way back.
    home: &'static str,
    /// `?done=` on the invoice list afterwards.
    done: &'static str,
}

impl Run {
    /// The form's address.
    pub(crate) fn path(&self) -> &'static str {
        self.path
    }
}

pub(crate) const GENERATE: Run = Run {
    path: "/invoices/generate",
    api: "/api/v1/billing/generate",
    heading: "Generate invoices",
    intro: "Rates the period's stored usage and writes preview invoices, replacing earlier previews of the period. Issued invoices are never changed: late usage becomes an adjustment on the next preview.",
    button: "Generate",
    home: "/invoices",
    done: "generated",
};

pub(crate) const RECALCULATE: Run = Run {
    path: "/pricing/recalculate",
    api: "/api/v1/pricing/recalculate",
    heading: "Recalculate previews",
    intro: "Re-rates the period's preview invoices with the price lists, credits and rates in force now, after a price change. Issued invoices are never changed.",
    button: "Recalculate",
    home: "/lists/pricing",
    done: "recalculated",
};

#[derive(Template)]
#[template(path = "portal/generate.html")]
struct Generate {
    chrome: Chrome,
    run: &'static Run,
    period: String,
    tenants: String,
    error: Option<String>,
    period_error: Option<String>,
    tenants_error: Option<String>,
}

fn run_form(state: &AppState, visitor: &Visitor, run: &'static Run) -> Response {
    if !super::opens(&visitor.caller, run.home) {
        return super::not_yours();
    }
    let template = Generate {
        chrome: Chrome::signed_in(state, visitor, run.home),
        run,
        period: String::new(),
        tenants: String::new(),
        error: None,
        period_error: None,
        tenants_error: None,
    };
    page(state, Some(visitor), &template)
}

pub(crate) async fn generate_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    run_form(&state, &visitor, &GENERATE)
}

pub(crate) async fn recalculate_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    run_form(&state, &visitor, &RECALCULATE)
}

#[derive(Debug, Deserialize)]
pub(crate) struct GenerateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    tenants: String,
}

pub(crate) async fn generate(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Response {
    start(&state, &visitor, &headers, form, &GENERATE).await
}

pub(crate) async fn recalculate(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Response {
    start(&state, &visitor, &headers, form, &RECALCULATE).await
}

async fn start(
    state: &AppState,
    visitor: &Visitor,
    headers: &HeaderMap,
    form: GenerateForm,
    run: &'static Run,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(state, headers, &form.csrf) {
        return refusal;
    }
    if !super::opens(&visitor.caller, run.home) {
        return super::not_yours();
    }
    let period = form.period.trim().to_owned();
    let tenants: Vec<String> = form
        .tenants
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let mut body = json!({ "period": period });
    if !tenants.is_empty() {
        body["tenantIds"] = json!(tenants);
    }
    let answer = call(state, visitor, Method::POST, run.api, Some(body)).await;
    if answer.status.is_success() {
        let q = serde_urlencoded::to_string([
            ("period", period.as_str()),
            ("status", "preview"),
            ("done", run.done),
        ])
        .unwrap_or_default();
        return Redirect::to(&format!("/invoices?{q}")).into_response();
    }
    let period_error = answer.error_for("period");
    let tenants_error = answer
        .errors
        .iter()
        .find(|(f, _)| f.starts_with("tenantIds"))
        .map(|(_, m)| m.clone());
    let template = Generate {
        chrome: Chrome::signed_in(state, visitor, run.home),
        run,
        error: (period_error.is_none() && tenants_error.is_none()).then(|| answer.summary()),
        period,
        tenants: form.tenants,
        period_error,
        tenants_error,
    };
    super::refused_form(state, visitor, &template, answer.status)
}

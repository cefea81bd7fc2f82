//! The estimator (manual: Pricing → Calculator): what an invoice would be for quantities a
//! person types, priced as billing would price them for the tenant or subscription and
//! month — or with a named price list — through the API's `pricing/estimate`. Nothing is
//! stored.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use super::calls::call;
use super::fields::{self, Field, FieldSpec, Kind, TEXT, f};
use super::objects::Outcome;
use super::session::{self, Visitor};
use super::{Chrome, page};
use crate::api::AppState;

const FIELDS: &[FieldSpec] = &[
    f(
        "tenantId",
        "Tenant",
        Kind::Tenant,
        false,
        Some("Its price lists and currency; or name a subscription."),
    ),
    f(
        "subscriptionId",
        "Subscription",
        TEXT,
        false,
        Some("A subscription's id, for its own price lists too."),
    ),
    f(
        "priceListId",
        "Price list",
        TEXT,
        false,
        Some("A list's id to price with instead of the ones in force."),
    ),
    f(
        "period",
        "Month",
        TEXT,
        false,
        Some("YYYY-MM; this month when left empty."),
    ),
    f(
        "items",
        "Quantities",
        Kind::Quantities,
        true,
        Some("One per line as meter: quantity, e.g. cores: 720; sku=… may follow the meter."),
    ),
];

#[derive(Template)]
#[template(path = "portal/estimate.html")]
struct Estimate {
    chrome: Chrome,
    error: Option<String>,
    fields: Vec<Field>,
    outcome: Option<Outcome>,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    typed: &Map<String, Value>,
    errors: &[(String, String)],
    outcome: Option<Outcome>,
) -> Estimate {
    let specs: Vec<&FieldSpec> = FIELDS.iter().collect();
    let (fields, error) = fields::show(state, visitor, &specs, typed, errors).await;
    Estimate {
        chrome: Chrome::signed_in(state, visitor, "/estimate"),
        error,
        fields,
        outcome,
    }
}

pub(crate) async fn form(State(state): State<AppState>, visitor: Visitor) -> Response {
    if !super::opens(&visitor.caller, "/estimate") {
        return super::not_yours();
    }
    let template = render(&state, &visitor, &Map::new(), &[], None).await;
    page(&state, Some(&visitor), &template)
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    if !super::opens(&visitor.caller, "/estimate") {
        return super::not_yours();
    }
    let specs: Vec<&FieldSpec> = FIELDS.iter().collect();
    let posted = fields::body(&specs, &form, false);
    if !posted.errors.is_empty() {
        let template = render(&state, &visitor, &posted.typed, &posted.errors, None).await;
        return super::refused_form(&state, &visitor, &template, StatusCode::BAD_REQUEST);
    }
    let answer = call(
        &state,
        &visitor,
        Method::POST,
        "/api/v1/pricing/estimate",
        Some(Value::Object(posted.body)),
    )
    .await;
    if !answer.status.is_success() {
        let template = render(&state, &visitor, &posted.typed, &answer.errors, None).await;
        return super::refused_form(&state, &visitor, &template, answer.status);
    }
    let period = answer.data["period"].as_str().unwrap_or_default();
    let mut shown = answer.data["invoice"].clone();
    if let (Value::Object(invoice), Some(unbilled)) =
        (&mut shown, answer.data["unbilled"].as_array())
        && !unbilled.is_empty()
    {
        invoice.insert("unbilled".into(), Value::Array(unbilled.clone()));
    }
    let outcome = Outcome::of(format!("Estimate for {period}"), &shown);
    let template = render(&state, &visitor, &posted.typed, &[], Some(outcome)).await;
    page(&state, Some(&visitor), &template)
}

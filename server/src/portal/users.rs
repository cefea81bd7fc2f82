//! One user: the manual's How-To pages for users — enforce MFA, federated only, disable
//! or enable, unlock — as four switches saved through the API's `PUT users/{id}`, and
//! delete after confirmation through its `DELETE`. The API decides who may change whom
//! (and refuses an administrator disabling its own account).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use stackbill_core::rbac::Action;

use super::calls::{Answer, call};
use super::session::{self, Visitor};
use super::{Chrome, Confirm, not_found, page, refused};
use crate::api::AppState;

/// The switches, as (API field, label, what it does).
const TOGGLES: &[(&str, &str, &str)] = &[
    (
        "mfaRequired",
        "MFA required",
        "The user must sign in with an authenticator code, enrolling one at the next sign-in.",
    ),
    (
        "federatedOnly",
        "Federated only",
        "No password: the user signs in only through Microsoft Entra or Google.",
    ),
    (
        "disabled",
        "Disabled",
        "The user cannot sign in; every session ends.",
    ),
    (
        "lockedOut",
        "Locked out",
        "Untick to unlock an account an administrator locked; failed sign-ins are forgotten.",
    ),
];

#[derive(Template)]
#[template(path = "portal/user.html")]
struct UserPage {
    chrome: Chrome,
    id: String,
    name: String,
    email: String,
    roles: String,
    toggles: Vec<(&'static str, &'static str, &'static str, bool)>,
    editable: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    id: &str,
    notice: Option<String>,
    failed: Option<&Answer>,
) -> Result<UserPage, Response> {
    let answer = call(
        state,
        visitor,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    if !answer.status.is_success() {
        return Err(not_found());
    }
    let u = &answer.data;
    let text = |k: &str| u[k].as_str().unwrap_or_default().to_owned();
    let roles = u["roles"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|a| {
                    let at = ["tenantId", "partnerId", "distributorId"]
                        .iter()
                        .find_map(|k| a[*k].as_str())
                        .map(|s| format!(" at {s}"))
                        .unwrap_or_default();
                    format!("{}{at}", a["role"].as_str().unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Ok(UserPage {
        chrome: Chrome::signed_in(state, visitor, "/lists/users"),
        id: id.to_owned(),
        name: format!("{} {}", text("firstName"), text("lastName"))
            .trim()
            .to_owned(),
        email: text("emailAddress"),
        roles,
        toggles: TOGGLES
            .iter()
            .map(|(k, l, h)| (*k, *l, *h, u[*k].as_bool() == Some(true)))
            .collect(),
        editable: visitor.caller.can_somewhere(Action::ManageUsers),
        notice,
        error: failed.map(Answer::summary),
    })
}

pub(crate) async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<Saved>,
) -> Response {
    if !valid_id(&id) {
        return not_found();
    }
    let notice = q.saved.is_some().then(|| "Saved.".to_owned());
    match render(&state, &visitor, &id, notice, None).await {
        Ok(p) => page(&state, Some(&visitor), &p),
        Err(r) => r,
    }
}

pub(crate) async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    if !valid_id(&id) {
        return not_found();
    }
    let mut body = Map::new();
    for (key, _, _) in TOGGLES {
        let on = form.iter().any(|(k, v)| k == key && v == "true");
        body.insert((*key).to_owned(), Value::Bool(on));
    }
    let answer = call(
        &state,
        &visitor,
        Method::PUT,
        &format!("/api/v1/users/{id}"),
        Some(Value::Object(body)),
    )
    .await;
    if answer.status.is_success() {
        return Redirect::to(&format!("/users/{id}?saved=1")).into_response();
    }
    match render(&state, &visitor, &id, None, Some(&answer)).await {
        Ok(p) => super::refused_form(&state, &visitor, &p, answer.status),
        Err(r) => r,
    }
}

pub(crate) async fn confirm_delete(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Response {
    if !valid_id(&id) {
        return not_found();
    }
    let template = Confirm {
        chrome: Chrome::signed_in(&state, &visitor, "/lists/users"),
        heading: format!("Delete user {id}"),
        question: "Deleting removes the account and its role grants for good; its audit entries stay. Delete it?".into(),
        action: format!("/users/{id}/delete"),
        button: "Delete user",
        cancel: format!("/users/{id}"),
        error: None,
    };
    page(&state, Some(&visitor), &template)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Csrf {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Csrf>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    if !valid_id(&id) {
        return not_found();
    }
    let answer = call(
        &state,
        &visitor,
        Method::DELETE,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    if answer.status.is_success() {
        return Redirect::to("/lists/users?done=deleted").into_response();
    }
    refused(&format!("The user was not deleted: {}", answer.summary()))
}

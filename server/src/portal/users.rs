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
use super::fields::{self, Field, FieldSpec, Kind, f};
use super::session::{self, Visitor};
use super::{Chrome, Confirm, not_found, page};
use crate::api::AppState;

/// Where a role is granted: the API's field for each level below the platform.
const SCOPES: [&str; 3] = ["tenantId", "partnerId", "distributorId"];

/// The grant form: a role and the node it applies to.
const GRANT: &[FieldSpec] = &[
    f("role", "Role", Kind::Role, true, None),
    f(
        "distributorId",
        "At distributor",
        Kind::Distributor,
        false,
        Some("For distributor roles."),
    ),
    f(
        "partnerId",
        "At partner",
        Kind::Partner,
        false,
        Some("For partner roles."),
    ),
    f(
        "tenantId",
        "At tenant",
        Kind::Tenant,
        false,
        Some("For tenant roles."),
    ),
];

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
    first_name: String,
    last_name: String,
    /// Each grant's text and the hidden fields that revoke it.
    grants: Vec<(String, Vec<(&'static str, String)>)>,
    /// The grant form's fields, for roles that may assign roles.
    grant: Vec<Field>,
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
    let grants: Vec<(String, Vec<(&'static str, String)>)> = u["roles"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|a| {
                    let place = SCOPES
                        .iter()
                        .find_map(|k| a[*k].as_str().map(|s| (*k, s.to_owned())));
                    let role = a["role"].as_str().unwrap_or_default().to_owned();
                    let text = match &place {
                        Some((_, at)) => format!("{role} at {at}"),
                        None => role.clone(),
                    };
                    let mut hidden = vec![("role", role)];
                    hidden.extend(place);
                    (text, hidden)
                })
                .collect()
        })
        .unwrap_or_default();
    let grant = if visitor.caller.can_somewhere(Action::AssignRoles) {
        let specs: Vec<&FieldSpec> = GRANT.iter().collect();
        fields::show(state, visitor, &specs, &Map::new(), &[])
            .await
            .0
    } else {
        Vec::new()
    };
    Ok(UserPage {
        chrome: Chrome::signed_in(state, visitor, "/lists/users"),
        id: id.to_owned(),
        name: format!("{} {}", text("firstName"), text("lastName"))
            .trim()
            .to_owned(),
        email: text("emailAddress"),
        first_name: text("firstName"),
        last_name: text("lastName"),
        grants,
        grant,
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
    let notice = q.saved.as_deref().map(|what| {
        match what {
            "grant" => "The role was granted.",
            "revoke" => "The role was revoked.",
            _ => "Saved.",
        }
        .to_owned()
    });
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
    for key in ["firstName", "lastName"] {
        if let Some((_, v)) = form.iter().find(|(k, _)| k == key) {
            body.insert(key.to_owned(), Value::String(v.trim().to_owned()));
        }
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

pub(crate) async fn delete(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<session::Csrf>,
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
    answer.refusal("The user was not deleted")
}

/// Grants or revokes one role of the user (`action` is `grant` or `revoke`) through the
/// API's `roles` and `roles/revoke`, which decide who may grant what where.
pub(crate) async fn roles(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    let path = match action.as_str() {
        "grant" => "/api/v1/roles",
        "revoke" => "/api/v1/roles/revoke",
        _ => return not_found(),
    };
    if !valid_id(&id) {
        return not_found();
    }
    let mut body = Map::new();
    body.insert("userId".into(), Value::String(id.clone()));
    for key in std::iter::once("role").chain(SCOPES) {
        if let Some((_, v)) = form.iter().find(|(k, v)| k == key && !v.trim().is_empty()) {
            body.insert(key.to_owned(), Value::String(v.trim().to_owned()));
        }
    }
    let answer = call(
        &state,
        &visitor,
        Method::POST,
        path,
        Some(Value::Object(body)),
    )
    .await;
    if answer.status.is_success() {
        return Redirect::to(&format!("/users/{id}?saved={action}")).into_response();
    }
    match render(&state, &visitor, &id, None, Some(&answer)).await {
        Ok(p) => super::refused_form(&state, &visitor, &p, answer.status),
        Err(r) => r,
    }
}

//! System Settings: every group of the manual, read and saved through the API's own
//! `settings/{group}` calls, so the portal offers exactly the fields, defaults and checks
//! the API has. Switches are checkboxes, numbers number fields, lists of records
//! (identity providers, alert targets) a box of one record per line ([`super::entries`]),
//! the rest text; images (logos) are uploaded as files ([`super::images`]).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use stackbill_core::rbac::{Action, NodePath};

use super::calls::call;
use super::entries;
use super::images::{self, IMAGES};
use super::session::{self, Visitor};
use super::{Chrome, not_found, page, refused};
use crate::api::AppState;

/// The groups in the manual's order, with their headings.
const GROUPS: &[(&str, &str)] = &[
    ("tenants", "Tenants"),
    ("subscriptions", "Subscriptions"),
    ("invoices", "Invoices"),
    ("users", "Users"),
    ("billing", "Billing"),
    ("calculator", "Calculator"),
    ("platforms", "Platforms"),
    ("jobs", "Jobs"),
    ("notifications", "Notifications"),
    ("identity", "Identity"),
    ("branding", "Branding"),
];

struct Field {
    name: String,
    label: String,
    value: String,
    switch: bool,
    number: bool,
    /// A `#RRGGBB` colour: the manual's colour picker.
    colour: bool,
    /// A list of records, one per line, with how to write them.
    list: Option<&'static str>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/settings.html")]
struct Settings {
    chrome: Chrome,
    title: String,
    group: String,
    groups: &'static [(&'static str, &'static str)],
    fields: Vec<Field>,
    /// The image settings, each its own upload form ([`images`]).
    images: Vec<images::Image>,
    skipped: String,
    editable: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// `invoiceSubmissionDelayDays` → "Invoice submission delay days".
fn label(key: &str) -> String {
    let mut out = String::with_capacity(key.len().saturating_add(8));
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `#RRGGBB`, what a colour picker shows and sends (in lower case; the API stores it in
/// upper case).
fn is_colour(text: &str) -> bool {
    text.strip_prefix('#')
        .is_some_and(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn may(visitor: &Visitor, action: Action) -> bool {
    visitor.caller.can(action, &NodePath::platform())
}

fn fields(
    values: &Map<String, Value>,
    typed: Option<&std::collections::HashMap<String, String>>,
    errors: &[(String, String)],
) -> (Vec<Field>, Vec<String>) {
    let mut shown = Vec::new();
    let mut skipped = Vec::new();
    for (key, value) in values {
        if let Some(hint) = entries::hint(key) {
            shown.push(Field {
                name: key.clone(),
                label: label(key),
                value: match typed {
                    Some(t) => t.get(key).cloned().unwrap_or_default(),
                    None => entries::write(value),
                },
                switch: false,
                number: false,
                colour: false,
                list: Some(hint),
                error: errors
                    .iter()
                    .find_map(|(f, m)| entries::error(key, f, m))
                    .map(|m| super::sign_in::sentence(&m)),
            });
            continue;
        }
        if IMAGES.contains(&key.as_str()) {
            continue;
        }
        if value.is_array() || value.is_object() {
            skipped.push(label(key).to_lowercase());
            continue;
        }
        // After a refused save, what was typed (an unticked switch sends nothing).
        let text = match (typed, value) {
            (Some(t), Value::Bool(_)) => {
                (t.get(key).map(String::as_str) == Some("true")).to_string()
            }
            (Some(t), _) => t.get(key).cloned().unwrap_or_default(),
            (None, Value::Null) => String::new(),
            (None, Value::String(s)) => s.clone(),
            (None, other) => other.to_string(),
        };
        shown.push(Field {
            name: key.clone(),
            label: label(key),
            switch: value.is_boolean(),
            number: value.is_number(),
            colour: key.ends_with("Colour") && value.as_str().is_some_and(is_colour),
            list: None,
            value: text,
            error: errors
                .iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(key))
                .map(|(_, m)| super::sign_in::sentence(m)),
        });
    }
    (shown, skipped)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

pub(crate) async fn index(visitor: Visitor) -> Response {
    if !may(&visitor, Action::ReadSettings) {
        return super::not_yours();
    }
    Redirect::to(&format!("/settings/{}", GROUPS[0].0)).into_response()
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    group: &'static (&'static str, &'static str),
    typed: Option<&std::collections::HashMap<String, String>>,
    errors: &[(String, String)],
    notice: Option<String>,
) -> Result<Settings, String> {
    let answer = call(
        state,
        visitor,
        Method::GET,
        &format!("/api/v1/settings/{}", group.0),
        None,
    )
    .await;
    let Some(values) = answer.data.as_object() else {
        return Err(answer.summary());
    };
    let (fields, skipped) = fields(values, typed, errors);
    let unplaced: Vec<String> = errors
        .iter()
        .filter(|(f, _)| {
            !values.contains_key(f.as_str())
                && !entries::LISTS
                    .iter()
                    .any(|(k, _)| values.contains_key(*k) && entries::error(k, f, "").is_some())
        })
        .map(|(f, m)| {
            if f.is_empty() {
                m.clone()
            } else {
                format!("{f}: {m}")
            }
        })
        .collect();
    Ok(Settings {
        chrome: Chrome::signed_in(state, visitor, "/settings"),
        title: format!("System Settings → {}", group.1),
        group: group.0.to_owned(),
        groups: GROUPS,
        fields,
        images: images::of(values, label, errors),
        skipped: skipped.join(", "),
        editable: may(visitor, Action::ManageSettings),
        notice,
        error: (!unplaced.is_empty()).then(|| unplaced.join(" ")),
    })
}

pub(crate) async fn group(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(name): Path<String>,
    Query(q): Query<Saved>,
) -> Response {
    if !may(&visitor, Action::ReadSettings) {
        return super::not_yours();
    }
    let Some(group) = GROUPS.iter().find(|(g, _)| *g == name) else {
        return not_found();
    };
    let notice = q.saved.is_some().then(|| "Saved.".to_owned());
    match render(&state, &visitor, group, None, &[], notice).await {
        Ok(t) => page(&state, Some(&visitor), &t),
        Err(why) => refused(&why),
    }
}

/// Saves `body` (some of group `name`'s settings) through the API's `PUT`: the redirect
/// to the group saying so, or the API's refusal for the caller to show.
pub(crate) async fn put(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    body: Map<String, Value>,
) -> Result<Response, super::calls::Answer> {
    let answer = call(
        state,
        visitor,
        Method::PUT,
        &format!("/api/v1/settings/{name}"),
        Some(Value::Object(body)),
    )
    .await;
    if answer.status.is_success() {
        return Ok(Redirect::to(&format!("/settings/{name}?saved=1")).into_response());
    }
    Err(answer)
}

/// Group `name` again with `errors` placed (an image upload the API or the portal
/// refused), answered with `status`.
pub(crate) async fn refused_with(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    errors: &[(String, String)],
    status: StatusCode,
) -> Response {
    let Some(group) = GROUPS.iter().find(|(g, _)| *g == name) else {
        return not_found();
    };
    match render(state, visitor, group, None, errors, None).await {
        Ok(t) => super::refused_form(state, visitor, &t, status),
        Err(why) => refused(&why),
    }
}

pub(crate) async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    if !may(&visitor, Action::ManageSettings) {
        return super::not_yours();
    }
    let Some(group) = GROUPS.iter().find(|(g, _)| *g == name) else {
        return not_found();
    };
    let current = call(
        &state,
        &visitor,
        Method::GET,
        &format!("/api/v1/settings/{name}"),
        None,
    )
    .await;
    let Some(values) = current.data.as_object() else {
        return current.refusal("The settings could not be read");
    };
    let typed: std::collections::HashMap<String, String> =
        form.iter().filter(|(k, _)| k != "csrf").cloned().collect();
    // Each field the page showed, typed as the API holds it: an unticked switch is sent
    // as false, an empty text as null, a number that does not parse as the text typed
    // (the API then names the field).
    let mut body = Map::new();
    let mut unreadable = Vec::new();
    for (key, value) in values {
        if entries::hint(key).is_some() {
            match entries::read(typed.get(key).map_or("", String::as_str)) {
                Ok(records) => {
                    body.insert(key.clone(), records);
                }
                Err(why) => unreadable.push((key.clone(), why)),
            }
            continue;
        }
        if IMAGES.contains(&key.as_str()) || value.is_array() || value.is_object() {
            continue;
        }
        let sent = typed.get(key).map(|s| s.trim().to_owned());
        let v = match value {
            Value::Bool(_) => Value::Bool(sent.as_deref() == Some("true")),
            Value::Number(_) => match sent.as_deref().map(str::parse::<serde_json::Number>) {
                Some(Ok(n)) => Value::Number(n),
                _ => Value::String(sent.unwrap_or_default()),
            },
            _ => match sent {
                Some(s) if !s.is_empty() => Value::String(s),
                _ => Value::Null,
            },
        };
        body.insert(key.clone(), v);
    }
    if !unreadable.is_empty() {
        // Nothing is sent while a list cannot be read; what was typed stays.
        return match render(&state, &visitor, group, Some(&typed), &unreadable, None).await {
            Ok(t) => super::refused_form(&state, &visitor, &t, StatusCode::BAD_REQUEST),
            Err(why) => refused(&why),
        };
    }
    let answer = match put(&state, &visitor, &name, body).await {
        Ok(saved) => return saved,
        Err(answer) => answer,
    };
    match render(&state, &visitor, group, Some(&typed), &answer.errors, None).await {
        Ok(t) => super::refused_form(&state, &visitor, &t, answer.status),
        Err(why) => refused(&why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_labels() {
        assert_eq!(
            label("invoiceSubmissionDelayDays"),
            "Invoice submission delay days"
        );
        assert_eq!(label("smtpHost"), "Smtp host");
    }
}

//! One object's page — a distributor, partner, tenant, subscription, region, meter,
//! plan, price list or job — declared as data: the API it is read from and saved to,
//! the fields a person edits, the actions the manual names for it (close a tenant, test
//! a region, Update Usage, clone a price list, model a price increase, set commission
//! rates, cancel a job) and whether it can be deleted. Every read and write goes through
//! the API with the visitor's token, so the API's scope and permission checks decide;
//! the page only hides what the visitor's roles could never do.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use stackbill_core::rbac::Action;

use super::calls::{Answer, call};
use super::fields::{self, Field, FieldSpec};
use super::object_kinds::{ActionSpec, OBJECTS, ObjectSpec};
use super::session::{self, Visitor};
use super::{Chrome, Confirm, not_found, page};
use crate::api::AppState;

/// The object page a list links its rows to, if its objects have one.
pub(crate) fn page_of(list: &str) -> Option<&'static str> {
    OBJECTS.iter().find(|o| o.home == list).map(|o| o.key)
}

/// An action as the page shows it.
struct ActionView {
    label: &'static str,
    hint: &'static str,
    href: String,
    fields: Vec<Field>,
}

/// What an action answered, as facts and tables.
pub(crate) struct Outcome {
    pub heading: String,
    pub facts: Vec<(String, String)>,
    /// Each table's caption, headers and rows.
    pub tables: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
}

#[derive(Template)]
#[template(path = "portal/object.html")]
struct ObjectPage {
    chrome: Chrome,
    title: String,
    noun: &'static str,
    notice: Option<String>,
    error: Option<String>,
    outcome: Option<Outcome>,
    facts: Vec<(String, String)>,
    save: Option<String>,
    fields: Vec<Field>,
    actions: Vec<ActionView>,
    delete: Option<String>,
}

fn spec(key: &str) -> Option<&'static ObjectSpec> {
    OBJECTS.iter().find(|s| s.key == key)
}

/// Ids as the API makes them (and Azure subscription GUIDs, job numbers): nothing that
/// could change the API path the id is put into.
fn plausible(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && id != "."
        && id != ".."
}

fn label_of(spec: &ObjectSpec, key: &str) -> String {
    spec.fields
        .iter()
        .find(|f| f.name == key)
        .map_or_else(|| words(key), |f| f.label.to_owned())
}

/// `camelCase` as words: `effectiveFrom` → `Effective from`.
fn words(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push(' ');
        } else if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Outcome {
    /// `data` as facts (plain values) and tables (lists of objects).
    pub(crate) fn of(heading: String, data: &Value) -> Outcome {
        let mut facts = Vec::new();
        let mut tables = Vec::new();
        let mut add = |key: &str, value: &Value| match value {
            Value::Array(rows) if rows.iter().all(Value::is_object) && !rows.is_empty() => {
                let mut headers: Vec<String> = Vec::new();
                for row in rows.iter().filter_map(Value::as_object) {
                    for k in row.keys() {
                        if !headers.contains(k) {
                            headers.push(k.clone());
                        }
                    }
                }
                let cells = rows
                    .iter()
                    .map(|row| {
                        headers
                            .iter()
                            .map(|h| super::lists::cell(&row[h]))
                            .collect()
                    })
                    .collect();
                tables.push((
                    words(key),
                    headers.iter().map(|h| words(h)).collect(),
                    cells,
                ));
            }
            other => facts.push((words(key), super::lists::cell(other))),
        };
        match data {
            Value::Object(map) => map.iter().for_each(|(k, v)| add(k, v)),
            Value::Null => {}
            other => add("result", other),
        }
        Outcome {
            heading,
            facts,
            tables,
        }
    }
}

/// A refused form to show again: which one (`None` for the edit form, else the action's
/// key), what was typed and the errors.
#[derive(Clone, Copy)]
struct Refill<'a> {
    form: Option<&'a str>,
    typed: &'a Map<String, Value>,
    errors: &'a [(String, String)],
}

/// The object's page, with a refused form refilled.
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    visitor: &Visitor,
    spec: &ObjectSpec,
    id: &str,
    object: &Value,
    refused: Option<Refill<'_>>,
    notice: Option<String>,
    outcome: Option<Outcome>,
) -> ObjectPage {
    let caller = &visitor.caller;
    let can = |a: Option<Action>| a.is_some_and(|a| caller.can_somewhere(a));
    let edited: Vec<&FieldSpec> = spec
        .fields
        .iter()
        .filter(|f| !spec.fixed.contains(&f.name))
        .collect();
    let mut facts: Vec<(String, String)> = spec
        .fixed
        .iter()
        .map(|k| (label_of(spec, k), super::lists::cell(&object[*k])))
        .collect();
    if let Some(map) = object.as_object() {
        for (k, v) in map {
            let shown = spec.fields.iter().any(|f| f.name == k)
                || spec.fixed.contains(&k.as_str())
                || spec.keep.contains(&k.as_str());
            let text = super::lists::cell(v);
            if !shown && !text.is_empty() {
                facts.push((words(k), text));
            }
        }
    }
    let mut error = None;
    let (values, errors) = match refused {
        Some(r) if r.form.is_none() => (r.typed.clone(), r.errors),
        _ => (object.as_object().cloned().unwrap_or_default(), &[][..]),
    };
    let (fields, unplaced) = if can(spec.edit) && !edited.is_empty() {
        fields::show(state, visitor, &edited, &values, errors).await
    } else {
        (Vec::new(), None)
    };
    error = error.or(unplaced);
    let mut actions = Vec::new();
    for a in spec
        .actions
        .iter()
        .filter(|a| caller.can_somewhere(a.needs))
    {
        let specs: Vec<&FieldSpec> = a.fields.iter().collect();
        let (values, errors) = match refused {
            Some(r) if r.form == Some(a.key) => (r.typed.clone(), r.errors),
            _ => (loaded(state, visitor, a, id).await, &[][..]),
        };
        let (mut fields, unplaced) = fields::show(state, visitor, &specs, &values, errors).await;
        for field in &mut fields {
            field.id = format!("{}-{}", a.key, field.name);
        }
        if refused.is_some_and(|r| r.form == Some(a.key)) {
            error = error.or(unplaced);
        }
        actions.push(ActionView {
            label: a.label,
            hint: a.hint,
            href: format!("/objects/{}/{id}/do/{}", spec.key, a.key),
            fields,
        });
    }
    let name = object["name"].as_str().filter(|n| !n.is_empty());
    ObjectPage {
        chrome: Chrome::signed_in(state, visitor, spec.home),
        title: match name {
            Some(n) => format!("{} {n} ({id})", capitalised(spec.noun)),
            None => format!("{} {id}", capitalised(spec.noun)),
        },
        noun: spec.noun,
        notice,
        error,
        outcome,
        facts,
        save: (!fields.is_empty()).then(|| format!("/objects/{}/{id}", spec.key)),
        fields,
        actions,
        delete: can(spec.delete).then(|| format!("/objects/{}/{id}/delete", spec.key)),
    }
}

fn capitalised(noun: &str) -> String {
    let mut c = noun.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The current values of an action's fields, where the action has them.
async fn loaded(
    state: &AppState,
    visitor: &Visitor,
    action: &ActionSpec,
    id: &str,
) -> Map<String, Value> {
    let Some(path) = action.load else {
        return Map::new();
    };
    let answer = call(state, visitor, Method::GET, &path.replace("{id}", id), None).await;
    answer.data.as_object().cloned().unwrap_or_default()
}

/// The object, or the page to answer instead.
async fn read(
    state: &AppState,
    visitor: &Visitor,
    key: &str,
    id: &str,
) -> Result<(&'static ObjectSpec, Value), Response> {
    let Some(spec) = spec(key) else {
        return Err(not_found());
    };
    if !super::opens(&visitor.caller, spec.home) {
        return Err(super::not_yours());
    }
    if !plausible(id) {
        return Err(not_found());
    }
    let answer = call(
        state,
        visitor,
        Method::GET,
        &format!("{}/{id}", spec.api),
        None,
    )
    .await;
    if !answer.status.is_success() {
        return Err(not_found());
    }
    Ok((spec, answer.data))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    done: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((key, id)): Path<(String, String)>,
    Query(q): Query<Notice>,
) -> Response {
    let (spec, object) = match read(&state, &visitor, &key, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let notice = q.done.as_deref().map(|done| match done {
        "saved" => "Saved.".to_owned(),
        other => spec
            .actions
            .iter()
            .find(|a| a.key == other)
            .map_or_else(|| "Done.".to_owned(), |a| format!("{}: done.", a.label)),
    });
    let template = render(&state, &visitor, spec, &id, &object, None, notice, None).await;
    page(&state, Some(&visitor), &template)
}

/// Saves the edit form: the object as read, its edited fields replaced by the form's.
pub(crate) async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    let (spec, object) = match read(&state, &visitor, &key, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let edited: Vec<&FieldSpec> = spec
        .fields
        .iter()
        .filter(|f| !spec.fixed.contains(&f.name))
        .collect();
    let fields::Posted {
        body: changes,
        typed,
        errors,
    } = fields::body(&edited, &form, true);
    let answer = if errors.is_empty() {
        let mut body: Map<String, Value> = object
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| {
                        !v.is_null()
                            && (spec.keep.contains(&k.as_str())
                                || spec.fields.iter().any(|f| f.name == k.as_str()))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        fields::clear_whole(&mut body, &edited);
        fields::overlay(&mut body, changes);
        call(
            &state,
            &visitor,
            Method::PUT,
            &format!("{}/{id}", spec.api),
            Some(Value::Object(body)),
        )
        .await
    } else {
        form_errors(errors)
    };
    if answer.status.is_success() {
        return Redirect::to(&format!("/objects/{}/{id}?done=saved", spec.key)).into_response();
    }
    let template = render(
        &state,
        &visitor,
        spec,
        &id,
        &object,
        Some(Refill {
            form: None,
            typed: &typed,
            errors: &answer.errors,
        }),
        None,
        None,
    )
    .await;
    super::refused_form(&state, &visitor, &template, answer.status)
}

/// The portal's own refusal of a form's text, as if the API had answered it.
fn form_errors(errors: Vec<(String, String)>) -> Answer {
    Answer {
        status: StatusCode::BAD_REQUEST,
        data: Value::Null,
        errors,
    }
}

/// Does one of the object's actions, showing its answer on the object's page.
pub(crate) async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((key, id, action)): Path<(String, String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    let (spec, object) = match read(&state, &visitor, &key, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(a) = spec.actions.iter().find(|a| a.key == action) else {
        return not_found();
    };
    let specs: Vec<&FieldSpec> = a.fields.iter().collect();
    let fields::Posted {
        mut body,
        typed,
        errors,
    } = fields::body(&specs, &form, a.method == "PUT");
    if a.key == "collect" {
        for end in ["from", "to"] {
            if let Some(Value::String(day)) = body.get_mut(end)
                && day.len() == 10
            {
                day.push_str("T00:00:00Z");
            }
        }
    }
    if a.key == "increase" {
        let publish = body.contains_key("effectiveFrom");
        body.insert("apply".into(), Value::Bool(publish));
    }
    let method = Method::from_bytes(a.method.as_bytes()).unwrap_or(Method::POST);
    let answer = if !errors.is_empty() {
        form_errors(errors)
    } else {
        let body = (method != Method::GET).then_some(Value::Object(body));
        call(&state, &visitor, method, &a.path.replace("{id}", &id), body).await
    };
    if !answer.status.is_success() {
        let template = render(
            &state,
            &visitor,
            spec,
            &id,
            &object,
            Some(Refill {
                form: Some(a.key),
                typed: &typed,
                errors: &answer.errors,
            }),
            None,
            None,
        )
        .await;
        return super::refused_form(&state, &visitor, &template, answer.status);
    }
    // What the action changed is read again; its answer is shown above the object.
    let object = match read(&state, &visitor, &key, &id).await {
        Ok((_, o)) => o,
        Err(_) => return Redirect::to(spec.home).into_response(),
    };
    let outcome = Outcome::of(format!("{}: done", a.label), &answer.data);
    let template = render(
        &state,
        &visitor,
        spec,
        &id,
        &object,
        None,
        None,
        Some(outcome),
    )
    .await;
    page(&state, Some(&visitor), &template)
}

/// What depends on an object, among what the visitor may read.
fn dependants(visitor: &Visitor, key: &str, id: &str) -> Vec<String> {
    use crate::api::access::{Allowed, ReadNode};
    let nodes = Allowed::<ReadNode>::new(visitor.caller.clone());
    let dir = visitor.caller.directory.as_ref();
    // Each child as (its parent's id, name, id), named with `noun` when under `id`.
    let under = |children: Vec<(&str, &str, &str)>, noun: &str| -> Vec<String> {
        children
            .into_iter()
            .filter(|(parent, _, _)| parent.eq_ignore_ascii_case(id))
            .map(|(_, name, child)| format!("{noun} {name} ({child})"))
            .collect()
    };
    let subscriptions = |parent: fn(&stackbill_store::SubscriptionRow) -> &str| {
        nodes
            .visible(dir.subscription_entries())
            .into_iter()
            .map(|s| (parent(s), s.name.as_str(), s.id.as_str()))
            .collect::<Vec<_>>()
    };
    match key {
        "distributors" => under(
            nodes
                .visible(dir.partner_entries())
                .into_iter()
                .map(|p| (p.distributor.as_str(), p.name.as_str(), p.id.as_str()))
                .collect(),
            "partner",
        ),
        "partners" => under(
            nodes
                .visible(dir.tenant_entries())
                .into_iter()
                .map(|t| (t.partner.as_str(), t.name.as_str(), t.id.as_str()))
                .collect(),
            "tenant",
        ),
        "tenants" => under(subscriptions(|s| &s.tenant), "subscription"),
        "regions" => under(subscriptions(|s| &s.region), "subscription"),
        _ => Vec::new(),
    }
}

fn confirmation(
    state: &AppState,
    visitor: &Visitor,
    spec: &ObjectSpec,
    id: &str,
    error: Option<String>,
) -> Confirm {
    let blockers = dependants(visitor, spec.key, id);
    let question = if blockers.is_empty() {
        format!(
            "Deleting removes the {} for good; its audit entries stay. A {} that has usage or invoices cannot be deleted{}. Delete it?",
            spec.noun,
            spec.noun,
            if spec.key == "tenants" {
                ": close it instead"
            } else {
                ""
            }
        )
    } else {
        let shown = blockers.len().min(10);
        let more = match blockers.len().saturating_sub(shown) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        format!(
            "It cannot be deleted while these depend on it: {}{more}. Delete, move or close them first.",
            blockers[..shown].join(", ")
        )
    };
    Confirm {
        chrome: Chrome::signed_in(state, visitor, spec.home),
        heading: format!("Delete {} {id}", spec.noun),
        question,
        action: format!("/objects/{}/{id}/delete", spec.key),
        button: "Delete",
        cancel: format!("/objects/{}/{id}", spec.key),
        error,
    }
}

pub(crate) async fn confirm_delete(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((key, id)): Path<(String, String)>,
) -> Response {
    let (spec, _) = match read(&state, &visitor, &key, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if spec.delete.is_none() {
        return not_found();
    }
    page(
        &state,
        Some(&visitor),
        &confirmation(&state, &visitor, spec, &id, None),
    )
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    Form(form): Form<session::Csrf>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    let (spec, _) = match read(&state, &visitor, &key, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if spec.delete.is_none() {
        return not_found();
    }
    let answer = call(
        &state,
        &visitor,
        Method::DELETE,
        &format!("{}/{id}", spec.api),
        None,
    )
    .await;
    if answer.status.is_success() {
        let q = serde_urlencoded::to_string([("deleted", id.as_str())]).unwrap_or_default();
        return Redirect::to(&format!("{}?{q}", spec.home)).into_response();
    }
    let template = confirmation(&state, &visitor, spec, &id, Some(answer.summary()));
    super::refused_form(&state, &visitor, &template, answer.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_kind_has_a_list_and_unique_actions() {
        for spec in OBJECTS {
            assert!(
                super::super::SCREENS.iter().any(|s| s.1 == spec.home),
                "{} belongs to no screen",
                spec.key
            );
            for k in spec.fixed.iter().chain(spec.keep) {
                assert!(
                    !spec.keep.contains(k) || !spec.fixed.contains(k),
                    "{k} of {} is both fixed and kept",
                    spec.key
                );
            }
            let mut keys: Vec<_> = spec.actions.iter().map(|a| a.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), spec.actions.len(), "{}", spec.key);
        }
        assert_eq!(words("effectiveFrom"), "Effective from");
        assert_eq!(words("period_start"), "Period start");
        assert!(plausible("3f1c0a7e-1b2c-4d5e-8f90-1234567890ab") && !plausible("a/b"));
        assert!(!plausible("..") && !plausible(""));
    }

    #[test]
    fn an_answer_reads_as_facts_and_tables() {
        let o = Outcome::of(
            "x".into(),
            &serde_json::json!({"audience": "a", "changes": [{"meter": "m", "before": "1"}]}),
        );
        assert_eq!(o.facts, vec![("Audience".to_owned(), "a".to_owned())]);
        assert_eq!(o.tables[0].1, vec!["Meter".to_owned(), "Before".to_owned()]);
        assert_eq!(o.tables[0].2, vec![vec!["m".to_owned(), "1".to_owned()]]);
    }
}

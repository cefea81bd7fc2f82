//! The field model every portal form is declared in: what a field holds, how the form's
//! text becomes the API's JSON (numbers as numbers, bands as band lists) and how the
//! API's field errors are placed back next to the fields, with what was typed kept.

use serde_json::{Map, Value};
use stackbill_core::rbac::Role;

use super::bands;
use super::session::Visitor;
use crate::api::AppState;
use crate::api::access::{Allowed, ReadNode};

/// What a field holds, and so how it is shown and sent.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Free text of an `<input type>`.
    Input(&'static str),
    /// A whole number, sent as a JSON number.
    Number,
    /// A `YYYY-MM-DD` day.
    Date,
    /// One of fixed (value, label) choices.
    Choice(&'static [(&'static str, &'static str)]),
    /// A price list's scope written `region:ID`, `tenant:ID` or `subscription:ID`, sent
    /// as `{region: ID}` and so on.
    Scope,
    /// A price list's items, one per line ([`super::items`]).
    Items,
    /// The estimator's quantities, one per line ([`super::items::quantities`]).
    Quantities,
    /// Bands written one per line as `from-to: value`, sent as `[{from, to, <value>}]`.
    Bands(&'static str),
    /// An object written one `name: value` per line ([`super::pairs`]); `true`: each value
    /// a whole number.
    Pairs(bool),
    /// The distributors, partners or tenants the visitor may read.
    Distributor,
    Partner,
    Tenant,
    /// The regions.
    Region,
    /// The roles.
    Role,
}

/// One field: the API's name for it, its label, kind, whether it is required and a hint.
pub(crate) struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub hint: Option<&'static str>,
}

pub(crate) const fn f(
    name: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    hint: Option<&'static str>,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        kind,
        required,
        hint,
    }
}

pub(crate) const TEXT: Kind = Kind::Input("text");

/// A field as the form template shows it.
pub(crate) struct Field {
    pub name: &'static str,
    /// The element's id (`f-` and the name, unless the page holds several forms).
    pub id: String,
    pub label: &'static str,
    /// An `<input type>`, or `textarea`.
    pub input: &'static str,
    pub required: bool,
    pub value: String,
    /// Choices of a `<select>` (empty for inputs).
    pub options: Vec<(String, String)>,
    pub hint: Option<&'static str>,
    pub error: Option<String>,
    pub described: bool,
}

/// The choices of a field of `kind` for `visitor` (an empty first choice when optional).
async fn options(
    state: &AppState,
    visitor: &Visitor,
    kind: Kind,
    required: bool,
) -> Vec<(String, String)> {
    let nodes = Allowed::<ReadNode>::new(visitor.caller.clone());
    let dir = visitor.caller.directory.as_ref();
    let named = |id: &str, name: &str| (id.to_owned(), format!("{name} ({id})"));
    let mut out: Vec<(String, String)> = match kind {
        Kind::Input(_)
        | Kind::Number
        | Kind::Date
        | Kind::Scope
        | Kind::Bands(_)
        | Kind::Pairs(_)
        | Kind::Items
        | Kind::Quantities => {
            return Vec::new();
        }
        Kind::Choice(choices) => choices
            .iter()
            .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
            .collect(),
        Kind::Distributor => nodes
            .visible(dir.distributor_entries())
            .into_iter()
            .map(|d| named(&d.id, &d.name))
            .collect(),
        Kind::Partner => nodes
            .visible(dir.partner_entries())
            .into_iter()
            .map(|p| named(&p.id, &p.name))
            .collect(),
        Kind::Tenant => nodes
            .visible(dir.tenant_entries())
            .into_iter()
            .filter(|t| t.closed_on.is_none())
            .map(|t| named(&t.id, &t.name))
            .collect(),
        Kind::Region => state
            .store()
            .regions()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| named(&r.id, &r.name))
            .collect(),
        Kind::Role => Role::ALL
            .iter()
            .map(|r| (r.name().to_owned(), r.name().to_owned()))
            .collect(),
    };
    if !matches!(kind, Kind::Choice(_)) {
        out.sort_by_key(|o| o.1.to_lowercase());
    }
    if !required || out.is_empty() {
        out.insert(0, (String::new(), "—".to_owned()));
    }
    out
}

/// A value of the API's JSON as the text a field shows.
pub(crate) fn text_of(kind: Kind, value: &Value) -> String {
    match (kind, value) {
        (_, Value::Null) => String::new(),
        (_, Value::String(s)) => s.clone(),
        (Kind::Bands(_), bands) => bands::text(bands),
        (Kind::Items, list) => super::items::text(list),
        (Kind::Pairs(_), map) => super::pairs::text(map),
        (Kind::Scope, Value::Object(scope)) => scope
            .iter()
            .find_map(|(k, v)| v.as_str().map(|id| format!("{k}:{id}")))
            .unwrap_or_default(),
        (_, other) => other.to_string(),
    }
}

/// The fields of `specs` showing `values` (text as typed, or the object's JSON) with the
/// API's `errors` placed; the errors no field is named for, as one message.
pub(crate) async fn show(
    state: &AppState,
    visitor: &Visitor,
    specs: &[&FieldSpec],
    values: &Map<String, Value>,
    errors: &[(String, String)],
) -> (Vec<Field>, Option<String>) {
    let unplaced: Vec<String> = errors
        .iter()
        .filter(|(field, _)| !specs.iter().any(|s| owns(s.name, field)))
        .map(|(field, message)| {
            if field.is_empty() {
                message.clone()
            } else {
                format!("{field}: {message}")
            }
        })
        .collect();
    let mut fields = Vec::with_capacity(specs.len());
    for s in specs {
        let error = errors
            .iter()
            .find(|(field, _)| owns(s.name, field))
            .map(|(field, m)| {
                let m = super::sign_in::sentence(m);
                if field.len() > s.name.len() {
                    format!("{}: {m}", &field[s.name.len()..].trim_start_matches('.'))
                } else {
                    m
                }
            });
        let value = match s.kind {
            Kind::Input("password") => String::new(),
            kind => lookup(values, s.name)
                .map(|v| text_of(kind, v))
                .unwrap_or_default(),
        };
        fields.push(Field {
            name: s.name,
            id: format!("f-{}", s.name),
            label: s.label,
            input: match s.kind {
                Kind::Input(t) => t,
                Kind::Date => "date",
                Kind::Number => "number",
                Kind::Bands(_) | Kind::Pairs(_) | Kind::Items | Kind::Quantities => "textarea",
                _ => "text",
            },
            required: s.required,
            value,
            options: options(state, visitor, s.kind, s.required).await,
            hint: s.hint,
            described: s.hint.is_some() || error.is_some(),
            error,
        });
    }
    (fields, (!unplaced.is_empty()).then(|| unplaced.join(" ")))
}

/// The value of field `name` in `values`: typed text is kept under the field's whole
/// name, an object's JSON nests a `parent.child.…` name level by level.
fn lookup<'a>(values: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    values.get(name).or_else(|| {
        let mut parts = name.split('.');
        let first = values.get(parts.next()?)?;
        parts.try_fold(first, |v, part| v.get(part))
    })
}

/// Puts `value` at field `name` of `body`, a `parent.child.…` name inside nested objects.
fn put(body: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        Some((parent, rest)) => {
            let slot = body
                .entry(parent.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = slot {
                put(inner, rest, value);
            }
        }
        None => {
            body.insert(name.to_owned(), value);
        }
    }
}

/// Takes out of an object's own `body` the values `specs` edit as a whole (an object
/// typed as lines): what the form sends replaces them, so a line deleted is a key gone,
/// where [`overlay`] would merge the two objects and keep it.
pub(crate) fn clear_whole(body: &mut Map<String, Value>, specs: &[&FieldSpec]) {
    fn remove(body: &mut Map<String, Value>, name: &str) {
        match name.split_once('.') {
            Some((parent, rest)) => {
                if let Some(Value::Object(inner)) = body.get_mut(parent) {
                    remove(inner, rest);
                }
            }
            None => {
                body.remove(name);
            }
        }
    }
    for s in specs {
        if matches!(s.kind, Kind::Pairs(_)) {
            remove(body, s.name);
        }
    }
}

/// `changes` (as [`body`] makes them for an edit) laid over the object's own `body`: a
/// `null` removes, an object is merged key by key, and an object left empty is removed.
pub(crate) fn overlay(body: &mut Map<String, Value>, changes: Map<String, Value>) {
    for (k, v) in changes {
        match (body.get_mut(&k), v) {
            (Some(Value::Object(inner)), Value::Object(more)) => {
                overlay(inner, more);
                if inner.is_empty() {
                    body.remove(&k);
                }
            }
            (_, Value::Object(more)) => {
                let mut inner = Map::new();
                overlay(&mut inner, more);
                if !inner.is_empty() {
                    body.insert(k, Value::Object(inner));
                }
            }
            (_, Value::Null) => {
                body.remove(&k);
            }
            (_, v) => {
                body.insert(k, v);
            }
        }
    }
}

/// Whether the API's error `field` (`name`, `name.x`, `name[0]…`) is about field `name`.
fn owns(name: &str, field: &str) -> bool {
    field.len() >= name.len()
        && field[..name.len()].eq_ignore_ascii_case(name)
        && matches!(field.as_bytes().get(name.len()), None | Some(b'.' | b'['))
}

/// A posted form read for the API.
pub(crate) struct Posted {
    /// The API's JSON body.
    pub body: Map<String, Value>,
    /// Every field's text as typed, so a refused form shows it again.
    pub typed: Map<String, Value>,
    /// Text that cannot be what its field holds, as (field, why).
    pub errors: Vec<(String, String)>,
}

/// The posted `form` as the API's JSON body for `specs`. Empty fields are left out, or
/// sent as `null` when `clear` (an edit, where empty means "none"). Text that cannot be
/// what its field holds is an error naming the field.
pub(crate) fn body(specs: &[&FieldSpec], form: &[(String, String)], clear: bool) -> Posted {
    let mut body = Map::new();
    let mut typed = Map::new();
    let mut errors = Vec::new();
    for s in specs {
        let Some((_, raw)) = form.iter().find(|(k, _)| k == s.name) else {
            continue;
        };
        let v = if matches!(s.kind, Kind::Input("password")) {
            raw.clone()
        } else {
            raw.trim().to_owned()
        };
        typed.insert(s.name.to_owned(), Value::String(v.clone()));
        if v.is_empty() {
            if clear {
                put(&mut body, s.name, Value::Null);
            }
            continue;
        }
        let value = match s.kind {
            Kind::Number => match v.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.push((s.name.to_owned(), "must be a whole number".to_owned()));
                    continue;
                }
            },
            Kind::Scope => match v.split_once(':') {
                Some((kind @ ("region" | "tenant" | "subscription"), id))
                    if !id.trim().is_empty() =>
                {
                    serde_json::json!({ kind: id.trim() })
                }
                _ => {
                    errors.push((
                        s.name.to_owned(),
                        "write region:ID, tenant:ID or subscription:ID".to_owned(),
                    ));
                    continue;
                }
            },
            Kind::Quantities => match super::items::quantities(&v) {
                Ok(items) => items,
                Err(why) => {
                    errors.push((s.name.to_owned(), why));
                    continue;
                }
            },
            Kind::Items => match super::items::parse(&v) {
                Ok(items) => items,
                Err(why) => {
                    errors.push((s.name.to_owned(), why));
                    continue;
                }
            },
            Kind::Pairs(whole) => match super::pairs::parse(&v, whole) {
                Ok(map) => map,
                Err(why) => {
                    errors.push((s.name.to_owned(), why));
                    continue;
                }
            },
            Kind::Bands(key) => match bands::parse(&v, key) {
                Ok(b) => b,
                Err(why) => {
                    errors.push((s.name.to_owned(), why));
                    continue;
                }
            },
            _ => Value::String(v),
        };
        put(&mut body, s.name, value);
    }
    Posted {
        body,
        typed,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_belongs_to_its_field_and_to_no_field_sharing_a_prefix() {
        assert!(owns("name", "name"));
        assert!(owns("bands", "bands[1].rate"));
        assert!(owns("details", "details.branding"));
        assert!(!owns("name", "nameplate"));
        assert!(!owns("currency", "cur"));
    }

    #[test]
    fn a_form_becomes_the_apis_body_with_its_errors_named() {
        const SPECS: &[FieldSpec] = &[
            f("name", "Name", TEXT, true, None),
            f("days", "Days", Kind::Number, false, None),
            f("when", "When", Kind::Date, false, None),
            f("hours", "Hours", Kind::Number, false, None),
        ];
        let form = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let specs: Vec<&FieldSpec> = SPECS.iter().collect();
        let Posted {
            body,
            typed,
            errors,
        } = body(
            &specs,
            &form(&[
                ("name", " A "),
                ("days", "30"),
                ("when", ""),
                ("hours", "x"),
            ]),
            true,
        );
        assert_eq!(
            Value::Object(body),
            serde_json::json!({"name": "A", "days": 30, "when": null})
        );
        assert_eq!(typed["hours"], "x");
        assert_eq!(
            errors,
            vec![("hours".to_owned(), "must be a whole number".to_owned())]
        );
        let created = super::body(&specs, &form(&[("name", "A"), ("when", "")]), false);
        assert!(!created.body.contains_key("when"), "left out on create");
    }

    #[test]
    fn an_edit_of_nested_fields_keeps_what_no_field_shows() {
        const SPECS: &[FieldSpec] = &[
            f("c.id", "Client", TEXT, false, None),
            f("c.dir", "Directory", TEXT, false, None),
        ];
        let specs: Vec<&FieldSpec> = SPECS.iter().collect();
        let form = vec![
            ("c.id".to_owned(), "app".to_owned()),
            ("c.dir".to_owned(), String::new()),
        ];
        let changes = body(&specs, &form, true).body;
        let mut object = serde_json::json!({"c": {"dir": "d", "other": [1]}, "x": 1});
        let Value::Object(map) = &mut object else {
            unreachable!()
        };
        overlay(map, changes);
        assert_eq!(
            object,
            serde_json::json!({"c": {"other": [1], "id": "app"}, "x": 1})
        );
        assert_eq!(
            lookup(object.as_object().unwrap(), "c.id"),
            Some(&Value::from("app"))
        );
        let mut emptied = serde_json::json!({"c": {"id": "a"}})
            .as_object()
            .cloned()
            .unwrap();
        overlay(
            &mut emptied,
            serde_json::json!({"c": {"id": null}})
                .as_object()
                .cloned()
                .unwrap(),
        );
        assert!(emptied.is_empty(), "an object left empty is removed");
    }
}

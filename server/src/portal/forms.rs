//! Relationship Management's create forms (distributor, partner, tenant, subscription,
//! user), declared once each: their fields, the API call they make and who sees them. A
//! form posts its fields as the API's JSON body through [`super::calls`], so the API's
//! rules decide; each error the API names a field for is shown at that field, with
//! everything typed kept (passwords excepted).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use stackbill_core::rbac::{Action, Role};

use super::calls::call;
use super::session::{self, Visitor};
use super::{Chrome, not_found, page};
use crate::api::AppState;
use crate::api::access::{Allowed, ReadNode};

/// Where a field's choices come from.
#[derive(Clone, Copy)]
enum Kind {
    /// Free text of an `<input type>`.
    Input(&'static str),
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
struct FieldSpec {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    hint: Option<&'static str>,
}

const fn f(
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

const TEXT: Kind = Kind::Input("text");
const ID_HINT: Option<&str> = Some("Letters, digits, - and _; generated when left empty.");
const CURRENCY_HINT: Option<&str> =
    Some("ISO 4217, e.g. AUD; the platform's default when left empty.");

/// One create form.
struct FormSpec {
    key: &'static str,
    noun: &'static str,
    api: &'static str,
    needs: Action,
    fields: &'static [FieldSpec],
}

const FORMS: &[FormSpec] = &[
    FormSpec {
        key: "distributor",
        noun: "distributor",
        api: "/api/v1/distributors",
        needs: Action::Create,
        fields: &[
            f("name", "Name", TEXT, true, None),
            f("id", "Id", TEXT, false, ID_HINT),
            f(
                "currency",
                "Commission currency",
                TEXT,
                false,
                CURRENCY_HINT,
            ),
        ],
    },
    FormSpec {
        key: "partner",
        noun: "partner",
        api: "/api/v1/partners",
        needs: Action::Create,
        fields: &[
            f(
                "distributorId",
                "Distributor",
                Kind::Distributor,
                true,
                None,
            ),
            f("name", "Name", TEXT, true, None),
            f("id", "Id", TEXT, false, ID_HINT),
            f(
                "currency",
                "Commission currency",
                TEXT,
                false,
                CURRENCY_HINT,
            ),
        ],
    },
    FormSpec {
        key: "tenant",
        noun: "tenant",
        api: "/api/v1/tenants",
        needs: Action::Create,
        fields: &[
            f("partnerId", "Partner", Kind::Partner, true, None),
            f("name", "Organisation name", TEXT, true, None),
            f("id", "Id", TEXT, false, ID_HINT),
            f("currency", "Invoice currency", TEXT, false, CURRENCY_HINT),
            f(
                "timeZone",
                "Time zone",
                TEXT,
                false,
                Some(
                    "IANA name of its billing periods, e.g. Australia/Sydney; the platform's when left empty.",
                ),
            ),
            f(
                "taxPercent",
                "Tax (%)",
                TEXT,
                false,
                Some("e.g. 10 or 7.5; none when left empty."),
            ),
            f(
                "billingContact",
                "Billing contact e-mail",
                Kind::Input("email"),
                false,
                Some("Invoices and payment notices go here."),
            ),
        ],
    },
    FormSpec {
        key: "subscription",
        noun: "subscription",
        api: "/api/v1/subscriptions",
        needs: Action::Create,
        fields: &[
            f("tenantId", "Tenant", Kind::Tenant, true, None),
            f("regionId", "Region", Kind::Region, true, None),
            f("name", "Subscription name", TEXT, true, None),
            f(
                "id",
                "Azure Stack subscription id",
                TEXT,
                false,
                Some("A GUID; generated when left empty."),
            ),
        ],
    },
    FormSpec {
        key: "user",
        noun: "user",
        api: "/api/v1/users",
        needs: Action::CreateUser,
        fields: &[
            f(
                "emailAddress",
                "E-mail address",
                Kind::Input("email"),
                true,
                None,
            ),
            f("firstName", "First name", TEXT, true, None),
            f("lastName", "Last name", TEXT, true, None),
            f(
                "password",
                "Password",
                Kind::Input("password"),
                false,
                Some("At least 12 characters; leave empty for a federated-only account."),
            ),
            f("role", "Role", Kind::Role, true, None),
            f(
                "distributorId",
                "Distributor scope",
                Kind::Distributor,
                false,
                Some("For distributor roles."),
            ),
            f(
                "partnerId",
                "Partner scope",
                Kind::Partner,
                false,
                Some("For partner roles."),
            ),
            f(
                "tenantId",
                "Tenant scope",
                Kind::Tenant,
                false,
                Some("For tenant roles."),
            ),
        ],
    },
];

/// A field as the template shows it.
struct Field {
    name: &'static str,
    label: &'static str,
    input: &'static str,
    required: bool,
    value: String,
    options: Vec<(String, String)>,
    hint: Option<&'static str>,
    error: Option<String>,
    described: bool,
}

#[derive(Template)]
#[template(path = "portal/form.html")]
struct FormPage {
    chrome: Chrome,
    title: String,
    action: String,
    button: String,
    cancel: &'static str,
    error: Option<String>,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "portal/relationships.html")]
struct Relationships {
    chrome: Chrome,
    notice: Option<String>,
    links: Vec<(String, String)>,
}

fn spec(key: &str) -> Option<&'static FormSpec> {
    FORMS.iter().find(|s| s.key == key)
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
    let mut out: Vec<(String, String)> = match kind {
        Kind::Input(_) => return Vec::new(),
        Kind::Distributor => nodes
            .visible(dir.distributor_entries())
            .into_iter()
            .map(|d| (d.id.clone(), format!("{} ({})", d.name, d.id)))
            .collect(),
        Kind::Partner => nodes
            .visible(dir.partner_entries())
            .into_iter()
            .map(|p| (p.id.clone(), format!("{} ({})", p.name, p.id)))
            .collect(),
        Kind::Tenant => nodes
            .visible(dir.tenant_entries())
            .into_iter()
            .filter(|t| t.closed_on.is_none())
            .map(|t| (t.id.clone(), format!("{} ({})", t.name, t.id)))
            .collect(),
        Kind::Region => state
            .store()
            .regions()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.id.clone(), format!("{} ({})", r.name, r.id)))
            .collect(),
        Kind::Role => Role::ALL
            .iter()
            .map(|r| (r.name().to_owned(), r.name().to_owned()))
            .collect(),
    };
    out.sort_by_key(|o| o.1.to_lowercase());
    if !required || out.is_empty() {
        out.insert(0, (String::new(), "—".to_owned()));
    }
    out
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    spec: &FormSpec,
    values: &Map<String, Value>,
    errors: &[(String, String)],
) -> FormPage {
    let mut fields = Vec::with_capacity(spec.fields.len());
    let mut unplaced: Vec<String> = Vec::new();
    for (field, message) in errors {
        if !spec
            .fields
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(field))
        {
            unplaced.push(if field.is_empty() {
                message.clone()
            } else {
                format!("{field}: {message}")
            });
        }
    }
    for s in spec.fields {
        let error = errors
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(s.name))
            .map(|(_, m)| super::sign_in::sentence(m));
        let value = match s.kind {
            Kind::Input("password") => String::new(),
            _ => values
                .get(s.name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        };
        fields.push(Field {
            name: s.name,
            label: s.label,
            input: match s.kind {
                Kind::Input(t) => t,
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
    FormPage {
        chrome: Chrome::signed_in(state, visitor, "/relationships"),
        title: format!("Add a {}", spec.noun),
        action: format!("/relationships/new/{}", spec.key),
        button: format!("Add {}", spec.noun),
        cancel: "/relationships",
        error: (!unplaced.is_empty()).then(|| unplaced.join(" ")),
        fields,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// The forms the visitor may open, and what the last one created.
pub(crate) async fn index(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Response {
    let links: Vec<(String, String)> = FORMS
        .iter()
        .filter(|s| visitor.caller.can_somewhere(s.needs))
        .map(|s| {
            (
                format!("Add a {}", s.noun),
                format!("/relationships/new/{}", s.key),
            )
        })
        .collect();
    if links.is_empty() {
        return super::not_yours();
    }
    let notice = q.done.as_deref().and_then(spec).map(|s| match &q.id {
        Some(id) => format!("The {} {id} was added.", s.noun),
        None => format!("The {} was added.", s.noun),
    });
    let template = Relationships {
        chrome: Chrome::signed_in(&state, &visitor, "/relationships"),
        notice,
        links,
    };
    page(&state, Some(&visitor), &template)
}

pub(crate) async fn new(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(key): Path<String>,
) -> Response {
    let Some(spec) = spec(&key) else {
        return not_found();
    };
    if !visitor.caller.can_somewhere(spec.needs) {
        return super::not_yours();
    }
    let template = render(&state, &visitor, spec, &Map::new(), &[]).await;
    page(&state, Some(&visitor), &template)
}

pub(crate) async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(spec) = spec(&key) else {
        return not_found();
    };
    if let Some(refusal) = visitor.form_refusal(&state, &headers, session::csrf_of(&form)) {
        return refusal;
    }
    // Only the form's own fields, and only those filled in: the API's defaults apply to
    // the rest.
    let mut body = Map::new();
    for s in spec.fields {
        if let Some((_, v)) = form.iter().find(|(k, _)| k == s.name) {
            let v = if matches!(s.kind, Kind::Input("password")) {
                v.clone()
            } else {
                v.trim().to_owned()
            };
            if !v.is_empty() {
                body.insert(s.name.to_owned(), Value::String(v));
            }
        }
    }
    let answer = call(
        &state,
        &visitor,
        Method::POST,
        spec.api,
        Some(Value::Object(body.clone())),
    )
    .await;
    if answer.status.is_success() {
        let id = answer.data["id"].as_str().unwrap_or_default().to_owned();
        let q = serde_urlencoded::to_string([("done", spec.key), ("id", id.as_str())])
            .unwrap_or_default();
        return Redirect::to(&format!("/relationships?{q}")).into_response();
    }
    let template = render(&state, &visitor, spec, &body, &answer.errors).await;
    super::refused_form(&state, &visitor, &template, answer.status)
}

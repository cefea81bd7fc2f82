//! Relationship Management's create forms (distributor, partner, tenant, subscription,
//! user), declared once each: their fields, the API call they make and who sees them. A
//! form posts its fields as the API's JSON body through [`super::calls`], so the API's
//! rules decide; each error the API names a field for is shown at that field, with
//! everything typed kept (passwords excepted).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use stackbill_core::rbac::Action;

use super::calls::call;
use super::fields::{self, Field, FieldSpec, Kind, TEXT, f};
use super::session::{self, Visitor};
use super::{Chrome, not_found, page};
use crate::api::AppState;

pub(crate) const ID_HINT: Option<&str> =
    Some("Letters, digits, - and _; generated when left empty.");
pub(crate) const CURRENCY_HINT: Option<&str> =
    Some("ISO 4217, e.g. AUD; the platform's default when left empty.");

/// One create form: the screen it belongs to (`home`), the API it posts to, the
/// permission that shows it and its fields.
pub(crate) struct FormSpec {
    pub key: &'static str,
    pub noun: &'static str,
    pub home: &'static str,
    pub api: &'static str,
    pub needs: Action,
    pub fields: &'static [FieldSpec],
}

const RELATIONSHIPS: &str = "/relationships";

/// The fields a distributor and a partner share: name, id, commission currency.
pub(crate) const NAME: FieldSpec = f("name", "Name", TEXT, true, None);
pub(crate) const ID: FieldSpec = f("id", "Id", TEXT, false, ID_HINT);
pub(crate) const COMMISSION_CURRENCY: FieldSpec = f(
    "currency",
    "Commission currency",
    TEXT,
    false,
    CURRENCY_HINT,
);
pub(crate) const DISTRIBUTOR_ID: FieldSpec = f(
    "distributorId",
    "Distributor",
    Kind::Distributor,
    true,
    None,
);

/// A distributor's fields, then `$extra` (its page adds its branding).
macro_rules! distributor_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            $crate::portal::forms::NAME,
            $crate::portal::forms::ID,
            $crate::portal::forms::COMMISSION_CURRENCY,
            $($extra,)*
        ]
    };
}
pub(crate) use distributor_fields;

pub(crate) const DISTRIBUTOR: &[FieldSpec] = distributor_fields!();

/// A partner's fields, then `$extra` (its page adds its branding).
macro_rules! partner_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            $crate::portal::forms::DISTRIBUTOR_ID,
            $crate::portal::forms::NAME,
            $crate::portal::forms::ID,
            $crate::portal::forms::COMMISSION_CURRENCY,
            $($extra,)*
        ]
    };
}
pub(crate) use partner_fields;

pub(crate) const PARTNER: &[FieldSpec] = partner_fields!();

pub(crate) const TENANT: &[FieldSpec] = &[
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
        "paymentTermsDays",
        "Payment terms (days)",
        Kind::Number,
        false,
        Some("Days from issue to due; the platform's when left empty."),
    ),
    f(
        "billingContact",
        "Billing contact e-mail",
        Kind::Input("email"),
        false,
        Some("Invoices and payment notices go here."),
    ),
];

const STATUSES: &[(&str, &str)] = &[
    ("active", "Active"),
    ("suspended", "Suspended"),
    ("cancelled", "Cancelled"),
];

pub(crate) const SUBSCRIPTION: &[FieldSpec] = &[
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
    f(
        "status",
        "Status",
        Kind::Choice(STATUSES),
        true,
        Some("Suspended and cancelled subscriptions' usage is reported unbilled, with the reason."),
    ),
    f(
        "endsOn",
        "Ends on",
        Kind::Date,
        false,
        Some("Usage from this day on is not billed."),
    ),
];

const IDENTITIES: &[(&str, &str)] = &[("entra", "Microsoft Entra ID"), ("adfs", "AD FS")];

pub(crate) const REGION: &[FieldSpec] = &[
    f("name", "Name", TEXT, true, None),
    f("id", "Id", TEXT, false, ID_HINT),
    f(
        "timeZone",
        "Time zone",
        TEXT,
        true,
        Some("IANA name of the stamp's clock, e.g. Australia/Melbourne."),
    ),
    f(
        "adminEndpoint",
        "Admin endpoint",
        Kind::Input("url"),
        true,
        Some(
            "The Azure Stack Hub admin Resource Manager, e.g. https://adminmanagement.local.azurestack.external.",
        ),
    ),
    f(
        "collectionWindowHours",
        "Collection window (hours)",
        Kind::Number,
        true,
        Some("1 to 168: how much usage one collection request asks for."),
    ),
    f(
        "collection.identity",
        "Identity",
        Kind::Choice(IDENTITIES),
        false,
        Some(
            "How the region signs StackBill in; leave empty for a region that is not collected from.",
        ),
    ),
    f(
        "collection.providerSubscriptionId",
        "Provider subscription",
        TEXT,
        false,
        Some("The Default Provider Subscription's GUID."),
    ),
    f(
        "collection.clientId",
        "Client (application) id",
        TEXT,
        false,
        Some("The service principal that reads usage."),
    ),
    f(
        "collection.directoryTenant",
        "Directory tenant",
        TEXT,
        false,
        Some("Entra only: the stamp's home directory, a domain or GUID."),
    ),
    f(
        "credentialRef",
        "Credential reference",
        TEXT,
        false,
        Some(
            "env:NAME or file:/path of the service principal's secret; the secret itself is never stored.",
        ),
    ),
];

pub(crate) const METER: &[FieldSpec] = &[
    f(
        "id",
        "Id",
        TEXT,
        true,
        Some("The Azure Stack meter GUID or a name."),
    ),
    f("name", "Name", TEXT, true, None),
    f(
        "unit",
        "Unit",
        TEXT,
        true,
        Some("e.g. GB-month or core-hour."),
    ),
];

pub(crate) const PLAN: &[FieldSpec] = &[
    f("name", "Name", TEXT, true, None),
    f("id", "Id", TEXT, false, ID_HINT),
    f(
        "offerId",
        "Offer",
        TEXT,
        false,
        Some("The Azure Stack offer it sells."),
    ),
    f(
        "quotas",
        "Quotas",
        Kind::Pairs(true),
        false,
        Some("One per line as name: limit, e.g. cores: 64."),
    ),
    f(
        "quotaAlerts.percent",
        "Warn at percent of a quota",
        Kind::Number,
        false,
        Some("1–100; empty for no quota alerts."),
    ),
    f(
        "quotaAlerts.meters",
        "Meter measuring each quota",
        Kind::Pairs(false),
        false,
        Some("One per line as quota: meter id, e.g. cores: 9cd92d4c-bafd-4492-b278-bedc2de8232a."),
    ),
];

pub(crate) const USER: &[FieldSpec] = &[
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
];

pub(crate) const PRICING: &[FieldSpec] = &[
    f("name", "Name", TEXT, true, None),
    f("id", "Id", TEXT, false, ID_HINT),
    f(
        "scope",
        "Scope",
        Kind::Scope,
        true,
        Some(
            "Where it applies: region:ID, tenant:ID or subscription:ID. The narrowest list in force wins.",
        ),
    ),
    f(
        "currency",
        "Currency",
        TEXT,
        true,
        Some("ISO 4217 of its rates, e.g. AUD."),
    ),
    f(
        "effectiveFrom",
        "In force from",
        Kind::Date,
        true,
        Some("Local midnight in each tenant's time zone."),
    ),
    f(
        "effectiveTo",
        "In force until (exclusive)",
        Kind::Date,
        false,
        Some("Open-ended when left empty."),
    ),
    f("description", "Description", TEXT, false, None),
    f(
        "items",
        "Items",
        Kind::Items,
        true,
        Some(
            "One per line: meter: rate (e.g. cores: 0.05), or tiers as meter: graduated 0-100=0.10, 100-=0.08 (or volume); sku=… and per=month may follow the meter.",
        ),
    ),
];

pub(crate) const FORMS: &[FormSpec] = &[
    FormSpec {
        key: "distributor",
        noun: "distributor",
        home: RELATIONSHIPS,
        api: "/api/v1/distributors",
        needs: Action::Create,
        fields: DISTRIBUTOR,
    },
    FormSpec {
        key: "partner",
        noun: "partner",
        home: RELATIONSHIPS,
        api: "/api/v1/partners",
        needs: Action::Create,
        fields: PARTNER,
    },
    FormSpec {
        key: "tenant",
        noun: "tenant",
        home: RELATIONSHIPS,
        api: "/api/v1/tenants",
        needs: Action::Create,
        fields: TENANT,
    },
    FormSpec {
        key: "subscription",
        noun: "subscription",
        home: RELATIONSHIPS,
        api: "/api/v1/subscriptions",
        needs: Action::Create,
        fields: SUBSCRIPTION,
    },
    FormSpec {
        key: "user",
        noun: "user",
        home: RELATIONSHIPS,
        api: "/api/v1/users",
        needs: Action::CreateUser,
        fields: USER,
    },
    FormSpec {
        key: "region",
        noun: "region",
        home: "/lists/regions",
        api: "/api/v1/regions",
        needs: Action::ManageRegions,
        fields: REGION,
    },
    FormSpec {
        key: "meter",
        noun: "meter",
        home: "/lists/meters",
        api: "/api/v1/meters",
        needs: Action::ManagePlans,
        fields: METER,
    },
    FormSpec {
        key: "pricing",
        noun: "price list",
        home: "/lists/pricing",
        api: "/api/v1/pricing",
        needs: Action::ManagePricing,
        fields: PRICING,
    },
    FormSpec {
        key: "plan",
        noun: "plan",
        home: "/lists/plans",
        api: "/api/v1/plans",
        needs: Action::ManagePlans,
        fields: PLAN,
    },
];

/// A form of fields, for adding or editing one object.
#[derive(Template)]
#[template(path = "portal/form.html")]
pub(crate) struct FormPage {
    pub chrome: Chrome,
    pub title: String,
    pub action: String,
    pub button: String,
    pub cancel: String,
    pub error: Option<String>,
    pub fields: Vec<Field>,
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

/// The create form of the list screen `home`, if `visitor` may use it: its label and
/// address.
pub(crate) fn add_link(visitor: &Visitor, home: &str) -> Option<(String, String)> {
    FORMS
        .iter()
        .find(|s| s.home == home && visitor.caller.can_somewhere(s.needs))
        .map(|s| {
            (
                format!("Add a {}", s.noun),
                format!("/relationships/new/{}", s.key),
            )
        })
}

/// What a create form's redirect (`?done=KEY&id=ID`) says happened.
pub(crate) fn added(done: Option<&str>, id: Option<&str>) -> Option<String> {
    done.and_then(spec).map(|s| match id {
        Some(id) if !id.is_empty() => format!("The {} {id} was added.", s.noun),
        _ => format!("The {} was added.", s.noun),
    })
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    spec: &FormSpec,
    values: &Map<String, Value>,
    errors: &[(String, String)],
) -> FormPage {
    let specs: Vec<&FieldSpec> = spec.fields.iter().collect();
    let (fields, error) = fields::show(state, visitor, &specs, values, errors).await;
    FormPage {
        chrome: Chrome::signed_in(state, visitor, spec.home),
        title: format!("Add a {}", spec.noun),
        action: format!("/relationships/new/{}", spec.key),
        button: format!("Add {}", spec.noun),
        cancel: spec.home.to_owned(),
        error,
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
        .filter(|s| s.home == RELATIONSHIPS && visitor.caller.can_somewhere(s.needs))
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
    let notice = added(q.done.as_deref(), q.id.as_deref());
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
    let specs: Vec<&FieldSpec> = spec.fields.iter().collect();
    let fields::Posted {
        body,
        typed,
        errors,
    } = fields::body(&specs, &form, false);
    if !errors.is_empty() {
        let template = render(&state, &visitor, spec, &typed, &errors).await;
        return super::refused_form(&state, &visitor, &template, StatusCode::BAD_REQUEST);
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
        return Redirect::to(&format!("{}?{q}", spec.home)).into_response();
    }
    let template = render(&state, &visitor, spec, &typed, &answer.errors).await;
    super::refused_form(&state, &visitor, &template, answer.status)
}

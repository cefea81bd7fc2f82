//! System Settings (every group of the manual, and branding), the audit log, jobs, and
//! the probes `/healthz`, `/readyz`, `/metrics`.
//!
//! Settings groups are described by one table ([`GROUPS`]): each field's kind, bounds and
//! default. Validation, defaults and the OpenAPI schema all come from it, so a field the
//! manual names cannot be accepted by one and unknown to another.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use serde::Serialize;
use serde_json::{Map, Value, json};
use stackbill_store::{AuditEntry, PlatformRow};
use utoipa::ToSchema;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

use super::AppState;
use super::access::{ManageSettings, Platform, ReadAudit, ReadSettings};
use super::ops::{Op, inline, many, paging, raw};
use super::wire::{self, ApiError, ApiResult, Paging, Params, ok};

/// What a settings field holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Switch,
    Number {
        min: i64,
        max: i64,
    },
    Currency,
    Zone,
    Colour,
    Text {
        max: usize,
    },
    Rounding,
    Tenant,
    Providers,
    AlertTargets,
    /// An uploaded image as a `data:image/png|jpeg;base64,…` URL the invoice renderer
    /// can draw (checked at save, not first at the next invoice), or null.
    Logo,
    /// An https URL (plain http only on the local machine, for tests and proxies).
    Url,
    /// An [`Kind::Url`] or null (not configured).
    OptionalUrl,
    /// Where a secret lives (`env:NAME_SECRET`, `file:PATH`), never the secret; or null.
    SecretRef,
    /// A renamed term: "Department" or "Department / Departments" (`crate::naming`).
    Term,
    /// One of a few names.
    Choice(&'static [&'static str]),
}

/// One field: its camelCase key, kind and default.
struct Field {
    key: &'static str,
    kind: Kind,
    default: fn() -> Value,
}

const fn f(key: &'static str, kind: Kind, default: fn() -> Value) -> Field {
    Field { key, kind, default }
}

fn yes() -> Value {
    Value::Bool(true)
}
fn no() -> Value {
    Value::Bool(false)
}
fn null() -> Value {
    Value::Null
}
fn white() -> Value {
    json!("#FFFFFF")
}
fn black() -> Value {
    json!("#000000")
}

const COLOUR: Kind = Kind::Colour;
/// Longest logo data URL kept (about 750 KB of image).
pub(crate) const MAX_LOGO: usize = 1_000_000;
const SWITCH: Kind = Kind::Switch;

/// Every group of System Settings, in the manual's order, plus identity and branding.
const GROUPS: &[(&str, &str, &[Field])] = &[
    (
        "tenants",
        "/api/v1/settings/tenants",
        &[
            f("partnerSelfProvisioning", SWITCH, yes),
            f("distributorSelfProvisioning", SWITCH, yes),
            f("defaultTenantCurrency", Kind::Currency, null),
        ],
    ),
    (
        "subscriptions",
        "/api/v1/settings/subscriptions",
        &[
            f("tenantSelfProvisioning", SWITCH, yes),
            f("partnerProvisioning", SWITCH, yes),
            f("distributorProvisioning", SWITCH, yes),
            f("autoCreatedSubscriptionTenantId", Kind::Tenant, null),
            f("performTenantIdentityHealthChecks", SWITCH, no),
            f("tenantIdentityAuthority", Kind::Url, || {
                json!(crate::jobs::identity::AUTHORITY)
            }),
            f("autoCreateMissingSubscriptions", SWITCH, no),
        ],
    ),
    (
        "invoices",
        "/api/v1/settings/invoices",
        &[
            f(
                "invoiceSubmissionDelayDays",
                Kind::Number { min: 0, max: 60 },
                || json!(0),
            ),
            f("headerBackgroundColour", COLOUR, white),
            f("bodyBackgroundColour", COLOUR, white),
            f("footerBackgroundColour", COLOUR, white),
            f("headerFontColour", COLOUR, black),
            f("bodyFontColour", COLOUR, black),
            f("footerFontColour", COLOUR, black),
            f("groupingBackgroundColour", COLOUR, || json!("#EEEEEE")),
            f("groupingFontColour", COLOUR, black),
            f("invoiceHeaderLogo", Kind::Logo, null),
            f("invoicePaymentDetails", Kind::Text { max: 4000 }, null),
            f("autoCreateInvoices", SWITCH, no),
            f("autoEmailInvoices", SWITCH, no),
            f(
                "delinquentPaymentNotificationIntervalDays",
                Kind::Number { min: 1, max: 365 },
                || json!(7),
            ),
            f("sendDelinquentPaymentNotifications", SWITCH, no),
            f("storeInvoicesInAzureStorage", SWITCH, no),
            f("azureStorageBlobEndpoint", Kind::OptionalUrl, null),
            f("azureStorageAccountName", Kind::Text { max: 64 }, null),
            f("azureStorageAccountKeyRef", Kind::SecretRef, null),
            f("azureStorageContainer", Kind::Text { max: 63 }, || {
                json!("invoices")
            }),
            f("azureStorageApiVersion", Kind::Text { max: 10 }, || {
                json!(crate::archive::DEFAULT_VERSION)
            }),
            f(
                "defaultInvoicePaymentTermsDays",
                Kind::Number { min: 0, max: 3650 },
                || json!(30),
            ),
        ],
    ),
    (
        "users",
        "/api/v1/settings/users",
        &[
            f("tenantSelfProvisioning", SWITCH, yes),
            f("partnerSelfProvisioning", SWITCH, yes),
            f("distributorSelfProvisioning", SWITCH, yes),
            f("requireUserActivation", SWITCH, no),
            f("requireUserActivationCode", SWITCH, no),
            f(
                "lockoutThreshold",
                Kind::Number { min: 1, max: 100 },
                || json!(5),
            ),
        ],
    ),
    (
        "billing",
        "/api/v1/settings/billing",
        &[
            f("defaultPlatformCurrency", Kind::Currency, || json!("USD")),
            f("useMonthlyVariablePricing", SWITCH, no),
            f("rounding", Kind::Rounding, || json!("half_even")),
            f("timeZone", Kind::Zone, || json!("UTC")),
        ],
    ),
    (
        "calculator",
        "/api/v1/settings/calculator",
        &[
            f("showToTenants", SWITCH, no),
            f("showToPartners", SWITCH, no),
            f("showToDistributors", SWITCH, no),
        ],
    ),
    (
        "platforms",
        "/api/v1/settings/platforms",
        &[
            f("reportPlatformAlerts", SWITCH, no),
            f("alertTargets", Kind::AlertTargets, || json!([])),
            f(
                "authFailureAlertThreshold",
                Kind::Number {
                    min: 1,
                    max: 1_000_000,
                },
                || json!(50),
            ),
            f(
                "certificateExpiryWarningDays",
                Kind::Number { min: 1, max: 365 },
                || json!(30),
            ),
        ],
    ),
    (
        "jobs",
        "/api/v1/settings/jobs",
        &[f(
            "jobMaximumRuntimeHours",
            Kind::Number { min: 1, max: 168 },
            || json!(24),
        )],
    ),
    (
        "notifications",
        "/api/v1/settings/notifications",
        &[
            f("smtpHost", Kind::Text { max: 253 }, null),
            f("smtpPort", Kind::Number { min: 1, max: 65535 }, || {
                json!(587)
            }),
            f("smtpSecurity", Kind::Choice(crate::mail::SECURITY), || {
                json!("starttls")
            }),
            f("smtpUsername", Kind::Text { max: 320 }, null),
            f("smtpPasswordRef", Kind::SecretRef, null),
            f("fromAddress", Kind::Text { max: 320 }, null),
            f("fromName", Kind::Text { max: 200 }, null),
            f("portalUrl", Kind::OptionalUrl, null),
        ],
    ),
    (
        "identity",
        "/api/v1/settings/identity",
        &[
            f("allowLocalSignIn", SWITCH, yes),
            f("allowEntra", SWITCH, no),
            f("allowGoogle", SWITCH, no),
            f("providers", Kind::Providers, || json!([])),
        ],
    ),
    (
        "branding",
        "/api/v1/settings/branding",
        &[
            f("productName", Kind::Text { max: 200 }, || {
                json!("StackBill")
            }),
            f("logo", Kind::Logo, null),
            f("primaryColour", COLOUR, || json!("#0F6CBD")),
            f("accentColour", COLOUR, || json!("#107C10")),
            f("supportEmail", Kind::Text { max: 320 }, null),
            f("footerText", Kind::Text { max: 2000 }, null),
            f("distributorTerm", Kind::Term, null),
            f("partnerTerm", Kind::Term, null),
            f("tenantTerm", Kind::Term, null),
            f("subscriptionTerm", Kind::Term, null),
        ],
    ),
];

fn group(name: &str) -> ApiResult<&'static [Field]> {
    GROUPS
        .iter()
        .find(|(g, _, _)| g.eq_ignore_ascii_case(name))
        .map(|(_, _, fields)| *fields)
        .ok_or_else(|| {
            let names: Vec<&str> = GROUPS.iter().map(|(g, _, _)| *g).collect();
            ApiError::NotFound(format!(
                "no settings group {name:?}; groups: {}",
                names.join(", ")
            ))
        })
}

/// A group as stored, with defaults for what was never set.
/// A group's effective values (stored, defaults for the rest) from the stored settings,
/// for readers outside the API (invoice documents); an unknown group is empty.
pub(crate) fn effective_settings(name: &str, stored: Option<&Value>) -> Value {
    group(name).map_or(Value::Null, |fields| effective(fields, stored))
}

fn effective(fields: &[Field], stored: Option<&Value>) -> Value {
    let mut out = Map::new();
    for field in fields {
        let value = stored
            .and_then(|s| s.get(field.key))
            .cloned()
            .unwrap_or_else(field.default);
        out.insert(field.key.to_owned(), value);
    }
    Value::Object(out)
}

fn check(kind: Kind, key: &str, value: &Value, state: &super::Snapshot) -> ApiResult<Value> {
    let bad = |m: &str| ApiError::field(key, m.to_owned());
    if value.is_null() {
        return match kind {
            Kind::Currency
            | Kind::Tenant
            | Kind::Text { .. }
            | Kind::OptionalUrl
            | Kind::SecretRef
            | Kind::Logo
            | Kind::Term => Ok(Value::Null),
            _ => Err(bad("must not be null")),
        };
    }
    Ok(match kind {
        Kind::Switch => Value::Bool(
            value
                .as_bool()
                .ok_or_else(|| bad("must be true or false"))?,
        ),
        Kind::Number { min, max } => {
            let n = value
                .as_i64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| bad(&format!("must be a whole number from {min} to {max}")))?;
            json!(n)
        }
        Kind::Currency => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            json!(super::fields::valid_currency(key, Some(text))?)
        }
        Kind::Zone => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            json!(super::fields::valid_zone(key, Some(text))?)
        }
        Kind::Colour => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            let hex = text.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("must be a colour as #RRGGBB"));
            }
            json!(text.to_ascii_uppercase())
        }
        Kind::Text { max } => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            if text.chars().count() > max {
                return Err(bad(&format!("must be at most {max} characters")));
            }
            json!(text)
        }
        Kind::Rounding => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            stackbill_core::money::RoundingMode::from_name(text)
                .ok_or_else(|| bad("must be half_even or half_up"))?;
            json!(text)
        }
        Kind::Tenant => {
            let text = value.as_str().ok_or_else(|| bad("must be a tenant id"))?;
            let tenant = state
                .directory
                .tenant(text)
                .ok_or_else(|| bad(&format!("no tenant {text:?}")))?;
            json!(tenant.id)
        }
        Kind::Logo => {
            let text = value
                .as_str()
                .ok_or_else(|| bad("must be a string"))?
                .trim();
            if text.len() > MAX_LOGO {
                return Err(bad(&format!("must be at most {MAX_LOGO} characters")));
            }
            stackbill_document::Logo::from_data_url(key, text).map_err(|e| match e {
                stackbill_document::DocumentError::Setting { why, .. } => bad(&why),
                other => bad(&other.to_string()),
            })?;
            json!(text)
        }
        Kind::Providers => providers(key, value)?,
        Kind::AlertTargets => crate::forwarding::check_targets(key, value)?,
        Kind::SecretRef => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            check_reference(key, text.trim())?;
            json!(text.trim())
        }
        Kind::Term => {
            let text = value.as_str().ok_or_else(|| bad("must be a string"))?;
            json!(crate::naming::normalise(text).map_err(|m| bad(&m))?)
        }
        Kind::Choice(names) => {
            let text = value.as_str().map(str::trim).unwrap_or_default();
            let name = names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(text))
                .ok_or_else(|| bad(&format!("must be one of {}", names.join(", "))))?;
            json!(name)
        }
        Kind::Url | Kind::OptionalUrl => {
            let text = value.as_str().map(str::trim).unwrap_or_default();
            if text.len() > 500 {
                return Err(bad("must be at most 500 characters"));
            }
            crate::forwarding::check_url(key, text)?;
            json!(text.trim_end_matches('/'))
        }
    })
}

/// A credential reference's grammar checked (never its secret read), naming `key`.
fn check_reference(key: &str, reference: &str) -> ApiResult<()> {
    stackbill_collector::check_reference(reference).map_err(|e| match e {
        stackbill_collector::CollectError::Config { message, .. } => ApiError::field(key, message),
        other => ApiError::field(key, other.to_string()),
    })
}

/// Identity providers: `[{kind: entra|google, issuer, audience, jwksUri}]`, each with
/// optional `clientId`, `clientSecretRef`, `authorizationEndpoint` and `tokenEndpoint`
/// for the portal's sign-in buttons.
fn providers(key: &str, value: &Value) -> ApiResult<Value> {
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::field(key, "must be a list of providers"))?;
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let at = |f: &str| format!("{key}[{i}].{f}");
        let map = p
            .as_object()
            .ok_or_else(|| ApiError::field(format!("{key}[{i}]"), "must be an object"))?;
        let mut clean = Map::new();
        for (k, v) in map {
            let name = [
                "kind",
                "issuer",
                "audience",
                "jwksUri",
                "clientId",
                "clientSecretRef",
                "authorizationEndpoint",
                "tokenEndpoint",
            ]
            .into_iter()
            .find(|n| n.eq_ignore_ascii_case(k))
            .ok_or_else(|| ApiError::field(at(k), "unknown field"))?;
            let text = v
                .as_str()
                .filter(|t| !t.trim().is_empty() && t.len() <= 2000)
                .ok_or_else(|| ApiError::field(at(name), "must be a non-empty string"))?;
            clean.insert(name.to_owned(), json!(text.trim()));
        }
        for required in ["kind", "issuer", "audience", "jwksUri"] {
            if !clean.contains_key(required) {
                return Err(ApiError::field(at(required), "is required"));
            }
        }
        if !matches!(clean["kind"].as_str(), Some("entra" | "google")) {
            return Err(ApiError::field(at("kind"), "must be entra or google"));
        }
        for url in ["jwksUri", "authorizationEndpoint", "tokenEndpoint"] {
            if let Some(uri) = clean.get(url).and_then(Value::as_str) {
                crate::forwarding::check_url(&at(url), uri)?;
            }
        }
        if let Some(reference) = clean.get("clientSecretRef").and_then(Value::as_str) {
            check_reference(&at("clientSecretRef"), reference)?;
        }
        out.push(Value::Object(clean));
    }
    Ok(Value::Array(out))
}

/// Every group with its effective values.
/// A group's values: what was stored, defaults for the rest, and for Billing and
/// Invoices the engine's platform terms, which are their source of truth (a scenario
/// import writes them without going through the settings).
async fn values(state: &AppState, snapshot: &super::Snapshot, name: &str) -> ApiResult<Value> {
    let mut out = effective(group(name)?, snapshot.settings.get(name));
    if let Some(p) = state.store().platform().await? {
        match name {
            "billing" => {
                out["defaultPlatformCurrency"] = json!(p.currency);
                out["timeZone"] = json!(p.time_zone);
                out["useMonthlyVariablePricing"] = json!(p.monthly_variable_pricing);
                out["rounding"] = json!(p.rounding);
            }
            "invoices" => out["defaultInvoicePaymentTermsDays"] = json!(p.payment_terms_days),
            _ => {}
        }
    }
    Ok(out)
}

async fn all_settings(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadSettings>,
) -> ApiResult<wire::Ok<Value>> {
    let snapshot = state.snapshot().await?;
    let mut out = Map::new();
    for (name, _, _) in GROUPS {
        out.insert((*name).to_owned(), values(&state, &snapshot, name).await?);
    }
    Ok(ok(Value::Object(out)))
}

async fn get_group(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadSettings>,
    Path(name): Path<String>,
) -> ApiResult<wire::Ok<Value>> {
    let name = name.to_lowercase();
    group(&name)?;
    let snapshot = state.snapshot().await?;
    Ok(ok(values(&state, &snapshot, &name).await?))
}

/// Changes the fields sent; the others keep their values.
async fn put_group(
    State(state): State<AppState>,
    Platform(auth): Platform<ManageSettings>,
    Path(name): Path<String>,
    wire::Body(body): wire::Body<Value>,
) -> ApiResult<wire::Ok<Value>> {
    let name = name.to_lowercase();
    let fields = group(&name)?;
    let Value::Object(changes) = body else {
        return Err(ApiError::Invalid {
            field: None,
            message: "the body must be an object of settings".into(),
        });
    };
    let snapshot = state.snapshot().await?;
    let before = values(&state, &snapshot, &name).await?;
    let mut after = before.clone();
    for (key, value) in &changes {
        let field = fields
            .iter()
            .find(|f| f.key.eq_ignore_ascii_case(key))
            .ok_or_else(|| {
                let keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
                ApiError::field(
                    key.clone(),
                    format!("unknown setting of {name}; known: {}", keys.join(", ")),
                )
            })?;
        after[field.key] = check(field.kind, field.key, value, &snapshot)?;
    }
    if name == "billing" || name == "invoices" {
        let other = if name == "billing" {
            "invoices"
        } else {
            "billing"
        };
        let other = values(&state, &snapshot, other).await?;
        let (billing, invoices) = if name == "billing" {
            (&after, &other)
        } else {
            (&other, &after)
        };
        put_platform(&state, billing, invoices).await?;
    }
    state.store().put_settings(&name, &after).await?;
    state.refresh().await?;
    state
        .audit(
            &auth.caller.actor(),
            &format!("settings.{name}"),
            &name,
            Some(before),
            Some(after.clone()),
        )
        .await?;
    Ok(ok(after))
}

/// The engine's platform terms follow the Billing and Invoices groups.
async fn put_platform(state: &AppState, billing: &Value, invoices: &Value) -> ApiResult<()> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    state
        .store()
        .put_platform(&PlatformRow {
            currency: text(billing, "defaultPlatformCurrency"),
            time_zone: text(billing, "timeZone"),
            monthly_variable_pricing: billing["useMonthlyVariablePricing"]
                .as_bool()
                .unwrap_or(false),
            rounding: text(billing, "rounding"),
            payment_terms_days: invoices["defaultInvoicePaymentTermsDays"]
                .as_i64()
                .unwrap_or(30),
        })
        .await?;
    Ok(())
}

/// The schema of one group, from the table.
fn group_schema(fields: &[Field]) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for field in fields {
        let property = match field.kind {
            Kind::Switch => ObjectBuilder::new().schema_type(Type::Boolean),
            Kind::Number { min, max } => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min as f64))
                .maximum(Some(max as f64)),
            Kind::Providers | Kind::AlertTargets => ObjectBuilder::new().schema_type(Type::Array),
            Kind::Currency
            | Kind::Tenant
            | Kind::Text { .. }
            | Kind::OptionalUrl
            | Kind::SecretRef
            | Kind::Logo
            | Kind::Term => {
                ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                    Type::String,
                    Type::Null,
                ]))
            }
            Kind::Zone | Kind::Colour | Kind::Rounding | Kind::Url => {
                ObjectBuilder::new().schema_type(Type::String)
            }
            Kind::Choice(names) => ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names.iter().copied())),
        };
        object = object.property(field.key, property);
    }
    object.build().into()
}

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Audit {
    at: String,
    actor: String,
    action: String,
    target: String,
    #[schema(value_type = Option<Object>)]
    before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    after: Option<Value>,
}

impl From<AuditEntry> for Audit {
    fn from(e: AuditEntry) -> Self {
        Audit {
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            before: e.before,
            after: e.after,
        }
    }
}

/// Newest first.
async fn audit_log(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadAudit>,
    Params(paging): Params<Paging>,
) -> ApiResult<wire::Ok<Vec<Audit>>> {
    let mut entries = state.store().audit_log().await?;
    entries.reverse();
    Ok(ok(paging
        .apply(entries)?
        .into_iter()
        .map(Audit::from)
        .collect()))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "System";
    let mut ops = vec![
        Op::new(
            Method::GET,
            "/api/v1/settings",
            t,
            "View every System Settings group",
            get(all_settings),
        )
        .data(inline::<Value>()),
    ];
    for (name, path, fields) in GROUPS {
        // One documented pair per group; all are served by the same two handlers.
        let schema = group_schema(fields);
        let get_named = {
            let name = (*name).to_owned();
            move |state: State<AppState>, auth: Platform<ReadSettings>| {
                let name = name.clone();
                async move { get_group(state, auth, Path(name)).await }
            }
        };
        let put_named = {
            let name = (*name).to_owned();
            move |state: State<AppState>,
                  auth: Platform<ManageSettings>,
                  body: wire::Body<Value>| {
                let name = name.clone();
                async move { put_group(state, auth, Path(name), body).await }
            }
        };
        ops.push(
            Op::new(
                Method::GET,
                path,
                t,
                "View a System Settings group",
                get(get_named),
            )
            .data(raw(schema.clone())),
        );
        ops.push(
            Op::new(
                Method::PUT,
                path,
                t,
                "Change a System Settings group (fields sent change, others keep)",
                put(put_named),
            )
            .body(raw(schema.clone()))
            .data(raw(schema)),
        );
    }
    ops.push(
        Op::new(
            Method::GET,
            "/api/v1/audit",
            t,
            "Read the audit log (newest first)",
            get(audit_log),
        )
        .queries(paging())
        .data(many::<Audit>()),
    );
    ops
}

/// Liveness, readiness and metrics: outside `/api/v1`, unauthenticated, no envelope.
pub(crate) fn probes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .route("/metrics", get(super::metrics::render))
}

/// Ready when the database answers (one round trip, no table read).
async fn ready(State(state): State<AppState>) -> axum::response::Response {
    match state.store().ping().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

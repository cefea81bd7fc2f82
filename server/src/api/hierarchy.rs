//! Distributors, partners and tenants (manual: Relationship Management); subscriptions
//! are in `subscriptions`.
//! Ids are unique case-insensitively; ids the server generates are lower-case.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stackbill_core::rbac::{Level, NodePath};
use stackbill_store::{
    DistributorRow, InvoiceFilter, InvoiceStatus, NodeKind, PartnerRow, StoreError, TenantRow,
};
use utoipa::ToSchema;

use super::AppState;
use super::access::{
    Allowed, CreateChild, DeleteNode, Directory, NodeKindIndex, ReadNode, UpdateNode,
};
use super::fields::{new_id, valid_currency, valid_details, valid_id, valid_name, valid_zone};
use super::ops::{Op, many, one, paging};
use super::wire::{self, ApiError, ApiResult, Body, Paging, Params, created, ok};

/// System Settings → Tenants → Default Tenant Currency: what new distributors, partners
/// and tenants get when none is given.
fn default_currency<P: super::access::Permission>(auth: &Allowed<P>) -> Option<String> {
    auth.caller.settings["tenants"]["defaultTenantCurrency"]
        .as_str()
        .map(str::to_owned)
}

/// Resolves a node named in a body (`field`), then checks permission `P` on it. A node
/// that does not exist and one the caller may not read both answer 404 naming the field,
/// so that nothing leaks.
pub(crate) fn parent<P: super::access::Permission>(
    auth: &Allowed<P>,
    level: Level,
    field: &str,
    id: &str,
) -> ApiResult<NodePath> {
    let path = auth
        .directory()
        .resolve(level, Some(id))
        .filter(|p| auth.caller.can(stackbill_core::rbac::Action::Read, p))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{field}: no {} {id:?}",
                format!("{level:?}").to_lowercase()
            ))
        })?;
    auth.check(&path)?;
    Ok(path)
}

/// Refuses an id chosen by a caller below the platform. Ids are unique across all
/// branches, so a refused collision would tell a partner that a tenant it cannot see
/// exists; below the platform ids are therefore assigned (subscriptions keep their Azure
/// GUIDs, which cannot be guessed).
fn only_platform_chooses<P: super::access::Permission>(
    auth: &Allowed<P>,
    given: &Option<String>,
) -> ApiResult<()> {
    if given.is_some()
        && !auth
            .caller
            .can(stackbill_core::rbac::Action::Read, &NodePath::platform())
    {
        return Err(ApiError::field(
            "id",
            "is assigned by StackBill below the platform; leave it out",
        ));
    }
    Ok(())
}

/// Picks the id of a new node: the client's (checked, unique in any case) or a new one.
pub(crate) fn choose_id(
    dir: &Directory,
    kind: NodeKindIndex,
    given: Option<String>,
) -> ApiResult<String> {
    match given {
        Some(id) => {
            valid_id("id", &id)?;
            if dir.taken(kind, &id) {
                return Err(ApiError::Conflict(format!("id {id:?} is already in use")));
            }
            Ok(id)
        }
        None => Ok(new_id()),
    }
}

/// A distributor as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DistributorIn {
    /// Id (generated when absent on create; ignored on update).
    #[serde(default)]
    id: Option<String>,
    /// Display name.
    name: String,
    /// ISO 4217 code of its commission.
    #[serde(default)]
    currency: Option<String>,
    /// Contact details and other administrative fields; `branding` (name, supportEmail,
    /// paymentDetails, logo as a PNG or JPEG data: URL, and the eight colours of Invoice
    /// Settings) is what its tenants' invoices carry instead of the platform's.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    details: Option<Value>,
}

/// Details of a distributor or partner: an object, whose `branding` (if any) is checked.
fn branded_details(details: Option<Value>) -> ApiResult<Value> {
    let details = valid_details(details)?;
    crate::branding::check(&details)?;
    Ok(details)
}

/// A distributor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Distributor {
    id: String,
    name: String,
    currency: Option<String>,
    #[schema(value_type = Object)]
    details: Value,
}

impl From<&DistributorRow> for Distributor {
    fn from(r: &DistributorRow) -> Self {
        Distributor {
            id: r.id.clone(),
            name: r.name.clone(),
            currency: r.currency.clone(),
            details: r.details.clone(),
        }
    }
}

/// A partner as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PartnerIn {
    #[serde(default)]
    id: Option<String>,
    /// The owning distributor.
    distributor_id: String,
    name: String,
    #[serde(default)]
    currency: Option<String>,
    /// As a distributor's: `branding` here overrides the distributor's, field by field.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    details: Option<Value>,
}

/// A partner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Partner {
    id: String,
    distributor_id: String,
    name: String,
    currency: Option<String>,
    #[schema(value_type = Object)]
    details: Value,
}

impl From<&PartnerRow> for Partner {
    fn from(r: &PartnerRow) -> Self {
        Partner {
            id: r.id.clone(),
            distributor_id: r.distributor.clone(),
            name: r.name.clone(),
            currency: r.currency.clone(),
            details: r.details.clone(),
        }
    }
}

/// A tenant as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TenantIn {
    #[serde(default)]
    id: Option<String>,
    /// The owning partner.
    partner_id: String,
    /// Organisation name.
    name: String,
    /// Invoice currency (ISO 4217).
    #[serde(default)]
    currency: Option<String>,
    /// IANA time zone of its billing periods.
    #[serde(default)]
    time_zone: Option<String>,
    /// Tax in percent, exact decimal text (`"10"`, `"7.5"`).
    #[serde(default)]
    tax_percent: Option<String>,
    /// Payment terms in days (the platform default when absent).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 3650)]
    payment_terms_days: Option<i64>,
    /// Billing contact e-mail.
    #[serde(default)]
    billing_contact: Option<String>,
    /// Microsoft Entra tenant (directory) id.
    #[serde(default)]
    entra_tenant_id: Option<String>,
    /// E-mail of the initial owner.
    #[serde(default)]
    initial_owner: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    details: Option<Value>,
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tenant {
    id: String,
    partner_id: String,
    distributor_id: Option<String>,
    name: String,
    currency: Option<String>,
    time_zone: Option<String>,
    tax_percent: Option<String>,
    payment_terms_days: Option<i64>,
    billing_contact: Option<String>,
    entra_tenant_id: Option<String>,
    initial_owner: Option<String>,
    #[schema(value_type = Object)]
    details: Value,
    /// `active`, or `closed` (offboarded: kept with its history, no longer billed from
    /// `closedOn`, left out of lists unless `includeClosed=true`).
    status: String,
    /// The first day not billed, when closed.
    #[schema(format = Date)]
    closed_on: Option<String>,
}

const TENANT_FIELDS: [(&str, &str); 3] = [
    ("billingContact", "billing_contact"),
    ("entraTenantId", "entra_tenant_id"),
    ("initialOwner", "initial_owner"),
];

impl Tenant {
    fn new(r: &TenantRow, dir: &Directory) -> Self {
        let text = |key: &str| {
            r.details
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut details = r.details.clone();
        if let Some(map) = details.as_object_mut() {
            for (key, _) in TENANT_FIELDS {
                map.remove(key);
            }
        }
        Tenant {
            id: r.id.clone(),
            partner_id: r.partner.clone(),
            distributor_id: dir.partner(&r.partner).map(|p| p.distributor.clone()),
            name: r.name.clone(),
            currency: r.currency.clone(),
            time_zone: r.time_zone.clone(),
            tax_percent: r.tax_percent.clone(),
            payment_terms_days: r.payment_terms_days,
            billing_contact: text("billingContact"),
            entra_tenant_id: text("entraTenantId"),
            initial_owner: text("initialOwner"),
            details,
            status: if r.closed_on.is_some() {
                "closed"
            } else {
                "active"
            }
            .to_owned(),
            closed_on: r.closed_on.clone(),
        }
    }
}

/// A list's query: paging, and whether offboarded objects are included. The paging
/// fields are repeated rather than flattened from `Paging` because serde does not
/// support `deny_unknown_fields` together with `flatten`, and unknown keys stay refused.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    page_size: Option<u32>,
    /// Closed tenants and cancelled subscriptions are listed only when asked for.
    #[serde(default)]
    include_closed: Option<bool>,
}

impl ListQuery {
    pub(crate) fn paging(self) -> Paging {
        Paging {
            page: self.page,
            page_size: self.page_size,
        }
    }

    pub(crate) fn include_closed(self) -> bool {
        self.include_closed.unwrap_or(false)
    }
}

/// The `includeClosed` query parameter, with paging, for the OpenAPI document.
pub(crate) fn list_queries() -> Vec<super::ops::Query> {
    let mut all = paging();
    all.push(super::ops::query(
        "includeClosed",
        "true: include closed tenants and cancelled subscriptions (default false).",
    ));
    all
}

/// When a tenant closes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CloseTenantIn {
    /// The first day not billed, `YYYY-MM-DD` in the tenant's zone (default: today, UTC).
    /// Its subscriptions are cancelled from the same day unless they end earlier.
    #[serde(default)]
    #[schema(format = Date)]
    closed_on: Option<String>,
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Relationships";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/distributors",
            t,
            "List distributors",
            get(list_distributors),
        )
        .queries(paging())
        .data(many::<Distributor>()),
        Op::new(
            Method::POST,
            "/api/v1/distributors",
            t,
            "Create a distributor",
            axum::routing::post(create_distributor),
        )
        .body(one::<DistributorIn>())
        .data(one::<Distributor>()),
        Op::new(
            Method::GET,
            "/api/v1/distributors/{id}",
            t,
            "View a distributor",
            get(get_distributor),
        )
        .data(one::<Distributor>()),
        Op::new(
            Method::PUT,
            "/api/v1/distributors/{id}",
            t,
            "Edit a distributor",
            axum::routing::put(update_distributor),
        )
        .body(one::<DistributorIn>())
        .data(one::<Distributor>()),
        Op::new(
            Method::DELETE,
            "/api/v1/distributors/{id}",
            t,
            "Delete a distributor",
            axum::routing::delete(delete_distributor),
        ),
        Op::new(
            Method::GET,
            "/api/v1/partners",
            t,
            "List partners",
            get(list_partners),
        )
        .queries(paging())
        .data(many::<Partner>()),
        Op::new(
            Method::POST,
            "/api/v1/partners",
            t,
            "Create a partner",
            axum::routing::post(create_partner),
        )
        .body(one::<PartnerIn>())
        .data(one::<Partner>()),
        Op::new(
            Method::GET,
            "/api/v1/partners/{id}",
            t,
            "View a partner",
            get(get_partner),
        )
        .data(one::<Partner>()),
        Op::new(
            Method::PUT,
            "/api/v1/partners/{id}",
            t,
            "Edit a partner",
            axum::routing::put(update_partner),
        )
        .body(one::<PartnerIn>())
        .data(one::<Partner>()),
        Op::new(
            Method::DELETE,
            "/api/v1/partners/{id}",
            t,
            "Delete a partner",
            axum::routing::delete(delete_partner),
        ),
        Op::new(
            Method::GET,
            "/api/v1/tenants",
            t,
            "List tenants",
            get(list_tenants),
        )
        .queries(list_queries())
        .data(many::<Tenant>()),
        Op::new(
            Method::POST,
            "/api/v1/tenants",
            t,
            "Create a tenant",
            axum::routing::post(create_tenant),
        )
        .body(one::<TenantIn>())
        .data(one::<Tenant>()),
        Op::new(
            Method::GET,
            "/api/v1/tenants/{id}",
            t,
            "View a tenant",
            get(get_tenant),
        )
        .data(one::<Tenant>()),
        Op::new(
            Method::PUT,
            "/api/v1/tenants/{id}",
            t,
            "Edit a tenant",
            axum::routing::put(update_tenant),
        )
        .body(one::<TenantIn>())
        .data(one::<Tenant>()),
        Op::new(
            Method::DELETE,
            "/api/v1/tenants/{id}",
            t,
            "Delete a tenant",
            axum::routing::delete(delete_tenant),
        ),
        Op::new(
            Method::POST,
            "/api/v1/tenants/{id}/close",
            t,
            "Close (offboard) a tenant",
            axum::routing::post(close_tenant),
        )
        .body(one::<CloseTenantIn>())
        .data(one::<Tenant>()),
        Op::new(
            Method::POST,
            "/api/v1/tenants/{id}/reopen",
            t,
            "Reopen a closed tenant",
            axum::routing::post(reopen_tenant),
        )
        .data(one::<Tenant>()),
    ]
}

type Reply<T> = ApiResult<wire::Ok<T>>;

// ---- distributors

async fn list_distributors(
    auth: Allowed<ReadNode>,
    Params(paging): Params<Paging>,
) -> Reply<Vec<Distributor>> {
    let page = paging.apply(auth.visible(auth.directory().distributor_entries()))?;
    Ok(ok(page.into_iter().map(Distributor::from).collect()))
}

fn find_distributor<'a, P: super::access::Permission>(
    auth: &'a Allowed<P>,
    id: &str,
) -> ApiResult<&'a DistributorRow> {
    let dir = auth.directory();
    auth.found("distributor", id, dir.distributor(id), |r| {
        Some(dir.distributor_path(r))
    })
}

async fn get_distributor(auth: Allowed<ReadNode>, Path(id): Path<String>) -> Reply<Distributor> {
    Ok(ok(Distributor::from(find_distributor(&auth, &id)?)))
}

async fn create_distributor(
    State(state): State<AppState>,
    auth: Allowed<CreateChild>,
    Body(body): Body<DistributorIn>,
) -> Reply<Distributor> {
    auth.check(&NodePath::platform())?;
    let row = DistributorRow {
        id: choose_id(auth.directory(), NodeKindIndex::Distributor, body.id)?,
        name: valid_name("name", &body.name)?,
        currency: valid_currency("currency", body.currency.as_deref())?.or(default_currency(&auth)),
        commission: None,
        partner_commission: None,
        details: branded_details(body.details)?,
    };
    state.store().put_distributor(&row).await?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "distributor.create",
            &row.id,
            None,
            Some(&Distributor::from(&row)),
        )
        .await?;
    Ok(created(Distributor::from(&row)))
}

async fn update_distributor(
    State(state): State<AppState>,
    auth: Allowed<UpdateNode>,
    Path(id): Path<String>,
    Body(body): Body<DistributorIn>,
) -> Reply<Distributor> {
    let before = find_distributor(&auth, &id)?.clone();
    let row = DistributorRow {
        name: valid_name("name", &body.name)?,
        currency: valid_currency("currency", body.currency.as_deref())?,
        details: branded_details(body.details)?,
        ..before.clone()
    };
    state.store().put_distributor(&row).await?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "distributor.update",
            &row.id,
            Some(&Distributor::from(&before)),
            Some(&Distributor::from(&row)),
        )
        .await?;
    Ok(ok(Distributor::from(&row)))
}

async fn delete_distributor(
    State(state): State<AppState>,
    auth: Allowed<DeleteNode>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_distributor(&auth, &id)?.clone();
    state.store().delete(NodeKind::Distributor, &row.id).await?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "distributor.delete",
            &row.id,
            Some(&Distributor::from(&row)),
            None::<&Distributor>,
        )
        .await?;
    Ok(ok(()))
}

// ---- partners

async fn list_partners(
    auth: Allowed<ReadNode>,
    Params(paging): Params<Paging>,
) -> Reply<Vec<Partner>> {
    let page = paging.apply(auth.visible(auth.directory().partner_entries()))?;
    Ok(ok(page.into_iter().map(Partner::from).collect()))
}

fn find_partner<'a, P: super::access::Permission>(
    auth: &'a Allowed<P>,
    id: &str,
) -> ApiResult<&'a PartnerRow> {
    let dir = auth.directory();
    auth.found("partner", id, dir.partner(id), |r| {
        Some(dir.partner_path(r))
    })
}

async fn get_partner(auth: Allowed<ReadNode>, Path(id): Path<String>) -> Reply<Partner> {
    Ok(ok(Partner::from(find_partner(&auth, &id)?)))
}

async fn create_partner(
    State(state): State<AppState>,
    auth: Allowed<CreateChild>,
    Body(body): Body<PartnerIn>,
) -> Reply<Partner> {
    let parent_path = parent(
        &auth,
        Level::Distributor,
        "distributorId",
        &body.distributor_id,
    )?;
    let distributor = parent_path
        .distributor
        .as_ref()
        .map(|d| d.to_string())
        .unwrap_or_default();
    only_platform_chooses(&auth, &body.id)?;
    let row = PartnerRow {
        id: choose_id(auth.directory(), NodeKindIndex::Partner, body.id)?,
        distributor,
        name: valid_name("name", &body.name)?,
        currency: valid_currency("currency", body.currency.as_deref())?.or(default_currency(&auth)),
        commission: None,
        details: branded_details(body.details)?,
    };
    state.store().put_partner(&row).await?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "partner.create",
            &row.id,
            None,
            Some(&Partner::from(&row)),
        )
        .await?;
    Ok(created(Partner::from(&row)))
}

async fn update_partner(
    State(state): State<AppState>,
    auth: Allowed<UpdateNode>,
    Path(id): Path<String>,
    Body(body): Body<PartnerIn>,
) -> Reply<Partner> {
    let before = find_partner(&auth, &id)?.clone();
    if !body
        .distributor_id
        .eq_ignore_ascii_case(&before.distributor)
    {
        return Err(ApiError::field(
            "distributorId",
            "a partner cannot move to another distributor",
        ));
    }
    let row = PartnerRow {
        name: valid_name("name", &body.name)?,
        currency: valid_currency("currency", body.currency.as_deref())?,
        details: branded_details(body.details)?,
        ..before.clone()
    };
    state.store().put_partner(&row).await?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "partner.update",
            &row.id,
            Some(&Partner::from(&before)),
            Some(&Partner::from(&row)),
        )
        .await?;
    Ok(ok(Partner::from(&row)))
}

async fn delete_partner(
    State(state): State<AppState>,
    auth: Allowed<DeleteNode>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_partner(&auth, &id)?.clone();
    state.store().delete(NodeKind::Partner, &row.id).await?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "partner.delete",
            &row.id,
            Some(&Partner::from(&row)),
            None::<&Partner>,
        )
        .await?;
    Ok(ok(()))
}

// ---- tenants

async fn list_tenants(auth: Allowed<ReadNode>, Params(q): Params<ListQuery>) -> Reply<Vec<Tenant>> {
    let dir = auth.directory();
    let mut rows = auth.visible(dir.tenant_entries());
    if !q.include_closed() {
        rows.retain(|t| t.closed_on.is_none());
    }
    let page = q.paging().apply(rows)?;
    Ok(ok(page.into_iter().map(|t| Tenant::new(t, dir)).collect()))
}

fn find_tenant<'a, P: super::access::Permission>(
    auth: &'a Allowed<P>,
    id: &str,
) -> ApiResult<&'a TenantRow> {
    let dir = auth.directory();
    auth.found("tenant", id, dir.tenant(id), |r| dir.tenant_path(r))
}

async fn get_tenant(auth: Allowed<ReadNode>, Path(id): Path<String>) -> Reply<Tenant> {
    let row = find_tenant(&auth, &id)?;
    Ok(ok(Tenant::new(row, auth.directory())))
}

fn tenant_fields(body: TenantIn, base: TenantRow) -> ApiResult<TenantRow> {
    if let Some(tax) = &body.tax_percent {
        let parsed: rust_decimal::Decimal = tax.trim().parse().map_err(|_| {
            ApiError::field("taxPercent", format!("{tax:?} is not a decimal number"))
        })?;
        if parsed.is_sign_negative() || parsed > rust_decimal::Decimal::ONE_HUNDRED {
            return Err(ApiError::field("taxPercent", "must be between 0 and 100"));
        }
    }
    if let Some(days) = body.payment_terms_days
        && !(0..=3650).contains(&days)
    {
        return Err(ApiError::field(
            "paymentTermsDays",
            "must be between 0 and 3650",
        ));
    }
    let mut details = valid_details(body.details)?;
    if let Some(map) = details.as_object_mut() {
        for ((key, field), value) in TENANT_FIELDS.iter().zip([
            body.billing_contact,
            body.entra_tenant_id,
            body.initial_owner,
        ]) {
            if let Some(v) = value {
                if v.chars().count() > 320 {
                    return Err(ApiError::field(*field, "must be at most 320 characters"));
                }
                map.insert((*key).to_owned(), Value::String(v));
            }
        }
    }
    Ok(TenantRow {
        name: valid_name("name", &body.name)?,
        currency: valid_currency("currency", body.currency.as_deref())?,
        time_zone: valid_zone("timeZone", body.time_zone.as_deref())?,
        tax_percent: body.tax_percent.map(|t| t.trim().to_owned()),
        payment_terms_days: body.payment_terms_days,
        details,
        ..base
    })
}

async fn create_tenant(
    State(state): State<AppState>,
    auth: Allowed<CreateChild>,
    Body(body): Body<TenantIn>,
) -> Reply<Tenant> {
    let parent_path = parent(&auth, Level::Partner, "partnerId", &body.partner_id)?;
    only_platform_chooses(&auth, &body.id)?;
    let base = TenantRow {
        id: choose_id(auth.directory(), NodeKindIndex::Tenant, body.id.clone())?,
        partner: parent_path
            .partner
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        name: String::new(),
        currency: None,
        time_zone: None,
        tax_percent: None,
        payment_terms_days: None,
        details: Value::Null,
        closed_on: None,
    };
    let mut row = tenant_fields(body, base)?;
    if row.currency.is_none() {
        row.currency = default_currency(&auth);
    }
    state.store().put_tenant(&row).await?;
    let snapshot = state.refresh().await?;
    let out = Tenant::new(&row, &snapshot.directory);
    state
        .audit_change(
            &auth.caller.actor(),
            "tenant.create",
            &row.id,
            None,
            Some(&out),
        )
        .await?;
    Ok(created(out))
}

async fn update_tenant(
    State(state): State<AppState>,
    auth: Allowed<UpdateNode>,
    Path(id): Path<String>,
    Body(body): Body<TenantIn>,
) -> Reply<Tenant> {
    let before = find_tenant(&auth, &id)?.clone();
    if !body.partner_id.eq_ignore_ascii_case(&before.partner) {
        return Err(ApiError::field(
            "partnerId",
            "a tenant cannot move to another partner",
        ));
    }
    let row = tenant_fields(body, before.clone())?;
    state.store().put_tenant(&row).await?;
    let snapshot = state.refresh().await?;
    let out = Tenant::new(&row, &snapshot.directory);
    let was = Tenant::new(&before, &snapshot.directory);
    state
        .audit_change(
            &auth.caller.actor(),
            "tenant.update",
            &row.id,
            Some(&was),
            Some(&out),
        )
        .await?;
    Ok(ok(out))
}

/// A delete refused for what depends on the object, with the way to retire it that
/// keeps its history (`instead`); any other store error as it is.
pub(crate) fn blocked_instead(e: StoreError, instead: impl FnOnce() -> String) -> ApiError {
    match e {
        StoreError::Blocked { .. } => ApiError::Blocked(format!(
            "{e}; {}: it keeps its history and is no longer billed",
            instead()
        )),
        other => other.into(),
    }
}

/// Offboards a tenant: kept with its usage and invoices, billed up to `closedOn`, its
/// subscriptions cancelled from that day in the same transaction.
async fn close_tenant(
    State(state): State<AppState>,
    auth: Allowed<UpdateNode>,
    Path(id): Path<String>,
    Body(body): Body<CloseTenantIn>,
) -> Reply<Tenant> {
    let before = find_tenant(&auth, &id)?.clone();
    let day = match body.closed_on {
        Some(text) => wire::date("closedOn", &text)?,
        None => chrono::Utc::now().date_naive(),
    };
    // Issued periods stay as billed: closing inside or before one would turn correctly
    // billed usage into credits at the next late-usage re-rating.
    let filter = InvoiceFilter {
        tenant: Some(before.id.clone()),
        ..InvoiceFilter::default()
    };
    let last_issued = state
        .store()
        .invoices(&filter)
        .await?
        .into_iter()
        .filter(|i| matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::Paid))
        .map(|i| i.period)
        .max();
    if let Some(period) = last_issued {
        let first_open = super::billing::parse_period("period", &period)?
            .next()
            .first_day();
        if day < first_open {
            return Err(ApiError::field(
                "closedOn",
                format!("{period} is issued: close on {first_open} or later"),
            ));
        }
    }
    let day = day.format("%Y-%m-%d").to_string();
    reclose(state, auth, before, Some(day), "tenant.close").await
}

/// Reopens a closed tenant; its cancelled subscriptions stay cancelled until each is
/// reactivated on its own.
async fn reopen_tenant(
    State(state): State<AppState>,
    auth: Allowed<UpdateNode>,
    Path(id): Path<String>,
) -> Reply<Tenant> {
    let before = find_tenant(&auth, &id)?.clone();
    reclose(state, auth, before, None, "tenant.reopen").await
}

async fn reclose(
    state: AppState,
    auth: Allowed<UpdateNode>,
    before: TenantRow,
    closed_on: Option<String>,
    action: &str,
) -> Reply<Tenant> {
    let store = state.store();
    store.close_tenant(&before.id, closed_on.as_deref()).await?;
    let snapshot = state.refresh().await?;
    let row = snapshot
        .directory
        .tenant(&before.id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no tenant {:?}", before.id)))?;
    let out = Tenant::new(&row, &snapshot.directory);
    let was = Tenant::new(&before, &snapshot.directory);
    state
        .audit_change(
            &auth.caller.actor(),
            action,
            &row.id,
            Some(&was),
            Some(&out),
        )
        .await?;
    Ok(ok(out))
}

async fn delete_tenant(
    State(state): State<AppState>,
    auth: Allowed<DeleteNode>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_tenant(&auth, &id)?.clone();
    let was = Tenant::new(&row, auth.directory());
    state
        .store()
        .delete(NodeKind::Tenant, &row.id)
        .await
        .map_err(|e| {
            blocked_instead(e, || {
                format!("close it instead (POST /api/v1/tenants/{}/close)", row.id)
            })
        })?;
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "tenant.delete",
            &row.id,
            Some(&was),
            None::<&Tenant>,
        )
        .await?;
    Ok(ok(()))
}

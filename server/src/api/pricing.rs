//! Price lists at region, tenant or subscription scope (items, tiers, credits), clone,
//! the price-increase model and its application, and the estimator. Every list is
//! checked by the engine before it is stored, with each problem named by its field.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use stackbill_core::estimate::{Quote, estimate};
use stackbill_core::increase::Increase;
use stackbill_core::quantity::Quantity;
use stackbill_core::scenario::json::{Document, outcome_to_value};
use stackbill_store::PriceListRow;
use stackbill_store::billing::{rate_what_if, scenario_document};
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, ManagePricing, Platform, ReadPricing, UseEstimator};
use super::billing::parse_period;
use super::contract;
use super::fields::{valid_currency, valid_id};
use super::ops::{Op, many, one};
use super::wire::{self, ApiError, ApiResult, Body, created, ok};

type Reply<T> = ApiResult<wire::Ok<T>>;

/// Where a price list applies: exactly one of `region`, `tenant`, `subscription`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PriceScope {
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    subscription: Option<String>,
}

/// A price list as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PriceListIn {
    /// Id (generated when absent; ignored on update).
    #[serde(default)]
    id: Option<String>,
    /// Display name.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    scope: PriceScope,
    /// ISO 4217 currency of its rates.
    currency: String,
    /// First day in force, `YYYY-MM-DD` (local midnight in the tenant's zone).
    #[schema(format = Date)]
    effective_from: String,
    /// First day no longer in force (exclusive), if any.
    #[serde(default)]
    #[schema(format = Date)]
    effective_to: Option<String>,
    /// `[{meter, sku?, rate | tiers: {mode: graduated|volume, bands: [{from, to, rate}]},
    /// per?: unit|month, credit?}]`, decimals as strings.
    #[schema(value_type = Vec<Object>)]
    items: Vec<Value>,
}

/// A price list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PriceList {
    id: String,
    name: Option<String>,
    description: Option<String>,
    scope: PriceScope,
    currency: String,
    effective_from: String,
    effective_to: Option<String>,
    #[schema(value_type = Vec<Object>)]
    items: Value,
}

fn list_out(r: &PriceListRow) -> PriceList {
    let mut scope = PriceScope::default();
    let id = Some(r.scope_id.clone());
    match r.scope_kind.as_str() {
        "tenant" => scope.tenant = id,
        "subscription" => scope.subscription = id,
        _ => scope.region = id,
    }
    PriceList {
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        scope,
        currency: r.currency.clone(),
        effective_from: r.effective_from.clone(),
        effective_to: r.effective_to.clone(),
        items: r.items.clone(),
    }
}

/// Contract keys are lower-case single words: binding them case-insensitively is
/// lower-casing every key.
fn lower_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lower_keys(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

/// Resolves the scope against the store; returns (kind, canonical id).
async fn resolve_scope(state: &AppState, scope: &PriceScope) -> ApiResult<(String, String)> {
    let given: Vec<(&str, &String)> = [
        ("region", scope.region.as_ref()),
        ("tenant", scope.tenant.as_ref()),
        ("subscription", scope.subscription.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let [(kind, id)] = given[..] else {
        return Err(ApiError::field(
            "scope",
            "must name exactly one of region, tenant or subscription",
        ));
    };
    let dir = state.snapshot().await?.directory.clone();
    let found = match kind {
        "region" => state
            .store()
            .regions()
            .await?
            .into_iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
            .map(|r| r.id),
        "tenant" => dir.tenant(id).map(|t| t.id.clone()),
        _ => dir.subscription(id).map(|s| s.id.clone()),
    };
    let id = found
        .ok_or_else(|| ApiError::field(format!("scope.{kind}"), format!("no {kind} {id:?}")))?;
    Ok((kind.to_owned(), id))
}

/// Builds and checks a row: the engine validates the list inside a scenario holding the
/// nodes its scope names.
async fn list_row(state: &AppState, id: String, body: PriceListIn) -> ApiResult<PriceListRow> {
    let (scope_kind, scope_id) = resolve_scope(state, &body.scope).await?;
    let currency = valid_currency("currency", Some(&body.currency))?.unwrap_or_default();
    let from = wire::date("effectiveFrom", &body.effective_from)?;
    if let Some(to) = &body.effective_to
        && wire::date("effectiveTo", to)? <= from
    {
        return Err(ApiError::field(
            "effectiveTo",
            "must be after effectiveFrom",
        ));
    }
    if body.items.is_empty() {
        return Err(ApiError::field("items", "must hold at least one item"));
    }
    let items = Value::Array(body.items.into_iter().map(lower_keys).collect());
    let text = |field: &str, v: Option<String>, max: usize| -> ApiResult<Option<String>> {
        match v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            Some(v) if v.chars().count() > max => Err(ApiError::field(
                field,
                format!("must be at most {max} characters"),
            )),
            other => Ok(other),
        }
    };
    let row = PriceListRow {
        name: text("name", body.name, 200)?,
        description: text("description", body.description, 2000)?,
        id,
        scope_kind,
        scope_id,
        currency,
        effective_from: from.format("%Y-%m-%d").to_string(),
        effective_to: body
            .effective_to
            .as_deref()
            .map(|t| wire::date("effectiveTo", t).map(|d| d.format("%Y-%m-%d").to_string()))
            .transpose()?,
        items,
    };
    check_row(state, &row).await?;
    Ok(row)
}

/// The engine's verdict on one list.
async fn check_row(state: &AppState, row: &PriceListRow) -> ApiResult<()> {
    let from = wire::date("effectiveFrom", &row.effective_from)?;
    let period = stackbill_core::period::Period::containing(from);
    let mut doc = contract::skeleton(
        &format!("{:04}-{:02}", period.year(), period.month()),
        "USD",
    );
    let dir = state.snapshot().await?.directory.clone();
    let tenant = match row.scope_kind.as_str() {
        "tenant" => dir.tenant(&row.scope_id).cloned(),
        "subscription" => dir
            .subscription(&row.scope_id)
            .and_then(|s| dir.tenant(&s.tenant).cloned()),
        _ => None,
    };
    if let Some(t) = tenant
        && let Some(p) = dir.partner(&t.partner)
    {
        doc["distributors"] = json!([{"id": p.distributor}]);
        doc["partners"] = json!([{"id": p.id, "distributor": p.distributor}]);
        doc["tenants"] = json!([{"id": t.id, "partner": p.id}]);
        if row.scope_kind == "subscription" {
            doc["subscriptions"] = json!([{"id": row.scope_id, "tenant": t.id, "region": "r"}]);
        }
    }
    let mut scope = Map::new();
    scope.insert(row.scope_kind.clone(), json!(row.scope_id));
    doc["price_lists"] = json!([{"id": row.id, "scope": scope, "currency": row.currency,
        "effective_from": row.effective_from, "effective_to": row.effective_to, "items": row.items}]);
    contract::check(&doc, "price_lists[0].")
}

/// Refuses a list that would tie with another of the same scope and start day (the
/// engine fails a run on such a tie).
async fn no_tie(state: &AppState, row: &PriceListRow) -> ApiResult<()> {
    let lists = state.store().price_lists().await?;
    if let Some(other) = lists.iter().find(|l| {
        l.id != row.id
            && l.scope_kind == row.scope_kind
            && l.scope_id == row.scope_id
            && l.effective_from == row.effective_from
    }) {
        return Err(ApiError::Conflict(format!(
            "price list {:?} already starts on {} for this {}: two lists in force from the same day are ambiguous",
            other.id, row.effective_from, row.scope_kind
        )));
    }
    Ok(())
}

async fn find_list(state: &AppState, id: &str) -> ApiResult<PriceListRow> {
    state
        .store()
        .price_lists()
        .await?
        .into_iter()
        .find(|l| l.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::NotFound(format!("no price list {id:?}")))
}

async fn new_list_id(state: &AppState, given: Option<String>) -> ApiResult<String> {
    match given {
        Some(id) => {
            valid_id("id", &id)?;
            if find_list(state, &id).await.is_ok() {
                return Err(ApiError::Conflict(format!(
                    "price list {id:?} already exists"
                )));
            }
            Ok(id)
        }
        None => Ok(super::fields::new_id()),
    }
}

async fn store_new(
    state: &AppState,
    actor: &str,
    action: &str,
    row: &PriceListRow,
) -> ApiResult<()> {
    no_tie(state, row).await?;
    state.store().put_price_list(row).await?;
    state
        .audit(
            actor,
            action,
            &row.id,
            None,
            serde_json::to_value(list_out(row)).ok(),
        )
        .await
}

async fn list_lists(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPricing>,
) -> Reply<Vec<PriceList>> {
    Ok(ok(state
        .store()
        .price_lists()
        .await?
        .iter()
        .map(list_out)
        .collect()))
}

async fn get_list(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPricing>,
    Path(id): Path<String>,
) -> Reply<PriceList> {
    Ok(ok(list_out(&find_list(&state, &id).await?)))
}

async fn create_list(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Body(body): Body<PriceListIn>,
) -> Reply<PriceList> {
    let id = new_list_id(&state, body.id.clone()).await?;
    let row = list_row(&state, id, body).await?;
    store_new(&state, &auth.caller.actor(), "pricing.create", &row).await?;
    Ok(created(list_out(&row)))
}

async fn update_list(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Path(id): Path<String>,
    Body(body): Body<PriceListIn>,
) -> Reply<PriceList> {
    let before = find_list(&state, &id).await?;
    let row = list_row(&state, before.id.clone(), body).await?;
    no_tie(&state, &row).await?;
    state.store().put_price_list(&row).await?;
    state
        .audit(
            &auth.caller.actor(),
            "pricing.update",
            &row.id,
            serde_json::to_value(list_out(&before)).ok(),
            serde_json::to_value(list_out(&row)).ok(),
        )
        .await?;
    Ok(ok(list_out(&row)))
}

async fn delete_list(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_list(&state, &id).await?;
    state.store().delete_price_list(&row.id).await?;
    state
        .audit(
            &auth.caller.actor(),
            "pricing.delete",
            &row.id,
            serde_json::to_value(list_out(&row)).ok(),
            None,
        )
        .await?;
    Ok(ok(()))
}

/// What the clone changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CloneIn {
    /// Id of the copy (generated when absent).
    #[serde(default)]
    id: Option<String>,
    /// Default: the source's.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Target scope (default: the source's).
    #[serde(default)]
    scope: Option<PriceScope>,
    /// Default: the source's (then `scope` must differ, or the two would tie).
    #[serde(default)]
    #[schema(format = Date)]
    effective_from: Option<String>,
    #[serde(default)]
    #[schema(format = Date)]
    effective_to: Option<String>,
}

async fn clone_list(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Path(id): Path<String>,
    Body(body): Body<CloneIn>,
) -> Reply<PriceList> {
    let source = find_list(&state, &id).await?;
    let id = new_list_id(&state, body.id).await?;
    let from_source = list_out(&source);
    let row = list_row(
        &state,
        id,
        PriceListIn {
            id: None,
            name: body.name.or(source.name.clone()),
            description: body.description.or(source.description.clone()),
            scope: body.scope.unwrap_or(from_source.scope),
            currency: source.currency.clone(),
            effective_from: body.effective_from.unwrap_or(source.effective_from.clone()),
            effective_to: body.effective_to.or(source.effective_to.clone()),
            items: source.items.as_array().cloned().unwrap_or_default(),
        },
    )
    .await?;
    store_new(&state, &auth.caller.actor(), "pricing.clone", &row).await?;
    Ok(created(list_out(&row)))
}

/// A price increase to model (and, with `apply`, to publish as a new list).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IncreaseIn {
    /// `percentage` or `fixed`.
    kind: String,
    /// Percent, or amount in the list's currency; decimal text.
    amount: String,
    /// The month whose stored usage shows the impact (default: the current month).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    period: Option<String>,
    /// Publish the new rates as a new price list.
    #[serde(default)]
    apply: bool,
    /// Id of the new list (with `apply`).
    #[serde(default)]
    new_id: Option<String>,
    /// First day of the new list (required with `apply`).
    #[serde(default)]
    #[schema(format = Date)]
    effective_from: Option<String>,
}

/// One rate before and after.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RateChange {
    /// Item path in the list (`items[0]`, `items[1].tiers.bands[0]`).
    at: String,
    meter: String,
    sku: Option<String>,
    before: String,
    after: String,
}

/// One tenant's invoice total before and after.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantImpact {
    tenant_id: String,
    currency: String,
    before: String,
    after: String,
    change: String,
}

/// The model's result.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IncreaseOut {
    period: String,
    rates: Vec<RateChange>,
    tenants: Vec<TenantImpact>,
    /// The list published, with `apply`.
    applied: Option<PriceList>,
}

fn decimal(field: &str, text: &str) -> ApiResult<Decimal> {
    stackbill_core::number::parse_decimal(text.trim())
        .map_err(|_| ApiError::field(field, format!("{text:?} is not a decimal")))
}

/// Raises every rate of `items` (flat rates and tier bands; credits unchanged).
fn raise(items: &Value, by: Increase, changes: &mut Vec<RateChange>) -> ApiResult<Value> {
    let mut items = items.clone();
    let Some(list) = items.as_array_mut() else {
        return Ok(items);
    };
    for (i, item) in list.iter_mut().enumerate() {
        let meter = item["meter"].as_str().unwrap_or_default().to_owned();
        let sku = item["sku"].as_str().map(str::to_owned);
        let mut bump = |at: String, slot: &mut Value| -> ApiResult<()> {
            let Some(text) = slot.as_str() else {
                return Ok(());
            };
            let before = decimal(&at, text)?;
            let after = by
                .apply(before)
                .map_err(|e| ApiError::field("amount", format!("{at}: {e}")))?;
            changes.push(RateChange {
                at,
                meter: meter.clone(),
                sku: sku.clone(),
                before: text.to_owned(),
                after: after.to_string(),
            });
            *slot = json!(after.to_string());
            Ok(())
        };
        // `get_mut`, never `value[key]`: indexing a missing key would insert a null.
        if let Some(rate) = item.get_mut("rate") {
            bump(format!("items[{i}]"), rate)?;
        }
        let bands = item
            .get_mut("tiers")
            .and_then(|t| t.get_mut("bands"))
            .and_then(Value::as_array_mut);
        for (b, band) in bands.into_iter().flatten().enumerate() {
            if let Some(rate) = band.get_mut("rate") {
                bump(format!("items[{i}].tiers.bands[{b}]"), rate)?;
            }
        }
    }
    Ok(items)
}

fn current_period() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

fn totals(doc: &Value) -> Vec<(String, String, String)> {
    doc["invoices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("tenant"), s("currency"), s("total"))
        })
        .collect()
}

async fn model_increase(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Path(id): Path<String>,
    Body(body): Body<IncreaseIn>,
) -> Reply<IncreaseOut> {
    let source = find_list(&state, &id).await?;
    let amount = decimal("amount", &body.amount)?;
    let by = match body.kind.to_lowercase().as_str() {
        "percentage" => Increase::Percentage(amount),
        "fixed" => Increase::Fixed(amount),
        _ => return Err(ApiError::field("kind", "must be percentage or fixed")),
    };
    let period = body.period.clone().unwrap_or_else(current_period);
    parse_period("period", &period)?;
    let mut rates = Vec::new();
    let raised = raise(&source.items, by, &mut rates)?;
    let store = state.store();
    let before = rate_what_if(store, &period, None, |_| {}).await?;
    let list_id = source.id.clone();
    let new_items = raised.clone();
    let after = rate_what_if(store, &period, None, move |doc| {
        if let Some(lists) = doc["price_lists"].as_array_mut() {
            for l in lists.iter_mut().filter(|l| l["id"] == json!(list_id)) {
                l["items"] = new_items.clone();
            }
        }
    })
    .await?;
    let after_totals = totals(&after);
    let mut tenants = Vec::new();
    for (tenant, currency, was) in totals(&before) {
        let now = after_totals
            .iter()
            .find(|(t, _, _)| *t == tenant)
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| was.clone());
        let change = decimal("total", &now)?
            .checked_sub(decimal("total", &was)?)
            .ok_or_else(|| ApiError::field("amount", "the change in a total overflows"))?;
        if !change.is_zero() {
            tenants.push(TenantImpact {
                tenant_id: tenant,
                currency,
                before: was,
                after: now,
                change: change.to_string(),
            });
        }
    }
    let applied = if body.apply {
        let from = body
            .effective_from
            .clone()
            .ok_or_else(|| ApiError::field("effectiveFrom", "is required to apply an increase"))?;
        let new_id = new_list_id(&state, body.new_id.clone()).await?;
        let shown = list_out(&source);
        let row = list_row(
            &state,
            new_id,
            PriceListIn {
                id: None,
                name: source.name.clone(),
                description: Some(format!(
                    "{} {} on {} from {}",
                    body.kind.to_lowercase(),
                    body.amount.trim(),
                    source.id,
                    source.effective_from
                )),
                scope: shown.scope,
                currency: source.currency.clone(),
                effective_from: from,
                effective_to: None,
                items: raised.as_array().cloned().unwrap_or_default(),
            },
        )
        .await?;
        store_new(&state, &auth.caller.actor(), "pricing.increase", &row).await?;
        Some(list_out(&row))
    } else {
        None
    };
    Ok(ok(IncreaseOut {
        period,
        rates,
        tenants,
        applied,
    }))
}

/// One quantity to estimate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EstimateItem {
    meter_id: String,
    #[serde(default)]
    sku: Option<String>,
    /// Quantity for the whole month, decimal text.
    quantity: String,
}

/// An estimate request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EstimateIn {
    /// The tenant (or give `subscriptionId`).
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    subscription_id: Option<String>,
    /// Price with this list only (default: the lists that would apply).
    #[serde(default)]
    price_list_id: Option<String>,
    /// Month priced (default: the current month).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    period: Option<String>,
    items: Vec<EstimateItem>,
}

/// The estimate: an invoice as billing would write it, and what could not be priced.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EstimateOut {
    period: String,
    #[schema(value_type = Option<Object>)]
    invoice: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    unbilled: Value,
}

async fn run_estimate(
    State(state): State<AppState>,
    auth: Allowed<UseEstimator>,
    Body(body): Body<EstimateIn>,
) -> Reply<EstimateOut> {
    let dir = auth.directory();
    let (tenant, subscription) = match (&body.tenant_id, &body.subscription_id) {
        (_, Some(s)) => {
            let row = super::subscriptions::find_subscription(&auth, s)?;
            (row.tenant.clone(), Some(row.id.clone()))
        }
        (Some(t), None) => {
            let row = dir
                .tenant(t)
                .ok_or_else(|| ApiError::NotFound(format!("tenantId: no tenant {t:?}")))?;
            let missing = || ApiError::NotFound(format!("tenantId: no tenant {t:?}"));
            let path = dir.tenant_path(row).ok_or_else(missing)?;
            auth.check_named(&path, missing)?;
            (row.id.clone(), None)
        }
        (None, None) => {
            return Err(ApiError::field(
                "tenantId",
                "give tenantId or subscriptionId",
            ));
        }
    };
    if body.items.is_empty() || body.items.len() > 1000 {
        return Err(ApiError::field("items", "must hold 1–1000 items"));
    }
    let mut quantities = Vec::new();
    for (i, item) in body.items.iter().enumerate() {
        let q = Quantity::parse(item.quantity.trim()).ok_or_else(|| {
            ApiError::field(
                format!("items[{i}].quantity"),
                "must be a non-negative decimal",
            )
        })?;
        if item.meter_id.trim().is_empty() {
            return Err(ApiError::field(
                format!("items[{i}].meterId"),
                "is required",
            ));
        }
        quantities.push(q);
    }
    let period = body.period.clone().unwrap_or_else(current_period);
    let p = parse_period("period", &period)?;
    let only = match &body.price_list_id {
        Some(id) => {
            let missing = || ApiError::field("priceListId", format!("no price list {id:?}"));
            let list = find_list(&state, id).await.map_err(|_| missing())?;
            // Below the platform, only lists that could apply to this tenant: its own, its
            // subscriptions', and those of regions it runs in. Others answer as missing.
            let applies = match list.scope_kind.as_str() {
                "tenant" => list.scope_id == tenant,
                "subscription" => dir
                    .subscription(&list.scope_id)
                    .is_some_and(|s| s.tenant == tenant),
                _ => dir
                    .subscriptions
                    .iter()
                    .any(|s| s.tenant == tenant && s.region == list.scope_id),
            };
            let platform = auth.caller.can(
                stackbill_core::rbac::Action::ReadPricing,
                &stackbill_core::rbac::NodePath::platform(),
            );
            if !(applies || platform) {
                return Err(missing());
            }
            Some(list)
        }
        None => None,
    };
    let mut doc = scenario_document(state.store(), &period, Some(&tenant)).await?;
    let subscription = match subscription
        .or_else(|| doc["subscriptions"][0]["id"].as_str().map(str::to_owned))
    {
        Some(s) => s,
        None => {
            // A tenant without subscriptions yet: price as if it had one in the list's
            // region (or in no region, when only tenant prices apply).
            let region = only
                .as_ref()
                .filter(|l| l.scope_kind == "region")
                .map(|l| l.scope_id.clone())
                .unwrap_or_else(|| "estimate".into());
            doc["subscriptions"] = json!([{"id": "estimate", "tenant": tenant, "region": region}]);
            "estimate".to_owned()
        }
    };
    if let Some(list) = &only {
        // The chosen list, as the tenant's own and in force for the whole month.
        doc["price_lists"] = json!([{"id": list.id, "scope": {"tenant": tenant},
            "currency": list.currency, "effective_from": p.first_day().format("%Y-%m-%d").to_string(),
            "effective_to": null, "items": list.items}]);
    }
    let text = doc.to_string();
    let parsed = Document::parse(&text)
        .map_err(|e| ApiError::Conflict(format!("stored data does not form a scenario: {e}")))?;
    let quotes: Vec<Quote<'_>> = body
        .items
        .iter()
        .zip(&quantities)
        .map(|(item, q)| Quote {
            subscription: &subscription,
            meter: item.meter_id.trim(),
            sku: item.sku.as_deref(),
            quantity: *q,
        })
        .collect();
    let outcome =
        estimate(parsed.scenario(), &quotes).map_err(|e| ApiError::Conflict(e.to_string()))?;
    let out = outcome_to_value(&outcome);
    Ok(ok(EstimateOut {
        period,
        invoice: out["invoices"].get(0).cloned(),
        unbilled: out["unbilled"].clone(),
    }))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Pricing";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/pricing",
            t,
            "List price lists",
            get(list_lists),
        )
        .data(many::<PriceList>()),
        Op::new(
            Method::POST,
            "/api/v1/pricing",
            t,
            "Create a price list",
            post(create_list),
        )
        .body(one::<PriceListIn>())
        .data(one::<PriceList>()),
        Op::new(
            Method::POST,
            "/api/v1/pricing/estimate",
            t,
            "Estimate costs for a tenant or subscription",
            post(run_estimate),
        )
        .body(one::<EstimateIn>())
        .data(one::<EstimateOut>()),
        Op::new(
            Method::POST,
            "/api/v1/pricing/recalculate",
            t,
            "Re-rate preview invoices of a period with the current prices",
            post(super::billing::generate),
        )
        .body(one::<super::billing::GenerateIn>())
        .data(one::<super::billing::Generated>())
        .job(),
        Op::new(
            Method::GET,
            "/api/v1/pricing/{id}",
            t,
            "View a price list",
            get(get_list),
        )
        .data(one::<PriceList>()),
        Op::new(
            Method::PUT,
            "/api/v1/pricing/{id}",
            t,
            "Edit a price list",
            put(update_list),
        )
        .body(one::<PriceListIn>())
        .data(one::<PriceList>()),
        Op::new(
            Method::DELETE,
            "/api/v1/pricing/{id}",
            t,
            "Delete a price list",
            delete(delete_list),
        ),
        Op::new(
            Method::POST,
            "/api/v1/pricing/{id}/clone",
            t,
            "Create a price list by cloning one",
            post(clone_list),
        )
        .body(one::<CloneIn>())
        .data(one::<PriceList>()),
        Op::new(
            Method::POST,
            "/api/v1/pricing/{id}/increase",
            t,
            "Model a price increase, and apply it as a new list",
            post(model_increase),
        )
        .body(one::<IncreaseIn>())
        .data(one::<IncreaseOut>()),
    ]
}

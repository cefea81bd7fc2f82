//! The bridges between the store and the scenario contract, a true edge: importing a
//! scenario file, exporting what a period's billing reads as one, the scenario document a
//! what-if edit works on, and usage rows from contract usage objects.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use stackbill_core::period::Period;
use stackbill_core::scenario::json::{self as sj, Document};
use stackbill_core::usage::parse_instant;

use crate::billing::each_usage;
use crate::{
    FxRateRow, PlatformRow, PriceListRow, Result, Store, StoreError, SubscriptionRow, TenantRow,
    UsageBatch, UsageRow,
};

fn opt(value: &Option<String>) -> Value {
    value.as_ref().map_or(Value::Null, |v| json!(v))
}

/// The scenario document for `period` (without usage), from what the store holds. With
/// `tenant`, it is narrowed as the core narrows a run: that tenant, its subscriptions,
/// partner and distributor, the region price lists and only its own bespoke lists.
pub async fn scenario_document(
    store: &dyn Store,
    period: &str,
    tenant: Option<&str>,
) -> Result<Value> {
    let platform = store.platform().await?.ok_or_else(|| {
        StoreError::InvalidState(
            "the Billing settings (platform currency, time zone, rounding) are not set".into(),
        )
    })?;
    let mut tenants = store.tenants().await?;
    let mut subscriptions = store.subscriptions().await?;
    let mut partners = store.partners().await?;
    let mut distributors = store.distributors().await?;
    if let Some(only) = tenant {
        tenants.retain(|t| t.id == only);
        let Some(t) = tenants.first() else {
            return Err(StoreError::NotFound {
                kind: "tenant",
                id: only.to_owned(),
            });
        };
        subscriptions.retain(|s| s.tenant == only);
        partners.retain(|p| p.id == t.partner);
        let distributor = partners.first().map(|p| p.distributor.clone());
        distributors.retain(|d| Some(&d.id) == distributor.as_ref());
    }
    Ok(json!({
        "period": period,
        "platform": platform_value(&platform),
        "distributors": distributors.iter().map(|d| json!({
            "id": d.id, "currency": opt(&d.currency),
            "commission": d.commission.clone().unwrap_or(Value::Null),
            "partner_commission": d.partner_commission.clone().unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
        "partners": partners.iter().map(|p| json!({
            "id": p.id, "distributor": p.distributor, "currency": opt(&p.currency),
            "commission": p.commission.clone().unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
        "tenants": tenants.iter().map(tenant_value).collect::<Vec<_>>(),
        "subscriptions": subscriptions.iter().map(|s| json!({
            "id": s.id, "tenant": s.tenant, "region": s.region, "ends_on": opt(&s.ends_on),
        })).collect::<Vec<_>>(),
        "price_lists": store.price_lists().await?.iter()
            .filter(|l| tenant.is_none() || match l.scope_kind.as_str() {
                "tenant" => tenants.iter().any(|t| t.id == l.scope_id),
                "subscription" => subscriptions.iter().any(|s| s.id == l.scope_id),
                _ => true,
            })
            .map(price_list_value).collect::<Vec<_>>(),
        "fx_rates": store.fx_rates().await?.iter().map(|r| json!({
            "from": r.from, "to": r.to, "rate": r.rate, "as_of": r.as_of,
        })).collect::<Vec<_>>(),
        "usage": [],
    }))
}

fn platform_value(p: &PlatformRow) -> Value {
    json!({
        "currency": p.currency, "time_zone": p.time_zone,
        "monthly_variable_pricing": p.monthly_variable_pricing, "rounding": p.rounding,
    })
}

fn tenant_value(t: &TenantRow) -> Value {
    json!({
        "id": t.id, "partner": t.partner, "currency": opt(&t.currency),
        "time_zone": opt(&t.time_zone), "tax_percent": opt(&t.tax_percent),
    })
}

fn price_list_value(l: &PriceListRow) -> Value {
    let mut scope = Map::new();
    scope.insert(l.scope_kind.clone(), json!(l.scope_id));
    json!({
        "id": l.id, "scope": scope, "currency": l.currency,
        "effective_from": l.effective_from, "effective_to": opt(&l.effective_to),
        "items": l.items,
    })
}

pub(crate) fn read_error(e: sj::ReadError) -> StoreError {
    match e {
        sj::ReadError::Invalid(invalid) => StoreError::Invalid(invalid),
        other => StoreError::InvalidState(format!("stored data does not form a scenario: {other}")),
    }
}

/// The scenario document equivalent to billing `period`: the stored hierarchy, pricing and
/// FX, and exactly the usage rows a billing run would read. Rating it gives the same
/// invoices as `bill`.
pub async fn export_scenario(store: &dyn Store, period: &str) -> Result<Value> {
    let mut doc_value = scenario_document(store, period, None).await?;
    let text = doc_value.to_string();
    let doc = Document::parse(&text).map_err(read_error)?;
    let mut usage = Vec::new();
    each_usage(store, doc.scenario(), None, |row| {
        usage.push(json!({
            "id": if row.synthetic { Value::Null } else { json!(row.id) },
            "subscription": opt(&row.subscription), "meter": opt(&row.meter),
            "sku": opt(&row.sku), "resource": opt(&row.resource),
            "start": opt(&row.start), "end": opt(&row.end),
            "quantity": opt(&row.quantity),
        }));
        if row.malformed {
            // A field that was not text: an object in `resource` (which rating ignores)
            // keeps the record malformed, so rating the export agrees with billing.
            if let Some(last) = usage.last_mut() {
                last["resource"] = json!({"malformed": true});
            }
        }
        Ok(())
    })
    .await?;
    doc_value["usage"] = Value::Array(usage);
    Ok(doc_value)
}

/// A stable 64-bit FNV-1a hash, for synthetic ids that survive re-imports.
fn fnv(parts: &[Option<&str>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.unwrap_or("\u{0}").bytes().chain([0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Gives id-less rows a synthetic id from their content and occurrence, so that
/// re-importing the same source changes nothing while identical rows still all count.
/// One `SyntheticIds` must see a whole source, batch after batch, in order.
#[derive(Debug, Default)]
pub struct SyntheticIds {
    seen: HashMap<u64, u32>,
}

impl SyntheticIds {
    /// Assigns ids to the id-less rows of the next batch.
    pub fn assign(&mut self, rows: &mut [UsageRow]) {
        assign_with(&mut self.seen, rows);
    }
}

/// [`SyntheticIds`] for a source that is a single batch.
pub fn assign_synthetic_ids(rows: &mut [UsageRow]) {
    assign_with(&mut HashMap::new(), rows);
}

fn assign_with(seen: &mut HashMap<u64, u32>, rows: &mut [UsageRow]) {
    for row in rows.iter_mut().filter(|r| r.synthetic) {
        let h = fnv(&[
            row.subscription.as_deref(),
            row.meter.as_deref(),
            row.sku.as_deref(),
            row.resource.as_deref(),
            row.start.as_deref(),
            row.end.as_deref(),
            row.quantity.as_deref(),
        ]);
        let n = seen.entry(h).or_insert(0);
        *n = n.saturating_add(1);
        row.id = format!("~{h:016x}-{n}");
    }
}

/// A usage row from a scenario's usage object.
pub fn usage_row(raw: &sj::RawUsage<'_>) -> UsageRow {
    usage_row_from_text(raw.text())
}

/// A usage row from a record's text (an id-less record gets its id from
/// [`SyntheticIds`]).
pub fn usage_row_from_text(t: sj::UsageText) -> UsageRow {
    UsageRow {
        synthetic: t.id.is_none(),
        id: t.id.clone().unwrap_or_default(),
        start_ns: t.start.as_deref().and_then(parse_instant),
        end_ns: t.end.as_deref().and_then(parse_instant),
        subscription: t.subscription,
        meter: t.meter,
        sku: t.sku,
        resource: t.resource,
        start: t.start,
        end: t.end,
        quantity: t.quantity,
        malformed: t.malformed,
    }
}

/// What an import stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Distributors, partners, tenants, subscriptions written.
    pub nodes: usize,
    /// Price lists written.
    pub price_lists: usize,
    /// FX rates added (rates already stored are not added twice).
    pub fx_rates: usize,
    /// The usage ingest.
    pub usage: crate::IngestReport,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Loads a scenario document into the store: Billing settings, hierarchy, price lists, FX
/// rates and usage (batch window: the scenario's period). The document is validated by
/// the engine first; nothing is written if it is invalid. Everything but the usage is
/// written in one transaction; usage follows in batches, idempotently, so an import that
/// fails there is completed by running it again.
pub async fn import_scenario(store: &dyn Store, text_doc: &str) -> Result<ImportReport> {
    let doc = Document::parse(text_doc).map_err(read_error)?;
    let v: Value = serde_json::from_str(text_doc)
        .map_err(|e| StoreError::InvalidState(format!("not JSON: {e}")))?;
    let scenario = doc.scenario();
    let p = &v["platform"];
    let platform = PlatformRow {
        currency: scenario.platform().currency.code().to_owned(),
        time_zone: scenario.platform().time_zone.name().to_owned(),
        monthly_variable_pricing: scenario.platform().monthly_variable_pricing,
        rounding: scenario.platform().rounding.name().to_owned(),
        payment_terms_days: p["payment_terms_days"].as_i64().unwrap_or(30),
    };
    let mut report = ImportReport::default();
    let (mut distributors, mut partners, mut tenants, mut subscriptions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut price_lists, mut fx_rates) = (Vec::new(), Vec::new());
    let items = |key: &str| v[key].as_array().cloned().unwrap_or_default();
    for d in items("distributors") {
        distributors.push(crate::DistributorRow {
            id: text(&d["id"]).unwrap_or_default(),
            name: text(&d["name"])
                .or_else(|| text(&d["id"]))
                .unwrap_or_default(),
            currency: text(&d["currency"]),
            commission: (!d["commission"].is_null()).then(|| d["commission"].clone()),
            partner_commission: (!d["partner_commission"].is_null())
                .then(|| d["partner_commission"].clone()),
            details: json!({}),
        });
    }
    for x in items("partners") {
        partners.push(crate::PartnerRow {
            id: text(&x["id"]).unwrap_or_default(),
            distributor: text(&x["distributor"]).unwrap_or_default(),
            name: text(&x["name"])
                .or_else(|| text(&x["id"]))
                .unwrap_or_default(),
            currency: text(&x["currency"]),
            commission: (!x["commission"].is_null()).then(|| x["commission"].clone()),
            details: json!({}),
        });
    }
    for t in items("tenants") {
        tenants.push(TenantRow {
            id: text(&t["id"]).unwrap_or_default(),
            partner: text(&t["partner"]).unwrap_or_default(),
            name: text(&t["name"])
                .or_else(|| text(&t["id"]))
                .unwrap_or_default(),
            currency: text(&t["currency"]),
            time_zone: text(&t["time_zone"]),
            tax_percent: text(&t["tax_percent"]),
            payment_terms_days: t["payment_terms_days"].as_i64(),
            details: json!({}),
            closed_on: None,
        });
    }
    for s in items("subscriptions") {
        subscriptions.push(SubscriptionRow {
            id: text(&s["id"]).unwrap_or_default(),
            tenant: text(&s["tenant"]).unwrap_or_default(),
            region: text(&s["region"]).unwrap_or_default(),
            name: text(&s["name"])
                .or_else(|| text(&s["id"]))
                .unwrap_or_default(),
            plan: None,
            status: if s["ends_on"].is_string() {
                "cancelled"
            } else {
                "active"
            }
            .to_owned(),
            ends_on: text(&s["ends_on"]),
        });
    }
    for l in items("price_lists") {
        let scope = l["scope"].as_object().and_then(|o| o.iter().next());
        let (kind, id) = scope.map_or((String::new(), String::new()), |(k, v)| {
            (k.clone(), text(v).unwrap_or_default())
        });
        price_lists.push(PriceListRow {
            id: text(&l["id"]).unwrap_or_default(),
            scope_kind: kind,
            scope_id: id,
            currency: text(&l["currency"]).unwrap_or_default(),
            effective_from: text(&l["effective_from"]).unwrap_or_default(),
            effective_to: text(&l["effective_to"]),
            items: l["items"].clone(),
            name: None,
            description: None,
        });
    }
    let stored = store.fx_rates().await?;
    for r in items("fx_rates") {
        let row = FxRateRow {
            from: text(&r["from"]).unwrap_or_default(),
            to: text(&r["to"]).unwrap_or_default(),
            rate: text(&r["rate"]).unwrap_or_default(),
            as_of: text(&r["as_of"]).unwrap_or_default(),
        };
        if !stored.contains(&row) && !fx_rates.contains(&row) {
            fx_rates.push(row);
        }
    }
    report.nodes = [
        distributors.len(),
        partners.len(),
        tenants.len(),
        subscriptions.len(),
    ]
    .into_iter()
    .fold(0, usize::saturating_add);
    report.price_lists = price_lists.len();
    report.fx_rates = fx_rates.len();
    store
        .import(&crate::Import {
            platform,
            distributors,
            partners,
            tenants,
            subscriptions,
            price_lists,
            fx_rates,
        })
        .await?;
    let mut rows: Vec<UsageRow> = doc.usage().iter().map(usage_row).collect();
    assign_synthetic_ids(&mut rows);
    let period: Period = scenario.period();
    let batch = UsageBatch {
        source: "import-scenario".to_owned(),
        window: period.bounds(scenario.platform().time_zone).nanos(),
    };
    for chunk in rows.chunks(5000) {
        let done = store.ingest_usage(&batch, chunk).await?;
        // Saturating sums (see the impl): the explicit call keeps the lint's eye on `+=`.
        std::ops::AddAssign::add_assign(&mut report.usage, done);
    }
    Ok(report)
}

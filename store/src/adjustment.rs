//! Late usage for an already-issued period: the issued invoice never changes; the tenant's
//! next preview carries adjustment lines equal to the period re-rated now minus what was
//! billed for it (the issued invoice plus adjustments already issued), each naming the
//! period it corrects.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::{Value, json};
use stackbill_core::Decimal;
use stackbill_core::invoice::Totals;
use stackbill_core::money::{Currency, RoundingMode};

use crate::billing::rerate_invoice;
use crate::{InvoiceRow, InvoiceStatus, Result, Store, StoreError};

/// What identifies a line across re-ratings.
type Key = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn key(line: &Value, kind: &str) -> Key {
    let text = |k: &str| line[k].as_str().map(str::to_owned);
    (
        kind.to_owned(),
        text("subscription"),
        text("meter"),
        text("sku"),
        text("price_list"),
    )
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| Decimal::from_str(s).ok())
        .unwrap_or(Decimal::ZERO)
}

/// Adds to `invoice` (the preview document of `tenant` for `period`) the adjustment lines
/// for every earlier issued period whose re-rating differs, and recomputes its totals.
/// `history` is every stored invoice of `tenant`.
pub(crate) async fn apply(
    store: &dyn Store,
    period: &str,
    tenant: &str,
    history: &[&InvoiceRow],
    invoice: &mut Value,
    rounding: &str,
    tax_percent: Option<&str>,
) -> Result<()> {
    let billed: Vec<&InvoiceRow> = history
        .iter()
        .copied()
        .filter(|i| matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::Paid))
        .collect();
    let mut adjustments = Vec::new();
    for earlier in billed.iter().filter(|i| i.period.as_str() < period) {
        // What has been billed for that period: its own lines, plus adjustment lines for
        // it on invoices issued since.
        let mut issued: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
        let mut add = |line: &Value, sign: Decimal| {
            let kind = if line["kind"] == "adjustment" {
                line["of_kind"].as_str().unwrap_or("charge").to_owned()
            } else {
                line["kind"].as_str().unwrap_or_default().to_owned()
            };
            let e = issued.entry(key(line, &kind)).or_default();
            e.0 += sign * dec(&line["amount"]);
            e.1 += sign * dec(&line["quantity"]);
        };
        for line in earlier.document["lines"].as_array().into_iter().flatten() {
            add(line, Decimal::ONE);
        }
        for later in &billed {
            for line in later.document["lines"].as_array().into_iter().flatten() {
                if line["kind"] == "adjustment" && line["adjusts"] == json!(earlier.period) {
                    add(line, Decimal::ONE);
                }
            }
        }
        let now = rerate_invoice(store, &earlier.period, tenant).await?;
        let mut current: BTreeMap<Key, (Decimal, Decimal, Value)> = BTreeMap::new();
        for line in now["lines"].as_array().into_iter().flatten() {
            let kind = line["kind"].as_str().unwrap_or_default();
            let e = current.entry(key(line, kind)).or_insert((
                Decimal::ZERO,
                Decimal::ZERO,
                line.clone(),
            ));
            e.0 += dec(&line["amount"]);
            e.1 += dec(&line["quantity"]);
        }
        let keys: std::collections::BTreeSet<&Key> = issued.keys().chain(current.keys()).collect();
        for k in keys {
            let (was_amount, was_quantity) = issued.get(k).copied().unwrap_or_default();
            let (now_amount, now_quantity) =
                current.get(k).map(|(a, q, _)| (*a, *q)).unwrap_or_default();
            let delta = now_amount - was_amount;
            if delta.is_zero() {
                continue;
            }
            let quantity = (now_quantity - was_quantity).normalize();
            adjustments.push(json!({
                "kind": "adjustment",
                "subscription": k.1, "meter": k.2, "sku": k.3,
                "quantity": if k.0 == "credit" { Value::Null } else { json!(quantity.to_string()) },
                "price_list": k.4, "unit_rate": null, "fx_rate": null,
                "amount": delta.to_string(),
                "adjusts": earlier.period, "of_kind": k.0,
            }));
        }
    }
    if adjustments.is_empty() {
        return Ok(());
    }
    let currency = Currency::from_code(invoice["currency"].as_str().unwrap_or_default())
        .map_err(|e| StoreError::InvalidState(e.to_string()))?;
    let mode = RoundingMode::from_name(rounding).unwrap_or_default();
    let tax_rate = tax_percent
        .and_then(|t| Decimal::from_str(t).ok())
        .unwrap_or(Decimal::ZERO);
    for a in &mut adjustments {
        a["amount"] = json!(currency.format(dec(&a["amount"])));
    }
    if let Some(lines) = invoice["lines"].as_array_mut() {
        lines.extend(adjustments);
    }
    let amounts: Vec<Decimal> = invoice["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| dec(&l["amount"]))
        .collect();
    let totals = Totals::of(amounts, tax_rate, mode, currency).ok_or_else(|| {
        StoreError::Engine(stackbill_core::Error::Overflow {
            context: format!("the invoice of tenant {tenant}"),
        })
    })?;
    invoice["subtotal"] = json!(currency.format(totals.subtotal));
    invoice["tax"] = json!(currency.format(totals.tax));
    invoice["total"] = json!(currency.format(totals.total));
    Ok(())
}

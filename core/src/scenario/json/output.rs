//! The output side of the contract: the §10 document (invoices, commissions, unbilled)
//! and the error document, written in contract order.

use serde::Serialize;

use super::*;

#[derive(Serialize)]
struct OutDocument<I> {
    period: String,
    invoices: Vec<I>,
    commissions: Vec<OutCommission>,
    unbilled: Vec<OutUnbilled>,
}

#[derive(Serialize)]
struct OutInvoice {
    tenant: String,
    currency: String,
    period_start: String,
    period_end: String,
    lines: Vec<OutLine>,
    subtotal: String,
    tax: String,
    total: String,
}

#[derive(Serialize)]
struct OutLine {
    kind: &'static str,
    subscription: Option<String>,
    meter: String,
    sku: Option<String>,
    quantity: Option<String>,
    price_list: String,
    unit_rate: Option<String>,
    fx_rate: Option<String>,
    amount: String,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum OutCommission {
    Distributor {
        distributor: String,
        currency: String,
        base: String,
        amount: String,
        plan: &'static str,
    },
    Partner {
        partner: String,
        currency: String,
        base: String,
        amount: String,
        plan: &'static str,
    },
}

#[derive(Serialize)]
struct OutUnbilled {
    reason: &'static str,
    subscription: Option<String>,
    meter: Option<String>,
    sku: Option<String>,
    quantity: String,
    records: u64,
}

fn out_invoice(inv: &Invoice) -> OutInvoice {
    let c = inv.currency;
    OutInvoice {
        tenant: inv.tenant.to_string(),
        currency: c.code().to_owned(),
        period_start: format_local(&inv.period_start),
        period_end: format_local(&inv.period_end),
        lines: inv
            .lines
            .iter()
            .map(|l| OutLine {
                kind: l.kind.name(),
                subscription: l.subscription.as_ref().map(ToString::to_string),
                meter: l.meter.to_string(),
                sku: l.sku.clone(),
                quantity: l.quantity.map(format_plain),
                price_list: l.price_list.to_string(),
                unit_rate: l.unit_rate.map(format_plain),
                fx_rate: l.fx_rate.map(format_plain),
                amount: c.format(l.amount),
            })
            .collect(),
        subtotal: c.format(inv.subtotal),
        tax: c.format(inv.tax),
        total: c.format(inv.total),
    }
}

pub(super) fn out_commission(c: &Commission) -> OutCommission {
    let currency = c.currency.code().to_owned();
    let base = c.currency.format(c.base);
    let amount = c.currency.format(c.amount);
    let plan = c.plan.name();
    match &c.party {
        CommissionParty::Distributor(id) => OutCommission::Distributor {
            distributor: id.to_string(),
            currency,
            base,
            amount,
            plan,
        },
        CommissionParty::Partner(id) => OutCommission::Partner {
            partner: id.to_string(),
            currency,
            base,
            amount,
            plan,
        },
    }
}

/// The output document of §10 as a JSON value.
pub fn outcome_to_value(outcome: &Outcome) -> serde_json::Value {
    outcome_with_invoices(outcome, outcome.invoices.iter().map(out_invoice).collect())
}

/// The output document of §10 with `invoices` in place of the outcome's own (already
/// written as contract objects, with adjustment lines, say): the outcome's invoices are
/// not serialised only to be replaced, and the given ones are moved in, not copied.
pub fn outcome_to_value_with_invoices(
    outcome: &Outcome,
    invoices: Vec<serde_json::Value>,
) -> serde_json::Value {
    let mut doc = outcome_with_invoices(outcome, Vec::<OutInvoice>::new());
    if let Some(map) = doc.as_object_mut() {
        // The key exists, so it keeps its place in the contract's key order.
        map.insert("invoices".to_owned(), serde_json::Value::Array(invoices));
    }
    doc
}

fn outcome_with_invoices<I: Serialize>(outcome: &Outcome, invoices: Vec<I>) -> serde_json::Value {
    let doc = OutDocument {
        period: outcome.period.to_string(),
        invoices,
        commissions: outcome.commissions.iter().map(out_commission).collect(),
        unbilled: outcome
            .unbilled
            .iter()
            .map(|u| OutUnbilled {
                reason: u.reason.name(),
                subscription: u.subscription.clone(),
                meter: u.meter.clone(),
                sku: u.sku.clone(),
                quantity: format_plain(u.quantity),
                records: u.records,
            })
            .collect(),
    };
    serde_json::to_value(doc).unwrap_or(serde_json::Value::Null)
}

/// The output document of §10, pretty-printed, keys in contract order.
pub fn outcome_to_string(outcome: &Outcome) -> String {
    let doc = outcome_to_value(outcome);
    // Serialising a Value of strings and integers cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The error document of §10 for an invalid scenario.
pub fn invalid_to_value(invalid: &InvalidScenario) -> serde_json::Value {
    serde_json::json!({
        "error": {
            "kind": "invalid_scenario",
            "problems": invalid.problems.iter().map(|p| serde_json::json!({
                "path": p.path,
                "message": p.message,
            })).collect::<Vec<_>>(),
        }
    })
}

/// The error document for any core error: `invalid_scenario` with problems, or a kind
/// named for the error with a message.
pub fn error_to_value(error: &Error) -> serde_json::Value {
    match error {
        Error::InvalidScenario(invalid) => invalid_to_value(invalid),
        Error::Overflow { .. } => serde_json::json!({
            "error": {"kind": "overflow", "message": error.to_string()}
        }),
    }
}

/// One §10 invoice as a JSON value (for writers that extend it, such as adjustments).
pub(super) fn invoice_to_value(inv: &Invoice) -> serde_json::Value {
    serde_json::to_value(out_invoice(inv)).unwrap_or(serde_json::Value::Null)
}

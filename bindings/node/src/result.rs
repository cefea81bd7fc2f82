//! The output of a rating: the §10 JSON document, and typed views of it whose amounts are
//! exact decimal strings (never JS numbers) and whose times keep their offsets.

use napi_derive::napi;
use serde_json::Value;
use stackbill_core::Outcome;
use stackbill_core::scenario::json;

/// One invoice line: a charge (one aggregate) or a credit (negative).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Line {
    /// `charge` or `credit`.
    pub kind: String,
    pub subscription: Option<String>,
    pub meter: String,
    pub sku: Option<String>,
    /// Decimal string; `null` on credits.
    pub quantity: Option<String>,
    pub price_list: String,
    /// Decimal string; `null` on credits and tiered lines.
    pub unit_rate: Option<String>,
    /// Decimal string when the list's currency differs from the invoice's.
    pub fx_rate: Option<String>,
    /// Decimal string in the invoice currency.
    pub amount: String,
}

/// A tenant's invoice for the period, in the tenant's currency.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Invoice {
    pub tenant: String,
    pub currency: String,
    /// RFC 3339 with the tenant's offset (`2026-10-01T00:00:00+10:00`).
    pub period_start: String,
    pub period_end: String,
    pub lines: Vec<Line>,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}

/// A partner's or distributor's commission; `partyKind` says which.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Commission {
    /// `distributor` or `partner`.
    pub party_kind: String,
    pub party: String,
    pub currency: String,
    pub base: String,
    pub amount: String,
    pub plan: String,
}

/// Usage not billed, summed per (reason, subscription, meter, sku).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Unbilled {
    pub reason: String,
    pub subscription: Option<String>,
    pub meter: Option<String>,
    pub sku: Option<String>,
    pub quantity: String,
    /// How many usage records.
    pub records: i64,
}

/// A rating's output. `toString()` is byte for byte what `stackbill rate` prints;
/// `toJSON()` is that document as plain data (so `JSON.stringify(result, null, 2)` gives
/// the same text); `invoices`, `commissions` and `unbilled` are typed views.
#[napi]
#[derive(Debug)]
pub struct Rating {
    text: String,
    doc: Value,
}

impl Rating {
    pub(crate) fn new(outcome: &Outcome) -> Self {
        // One value, printed as `json::outcome_to_string` prints it (what the CLI writes).
        let doc = json::outcome_to_value(outcome);
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        Self { text, doc }
    }
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn optional(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

#[napi]
impl Rating {
    /// The billed month, `YYYY-MM`.
    #[napi(getter)]
    pub fn period(&self) -> String {
        string(&self.doc["period"])
    }

    /// One invoice per tenant, ordered by tenant id.
    #[napi(getter)]
    pub fn invoices(&self) -> Vec<Invoice> {
        items(&self.doc["invoices"])
            .map(|i| Invoice {
                tenant: string(&i["tenant"]),
                currency: string(&i["currency"]),
                period_start: string(&i["period_start"]),
                period_end: string(&i["period_end"]),
                lines: items(&i["lines"])
                    .map(|l| Line {
                        kind: string(&l["kind"]),
                        subscription: optional(&l["subscription"]),
                        meter: string(&l["meter"]),
                        sku: optional(&l["sku"]),
                        quantity: optional(&l["quantity"]),
                        price_list: string(&l["price_list"]),
                        unit_rate: optional(&l["unit_rate"]),
                        fx_rate: optional(&l["fx_rate"]),
                        amount: string(&l["amount"]),
                    })
                    .collect(),
                subtotal: string(&i["subtotal"]),
                tax: string(&i["tax"]),
                total: string(&i["total"]),
            })
            .collect()
    }

    /// Distributors then partners, each by id.
    #[napi(getter)]
    pub fn commissions(&self) -> Vec<Commission> {
        items(&self.doc["commissions"])
            .map(|c| {
                let kind = if c.get("distributor").is_some() {
                    "distributor"
                } else {
                    "partner"
                };
                Commission {
                    party_kind: kind.to_owned(),
                    party: string(&c[kind]),
                    currency: string(&c["currency"]),
                    base: string(&c["base"]),
                    amount: string(&c["amount"]),
                    plan: string(&c["plan"]),
                }
            })
            .collect()
    }

    /// Everything not billed, with its reason.
    #[napi(getter)]
    pub fn unbilled(&self) -> Vec<Unbilled> {
        items(&self.doc["unbilled"])
            .map(|u| Unbilled {
                reason: string(&u["reason"]),
                subscription: optional(&u["subscription"]),
                meter: optional(&u["meter"]),
                sku: optional(&u["sku"]),
                quantity: string(&u["quantity"]),
                records: u["records"].as_i64().unwrap_or_default(),
            })
            .collect()
    }

    /// The output document of billing-semantics §10 as plain data (a fresh copy).
    #[napi(js_name = "toJSON", ts_return_type = "OutputDocument")]
    pub fn to_json(&self) -> Value {
        self.doc.clone()
    }

    /// The output document as JSON text, exactly what `stackbill rate` prints.
    #[napi(js_name = "toString")]
    pub fn to_text(&self) -> String {
        self.text.clone()
    }
}

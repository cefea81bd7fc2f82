//! Pieces of the contract read and written on their own: a price list's `items`, a
//! commission plan, the lines of a stored invoice document, and an invoice carrying
//! adjustment lines.
//!
//! Stores keep these fragments as contract JSON text; reading them here, with the same
//! reader as whole scenarios, means a stored rate is parsed exactly as a scenario file's
//! would be (number literals verbatim, every problem with its path).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::output::invoice_to_value;
use super::{Raw, RawItem, RawPlan, Reader, read_item};
use crate::adjustment::{AdjustedInvoice, Adjustment, BilledLine, adjustments};
use crate::commission::CommissionPlan;
use crate::error::{InvalidScenario, Problem};
use crate::hierarchy::{PriceListId, SubscriptionId};
use crate::invoice::{InvoiceLine, LineKind};
use crate::meter::MeterId;
use crate::money::Currency;
use crate::number::format_plain;
use crate::period::Period;
use crate::pricing::PriceItem;

pub(super) fn not_json(path: &str, e: &serde_json::Error) -> InvalidScenario {
    InvalidScenario {
        problems: vec![Problem::new(path, format!("not valid contract JSON: {e}"))],
    }
}

pub(super) fn finish<T>(r: Reader, value: Option<T>, path: &str) -> Result<T, InvalidScenario> {
    match value {
        Some(v) if r.problems.is_empty() => Ok(v),
        _ if r.problems.is_empty() => Err(InvalidScenario {
            problems: vec![Problem::new(path, "is invalid")],
        }),
        _ => Err(InvalidScenario {
            problems: r.problems,
        }),
    }
}

/// Reads a price list's `items` array; problems are reported under `path`
/// (e.g. `price_lists[ten-1-2026].items`).
pub fn read_price_items(text: &str, path: &str) -> Result<Vec<PriceItem>, InvalidScenario> {
    let raw: Vec<RawItem<'_>> = serde_json::from_str(text).map_err(|e| not_json(path, &e))?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    let mut items = Vec::with_capacity(raw.len());
    for (i, it) in raw.iter().enumerate() {
        if let Some(item) = read_item(&mut r, it, &format!("{path}[{i}]")) {
            items.push(item);
        }
    }
    finish(r, Some(items), path)
}

/// Reads a commission plan (`{"mode", "bands": [{from, to, percent}]}`).
pub fn read_commission_plan(text: &str, path: &str) -> Result<CommissionPlan, InvalidScenario> {
    let raw: RawPlan<'_> = serde_json::from_str(text).map_err(|e| not_json(path, &e))?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    let plan = r.tiers(&raw, path, "percent").map(CommissionPlan);
    finish(r, plan, path)
}

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(borrow)]
    kind: Raw<'a>,
    #[serde(borrow)]
    of_kind: Raw<'a>,
    #[serde(borrow)]
    adjusts: Raw<'a>,
    #[serde(borrow)]
    subscription: Raw<'a>,
    #[serde(borrow)]
    meter: Raw<'a>,
    #[serde(borrow)]
    sku: Raw<'a>,
    #[serde(borrow)]
    price_list: Raw<'a>,
    #[serde(borrow)]
    quantity: Raw<'a>,
    #[serde(borrow)]
    unit_rate: Raw<'a>,
    #[serde(borrow)]
    fx_rate: Raw<'a>,
    #[serde(borrow)]
    amount: Raw<'a>,
}

#[derive(Deserialize)]
struct RawDocument<'a> {
    #[serde(borrow, default)]
    lines: Vec<RawLine<'a>>,
}

fn line_kind(r: &mut Reader, raw: Raw<'_>, path: &str) -> Option<LineKind> {
    match r.string(raw, path, true)?.as_ref() {
        "charge" => Some(LineKind::Charge),
        "credit" => Some(LineKind::Credit),
        other => {
            r.problem(path, format!("{other:?} is not a line kind"));
            None
        }
    }
}

/// One line of a stored invoice document as the document states it: what was billed, and
/// the unit rate and FX rate shown beside it (for exports and invoice documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    /// The line's identity, quantity and amount.
    pub billed: BilledLine,
    /// The flat unit rate, when the line has one.
    pub unit_rate: Option<Decimal>,
    /// The FX rate applied, when the price list is in another currency.
    pub fx_rate: Option<Decimal>,
}

/// The lines of a stored invoice document (§10 invoice, possibly with adjustment lines),
/// typed, in document order; every number keeps the scale the document wrote.
pub fn read_document_lines(text: &str) -> Result<Vec<DocumentLine>, InvalidScenario> {
    let raw: RawDocument<'_> = serde_json::from_str(text).map_err(|e| not_json("lines", &e))?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    let mut lines = Vec::with_capacity(raw.lines.len());
    for (i, l) in raw.lines.iter().enumerate() {
        let p = format!("lines[{i}]");
        let adjustment =
            r.string(l.kind, &format!("{p}.kind"), true).as_deref() == Some("adjustment");
        let (kind, adjusts) = if adjustment {
            let kind = line_kind(&mut r, l.of_kind, &format!("{p}.of_kind"));
            let adjusts = r
                .string(l.adjusts, &format!("{p}.adjusts"), true)
                .and_then(|s| match s.parse::<Period>() {
                    Ok(period) => Some(period),
                    Err(e) => {
                        r.problem(&format!("{p}.adjusts"), e.to_string());
                        None
                    }
                });
            (kind, adjusts.map(Some))
        } else {
            (line_kind(&mut r, l.kind, &format!("{p}.kind")), Some(None))
        };
        let subscription = r.string(l.subscription, &format!("{p}.subscription"), false);
        let meter = r.string(l.meter, &format!("{p}.meter"), true);
        let sku = r.string(l.sku, &format!("{p}.sku"), false);
        let price_list = r.string(l.price_list, &format!("{p}.price_list"), true);
        let quantity = r.decimal(l.quantity, &format!("{p}.quantity"), false);
        let unit_rate = r.decimal(l.unit_rate, &format!("{p}.unit_rate"), false);
        let fx_rate = r.decimal(l.fx_rate, &format!("{p}.fx_rate"), false);
        let amount = r.decimal(l.amount, &format!("{p}.amount"), true);
        if let (Some(kind), Some(adjusts), Some(meter), Some(price_list), Some(amount)) =
            (kind, adjusts, meter, price_list, amount)
        {
            lines.push(DocumentLine {
                billed: BilledLine {
                    kind,
                    adjusts,
                    subscription: subscription.map(SubscriptionId::new),
                    meter: MeterId::new(&meter),
                    sku: sku.map(|s| s.into_owned()),
                    price_list: PriceListId::new(price_list),
                    quantity,
                    amount,
                },
                unit_rate,
                fx_rate,
            });
        }
    }
    finish(r, Some(lines), "lines")
}

/// The lines of a stored invoice document (§10 invoice, possibly with adjustment lines),
/// typed, for computing what has been billed.
pub fn read_billed_lines(text: &str) -> Result<Vec<BilledLine>, InvalidScenario> {
    Ok(read_document_lines(text)?
        .into_iter()
        .map(|l| l.billed)
        .collect())
}

#[derive(Serialize)]
struct OutAdjustment {
    kind: &'static str,
    subscription: Option<String>,
    meter: String,
    sku: Option<String>,
    quantity: Option<String>,
    price_list: String,
    unit_rate: Option<String>,
    fx_rate: Option<String>,
    amount: String,
    adjusts: String,
    of_kind: &'static str,
}

/// An invoice with its adjustment lines as the contract writes it: the §10 invoice whose
/// `lines` end with the adjustment lines and whose totals cover them.
pub fn adjusted_invoice_to_value(adjusted: &AdjustedInvoice) -> Value {
    let c = adjusted.invoice.currency;
    let mut value = invoice_to_value(&adjusted.invoice);
    if adjusted.adjustments.is_empty() {
        return value;
    }
    let extra = adjusted.adjustments.iter().map(|a| out_adjustment(a, c));
    if let Some(lines) = value.get_mut("lines").and_then(Value::as_array_mut) {
        lines.extend(extra);
    }
    value["subtotal"] = Value::String(c.format(adjusted.subtotal));
    value["tax"] = Value::String(c.format(adjusted.tax));
    value["total"] = Value::String(c.format(adjusted.total));
    value
}

fn out_adjustment(a: &Adjustment, c: Currency) -> Value {
    serde_json::to_value(OutAdjustment {
        kind: "adjustment",
        subscription: a.subscription.as_ref().map(ToString::to_string),
        meter: a.meter.to_string(),
        sku: a.sku.clone(),
        quantity: a.quantity.map(format_plain),
        price_list: a.price_list.to_string(),
        unit_rate: None,
        fx_rate: None,
        amount: c.format(a.amount),
        adjusts: a.adjusts.to_string(),
        of_kind: a.of_kind.name(),
    })
    .unwrap_or(Value::Null)
}

#[derive(Deserialize)]
struct RawCurrency<'a> {
    #[serde(borrow)]
    currency: Raw<'a>,
}

/// The adjustment lines (contract JSON, as they appear on an invoice) correcting
/// `period`: `now` is that period's §10 invoice as it rates today; `billed` pairs each
/// invoice that billed the period with its own period — the issued invoice of `period`
/// (its own lines count) and later invoices (only their adjustment lines naming `period`
/// count). Amounts are in `now`'s currency. For bindings and tools; billing from a store
/// does the same through [`crate::adjustment`].
pub fn adjustment_lines(
    period: &str,
    now: &str,
    billed: &[(&str, &str)],
) -> Result<Vec<Value>, InvalidScenario> {
    let invalid = |path: &str, message: String| InvalidScenario {
        problems: vec![Problem::new(path, message)],
    };
    let corrected: Period = period
        .parse()
        .map_err(|e: crate::period::BadPeriod| invalid("period", e.to_string()))?;
    let head: RawCurrency<'_> = serde_json::from_str(now).map_err(|e| not_json("now", &e))?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    let currency = r.currency(head.currency, "now.currency", true);
    let now_lines: Vec<InvoiceLine> = read_billed_lines(now)?
        .into_iter()
        .filter(|l| l.adjusts.is_none())
        .map(|l| InvoiceLine {
            kind: l.kind,
            subscription: l.subscription,
            meter: l.meter,
            sku: l.sku,
            quantity: l.quantity,
            price_list: l.price_list,
            unit_rate: None,
            fx_rate: None,
            amount: l.amount,
        })
        .collect();
    let mut was = Vec::new();
    for (i, (own, document)) in billed.iter().enumerate() {
        let own: Period = own.parse().map_err(|e: crate::period::BadPeriod| {
            invalid(&format!("billed[{i}].period"), e.to_string())
        })?;
        for line in read_billed_lines(document)? {
            let counts = match line.adjusts {
                None => own == corrected,
                Some(p) => p == corrected,
            };
            if counts {
                was.push(line);
            }
        }
    }
    let currency = finish(r, currency, "now.currency")?;
    let found =
        adjustments(corrected, &was, &now_lines).map_err(|e| invalid("now", e.to_string()))?;
    Ok(found.iter().map(|a| out_adjustment(a, currency)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(lines: &str) -> String {
        format!(
            r#"{{"tenant": "t1", "currency": "AUD", "lines": [{lines}], "subtotal": "0", "tax": "0", "total": "0"}}"#
        )
    }

    const CHARGE: &str = r#"{"kind": "charge", "subscription": "s1", "meter": "m", "sku": null, "quantity": "10", "price_list": "l", "unit_rate": "0.5", "fx_rate": null, "amount": "5.00"}"#;

    #[test]
    fn late_usage_becomes_an_adjustment_line_once() {
        let issued = invoice(CHARGE);
        let now = invoice(&CHARGE.replace("\"10\"", "\"14\"").replace("5.00", "7.00"));
        let lines = adjustment_lines("2026-10", &now, &[("2026-10", &issued)]).unwrap_or_default();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["amount"], "2.00");
        assert_eq!(lines[0]["quantity"], "4");
        assert_eq!(lines[0]["adjusts"], "2026-10");
        assert_eq!(lines[0]["of_kind"], "charge");
        // A later invoice that already carries the adjustment: nothing more to adjust; its
        // own lines (another period) do not count.
        let november = invoice(&format!(
            "{}, {}",
            CHARGE,
            serde_json::to_string(&lines[0]).unwrap_or_default()
        ));
        let again = adjustment_lines(
            "2026-10",
            &now,
            &[("2026-10", &issued), ("2026-11", &november)],
        )
        .unwrap_or_default();
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn bad_input_names_its_field() {
        let e = adjustment_lines("2026-13", &invoice(""), &[])
            .err()
            .map(|e| e.problems);
        assert_eq!(e.unwrap_or_default()[0].path, "period");
        let e = adjustment_lines("2026-10", &invoice(""), &[("oct", "{}")])
            .err()
            .map(|e| e.problems);
        assert_eq!(e.unwrap_or_default()[0].path, "billed[0].period");
    }
}

//! `adjustments(period, now, billed)`: the lines correcting an issued period for usage
//! that arrived after it was billed, by the core's rule (the same one billing from a store
//! applies). Invoices come in as §10 invoice objects or their JSON text; amounts go out as
//! exact decimal strings.

use napi::bindgen_prelude::{Array, JsObjectValue, JsValue, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;
use serde_json::Value;
use stackbill_core::scenario::json::{self, ReadError};

use crate::error::{Failure, Problem, guard};
use crate::input::stringify;

/// One adjustment: the change in an issued period's line since it was billed.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Adjustment {
    /// The corrected period, `YYYY-MM`.
    pub adjusts: String,
    /// What the corrected line is: `charge` or `credit`.
    pub of_kind: String,
    pub subscription: Option<String>,
    pub meter: String,
    pub sku: Option<String>,
    /// The change in quantity, a decimal string; absent for credits.
    pub quantity: Option<String>,
    pub price_list: String,
    /// The change in amount, a decimal string in `now`'s currency.
    pub amount: String,
}

impl Adjustment {
    fn from_line(line: &Value) -> Self {
        let text = |key: &str| line[key].as_str().map(str::to_owned);
        Adjustment {
            adjusts: text("adjusts").unwrap_or_default(),
            of_kind: text("of_kind").unwrap_or_default(),
            subscription: text("subscription"),
            meter: text("meter").unwrap_or_default(),
            sku: text("sku"),
            quantity: text("quantity"),
            price_list: text("price_list").unwrap_or_default(),
            amount: text("amount").unwrap_or_default(),
        }
    }
}

/// The adjustments for the issued `period` (`YYYY-MM`): `now` is that period's invoice as
/// it rates today (one of `rate(...).toJSON().invoices`); `billed` pairs every invoice
/// that billed the period with its own period — the issued invoice of `period` itself,
/// and later invoices whose adjustment lines name it. Lines that did not change give no
/// adjustment, so an adjustment already carried is never billed twice.
#[napi(
    ts_args_type = "period: string, now: InvoiceInput, billed: Array<[period: string, invoice: InvoiceInput]>"
)]
pub fn adjustments(
    env: Env,
    period: String,
    now: Unknown<'_>,
    billed: Array<'_>,
) -> napi::Result<Vec<Adjustment>> {
    guard(|| {
        let now = invoice_text(&env, now, "now")?;
        let mut pairs = Vec::with_capacity(billed.len() as usize);
        for i in 0..billed.len() {
            let path = format!("billed[{i}]");
            let pair: Unknown<'_> = billed.get_element(i)?;
            if !pair.is_array()? {
                return Err(invalid(&path, "must be a [period, invoice] pair"));
            }
            let pair = pair.coerce_to_object()?;
            if pair.get_array_length()? != 2 {
                return Err(invalid(&path, "must be a [period, invoice] pair"));
            }
            let of: Unknown<'_> = pair.get_element(0)?;
            if of.get_type()? != ValueType::String {
                return Err(invalid(&format!("{path}[0]"), "must be a period YYYY-MM"));
            }
            let of = of.coerce_to_string()?.into_utf8()?.into_owned()?;
            let invoice = invoice_text(&env, pair.get_element(1)?, &format!("{path}[1]"))?;
            pairs.push((of, invoice));
        }
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_str()))
            .collect();
        let lines = json::adjustment_lines(&period, &now, &refs)
            .map_err(|e| Failure::from(ReadError::Invalid(e)))?;
        Ok(lines.iter().map(Adjustment::from_line).collect())
    })
    .map_err(|f| f.into_js(&env))
}

/// An invoice given as an object (serialised by `JSON.stringify`) or as JSON text.
fn invoice_text(env: &Env, value: Unknown<'_>, path: &str) -> Result<String, Failure> {
    match value.get_type()? {
        ValueType::String => Ok(value.coerce_to_string()?.into_utf8()?.into_owned()?),
        ValueType::Object => stringify(env, value),
        other => Err(invalid(
            path,
            &format!("must be an invoice object or its JSON text, not {other}"),
        )),
    }
}

fn invalid(path: &str, message: &str) -> Failure {
    Failure::Invalid(vec![Problem {
        path: path.to_owned(),
        message: message.to_owned(),
    }])
}

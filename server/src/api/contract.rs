//! Checks pieces of the scenario contract (a price list, a commission plan) with the
//! engine itself before they are stored, so the API never accepts what a billing run
//! would later reject, and reports every problem with the request field it came from.

use serde_json::{Value, json};
use stackbill_core::scenario::json::{Document, ReadError};

use super::wire::ApiError;

/// Parses `doc` (a whole scenario built around the piece) with the engine. Problem paths
/// under `prefix` (`price_lists[0].`) are reported relative to the request body and
/// camelCased; a problem elsewhere keeps its full contract path.
pub(crate) fn check(doc: &Value, prefix: &str) -> Result<(), ApiError> {
    let text = doc.to_string();
    match Document::parse(&text) {
        Ok(_) => Ok(()),
        Err(ReadError::Invalid(invalid)) => Err(ApiError::InvalidFields(
            invalid
                .problems
                .iter()
                .map(|p| {
                    let path = p.path.strip_prefix(prefix).unwrap_or(&p.path);
                    (camel(path), p.message.clone())
                })
                .collect(),
        )),
        Err(other) => Err(ApiError::internal(other.to_string())),
    }
}

/// `effective_from` → `effectiveFrom`, per path segment.
pub(crate) fn camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The skeleton every check starts from: a period, a platform, nothing else.
pub(crate) fn skeleton(period: &str, currency: &str) -> Value {
    json!({
        "period": period,
        "platform": {"currency": currency},
        "distributors": [], "partners": [], "tenants": [], "subscriptions": [],
        "price_lists": [], "fx_rates": [], "usage": []
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_camel_cased() {
        assert_eq!(
            camel("items[0].tiers.bands[1].from"),
            "items[0].tiers.bands[1].from"
        );
        assert_eq!(camel("effective_from"), "effectiveFrom");
        assert_eq!(
            camel("partner_commission.bands[0]"),
            "partnerCommission.bands[0]"
        );
    }

    #[test]
    fn a_bad_band_is_named_relative_to_the_body() {
        let mut doc = skeleton("2026-10", "USD");
        doc["distributors"] = json!([{"id": "d", "commission": {"mode": "graduated",
            "bands": [{"from": "0", "to": null, "percent": "-1"}]}}]);
        let err = check(&doc, "distributors[0].").unwrap_err();
        let ApiError::InvalidFields(list) = err else {
            panic!("{err:?}")
        };
        assert!(
            list.iter()
                .any(|(f, _)| f.starts_with("commission.bands[0]")),
            "{list:?}"
        );
    }
}

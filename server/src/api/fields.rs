//! Checks of the fields every resource shares (ids, names, currencies, time zones,
//! free-form details), each answering a 400 that names the field.

use serde_json::Value;

use super::wire::{ApiError, ApiResult};

/// A new lower-case id.
pub(crate) fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Checks an id given by a client: 1–64 of `A-Z a-z 0-9 . _ : -`.
pub(crate) fn valid_id(field: &str, id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            field,
            "must be 1–64 characters of letters, digits, '.', '_', ':' or '-'",
        ))
    }
}

/// Checks a display name.
pub(crate) fn valid_name(field: &str, name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field(field, "must be 1–200 characters"));
    }
    Ok(name.to_owned())
}

/// Checks an ISO 4217 currency code.
pub(crate) fn valid_currency(field: &str, code: Option<&str>) -> ApiResult<Option<String>> {
    match code {
        None => Ok(None),
        Some(c) => {
            let upper = c.trim().to_ascii_uppercase();
            stackbill_core::money::Currency::from_code(&upper)
                .ok()
                .map(|_| Some(upper))
                .ok_or_else(|| ApiError::field(field, format!("{c:?} is not an ISO 4217 currency")))
        }
    }
}

/// Checks an IANA time zone.
pub(crate) fn valid_zone(field: &str, zone: Option<&str>) -> ApiResult<Option<String>> {
    match zone {
        None => Ok(None),
        Some(z) => z
            .parse::<chrono_tz::Tz>()
            .map(|_| Some(z.to_owned()))
            .map_err(|_| ApiError::field(field, format!("{z:?} is not an IANA time zone"))),
    }
}

/// Checks that `details` is an object (or absent).
pub(crate) fn valid_details(details: Option<Value>) -> ApiResult<Value> {
    match details {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(ApiError::field("details", "must be an object")),
    }
}

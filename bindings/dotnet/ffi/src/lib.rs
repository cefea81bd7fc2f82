//! The C ABI of the StackBill engine: NUL-terminated UTF-8 (JSON) strings in and out.
//!
//! Every function returns a status ([`SB_OK`] or [`SB_ERROR`]) and hands back, through
//! `out`, a string the caller owns and must release with [`sb_free`]: on success the
//! result (for a rating, exactly the §10 document `stackbill rate` prints), on failure the
//! error document of [`error::Failure::to_json`]. Every body runs inside `catch_unwind`,
//! so no panic unwinds into the host. `stackbill.h` is generated from this file by
//! cbindgen; `tests/header.rs` fails when it drifts.
// This crate is the FFI boundary: raw pointers from C are its whole purpose. Every
// `unsafe` block below states what makes it sound.
#![allow(unsafe_code)]

pub mod error;
mod policy;

use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;

use serde_json::Value;
use stackbill_core::Quantity;
use stackbill_core::increase::Increase;
use stackbill_core::rating::rate_partial;
use stackbill_core::rbac::{Action, Governance, Role};
use stackbill_core::scenario::json::{self, Document};

use crate::error::{Failure, guard};

/// The call succeeded; `*out` holds the result.
pub const SB_OK: i32 = 0;
/// The call failed; `*out` holds the error document `{"kind", "message", …}`.
pub const SB_ERROR: i32 = 1;
/// `out` was null: nothing was written.
pub const SB_NO_OUT: i32 = 2;
/// The version of this ABI: signatures, status codes and JSON shapes.
pub const SB_ABI_VERSION: u32 = 3;

/// The ABI version ([`SB_ABI_VERSION`]); a caller checks it before any other call.
#[unsafe(no_mangle)]
pub extern "C" fn sb_abi_version() -> u32 {
    SB_ABI_VERSION
}

/// Releases a string returned through `out`. Null is ignored.
///
/// # Safety
/// `s` must be null or a pointer written by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller passes a pointer from `CString::into_raw` (see `finish`)
        // exactly once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// The length in bytes of a string returned through `out` (without its NUL), so that a
/// caller can copy a large result in one go instead of scanning it byte by byte.
///
/// # Safety
/// `s` must be null (length 0) or a pointer written by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_len(s: *const c_char) -> usize {
    if s.is_null() {
        return 0;
    }
    // SAFETY: a live, NUL-terminated string of this library, by the contract.
    unsafe { CStr::from_ptr(s) }.count_bytes()
}

/// The length in UTF-16 code units of a string returned through `out`: what a host
/// whose strings are UTF-16 (.NET) allocates before [`sb_utf16_copy`] fills it.
///
/// # Safety
/// `s` must be null (length 0) or a pointer written by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_utf16_len(s: *const c_char) -> usize {
    if s.is_null() {
        return 0;
    }
    // SAFETY: a live, NUL-terminated string of this library, by the contract.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    if bytes.is_ascii() {
        bytes.len()
    } else {
        String::from_utf8_lossy(bytes).encode_utf16().count()
    }
}

/// Writes a string returned through `out` as UTF-16 into `dst`, which holds exactly
/// `units` code units (its [`sb_utf16_len`]), and returns `SB_OK`; any other `units`
/// writes nothing and returns `SB_ERROR`. Widening here, in one pass over bytes that are
/// nearly always ASCII, straight into the host's string, costs a fraction of decoding
/// UTF-8 on the managed side: on an 18 MB rating, mono's decoder cost 10 % of the run.
///
/// # Safety
/// `s` must be a pointer written by this library and not yet freed; `dst` must be
/// writable for `units` code units.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_utf16_copy(s: *const c_char, dst: *mut u16, units: usize) -> i32 {
    if s.is_null() || dst.is_null() {
        return SB_ERROR;
    }
    // SAFETY: a live, NUL-terminated string of this library, by the contract.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    let copied = std::panic::catch_unwind(|| {
        // SAFETY: `dst` is writable for `units` code units, by the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, units) };
        if bytes.is_ascii() {
            if bytes.len() != units {
                return false;
            }
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = u16::from(b);
            }
            true
        } else {
            let text = String::from_utf8_lossy(bytes);
            if text.encode_utf16().count() != units {
                return false;
            }
            for (o, u) in out.iter_mut().zip(text.encode_utf16()) {
                *o = u;
            }
            true
        }
    });
    if matches!(copied, Ok(true)) {
        SB_OK
    } else {
        SB_ERROR
    }
}

/// Rates a scenario document (JSON text) with the usage of an optional CSV/NDJSON file
/// (optionally `.gz`; null for none). `*out`: the §10 output document.
///
/// # Safety
/// `scenario_json` must be a NUL-terminated string, `usage_path` one or null, and `out`
/// a writable pointer or null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_rate(
    scenario_json: *const c_char,
    usage_path: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    // SAFETY: forwarded from this function's contract.
    let result = guard(|| {
        let text = unsafe { arg(scenario_json, "scenario_json") }?;
        let usage = unsafe { optional_arg(usage_path, "usage_path") }?;
        rate(text, usage.map(PathBuf::from))
    });
    // SAFETY: `out` is writable or null, by this function's contract.
    unsafe { finish(result, out) }
}

fn rate(text: &str, usage: Option<PathBuf>) -> Result<String, Failure> {
    let doc = Document::parse(text)?;
    let outcome = match usage {
        None => doc.rate()?,
        Some(path) => {
            let options = stackbill_ingest::Options::default();
            let ingest =
                stackbill_ingest::aggregate(doc.scenario(), Some(&doc), &[path], &options)?;
            rate_partial(doc.scenario(), ingest.partial)?
        }
    };
    Ok(json::outcome_to_string(&outcome))
}

/// What quotes would cost under a scenario's price lists, rated as billing would.
/// `quotes_json`: `[{"subscription", "meter", "sku"?, "quantity"}]` with decimal-string
/// quantities. `*out`: a §10 output document.
///
/// # Safety
/// As [`sb_rate`], with `quotes_json` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_estimate(
    scenario_json: *const c_char,
    quotes_json: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    let result = guard(|| {
        // SAFETY: forwarded from this function's contract.
        let text = unsafe { arg(scenario_json, "scenario_json") }?;
        let quotes = unsafe { arg(quotes_json, "quotes_json") }?;
        estimate(text, quotes)
    });
    // SAFETY: `out` is writable or null, by this function's contract.
    unsafe { finish(result, out) }
}

fn estimate(text: &str, quotes: &str) -> Result<String, Failure> {
    let doc = Document::parse(text)?;
    let quotes: Value = serde_json::from_str(quotes)
        .map_err(|e| Failure::invalid("quotes", format!("not JSON: {e}")))?;
    let list = quotes
        .as_array()
        .ok_or_else(|| Failure::invalid("quotes", "must be an array"))?;
    let mut problems = Vec::new();
    let mut parsed = Vec::with_capacity(list.len());
    for (i, q) in list.iter().enumerate() {
        let field = |key: &str| q[key].as_str();
        let quantity = field("quantity")
            .and_then(|s| Quantity::parse(s.trim()))
            .filter(|q| !q.is_negative());
        match (field("subscription"), field("meter"), quantity) {
            (Some(subscription), Some(meter), Some(quantity)) => {
                parsed.push(stackbill_core::estimate::Quote {
                    subscription,
                    meter,
                    sku: field("sku"),
                    quantity,
                });
            }
            (s, m, _) => {
                for (key, missing) in [("subscription", s.is_none()), ("meter", m.is_none())] {
                    if missing {
                        problems.push((format!("quotes[{i}].{key}"), "must be a string".into()));
                    }
                }
                if quantity.is_none() {
                    problems.push((
                        format!("quotes[{i}].quantity"),
                        "must be a non-negative decimal string".into(),
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Invalid(problems));
    }
    let outcome = stackbill_core::estimate::estimate(doc.scenario(), &parsed)?;
    Ok(json::outcome_to_string(&outcome))
}

/// The core's price-increase model: the new rate for `rate` (a decimal string) under
/// `kind` (`percentage` or `fixed`) by `amount` (a decimal string). `*out`: the exact,
/// unrounded new rate.
///
/// # Safety
/// All three are NUL-terminated strings; `out` is writable or null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_increase_rate(
    rate: *const c_char,
    kind: *const c_char,
    amount: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    let result = guard(|| {
        // SAFETY: forwarded from this function's contract.
        let (rate, kind, amount) = unsafe {
            (
                arg(rate, "rate")?,
                arg(kind, "kind")?,
                arg(amount, "amount")?,
            )
        };
        increase_rate(rate, kind, amount)
    });
    // SAFETY: `out` is writable or null, by this function's contract.
    unsafe { finish(result, out) }
}

fn increase_rate(rate: &str, kind: &str, amount: &str) -> Result<String, Failure> {
    let decimal = |path: &str, text: &str| {
        stackbill_core::number::parse_decimal(text.trim())
            .map_err(|_| Failure::invalid(path, format!("{text:?} is not a decimal")))
    };
    let by = decimal("amount", amount)?;
    let increase = match kind {
        "percentage" => Increase::Percentage(by),
        "fixed" => Increase::Fixed(by),
        _ => return Err(Failure::invalid("kind", "must be percentage or fixed")),
    };
    increase
        .apply(decimal("rate", rate)?)
        .map(|r| r.to_string())
        .map_err(|e| Failure::invalid("rate", e.to_string()))
}

/// Whether a role may perform an action on a node. `request_json`: `{"role", "at",
/// "action", "target", "governance"?}`, nodes as `{"distributor"?, "partner"?,
/// "tenant"?, "subscription"?}` (`{}` is the platform). `*out`: `true` or `false`.
///
/// # Safety
/// `request_json` is a NUL-terminated string; `out` is writable or null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_can(request_json: *const c_char, out: *mut *mut c_char) -> i32 {
    // SAFETY: forwarded from this function's contract.
    let result = guard(|| policy::can(&request(unsafe { arg(request_json, "request_json") }?)?));
    // SAFETY: `out` is writable or null, by this function's contract.
    unsafe { finish(result.map(|b| b.to_string()), out) }
}

/// Whether a role may grant another role at a node. `request_json`: `{"role", "at",
/// "granted", "target", "governance"?}`. `*out`: `true` or `false`.
///
/// # Safety
/// As [`sb_can`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_can_grant(request_json: *const c_char, out: *mut *mut c_char) -> i32 {
    // SAFETY: forwarded from this function's contract.
    let result =
        guard(|| policy::can_grant(&request(unsafe { arg(request_json, "request_json") }?)?));
    // SAFETY: `out` is writable or null, by this function's contract.
    unsafe { finish(result.map(|b| b.to_string()), out) }
}

fn request(text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::invalid("request", format!("not JSON: {e}")))
}

/// The names the core knows: `{"roles", "actions", "governance_switches", "error_kinds",
/// "version"}`.
///
/// # Safety
/// `out` is writable or null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_names(out: *mut *mut c_char) -> i32 {
    let result = guard(|| {
        Ok(serde_json::json!({
            "roles": Role::ALL.map(Role::name),
            "actions": Action::ALL.map(Action::name),
            "governance_switches": Governance::SWITCHES,
            "error_kinds": error::KINDS,
            "version": env!("CARGO_PKG_VERSION"),
        })
        .to_string())
    });
    // SAFETY: `out` is writable or null, by this function's contract.
    unsafe { finish(result, out) }
}

/// Reads a required string argument.
///
/// # Safety
/// `p` is null or a NUL-terminated string that outlives the call.
unsafe fn arg<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: by this function's contract.
    unsafe { optional_arg(p, name) }?.ok_or_else(|| Failure::Internal(format!("{name} is null")))
}

/// Reads an optional string argument (null is `None`).
///
/// # Safety
/// As [`arg`].
unsafe fn optional_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|_| Failure::Internal(format!("{name} is not UTF-8")))
}

/// Writes the result or the error document to `out` and returns the status.
///
/// # Safety
/// `out` is null or writable.
unsafe fn finish(result: Result<String, Failure>, out: *mut *mut c_char) -> i32 {
    if out.is_null() {
        return SB_NO_OUT;
    }
    let (status, text) = match result {
        Ok(text) => (SB_OK, text),
        Err(failure) => (SB_ERROR, failure.to_json()),
    };
    // JSON never holds a raw NUL (serde escapes it as \u0000); should a result ever hold
    // one, the caller still gets a valid error document.
    let c = CString::new(text).unwrap_or_else(|_| {
        CString::from(
            c"{\"kind\":\"StackBillError\",\"message\":\"internal error: NUL in result\"}",
        )
    });
    // SAFETY: `out` is non-null and writable by this function's contract.
    unsafe { *out = c.into_raw() };
    status
}

//! The ABI as C calls it: statuses, ownership, null and non-UTF-8 arguments, results.

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use serde_json::Value;
use stackbill_ffi::{
    SB_ABI_VERSION, SB_ERROR, SB_NO_OUT, SB_OK, sb_abi_version, sb_can, sb_can_grant, sb_estimate,
    sb_free, sb_increase_rate, sb_len, sb_names, sb_rate, sb_utf16_copy, sb_utf16_len,
};

/// Takes ownership of `*out`, frees it through the ABI, and returns its text.
fn take(out: *mut c_char) -> String {
    assert!(!out.is_null());
    // SAFETY: `out` was just written by the library and is NUL-terminated.
    let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
    // SAFETY: as above.
    assert_eq!(unsafe { sb_len(out) }, text.len());
    // Every result also reads back the same through the UTF-16 copy .NET takes, and a
    // wrong length writes nothing.
    // SAFETY: a live result.
    let units = unsafe { sb_utf16_len(out) };
    let mut utf16 = vec![0u16; units + 1];
    // SAFETY: `utf16` holds `units` (and one more) code units.
    assert_eq!(
        unsafe { sb_utf16_copy(out, utf16.as_mut_ptr(), units + 1) },
        SB_ERROR
    );
    assert!(utf16.iter().all(|&u| u == 0));
    // SAFETY: as above.
    assert_eq!(
        unsafe { sb_utf16_copy(out, utf16.as_mut_ptr(), units) },
        SB_OK
    );
    assert_eq!(String::from_utf16(&utf16[..units]).unwrap(), text);
    // SAFETY: freed exactly once.
    unsafe { sb_free(out) };
    text
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn rate(scenario: &str, usage: Option<&str>) -> (i32, String) {
    let (scenario, usage) = (c(scenario), usage.map(c));
    let mut out = ptr::null_mut();
    // SAFETY: valid strings (or null) and a writable `out`.
    let status = unsafe {
        sb_rate(
            scenario.as_ptr(),
            usage.as_ref().map_or(ptr::null(), |u| u.as_ptr()),
            &mut out,
        )
    };
    (status, take(out))
}

fn vector(name: &str) -> String {
    let path = format!(
        "{}/../../../core/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_vector_rates_to_exactly_its_expected_document() {
    let (status, text) = rate(&vector("fx-credits-tax.scenario.json"), None);
    assert_eq!(status, SB_OK);
    let want: Value = serde_json::from_str(&vector("fx-credits-tax.expected.json")).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), want);
    assert_eq!(sb_abi_version(), SB_ABI_VERSION);
}

#[test]
fn errors_are_documents_with_every_problem() {
    let (status, text) = rate(&vector("error-unknown-references.scenario.json"), None);
    assert_eq!(status, SB_ERROR);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["kind"], "InvalidScenario");
    let paths: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for want in [
        "platform.time_zone",
        "tenants[1].partner",
        "subscriptions[1].tenant",
    ] {
        assert!(paths.contains(&want), "{want} not in {paths:?}");
    }
    let (status, text) = rate("{\n  oops", None);
    assert_eq!(status, SB_ERROR);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (doc["kind"].as_str(), doc["line"].as_u64()),
        (Some("MalformedInput"), Some(2))
    );
    let (status, text) = rate(
        &vector("flat-basic.scenario.json"),
        Some("/nonexistent/u.csv"),
    );
    assert_eq!(status, SB_ERROR);
    assert!(
        text.contains("UnreadableInput") && text.contains("u.csv"),
        "{text}"
    );
}

#[test]
fn null_and_non_utf8_arguments_are_errors_not_crashes() {
    let mut out = ptr::null_mut();
    // SAFETY: null is allowed by the contract and reported.
    let status = unsafe { sb_rate(ptr::null(), ptr::null(), &mut out) };
    assert_eq!(status, SB_ERROR);
    assert!(take(out).contains("scenario_json is null"));
    let bad = CString::new(vec![b'{', 0xff, b'}']).unwrap();
    // SAFETY: a NUL-terminated (if not UTF-8) string.
    let status = unsafe { sb_can(bad.as_ptr(), &mut out) };
    assert_eq!(status, SB_ERROR);
    assert!(take(out).contains("not UTF-8"));
    let scenario = c("{}");
    // SAFETY: a null `out` is allowed and nothing is written.
    assert_eq!(
        unsafe { sb_rate(scenario.as_ptr(), ptr::null(), ptr::null_mut()) },
        SB_NO_OUT
    );
    // SAFETY: freeing null is a no-op.
    unsafe { sb_free(ptr::null_mut()) };
}

fn call(
    f: unsafe extern "C" fn(*const c_char, *mut *mut c_char) -> i32,
    request: &str,
) -> (i32, String) {
    let request = c(request);
    let mut out = ptr::null_mut();
    // SAFETY: a valid string and a writable `out`.
    let status = unsafe { f(request.as_ptr(), &mut out) };
    (status, take(out))
}

#[test]
fn policy_uses_the_core_names() {
    let p1 = r#"{"distributor":"d1","partner":"p1"}"#;
    let t1 = r#"{"distributor":"d1","partner":"p1","tenant":"t1"}"#;
    let req = |role: &str, action: &str, target: &str| {
        format!(r#"{{"role":"{role}","at":{p1},"action":"{action}","target":{target}}}"#)
    };
    assert_eq!(
        call(sb_can, &req("PartnerAdministrator", "update", t1)),
        (SB_OK, "true".into())
    );
    assert_eq!(
        call(sb_can, &req("PartnerAdministrator", "update", p1)),
        (SB_OK, "false".into())
    );
    let (status, text) = call(sb_can, &req("Emperor", "read", t1));
    assert_eq!(status, SB_ERROR);
    assert!(text.contains("ScopeError") && text.contains("unknown role"));
    // A name outside ASCII comes back in the error intact, through UTF-8 and UTF-16.
    let (status, text) = call(sb_can, &req("Kaiserin-ü—1", "read", t1));
    assert_eq!(status, SB_ERROR);
    assert!(text.contains("Kaiserin-ü—1"), "{text}");
    // SAFETY: null is allowed.
    assert_eq!(unsafe { sb_utf16_len(ptr::null()) }, 0);
    let switched = format!(
        r#"{{"role":"PartnerAdministrator","at":{p1},"action":"create","target":{p1},"governance":{{"partner_tenant_self_provisioning":false}}}}"#
    );
    assert_eq!(call(sb_can, &switched), (SB_OK, "false".into()));
    let grant = format!(
        r#"{{"role":"PartnerAdministrator","at":{p1},"granted":"TenantAdministrator","target":{t1}}}"#
    );
    assert_eq!(call(sb_can_grant, &grant), (SB_OK, "true".into()));
    let mut out = ptr::null_mut();
    // SAFETY: a writable `out`.
    assert_eq!(unsafe { sb_names(&mut out) }, SB_OK);
    let names: Value = serde_json::from_str(&take(out)).unwrap();
    assert_eq!(names["actions"].as_array().unwrap().len(), 27);
    assert!(
        names["governance_switches"]
            .as_array()
            .unwrap()
            .contains(&"calculator_tenants".into())
    );
}

#[test]
fn estimate_and_increase() {
    let scenario = c(&vector("flat-basic.scenario.json"));
    let quotes = c(r#"[{"subscription":"nope","meter":"m","quantity":"-1"}]"#);
    let mut out = ptr::null_mut();
    // SAFETY: valid strings and a writable `out`.
    let status = unsafe { sb_estimate(scenario.as_ptr(), quotes.as_ptr(), &mut out) };
    assert_eq!(status, SB_ERROR);
    assert!(take(out).contains("quotes[0].quantity"));
    let (r, k, a) = (c("0.05"), c("percentage"), c("10"));
    // SAFETY: valid strings and a writable `out`.
    let status = unsafe { sb_increase_rate(r.as_ptr(), k.as_ptr(), a.as_ptr(), &mut out) };
    assert_eq!((status, take(out)), (SB_OK, "0.055".to_owned()));
}

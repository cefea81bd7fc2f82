//! Every scenario file in `core/tests/vectors/` (the shared worked cases, copied) and
//! `core/tests/scenarios/` (our own) through the library, checked field for field.

use std::path::{Path, PathBuf};

use serde_json::Value;
use stackbill_core::scenario::json::{self, RateError, ReadError};

fn cases(dir: &str) -> Vec<(String, PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".scenario.json")?
                .to_owned();
            let expected = dir.join(format!("{name}.expected.json"));
            Some((name, path, expected))
        })
        .collect();
    out.sort();
    out
}

/// Rates `scenario` and compares with `expected`: the exact output document, or for an
/// error case, the kind and every listed path among the reported problems.
fn check(name: &str, scenario: &Path, expected: &Path) {
    let text = std::fs::read_to_string(scenario).unwrap();
    let want: Value = serde_json::from_str(&std::fs::read_to_string(expected).unwrap()).unwrap();
    let got = match json::rate_document(&text) {
        Ok(outcome) => json::outcome_to_value(&outcome),
        Err(RateError::Read(ReadError::Invalid(invalid))) => json::invalid_to_value(&invalid),
        Err(e) => panic!("{name}: unexpected error {e}"),
    };
    match want.get("error") {
        Some(err) => {
            let kind = &got["error"]["kind"];
            assert_eq!(kind, &err["kind"], "{name}: error kind; got {got:#}");
            let paths: Vec<&str> = got["error"]["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["path"].as_str().unwrap())
                .collect();
            for want_path in err["paths"].as_array().unwrap() {
                assert!(
                    paths.contains(&want_path.as_str().unwrap()),
                    "{name}: missing problem at {want_path}; got {paths:?}"
                );
            }
        }
        None => assert_eq!(got, want, "{name}: output differs"),
    }
}

#[test]
fn shared_vectors() {
    let all = cases("vectors");
    assert_eq!(all.len(), 9, "the nine shared vectors are present");
    for (name, scenario, expected) in all {
        check(&name, &scenario, &expected);
    }
}

#[test]
fn own_scenarios() {
    let all = cases("scenarios");
    assert!(all.len() >= 8);
    for (name, scenario, expected) in all {
        check(&name, &scenario, &expected);
    }
}

#[test]
fn output_strings_keep_contract_key_order() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let text = std::fs::read_to_string(dir.join("flat-basic.scenario.json")).unwrap();
    let out = json::outcome_to_string(&json::rate_document(&text).unwrap());
    let order = [
        "\"period\"",
        "\"invoices\"",
        "\"commissions\"",
        "\"unbilled\"",
    ];
    let positions: Vec<usize> = order.iter().map(|k| out.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
}

#[test]
fn malformed_json_reports_position() {
    match json::Document::parse("{\n  \"period\": \"2026-10\",\n  oops\n}") {
        Err(ReadError::Syntax { line, column, .. }) => assert_eq!((line, column), (3, 3)),
        other => panic!("{other:?}"),
    }
    match json::Document::parse("{} trailing") {
        Err(ReadError::Syntax { line, .. }) => assert_eq!(line, 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_shapes_are_problems_with_paths() {
    let err = json::Document::parse(
        r#"{"period": "2026-10", "platform": {"currency": "AUD"}, "tenants": 5}"#,
    )
    .unwrap_err();
    match err {
        ReadError::Invalid(inv) => assert_eq!(inv.problems[0].path, "tenants"),
        other => panic!("{other:?}"),
    }
    let err =
        json::Document::parse(r#"{"period": 202610, "platform": {"currency": 36}}"#).unwrap_err();
    match err {
        ReadError::Invalid(inv) => {
            let paths: Vec<_> = inv.problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(paths, ["period", "platform.currency"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn misspelt_keys_are_problems_not_silently_ignored() {
    // `tax_precent` for `tax_percent` would otherwise bill the tenant without tax.
    let err = json::Document::parse(
        r#"{"period": "2026-10", "platform": {"currency": "AUD"},
            "tenants": [{"id": "t", "partner": "p", "tax_precent": "10"}]}"#,
    )
    .unwrap_err();
    match err {
        ReadError::Invalid(inv) => {
            let p = &inv.problems[0];
            assert_eq!(p.path, "tenants[0].tax_precent");
            assert!(p.message.contains("tax_percent"), "{}", p.message);
        }
        other => panic!("{other:?}"),
    }
    // Usage rows keep their leniency: exports carry columns the engine does not read.
    assert!(
        json::Document::parse(
            r#"{"period": "2026-10", "platform": {"currency": "AUD", "time_zone": "UTC",
                "monthly_variable_pricing": false, "rounding": "half_even"},
                "usage": [{"id": "u", "subscription": "s", "meter": "m",
                "start": "2026-10-01T00:00:00Z", "end": "2026-10-01T01:00:00Z",
                "quantity": "1", "region": "r", "extra": 1}]}"#
        )
        .is_ok()
    );
}

#[test]
fn ambiguous_price_lists_fail_with_both_paths() {
    let text = r#"{"period": "2026-10", "platform": {"currency": "AUD"},
        "distributors": [{"id": "d"}], "partners": [{"id": "p", "distributor": "d"}],
        "tenants": [{"id": "t", "partner": "p"}], "subscriptions": [{"id": "s", "tenant": "t", "region": "r"}],
        "price_lists": [
          {"id": "a", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2026-01-01", "items": []},
          {"id": "b", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2026-01-01", "items": []},
          {"id": "c", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2025-01-01", "items": []},
          {"id": "d", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2027-01-01", "items": []}
        ]}"#;
    match json::Document::parse(text).unwrap_err() {
        ReadError::Invalid(inv) => {
            let paths: Vec<_> = inv.problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "price_lists[0].effective_from",
                    "price_lists[1].effective_from"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_commission_fx_names_the_party_even_for_zero_subtotals() {
    let text = r#"{"period": "2026-10", "platform": {"currency": "AUD"},
        "distributors": [{"id": "d"}], "partners": [{"id": "p0", "distributor": "d"}, {"id": "p1", "distributor": "d", "currency": "USD"}],
        "tenants": [{"id": "t", "partner": "p1"}]}"#;
    match json::Document::parse(text).unwrap_err() {
        ReadError::Invalid(inv) => {
            let paths: Vec<_> = inv.problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(paths, ["partners[1].currency"]);
        }
        other => panic!("{other:?}"),
    }
}

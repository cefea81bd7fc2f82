//! `stackbill rate` as a user runs it: every scenario file through the real binary, exit
//! codes, and the error documents.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn stackbill(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn case_files(dir: &str) -> Vec<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests")
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
            Some((path, dir.join(format!("{name}.expected.json"))))
        })
        .collect();
    out.sort();
    out
}

fn check_through_binary(scenario: &Path, expected: &Path) {
    let out = stackbill(&["rate", scenario.to_str().unwrap()], None);
    let want: Value = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    let got: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}): {}",
            scenario.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    match want.get("error") {
        None => {
            assert_eq!(out.status.code(), Some(0), "{}", scenario.display());
            assert_eq!(got, want, "{}", scenario.display());
        }
        Some(err) => {
            assert_eq!(out.status.code(), Some(2), "{}", scenario.display());
            assert_eq!(got["error"]["kind"], err["kind"]);
            let problems = got["error"]["problems"].as_array().unwrap();
            for p in problems {
                assert!(p["path"].is_string() && p["message"].is_string(), "{p}");
            }
            for path in err["paths"].as_array().unwrap() {
                assert!(
                    problems.iter().any(|p| &p["path"] == path),
                    "{}: {path}",
                    scenario.display()
                );
            }
        }
    }
}

#[test]
fn every_vector_through_the_binary() {
    let files = case_files("vectors");
    assert_eq!(files.len(), 9);
    for (scenario, expected) in files {
        check_through_binary(&scenario, &expected);
    }
}

#[test]
fn every_own_scenario_through_the_binary() {
    for (scenario, expected) in case_files("scenarios") {
        check_through_binary(&scenario, &expected);
    }
}

#[test]
fn reads_standard_input() {
    let (scenario, expected) = case_files("vectors")
        .into_iter()
        .find(|(s, _)| s.ends_with("flat-basic.scenario.json"))
        .unwrap();
    let out = stackbill(&["rate", "-"], Some(&std::fs::read(scenario).unwrap()));
    assert_eq!(out.status.code(), Some(0));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: Value = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    assert_eq!(got, want);
}

#[test]
fn malformed_json_names_file_and_position_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("stackbill-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(
        &file,
        "{\n  \"period\": \"2026-10\",\n  \"platform\": {\"currency\": \"AUD\",}\n}\n",
    )
    .unwrap();
    let out = stackbill(&["rate", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("broken.json:3:"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unreadable_file_exits_1_with_one_line() {
    let out = stackbill(&["rate", "/nonexistent/scenario.json"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("/nonexistent/scenario.json"), "{err}");
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"null",
        b"[]",
        b"\xff\xfe",
        b"{\"period\": []}",
        b"{\"usage\": [1, 2]}",
        b"{\"period\": \"2026-10\", \"platform\": {\"currency\": \"AUD\"}, \"usage\": [{\"quantity\": {}}]}",
        b"{\"period\": \"2026-10\", \"platform\": {\"currency\": \"AUD\"}, \"tenants\": [{\"id\": 1, \"partner\": null}]}",
    ];
    for input in inputs {
        let out = stackbill(&["rate", "-"], Some(input));
        let code = out.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{:?} → {code:?}",
            String::from_utf8_lossy(input)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("stackbill-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn generated_usage_rates_the_same_from_a_file_and_from_gzip() {
    let dir = Scratch::new("gen");
    let (scenario, csv, gz) = (dir.path("s.json"), dir.path("u.csv"), dir.path("u.csv.gz"));
    for usage in [&csv, &gz] {
        let out = stackbill(
            &[
                "gen-usage",
                "--tenants",
                "25",
                "--hours",
                "24",
                "--seed",
                "9",
                "--duplicate-every",
                "11",
                "--usage",
                usage,
                "--scenario",
                &scenario,
                "--quiet",
            ],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let plain = stackbill(&["rate", &scenario, "--usage", &csv, "--quiet"], None);
    let zipped = stackbill(
        &[
            "rate",
            &scenario,
            "--usage",
            &gz,
            "--quiet",
            "--threads",
            "1",
        ],
        None,
    );
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(plain.stdout, zipped.stdout);
    let doc: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(doc["invoices"].as_array().unwrap().len(), 25);
    assert!(plain.stderr.is_empty(), "quiet means quiet");
}

#[test]
fn rejects_file_lists_bad_rows_and_the_run_goes_on() {
    let dir = Scratch::new("rejects");
    let (scenario, usage, rejects) = (
        dir.path("s.json"),
        dir.path("u.csv"),
        dir.path("rejects.ndjson"),
    );
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/vectors");
    std::fs::copy(vectors.join("flat-basic.scenario.json"), &scenario).unwrap();
    std::fs::write(
        &usage,
        "id,subscription,meter,sku,resource,start,end,quantity\n\
         x1,sub-erp,fab6eb84-500b-4a09-a8ca-7358f8bbaea5,,,2026-10-20T00:00:00Z,2026-10-20T01:00:00Z,10\n\
         x2,sub-erp,fab6eb84-500b-4a09-a8ca-7358f8bbaea5,,,not-a-time,2026-10-20T01:00:00Z,1\n\
         x3,sub-erp,fab6eb84-500b-4a09-a8ca-7358f8bbaea5,,,2026-10-20T00:00:00Z\n",
    )
    .unwrap();
    let out = stackbill(
        &["rate", &scenario, "--usage", &usage, "--rejects", &rejects],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("2 invalid"), "{stderr}");
    let listed: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["line"], 3);
    assert_eq!(listed[0]["source"], usage.as_str());
    assert_eq!(listed[1]["line"], 4);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let invalid = doc["unbilled"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["reason"] == "invalid_usage")
        .unwrap();
    assert_eq!(invalid["records"], 2);
    // The good row joined the scenario's own usage: 96 + 10.
    let line = doc["invoices"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["meter"] == "fab6eb84-500b-4a09-a8ca-7358f8bbaea5")
        .unwrap();
    assert_eq!(line["quantity"], "106");
}

#[test]
fn unreadable_usage_file_exits_1() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/vectors");
    let scenario = vectors.join("flat-basic.scenario.json");
    let out = stackbill(
        &[
            "rate",
            scenario.to_str().unwrap(),
            "--usage",
            "/nonexistent/u.csv",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/u.csv"));
}

#[test]
fn imported_and_billed_equals_rated_and_export_round_trips() {
    let dir = Scratch::new("db");
    let db = format!("sqlite://{}", dir.path("stackbill.db"));
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/vectors");
    for name in ["fx-credits-tax", "monthly-variable-dst"] {
        let scenario = vectors.join(format!("{name}.scenario.json"));
        let scenario = scenario.to_str().unwrap();
        let fresh = format!("{db}-{name}");
        let imported = stackbill(&["import-scenario", scenario, "--database", &fresh], None);
        assert_eq!(
            imported.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&imported.stderr)
        );
        let billed = stackbill(
            &[
                "bill",
                "--period",
                "2026-10",
                "--json",
                "--database",
                &fresh,
            ],
            None,
        );
        assert_eq!(
            billed.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&billed.stderr)
        );
        let rated = stackbill(&["rate", scenario, "--quiet"], None);
        assert_eq!(
            billed.stdout, rated.stdout,
            "{name}: bill --json equals rate"
        );
        let exported = stackbill(
            &[
                "export-scenario",
                "--period",
                "2026-10",
                "--database",
                &fresh,
            ],
            None,
        );
        assert_eq!(exported.status.code(), Some(0));
        let rerated = stackbill(&["rate", "-", "--quiet"], Some(&exported.stdout));
        assert_eq!(
            rerated.stdout, rated.stdout,
            "{name}: rating the export equals rating the file"
        );
    }
    // An invalid scenario is refused with every problem and nothing is written.
    let bad = vectors.join("error-unknown-references.scenario.json");
    let out = stackbill(
        &["import-scenario", bad.to_str().unwrap(), "--database", &db],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "invalid_scenario");
}

#[test]
fn usage_import_is_idempotent_and_reports_counts() {
    let dir = Scratch::new("usage-import");
    let db = format!("sqlite://{}", dir.path("s.db"));
    let (scenario, usage) = (dir.path("s.json"), dir.path("u.csv"));
    let out = stackbill(
        &[
            "gen-usage",
            "--tenants",
            "5",
            "--hours",
            "10",
            "--duplicate-every",
            "7",
            "--usage",
            &usage,
            "--scenario",
            &scenario,
            "--quiet",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stackbill(&["import-scenario", &scenario, "--database", &db], None)
            .status
            .code(),
        Some(0)
    );
    let first = stackbill(&["usage", "import", &usage, "--database", &db], None);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // 1,250 distinct ids; every 7th row is re-sent with a corrected quantity (178 rows).
    let first_err = String::from_utf8_lossy(&first.stderr);
    assert!(
        first_err.contains("1250 new, 0 duplicate, 178 replaced"),
        "{first_err}"
    );
    let second = stackbill(&["usage", "import", &usage, "--database", &db], None);
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert!(
        second_err.contains("0 new, 1250 duplicate, 178 replaced"),
        "{second_err}"
    );
    let billed = stackbill(
        &["bill", "--period", "2026-10", "--json", "--database", &db],
        None,
    );
    let rated = stackbill(&["rate", &scenario, "--usage", &usage, "--quiet"], None);
    assert_eq!(
        billed.stdout, rated.stdout,
        "billing stored usage equals rating the file"
    );
}

/// A rate written as a JSON number with 20 significant digits is stored as written:
/// `import-scenario` then `bill --json` prints exactly what `stackbill rate` prints, and
/// the exported scenario carries the literal unchanged.
#[test]
fn number_literal_rates_survive_import_byte_for_byte() {
    let dir = Scratch::new("literal");
    let scenario = dir.path("literal.scenario.json");
    let text = r#"{
      "period": "2026-10",
      "platform": {"currency": "AUD", "time_zone": "UTC"},
      "distributors": [{"id": "d"}],
      "partners": [{"id": "p", "distributor": "d"}],
      "tenants": [{"id": "t", "partner": "p"}],
      "subscriptions": [{"id": "s", "tenant": "t", "region": "r"}],
      "price_lists": [{"id": "l", "scope": {"region": "r"}, "currency": "AUD",
        "effective_from": "2026-01-01",
        "items": [{"meter": "m", "rate": 0.12345678901234567891},
                  {"meter": "n", "tiers": {"mode": "graduated", "bands": [
                    {"from": 0, "to": 10, "rate": 1.0000000000000000001},
                    {"from": 10, "to": null, "rate": 0.99999999999999999999}]}}]}],
      "usage": [
        {"id": "u1", "subscription": "s", "meter": "m", "start": "2026-10-01T00:00:00Z",
         "end": "2026-10-01T01:00:00Z", "quantity": "1000000000"},
        {"id": "u2", "subscription": "s", "meter": "n", "start": "2026-10-01T00:00:00Z",
         "end": "2026-10-01T01:00:00Z", "quantity": "1000000000000"}]
    }"#;
    std::fs::write(&scenario, text).unwrap();
    let scenario = scenario.as_str();
    let db = format!("sqlite://{}", dir.path("literal.db"));
    let imported = stackbill(&["import-scenario", scenario, "--database", &db], None);
    assert_eq!(imported.status.code(), Some(0), "{imported:?}");
    let billed = stackbill(
        &["bill", "--period", "2026-10", "--json", "--database", &db],
        None,
    );
    let rated = stackbill(&["rate", scenario, "--quiet"], None);
    assert_eq!(rated.status.code(), Some(0), "{rated:?}");
    let out = String::from_utf8_lossy(&rated.stdout);
    assert!(out.contains("\"0.12345678901234567891\""), "{out}");
    assert_eq!(billed.stdout, rated.stdout, "bill --json equals rate");
    let exported = stackbill(
        &["export-scenario", "--period", "2026-10", "--database", &db],
        None,
    );
    let exported = String::from_utf8_lossy(&exported.stdout);
    for literal in [
        "0.12345678901234567891",
        "1.0000000000000000001",
        "0.99999999999999999999",
    ] {
        assert!(exported.contains(literal), "{literal} lost: {exported}");
    }
}

/// `stackbill fx` publishes, lists and withdraws rates, refusing bad fields by name.
#[test]
fn fx_rates_from_the_command_line() {
    let dir = Scratch::new("fx");
    let db = format!("sqlite://{}", dir.path("fx.db"));
    let added = stackbill(
        &[
            "fx",
            "add",
            "USD",
            "AUD",
            "1.5312",
            "--as-of",
            "2026-10-31",
            "--database",
            &db,
        ],
        None,
    );
    assert_eq!(added.status.code(), Some(0), "{added:?}");
    let bad = stackbill(
        &[
            "fx",
            "add",
            "USD",
            "AUD",
            "0",
            "--as-of",
            "2026-10-31",
            "--database",
            &db,
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("\"rate\""),
        "{bad:?}"
    );
    let again = stackbill(
        &[
            "fx",
            "add",
            "USD",
            "AUD",
            "1.6",
            "--as-of",
            "2026-10-31",
            "--database",
            &db,
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(2), "one rate per pair and day");
    let listed = stackbill(&["fx", "list", "--database", &db], None);
    let rows: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([{"from": "USD", "to": "AUD", "rate": "1.5312", "as_of": "2026-10-31"}])
    );
    let deleted = stackbill(
        &[
            "fx",
            "delete",
            "usd",
            "aud",
            "--as-of",
            "2026-10-31",
            "--database",
            &db,
        ],
        None,
    );
    assert_eq!(deleted.status.code(), Some(0), "{deleted:?}");
    let listed = stackbill(&["fx", "list", "--database", &db], None);
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).unwrap(),
        serde_json::json!([])
    );
}

/// Every invoice of the shared vectors, imported, billed from a database and written by
/// `stackbill invoice render`, shows every line's amount and the totals of the golden
/// output in its PDF's text, and embeds its fonts.
#[test]
fn every_vector_invoice_renders_with_every_golden_amount() {
    let dir = Scratch::new("vector-documents");
    let run = |args: &[&str]| {
        let out = stackbill(args, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut rendered = 0;
    for (scenario, expected) in case_files("vectors") {
        let want: Value = serde_json::from_slice(&std::fs::read(&expected).unwrap()).unwrap();
        if want.get("error").is_some() {
            continue;
        }
        let name = scenario.file_name().unwrap().to_str().unwrap();
        let period = want["period"].as_str().unwrap();
        let db = format!("sqlite://{}", dir.path(&format!("{name}.db")));
        run(&[
            "import-scenario",
            scenario.to_str().unwrap(),
            "--database",
            &db,
        ]);
        run(&["bill", "--period", period, "--database", &db]);
        let list = dir.path(&format!("{name}.csv"));
        run(&[
            "export",
            "invoices",
            "--period",
            period,
            "-o",
            &list,
            "--database",
            &db,
        ]);
        let mut reader = csv::Reader::from_path(&list).unwrap();
        let headers = reader.headers().unwrap().clone();
        let column = |n: &str| headers.iter().position(|h| h == n).unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            let (id, tenant) = (&record[column("id")], &record[column("tenantId")]);
            let golden = want["invoices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["tenant"] == tenant)
                .unwrap_or_else(|| panic!("{name}: {tenant} has no golden invoice"));
            let pdf = dir.path(&format!("{name}-{id}.pdf"));
            run(&["invoice", "render", id, "-o", &pdf, "--database", &db]);
            let text = super::api::documents::pdf_text(&dir.0, &std::fs::read(&pdf).unwrap());
            let money = |v: &Value| {
                let text = v.as_str().unwrap();
                let decimals = text.split_once('.').map_or(0, |(_, f)| f.len() as u32);
                stackbill_document::format_money(text.parse().unwrap(), decimals)
            };
            let lines = golden["lines"].as_array().unwrap();
            for shown in lines
                .iter()
                .map(|l| &l["amount"])
                .chain(["subtotal", "tax", "total"].map(|k| &golden[k]))
            {
                let shown = money(shown);
                assert!(
                    text.contains(&shown),
                    "{name} {tenant}: {shown} missing from\n{text}"
                );
            }
            let fonts = Command::new("pdffonts").arg(&pdf).output().unwrap();
            let fonts = String::from_utf8(fonts.stdout).unwrap();
            let rows: Vec<Vec<&str>> = fonts
                .lines()
                .skip(2)
                .map(|l| l.split_whitespace().collect())
                .collect();
            assert!(
                !rows.is_empty() && rows.iter().all(|c| c.len() > 5 && c[c.len() - 5] == "yes"),
                "{name}: every font embedded:\n{fonts}"
            );
            rendered += 1;
        }
    }
    assert!(rendered >= 10, "only {rendered} invoices rendered");
}

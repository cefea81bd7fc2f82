//! Exports over real HTTP on the demo dataset: every list with a file form answers CSV and
//! XLSX (by `?format=` and by `Accept`) holding exactly the API's JSON, cell for cell —
//! money and decimals as numbers in XLSX and exact text in CSV, dates as dates, text that
//! a spreadsheet would run neutralised in CSV — scoped like the JSON, and the command line
//! writes the same files from the database.

use std::io::Cursor;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};

use super::{Api, Db, Server};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PERIOD: &str = "2026-10";

/// Columns whose JSON text is a decimal number.
const NUMBERS: &[&str] = &[
    "subtotal", "tax", "total", "amount", "base", "quantity", "unitRate", "fxRate",
];
/// Columns whose JSON text is a date.
const DATES: &[&str] = &["issueDate", "dueDate"];

/// GETs `path` with `accept`; returns the status, the content type and the body.
fn fetch(api: &Api, path: &str, accept: Option<&str>) -> (u16, String, Vec<u8>) {
    let (status, headers, body) = super::fetch(api, path, accept);
    let kind = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, body)
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let mut rows = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        rows.extend(range.rows().skip(1).map(<[Data]>::to_vec));
    }
    rows
}

/// Asserts that the CSV and the XLSX of `path` hold exactly the JSON `rows` (objects keyed
/// by column), in order; returns the CSV bytes.
fn same_cells(api: &Api, path: &str, rows: &[Value]) -> Vec<u8> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, headers, csv) = super::fetch(api, &format!("{path}{sep}format=csv"), None);
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&csv));
    let kind = headers["content-type"].to_str().unwrap();
    assert!(kind.starts_with("text/csv"), "{path}: {kind}");
    assert!(
        headers.get("content-length").is_none() && headers["transfer-encoding"] == "chunked",
        "{path}: a CSV is streamed, not assembled first: {headers:?}"
    );
    let (status, kind, xlsx) = fetch(api, path, Some(XLSX));
    assert_eq!(status, 200, "{path}");
    assert_eq!(kind, XLSX, "{path}");
    let (headers, csv_rows) = csv_rows(&csv);
    let xlsx_rows = xlsx_rows(xlsx);
    assert_eq!(csv_rows.len(), rows.len(), "{path}: CSV rows");
    assert_eq!(xlsx_rows.len(), rows.len(), "{path}: XLSX rows");
    for (i, json) in rows.iter().enumerate() {
        for (c, header) in headers.iter().enumerate() {
            let value = &json[header.as_str()];
            let text = &csv_rows[i][c];
            let cell = xlsx_rows[i].get(c).unwrap_or(&Data::Empty);
            let at = format!(
                "{path} row {i} column {header}: JSON {value}, CSV {text:?}, XLSX {cell:?}"
            );
            match value {
                Value::Null => {
                    assert_eq!(text, "", "{at}");
                    assert_eq!(*cell, Data::Empty, "{at}");
                }
                Value::Number(n) => {
                    assert_eq!(*text, n.to_string(), "{at}");
                    assert_eq!(*cell, Data::Float(n.as_f64().unwrap()), "{at}");
                }
                Value::String(s) if NUMBERS.contains(&header.as_str()) => {
                    assert_eq!(text, s, "{at}");
                    assert_eq!(*cell, Data::Float(s.parse::<f64>().unwrap()), "{at}");
                }
                Value::String(s) if DATES.contains(&header.as_str()) => {
                    assert_eq!(text, s, "{at}");
                    let Data::DateTime(d) = cell else {
                        panic!("{at}: not a date cell")
                    };
                    assert_eq!(d.as_datetime().unwrap().date().to_string(), *s, "{at}");
                }
                Value::String(s) => {
                    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
                    let expected = if formula { format!("'{s}") } else { s.clone() };
                    assert_eq!(*text, expected, "{at}");
                    assert_eq!(*cell, Data::String(s.clone()), "{at}");
                }
                other => panic!("{at}: unexpected JSON {other}"),
            }
        }
    }
    csv
}

fn array(v: Value) -> Vec<Value> {
    v.as_array().unwrap().clone()
}

#[test]
fn exports_hold_the_json_cell_for_cell_scoped_and_from_the_cli() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    // A tenant whose name a spreadsheet would evaluate.
    let tenants = array(admin.ok("GET", "/api/v1/tenants?pageSize=1000", None));
    let first = tenants[0]["id"].as_str().unwrap().to_owned();
    let mut renamed = super::editable_tenant(&admin, &first);
    renamed["name"] = json!("=HYPERLINK(\"http://x.invalid\",\"pay\")");
    admin.ok("PUT", &format!("/api/v1/tenants/{first}"), Some(renamed));
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": PERIOD})),
    );
    let invoices = array(admin.ok(
        "GET",
        &format!("/api/v1/billing/invoices?period={PERIOD}&pageSize=1000"),
        None,
    ));
    assert!(invoices.len() > 10, "the demo month bills many tenants");
    // Issued at the end of the period: due long before today, so delinquent.
    let issued = invoices[0]["id"].as_str().unwrap().to_owned();
    let delinquent = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{issued}/issue"),
        Some(json!({"issueDate": "2026-10-31"})),
    );
    assert_eq!(delinquent["status"], "delinquent", "{delinquent}");
    let listed = array(admin.ok("GET", "/api/v1/billing/invoices?status=delinquent", None));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], json!(issued));
    let owed = admin.ok(
        "GET",
        &format!("/api/v1/billing/summary?period={PERIOD}"),
        None,
    );
    assert_eq!(
        owed["delinquent"],
        json!({delinquent["currency"].as_str().unwrap(): delinquent["total"]}),
        "{owed}"
    );
    admin.ok(
        "POST",
        "/api/v1/commissions/generate",
        Some(json!({"period": PERIOD})),
    );

    let list = format!("/api/v1/billing/invoices?period={PERIOD}");
    let invoices = array(admin.ok("GET", &format!("{list}&pageSize=1000"), None));
    assert!(invoices.iter().any(|i| i["status"] == "delinquent"));
    let invoice_csv = same_cells(&admin, &list, &invoices);

    let lines_path = format!("/api/v1/billing/invoice-lines?period={PERIOD}");
    let lines = array(admin.ok("GET", &format!("{lines_path}&pageSize=1000"), None));
    let per_invoice: usize = invoices
        .iter()
        .map(|i| i["document"]["lines"].as_array().unwrap().len())
        .sum();
    assert_eq!(lines.len(), per_invoice, "one row per document line");
    assert!(
        lines.iter().any(|l| l["kind"] == "credit"),
        "the demo has credits"
    );
    let lines_csv = same_cells(&admin, &lines_path, &lines);

    let summary_path = format!("/api/v1/billing/summary?period={PERIOD}");
    let summary = admin.ok("GET", &summary_path, None);
    let summary_rows = array(summary["tenants"].clone());
    assert!(
        summary_rows
            .iter()
            .any(|t| t["tenantName"].as_str().unwrap().starts_with('=')),
        "the renamed tenant is in the summary"
    );
    same_cells(&admin, &summary_path, &summary_rows);

    let commissions_path = format!("/api/v1/commissions/summary?period={PERIOD}");
    let commissions = array(admin.ok("GET", &commissions_path, None));
    assert!(!commissions.is_empty());
    let commission_csv = same_cells(&admin, &commissions_path, &commissions);

    // A page of a file is asked for explicitly; a bad format is the API's 400.
    let (status, _, page) = fetch(&admin, &format!("{lines_path}&format=csv&pageSize=2"), None);
    assert_eq!(status, 200);
    assert_eq!(csv_rows(&page).1.len(), 2);
    let (status, body) = admin.get(&format!("{list}&format=pdf"));
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"].to_string().contains("format"), "{body}");

    // A partner's reader exports only its own tenants' invoices.
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "reader@export.test", "firstName": "R", "lastName": "P",
                    "password": "Export-password-for-tests-1", "role": "PartnerReader",
                    "partnerId": "part-001"}),
        ),
    );
    let reader = server.login("reader@export.test", "Export-password-for-tests-1");
    let own = array(reader.ok("GET", &format!("{list}&pageSize=1000"), None));
    assert!(
        !own.is_empty() && own.len() < invoices.len(),
        "{}",
        own.len()
    );
    same_cells(&reader, &list, &own);
    let (_, _, own_lines) = fetch(&reader, &format!("{lines_path}&format=csv"), None);
    let own_ids: Vec<&str> = own.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert!(
        csv_rows(&own_lines)
            .1
            .iter()
            .all(|row| own_ids.contains(&row[0].as_str())),
        "no line of another branch"
    );

    // The command line writes the same files from the database.
    let cli = |what: &str, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_stackbill"))
            .args(["export", what, "--period", PERIOD, "--database"])
            .arg(server.database_url())
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stackbill export {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    assert_eq!(cli("invoices", &[]), invoice_csv);
    assert_eq!(cli("invoice-lines", &[]), lines_csv);
    assert_eq!(cli("commissions", &[]), commission_csv);
    let file = server.dir.join("lines.xlsx");
    cli("invoice-lines", &["-o", file.to_str().unwrap()]);
    let from_cli = xlsx_rows(std::fs::read(&file).unwrap());
    let (_, _, from_api) = fetch(&admin, &format!("{lines_path}&format=xlsx"), None);
    assert_eq!(from_cli, xlsx_rows(from_api));

    // Paid, it is no longer delinquent anywhere.
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{issued}/pay"),
        None,
    );
    let owed = admin.ok(
        "GET",
        &format!("/api/v1/billing/summary?period={PERIOD}"),
        None,
    );
    assert_eq!(owed["delinquent"], json!({}), "{owed}");
    assert_eq!(
        admin.ok("GET", "/api/v1/billing/invoices?status=delinquent", None),
        json!([])
    );
}

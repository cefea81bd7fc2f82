//! Bad rows are counted and reported with their line numbers; they never abort a run.

use serde_json::json;
use stackbill_core::rating::rate_partial;
use stackbill_core::scenario::json::Document;
use stackbill_ingest::{IngestError, Options, aggregate};

use crate::equivalence::TempDir;

const SCENARIO: &str = r#"{"period": "2026-10", "platform": {"currency": "AUD"},
    "distributors": [{"id": "d"}], "partners": [{"id": "p", "distributor": "d"}],
    "tenants": [{"id": "t", "partner": "p"}], "subscriptions": [{"id": "s", "tenant": "t", "region": "r"}],
    "price_lists": [{"id": "l", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2026-01-01",
                     "items": [{"meter": "m", "rate": "1"}]}]}"#;

#[test]
fn malformed_rows_are_rejected_with_line_numbers() {
    let dir = TempDir::new("rejects");
    let csv = "id,subscription,meter,sku,resource,start,end,quantity\n\
a,s,m,,,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,2\n\
b,s,m,,,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z\n\
c,s,m,,,\"2026-10-01T00:00:00Z\",2026-10-01T01:00:00Z,\"3\"\n\
d,s,m,,\"a\nmultiline resource\",2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,4\n\
e,s,m,,,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,abc\n\
\n\
f,s,m,,,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,-1\n\
g,s,m,,\"unterminated,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,5\n";
    std::fs::write(dir.path("u.csv"), csv).unwrap();
    let doc = Document::parse(SCENARIO).unwrap();
    let ingest = aggregate(
        doc.scenario(),
        Some(&doc),
        &[dir.path("u.csv")],
        &Options::default(),
    )
    .unwrap();
    let lines: Vec<(u64, &str)> = ingest
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (3, "a field is present but unreadable"),
            (7, "quantity is missing or not a decimal"),
            (9, "quantity is negative"),
            (10, "a field is present but unreadable"),
        ]
    );
    assert_eq!(ingest.rows, 7);
    let out = rate_partial(doc.scenario(), ingest.partial).unwrap();
    // a (2) + c (3) + d (4) billed; the four rejects are invalid_usage with their
    // readable quantities (-1 only: b has none, e and g are unreadable).
    assert_eq!(out.invoices[0].lines[0].quantity.unwrap().to_string(), "9");
    let invalid = &out.unbilled[0];
    assert_eq!(invalid.records, 4);
    assert_eq!(invalid.quantity.to_string(), "-1");
}

#[test]
fn bad_headers_and_formats_fail_clearly() {
    let dir = TempDir::new("headers");
    std::fs::write(dir.path("u.csv"), "id,subscription,sku\n1,s,x\n").unwrap();
    std::fs::write(dir.path("empty.csv"), "").unwrap();
    std::fs::write(dir.path("u.txt"), "").unwrap();
    let doc = Document::parse(SCENARIO).unwrap();
    let run = |name: &str| aggregate(doc.scenario(), None, &[dir.path(name)], &Options::default());
    match run("u.csv") {
        Err(IngestError::Header { message, .. }) => assert!(message.contains("meter"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(run("empty.csv"), Err(IngestError::Header { .. })));
    assert!(matches!(
        run("u.txt"),
        Err(IngestError::UnknownFormat { .. })
    ));
    assert!(matches!(run("missing.csv"), Err(IngestError::Io { .. })));
}

#[test]
fn ndjson_garbage_lines_are_rejects() {
    let dir = TempDir::new("ndjson");
    let good = json!({"subscription": "s", "meter": "m", "start": "2026-10-01T00:00:00Z",
                      "end": "2026-10-01T01:00:00Z", "quantity": 1.5});
    std::fs::write(
        dir.path("u.ndjson"),
        format!("{good}\nnot json\n{{\"quantity\": []}}\n\n{good}\n"),
    )
    .unwrap();
    let doc = Document::parse(SCENARIO).unwrap();
    let ingest = aggregate(
        doc.scenario(),
        None,
        &[dir.path("u.ndjson")],
        &Options::default(),
    )
    .unwrap();
    let lines: Vec<u64> = ingest.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3]);
    let out = rate_partial(doc.scenario(), ingest.partial).unwrap();
    assert_eq!(out.invoices[0].lines[0].quantity.unwrap().to_string(), "3");
}

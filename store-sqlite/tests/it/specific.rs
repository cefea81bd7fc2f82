//! SQLite-specific guarantees: the database itself refuses to change issued invoices.

use stackbill_store_sql::checks;

#[tokio::test]
async fn updating_an_issued_invoice_in_sql_fails() {
    let (store, _db) = crate::fresh().await;
    let scenario = include_str!("../../../core/tests/vectors/commissions.scenario.json");
    checks::database_refuses_changes_to_issued_invoices(&store, scenario, "2026-10")
        .await
        .unwrap();
}

#[tokio::test]
async fn legacy_usage_converts_exactly() {
    for scenario in [
        include_str!("../../../core/tests/vectors/dedup-invalid.scenario.json"),
        include_str!("../../../core/tests/vectors/monthly-variable-dst.scenario.json"),
        include_str!("../../../core/tests/vectors/fx-credits-tax.scenario.json"),
    ] {
        let (a, _da) = crate::fresh().await;
        let (b, _db) = crate::fresh().await;
        checks::legacy_usage_converts_exactly(&a, &b, scenario, "2026-10")
            .await
            .unwrap();
    }
}

/// A streamed import leaves no write-ahead log behind: its pages are folded into the
/// database file and the log truncated, so the file's size is the database's size.
#[tokio::test]
async fn a_streamed_import_truncates_the_write_ahead_log() {
    let (store, db) = crate::fresh().await;
    let rows: Vec<stackbill_store::UsageRow> = (0..20_000)
        .map(|n| stackbill_store::UsageRow {
            id: format!("u{n}"),
            synthetic: false,
            subscription: Some(format!("sub-{}", n % 50)),
            meter: Some("fab6eb84-500b-4a09-a8ca-7358f8bbaea5".into()),
            sku: None,
            resource: None,
            start: Some("2026-10-01T00:00:00Z".into()),
            end: Some("2026-10-01T01:00:00Z".into()),
            quantity: Some("1.5".into()),
            start_ns: None,
            end_ns: None,
            malformed: false,
        })
        .collect();
    let mut import = store.usage_import("wal").await.unwrap();
    for part in rows.chunks(5_000) {
        import
            .push(&stackbill_store_sql::UsageChunk::new(part.to_vec()))
            .await
            .unwrap();
    }
    let report = import.finish().await.unwrap();
    assert_eq!(report.new, 20_000);
    let mut wal = db.0.clone().into_os_string();
    wal.push("-wal");
    let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(size, 0, "{} bytes of log left", size);
}

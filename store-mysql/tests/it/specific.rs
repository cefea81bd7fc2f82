//! MySQL-specific guarantees: the database itself refuses to change issued invoices.

use stackbill_store::billing::{bill, import_scenario};
use stackbill_store::{InvoiceFilter, Store};
use stackbill_store_sql::checks;

#[tokio::test]
async fn updating_an_issued_invoice_in_sql_fails() {
    let (store, _db) = crate::fresh().await;
    let scenario = include_str!("../../../core/tests/vectors/commissions.scenario.json");
    checks::database_refuses_changes_to_issued_invoices(&store, scenario, "2026-10")
        .await
        .unwrap();
}

/// A dumped database restores into a new one with identical invoices, and billing the
/// restored data gives the same output (the documented backup/restore procedure).
#[tokio::test]
async fn mysqldump_backup_restores_identical_invoices() {
    use stackbill_core::scenario::json::outcome_to_value;

    let (store, db) = crate::fresh().await;
    let scenario = include_str!("../../../core/tests/vectors/fx-credits-tax.scenario.json");
    import_scenario(&store, scenario).await.unwrap();
    let billed = bill(&store, "2026-10", None).await.unwrap();
    let invoices = store.invoices(&InvoiceFilter::default()).await.unwrap();
    store
        .issue_invoice(invoices[1].id, "2026-11-02")
        .await
        .unwrap();
    let before = store.invoices(&InvoiceFilter::default()).await.unwrap();

    let dump = std::process::Command::new("mysqldump")
        .args([
            "-uroot",
            "-h127.0.0.1",
            "--single-transaction",
            "--routines",
            "--triggers",
            &db.0,
        ])
        .output()
        .expect("mysqldump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let (restored, restored_db) = crate::empty().await;
    let mut load = std::process::Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", &restored_db.0])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    load.stdin.take().unwrap().write_all(&dump.stdout).unwrap();
    assert!(load.wait().unwrap().success());

    let after = restored.invoices(&InvoiceFilter::default()).await.unwrap();
    assert_eq!(after, before, "invoices survive the round trip exactly");
    // The restored database still refuses to change issued invoices.
    assert!(
        sqlx::query("UPDATE invoices SET total_text = '0' WHERE status = 'issued'")
            .execute(restored.pool())
            .await
            .is_err()
    );
    // And billing the restored data reproduces the original output (issued kept).
    let again = bill(&restored, "2026-10", None).await.unwrap();
    assert_eq!(
        outcome_to_value(&again.outcome),
        outcome_to_value(&billed.outcome)
    );
    assert_eq!(again.kept_issued, vec![before[1].tenant.clone()]);
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

/// The usage tables are page-compressed on MariaDB (migration
/// `20261212000001_usage_page_compression`): their files hold only what the data needs.
#[tokio::test]
async fn usage_tables_are_page_compressed() {
    use sqlx::Row;

    let (store, db) = crate::fresh().await;
    let rows = sqlx::query(
        "SELECT table_name AS t, create_options AS o FROM information_schema.tables \
         WHERE table_schema = ? AND table_name IN ('usage_rows', 'usage_keys', 'usage_rollups')",
    )
    .bind(db.0.clone())
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        let table: String = r.get("t");
        let options: String = r.get("o");
        assert!(
            options.to_ascii_lowercase().contains("page_compressed"),
            "{table}: {options}"
        );
    }
}

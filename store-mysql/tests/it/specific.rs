//! MySQL-specific guarantees: the database itself refuses to change issued invoices.

use stackbill_store::billing::{bill, import_scenario};
use stackbill_store::{InvoiceFilter, Store};

#[tokio::test]
async fn updating_an_issued_invoice_in_sql_fails() {
    let (store, _db) = crate::fresh().await;
    let scenario = include_str!("../../../core/tests/vectors/commissions.scenario.json");
    import_scenario(&store, scenario).await.unwrap();
    bill(&store, "2026-10", None).await.unwrap();
    let inv = store.invoices(&InvoiceFilter::default()).await.unwrap();
    store.issue_invoice(inv[0].id, "2026-11-02").await.unwrap();
    for sql in [
        "UPDATE invoices SET total_text = '0.00' WHERE status = 'issued'",
        "UPDATE invoices SET document = '{}' WHERE status = 'issued'",
        "UPDATE invoices SET status = 'preview' WHERE status = 'issued'",
        "DELETE FROM invoices WHERE status = 'issued'",
    ] {
        let r = sqlx::query(sql).execute(store.pool()).await;
        assert!(r.is_err(), "{sql} must fail");
    }
    // A preview is still editable, and the audit log refuses edits.
    sqlx::query("UPDATE invoices SET total_text = total_text WHERE status = 'preview'")
        .execute(store.pool())
        .await
        .unwrap();
    let entry = stackbill_store::AuditEntry {
        at: "2026-11-02T00:00:00Z".into(),
        actor: "test".into(),
        action: "invoice.issue".into(),
        target: format!("invoice/{}", inv[0].id),
        before: None,
        after: None,
    };
    store.append_audit(&entry).await.unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'x'")
            .execute(store.pool())
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(store.pool())
            .await
            .is_err()
    );
    assert_eq!(store.audit_log().await.unwrap(), vec![entry]);
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

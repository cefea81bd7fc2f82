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

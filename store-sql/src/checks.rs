//! Checks of what the database itself enforces, run by both store crates' tests: raw SQL
//! (bypassing this crate) cannot change an issued invoice or the audit log.

use stackbill_store::billing::{bill, import_scenario};
use stackbill_store::{AuditEntry, InvoiceFilter, Result, Store, StoreError};

use crate::SqlStore;

fn refused(what: &str) -> StoreError {
    StoreError::InvalidState(format!("the database accepted: {what}"))
}

/// Issues an invoice of `scenario`'s period, then tries to change it and the audit log with
/// raw SQL; every attempt must fail while previews stay editable.
pub async fn database_refuses_changes_to_issued_invoices(
    store: &SqlStore,
    scenario: &str,
    period: &str,
) -> Result<()> {
    import_scenario(store, scenario).await?;
    bill(store, period, None).await?;
    let invoices = store.invoices(&InvoiceFilter::default()).await?;
    let first = invoices
        .first()
        .ok_or_else(|| StoreError::InvalidState("the scenario billed no invoice".into()))?;
    store.issue_invoice(first.id, "2026-11-02").await?;
    for sql in [
        "UPDATE invoices SET total_text = '0.00' WHERE status = 'issued'",
        "UPDATE invoices SET document = '{}' WHERE status = 'issued'",
        "UPDATE invoices SET status = 'preview' WHERE status = 'issued'",
        "DELETE FROM invoices WHERE status = 'issued'",
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
    ] {
        if sqlx::query(sql).execute(store.pool()).await.is_ok() {
            return Err(refused(sql));
        }
        if sql.starts_with("DELETE FROM invoices") {
            let entry = AuditEntry {
                at: "2026-11-02T00:00:00Z".into(),
                actor: "check".into(),
                action: "invoice.issue".into(),
                target: format!("invoice/{}", first.id),
                before: None,
                after: None,
            };
            store.append_audit(&entry).await?;
        }
    }
    if invoices.len() > 1 {
        sqlx::query("UPDATE invoices SET total_text = total_text WHERE status = 'preview'")
            .execute(store.pool())
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
    }
    let after = store.invoices(&InvoiceFilter::default()).await?;
    if after.iter().find(|i| i.id == first.id).map(|i| &i.document) != Some(&first.document) {
        return Err(refused("a change to the issued invoice's document"));
    }
    if store.audit_log().await?.len() != 1 {
        return Err(refused("a change to the audit log"));
    }
    Ok(())
}

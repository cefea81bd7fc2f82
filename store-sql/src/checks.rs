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

/// Usage stored in the table used before roll-ups (`usage_legacy`) is moved by
/// [`SqlStore::convert_legacy_usage`] so exactly that billing `a` (ingested directly) and
/// `b` (ingested, then put back in the old layout and converted) agree, row counts
/// included; a second conversion moves nothing. Both stores must be fresh.
pub async fn legacy_usage_converts_exactly(
    a: &SqlStore,
    b: &SqlStore,
    scenario: &str,
    period: &str,
) -> Result<()> {
    use stackbill_store::DAY_NS;
    let sql = |e: sqlx::Error| StoreError::Database(e.to_string());
    import_scenario(a, scenario).await?;
    import_scenario(b, scenario).await?;
    let everything = (i64::MIN / 2, i64::MAX / 2);
    let rows = b.usage_page(everything, None, None, u32::MAX).await?;
    // Each row's batch, read before the new tables are emptied.
    let mut batches = Vec::new();
    for r in &rows {
        let batch: i64 = sqlx::query("SELECT batch_id FROM usage_rows WHERE id = ?")
            .bind(r.id.clone())
            .fetch_one(b.pool())
            .await
            .and_then(|row| sqlx::Row::try_get(&row, 0))
            .map_err(sql)?;
        batches.push(batch);
    }
    for stmt in ["DELETE FROM usage_rows", "DELETE FROM usage_rollups"] {
        sqlx::query(stmt).execute(b.pool()).await.map_err(sql)?;
    }
    for (r, batch) in rows.iter().zip(batches) {
        sqlx::query(
            "INSERT INTO usage_legacy (id, batch_id, synthetic, subscription, meter, sku, resource, start_text, end_text, quantity_text, start_ns, end_ns, malformed) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id.clone())
        .bind(batch)
        .bind(i64::from(r.synthetic))
        .bind(r.subscription.clone())
        .bind(r.meter.clone())
        .bind(r.sku.clone())
        .bind(r.resource.clone())
        .bind(r.start.clone())
        .bind(r.end.clone())
        .bind(r.quantity.clone())
        .bind(r.start_ns)
        .bind(r.end_ns)
        .bind(i64::from(r.malformed))
        .execute(b.pool())
        .await
        .map_err(sql)?;
    }
    let moved = b.convert_legacy_usage().await?;
    if moved != rows.len() as u64 || b.convert_legacy_usage().await? != 0 {
        return Err(StoreError::InvalidState(format!(
            "converted {moved} of {} legacy rows, or converted twice",
            rows.len()
        )));
    }
    if a.usage_count().await? != b.usage_count().await? {
        return Err(StoreError::InvalidState("row counts differ".into()));
    }
    let first = rows.iter().filter_map(|r| r.start_ns).min().unwrap_or(0);
    let (want, got) = (bill(a, period, None).await?, bill(b, period, None).await?);
    if want.document != got.document {
        return Err(StoreError::InvalidState(format!(
            "billing differs after conversion (first day {})",
            first.div_euclid(DAY_NS)
        )));
    }
    Ok(())
}

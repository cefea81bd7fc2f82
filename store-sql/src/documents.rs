//! Kept invoice documents: the `Store` methods of the documents repository.

use sqlx::Row;
use stackbill_store::{Result, StoreError};

use crate::SqlStore;
use crate::attempts::Attempt;

const FIND: &str = "SELECT content FROM invoice_documents WHERE invoice_id = ? AND format = ?";

pub(crate) async fn invoice_document(
    store: &SqlStore,
    invoice: i64,
    format: &str,
) -> Result<Option<Vec<u8>>> {
    sqlx::query(FIND)
        .bind(invoice)
        .bind(format.to_owned())
        .fetch_optional(&store.pool)
        .await
        .map_err(crate::db)?
        .map(|r| r.try_get::<Vec<u8>, _>("content").map_err(crate::db))
        .transpose()
}

pub(crate) async fn keep_invoice_document(
    store: &SqlStore,
    invoice: i64,
    format: &str,
    content: &[u8],
) -> Result<Vec<u8>> {
    store
        .retrying(|| keep_once(store, invoice, format, content))
        .await
}

/// One attempt: the kept document if there is one, else this one inserted. Two processes
/// keeping at once collide on the primary key; the loser's retry reads the winner's.
async fn keep_once(
    store: &SqlStore,
    invoice: i64,
    format: &str,
    content: &[u8],
) -> Attempt<Vec<u8>> {
    let err = |e| store.attempt_err(e);
    let mut tx = store.pool.begin().await.map_err(err)?;
    let status: Option<String> = sqlx::query("SELECT status FROM invoices WHERE id = ?")
        .bind(invoice)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?
        .map(|r| r.try_get("status"))
        .transpose()
        .map_err(err)?;
    match status.as_deref() {
        None => {
            return Err((
                StoreError::NotFound {
                    kind: "invoice",
                    id: invoice.to_string(),
                },
                false,
            ));
        }
        Some("preview") => {
            return Err((
                StoreError::InvalidState(format!(
                    "invoice {invoice} is a preview; only an issued invoice's document is kept"
                )),
                false,
            ));
        }
        Some(_) => {}
    }
    let kept = sqlx::query(FIND)
        .bind(invoice)
        .bind(format.to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
    if let Some(row) = kept {
        return row.try_get::<Vec<u8>, _>("content").map_err(err);
    }
    sqlx::query("INSERT INTO invoice_documents (invoice_id, format, content) VALUES (?, ?, ?)")
        .bind(invoice)
        .bind(format.to_owned())
        .bind(content.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(content.to_vec())
}

pub(crate) async fn invoice_documents_to_archive(
    store: &SqlStore,
    format: &str,
) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT invoice_id FROM invoice_documents WHERE format = ? AND archived_at IS NULL ORDER BY invoice_id",
    )
    .bind(format.to_owned())
    .fetch_all(&store.pool)
    .await
    .map_err(crate::db)?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>("invoice_id").map_err(crate::db))
        .collect()
}

pub(crate) async fn mark_invoice_document_archived(
    store: &SqlStore,
    invoice: i64,
    format: &str,
    at: &str,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE invoice_documents SET archived_at = ? WHERE invoice_id = ? AND format = ? AND archived_at IS NULL",
    )
    .bind(at.to_owned())
    .bind(invoice)
    .bind(format.to_owned())
    .execute(&store.pool)
    .await
    .map_err(crate::db)?;
    if done.rows_affected() == 0 && invoice_document(store, invoice, format).await?.is_none() {
        return Err(StoreError::NotFound {
            kind: "invoice document",
            id: format!("{invoice}/{format}"),
        });
    }
    Ok(())
}

//! Conformance case for kept invoice documents: only an issued invoice's document is kept,
//! once per format, and two processes keeping different bytes at once both get the first.

use super::{base_scenario, check, fail, generated_rows, october};
use stackbill_store::billing::{bill, import_scenario};
use stackbill_store::{InvoiceFilter, Result, Store, StoreError};

pub async fn invoice_documents_are_kept_once(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    store
        .ingest_usage(&october(), &generated_rows(60, 0))
        .await?;
    bill(store, "2026-10", None).await?;
    let previews = store.invoices(&InvoiceFilter::default()).await?;
    let preview = previews.first().ok_or_else(|| fail("no preview".into()))?;
    match store
        .keep_invoice_document(preview.id, "pdf", b"%PDF-")
        .await
    {
        Err(StoreError::InvalidState(_)) => {}
        other => return Err(fail(format!("a preview's document was kept: {other:?}"))),
    }
    match store.keep_invoice_document(i64::MAX, "pdf", b"%PDF-").await {
        Err(StoreError::NotFound { .. }) => {}
        other => return Err(fail(format!("a missing invoice's document: {other:?}"))),
    }
    let issued = store.issue_invoice(preview.id, "2026-11-03").await?;
    check(
        store.invoice_document(issued.id, "pdf").await?.is_none(),
        || "a document before any was kept".into(),
    )?;
    // Every byte value survives the round trip, NUL and invalid UTF-8 included.
    let first: Vec<u8> = (0..=255_u8).cycle().take(70_000).collect();
    let (a, b) = tokio::join!(
        store.keep_invoice_document(issued.id, "pdf", &first),
        store.keep_invoice_document(issued.id, "pdf", b"second")
    );
    let (a, b) = (a?, b?);
    check(a == b, || "two keepers got different documents".into())?;
    check(a == first || a == b"second", || {
        "a kept document changed".into()
    })?;
    let later = store
        .keep_invoice_document(issued.id, "pdf", b"later")
        .await?;
    check(later == a, || "a later keep replaced the document".into())?;
    check(
        store.invoice_document(issued.id, "pdf").await? == Some(a),
        || "the kept document reads back differently".into(),
    )?;
    store
        .keep_invoice_document(issued.id, "html", b"<html>")
        .await?;
    // Archiving: listed until marked, marked once.
    check(
        store.invoice_documents_to_archive("pdf").await? == [issued.id],
        || "the kept PDF waits for the archive".into(),
    )?;
    store
        .mark_invoice_document_archived(issued.id, "pdf", "2026-11-03T10:00:00Z")
        .await?;
    store
        .mark_invoice_document_archived(issued.id, "pdf", "2026-11-04T10:00:00Z")
        .await?;
    check(
        store.invoice_documents_to_archive("pdf").await?.is_empty(),
        || "an archived document is listed again".into(),
    )?;
    check(
        store.invoice_documents_to_archive("html").await? == [issued.id],
        || "formats are archived on their own".into(),
    )?;
    match store
        .mark_invoice_document_archived(i64::MAX, "pdf", "2026-11-03T10:00:00Z")
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => return Err(fail(format!("archiving a missing document: {other:?}"))),
    }
    check(
        store.invoice_document(issued.id, "html").await?.as_deref() == Some(b"<html>".as_slice()),
        || "each format is kept on its own".into(),
    )
}

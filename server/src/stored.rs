//! The subcommands that work on a database: `migrate`, `import-scenario`, `usage import`,
//! `bill` and `export-scenario`. They translate arguments and results; the work is done by
//! `stackbill-store` and the store crates.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use stackbill_store::billing::{self, SyntheticIds, usage_row_from_text};
use stackbill_store::{IngestReport, Store, StoreError, UsageBatch, UsageRow};
use stackbill_store_sql::SqlStore;

/// Where a database is.
pub(crate) fn default_database() -> String {
    std::env::var("STACKBILL_DATABASE").unwrap_or_else(|_| "sqlite://stackbill.db".to_owned())
}

/// Opens the store at `url` (`mysql://…`/`mariadb://…` or `sqlite://…`). SQLite, the embedded
/// default, is created and migrated on first use; MySQL needs `stackbill migrate`.
pub(crate) async fn open(url: &str) -> Result<SqlStore, StoreError> {
    if let Some(rest) = url.strip_prefix("mariadb://") {
        return stackbill_store_mysql::connect(&format!("mysql://{rest}")).await;
    }
    if url.starts_with("mysql://") {
        return stackbill_store_mysql::connect(url).await;
    }
    if url.starts_with("sqlite:") {
        let store = stackbill_store_sqlite::connect(url).await?;
        stackbill_store_sqlite::migrate(&store).await?;
        return Ok(store);
    }
    Err(StoreError::InvalidState(format!(
        "unsupported database URL {url:?}: use mysql://, mariadb:// or sqlite://"
    )))
}

/// Applies the schema migrations.
pub(crate) async fn migrate(url: &str) -> Result<String, StoreError> {
    let store = open(url).await?;
    if url.starts_with("sqlite:") {
        return Ok("migrated (sqlite)".into());
    }
    stackbill_store_mysql::migrate(&store).await?;
    Ok("migrated (mysql)".into())
}

/// Rows per ingest transaction.
const BATCH: usize = 5000;

/// Imports a usage file, batch by batch: one thread reads and parses while the database
/// writes the previous batch, so memory holds a few batches, never the file.
pub(crate) async fn import_usage(
    url: &str,
    path: &Path,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<IngestReport, String> {
    let store = open(url).await.map_err(|e| e.to_string())?;
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<UsageRow>>(4);
    let file = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let mut ids = SyntheticIds::default();
        let mut current = Vec::with_capacity(BATCH);
        let mut send = |rows: &mut Vec<UsageRow>| -> Result<(), stackbill_ingest::IngestError> {
            ids.assign(rows);
            // A closed channel means the writer stopped on an error it reports itself.
            let _ = sender.blocking_send(std::mem::replace(rows, Vec::with_capacity(BATCH)));
            Ok(())
        };
        stackbill_ingest::read_rows::<stackbill_ingest::IngestError>(
            &file,
            Arc::new(AtomicU64::new(0)),
            |row| {
                current.push(usage_row_from_text(row.text));
                if current.len() == BATCH {
                    send(&mut current)?;
                }
                Ok(())
            },
            progress,
        )?;
        if !current.is_empty() {
            send(&mut current)?;
        }
        Ok::<(), stackbill_ingest::IngestError>(())
    });
    let source = path.display().to_string();
    let mut report = IngestReport::default();
    let mut failed = None;
    while let Some(rows) = batches.recv().await {
        let starts = rows.iter().filter_map(|r| r.start_ns);
        let ends = rows.iter().filter_map(|r| r.end_ns);
        let window = (starts.min().unwrap_or(0), ends.max().unwrap_or(0));
        let batch = UsageBatch {
            source: source.clone(),
            window,
        };
        match store.ingest_usage(&batch, &rows).await {
            Ok(r) => report += r,
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        }
    }
    drop(batches);
    let read = reader
        .await
        .map_err(|e| format!("the reader failed: {e}"))?;
    if let Some(e) = failed {
        return Err(format!(
            "{e} (batches before the failure were committed; re-running the import is safe)"
        ));
    }
    read.map_err(|e| e.to_string())?;
    Ok(report)
}

/// Imports a scenario document.
pub(crate) async fn import_scenario(
    url: &str,
    text: &str,
) -> Result<billing::ImportReport, StoreError> {
    let store = open(url).await?;
    billing::import_scenario(&store, text).await
}

/// Bills a period and returns the §10 document of what was written.
pub(crate) async fn bill(
    url: &str,
    period: &str,
    tenant: Option<&str>,
) -> Result<(serde_json::Value, billing::BillReport), StoreError> {
    let store = open(url).await?;
    let report = billing::bill(&store, period, tenant).await?;
    Ok((report.document.clone(), report))
}

/// The scenario equivalent to billing a period.
pub(crate) async fn export_scenario(
    url: &str,
    period: &str,
) -> Result<serde_json::Value, StoreError> {
    let store = open(url).await?;
    billing::export_scenario(&store, period).await
}

//! The subcommands that work on a database: `migrate`, `import-scenario`, `usage import`,
//! `fx`, `bill` and `export-scenario`. They translate arguments and results; the work is done by
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

/// Opens the store at `url` with every migration applied (MySQL included).
pub(crate) async fn open_migrated(url: &str) -> Result<SqlStore, StoreError> {
    let store = open(url).await?;
    if !url.starts_with("sqlite:") {
        stackbill_store_mysql::migrate(&store).await?;
    }
    Ok(store)
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

/// Writers ingesting concurrently (each on its own connection).
const WRITERS: usize = 2;

/// Imports a usage file, batch by batch: one thread reads and parses while the database
/// writes, so memory holds a few batches, never the file. Rows are split between
/// `WRITERS` by a hash of their id, so all rows of one id reach the same writer in file
/// order and "the last record wins" holds however the writers interleave.
pub(crate) async fn import_usage(
    url: &str,
    path: &Path,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<IngestReport, String> {
    let store = open(url).await.map_err(|e| e.to_string())?;
    let mut senders = Vec::with_capacity(WRITERS);
    let mut receivers = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<UsageRow>>(2);
        senders.push(sender);
        receivers.push(receiver);
    }
    let file = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let mut ids = SyntheticIds::default();
        let mut pending: Vec<Vec<UsageRow>> = (0..WRITERS).map(|_| Vec::new()).collect();
        let mut current = Vec::with_capacity(BATCH);
        let mut flush = |rows: &mut Vec<UsageRow>, pending: &mut Vec<Vec<UsageRow>>, last: bool| {
            ids.assign(rows);
            for row in rows.drain(..) {
                let w = (fnv1a(&row.id).checked_rem(WRITERS as u64).unwrap_or(0)) as usize;
                pending[w].push(row);
            }
            for (w, part) in pending.iter_mut().enumerate() {
                if last || part.len() >= BATCH {
                    // A closed channel means that writer stopped on an error it reports.
                    let _ = senders[w].blocking_send(std::mem::take(part));
                }
            }
        };
        stackbill_ingest::read_rows::<stackbill_ingest::IngestError>(
            &file,
            Arc::new(AtomicU64::new(0)),
            |row| {
                current.push(usage_row_from_text(row.text));
                if current.len() == BATCH {
                    flush(&mut current, &mut pending, false);
                }
                Ok(())
            },
            progress,
        )?;
        flush(&mut current, &mut pending, true);
        Ok::<(), stackbill_ingest::IngestError>(())
    });
    let source = path.display().to_string();
    let writers = receivers.into_iter().map(|mut batches| {
        let (store, source) = (&store, &source);
        async move {
            let mut report = IngestReport::default();
            while let Some(rows) = batches.recv().await {
                if rows.is_empty() {
                    continue;
                }
                let starts = rows.iter().filter_map(|r| r.start_ns);
                let ends = rows.iter().filter_map(|r| r.end_ns);
                let batch = UsageBatch {
                    source: source.clone(),
                    window: (starts.min().unwrap_or(0), ends.max().unwrap_or(0)),
                };
                std::ops::AddAssign::add_assign(
                    &mut report,
                    store.ingest_usage(&batch, &rows).await?,
                );
            }
            Ok::<IngestReport, StoreError>(report)
        }
    });
    let results = futures::future::join_all(writers).await;
    let read = reader
        .await
        .map_err(|e| format!("the reader failed: {e}"))?;
    let mut report = IngestReport::default();
    for r in results {
        let done = r.map_err(|e| {
            format!(
                "{e} (batches before the failure were committed; re-running the import is safe)"
            )
        })?;
        std::ops::AddAssign::add_assign(&mut report, done);
    }
    read.map_err(|e| e.to_string())?;
    Ok(report)
}

/// A stable hash for splitting rows between writers.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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

/// Every published FX rate, oldest first, as contract objects.
pub(crate) async fn fx_list(url: &str) -> Result<Vec<serde_json::Value>, StoreError> {
    let store = open_migrated(url).await?;
    Ok(store
        .fx_rates()
        .await?
        .into_iter()
        .map(|r| serde_json::json!({"from": r.from, "to": r.to, "rate": r.rate, "as_of": r.as_of}))
        .collect())
}

/// Publishes a rate after the core's checks; a rate for the same pair and day must be
/// withdrawn first.
pub(crate) async fn fx_add(
    url: &str,
    from: &str,
    to: &str,
    rate: &str,
    as_of: &str,
) -> Result<(), StoreError> {
    let parsed = stackbill_core::fx::FxRate::parse(from, to, rate, as_of)?;
    let store = open_migrated(url).await?;
    let row = stackbill_store::FxRateRow {
        from: parsed.from.code().to_owned(),
        to: parsed.to.code().to_owned(),
        rate: rate.to_owned(),
        as_of: as_of.to_owned(),
    };
    let rates = store.fx_rates().await?;
    if rates
        .iter()
        .any(|r| r.from == row.from && r.to == row.to && r.as_of == row.as_of)
    {
        return Err(StoreError::Conflict {
            kind: "fx rate",
            id: format!("{}/{}/{}", row.from, row.to, row.as_of),
            field: "as_of",
        });
    }
    store.add_fx_rate(&row).await
}

/// Withdraws the rate of a pair as of a day.
pub(crate) async fn fx_delete(
    url: &str,
    from: &str,
    to: &str,
    as_of: &str,
) -> Result<(), StoreError> {
    let store = open_migrated(url).await?;
    store
        .delete_fx_rate(&from.to_ascii_uppercase(), &to.to_ascii_uppercase(), as_of)
        .await
}

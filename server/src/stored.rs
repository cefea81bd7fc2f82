//! The subcommands that work on a database: `migrate`, `import-scenario`, `usage import`,
//! `fx`, `bill` and `export-scenario`. They translate arguments and results; the work is done by
//! `stackbill-store` and the store crates.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use stackbill_store::billing::{self, SyntheticIds, usage_row_from_text};
use stackbill_store::{IngestReport, Store, StoreError, UsageRow};
use stackbill_store_sql::{SqlStore, UsageChunk};

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

/// Copies an SQLite database to `to` (see `stackbill_store_sqlite::backup`).
pub(crate) async fn backup(url: &str, to: &std::path::Path) -> Result<(), StoreError> {
    if !url.starts_with("sqlite:") {
        return Err(StoreError::InvalidState(
            "stackbill backup copies SQLite databases; back MySQL/MariaDB up with \
             mysqldump --single-transaction and its binary log (docs/operations.md)"
                .into(),
        ));
    }
    let store = open(url).await?;
    stackbill_store_sqlite::backup(&store, to).await
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

/// Rows the reader hands to the writer at a time.
const CHUNK: usize = 10_000;

/// Why the reader stopped early.
enum ReadStop {
    /// The file could not be read.
    File(stackbill_ingest::IngestError),
    /// The writer stopped (on an error it reports).
    Writer,
}

impl From<stackbill_ingest::IngestError> for ReadStop {
    fn from(e: stackbill_ingest::IngestError) -> Self {
        Self::File(e)
    }
}

/// Imports a usage file: one thread reads and parses while one writer streams the rows
/// into the store ([`SqlStore::usage_import`]), so memory holds a few chunks, never the
/// file, and rows reach the store in file order ("the last record wins" within the file).
pub(crate) async fn import_usage(
    url: &str,
    path: &Path,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<IngestReport, String> {
    let store = open(url).await.map_err(|e| e.to_string())?;
    let (sender, mut chunks) = tokio::sync::mpsc::channel::<UsageChunk>(4);
    let file = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let mut ids = SyntheticIds::default();
        let mut current = Vec::with_capacity(CHUNK);
        let mut send = |rows: &mut Vec<UsageRow>| {
            ids.assign(rows);
            let full = std::mem::replace(rows, Vec::with_capacity(CHUNK));
            // Prepared here, on the reader's thread, while the writer writes.
            sender
                .blocking_send(UsageChunk::new(full))
                .map_err(|_| ReadStop::Writer)
        };
        stackbill_ingest::read_rows::<ReadStop>(
            &file,
            Arc::new(AtomicU64::new(0)),
            |row| {
                current.push(usage_row_from_text(row.text));
                if current.len() == CHUNK {
                    send(&mut current)?;
                }
                Ok(())
            },
            progress,
        )?;
        if !current.is_empty() {
            send(&mut current)?;
        }
        Ok::<(), ReadStop>(())
    });
    let source = path.display().to_string();
    let written = async {
        let mut import = store.usage_import(&source).await?;
        while let Some(chunk) = chunks.recv().await {
            import.push(&chunk).await?;
            // Freeing a chunk's rows is the writer's work otherwise.
            drop(tokio::task::spawn_blocking(move || drop(chunk)));
        }
        import.finish().await
    }
    .await;
    // A failed writer drops its receiver, which stops the reader.
    drop(chunks);
    let read = reader
        .await
        .map_err(|e| format!("the reader failed: {e}"))?;
    let report = written.map_err(|e| {
        format!("{e} (batches before the failure were committed; re-running the import is safe)")
    })?;
    match read {
        Ok(()) | Err(ReadStop::Writer) => Ok(report),
        Err(ReadStop::File(e)) => Err(format!(
            "{e} (rows before it were committed; re-running the import is safe)"
        )),
    }
}

/// Imports a scenario document.
pub(crate) async fn import_scenario(
    url: &str,
    text: &str,
) -> Result<billing::ImportReport, StoreError> {
    let store = open(url).await?;
    let report = billing::import_scenario(&store, text).await?;
    // Servers running on the database read the imported hierarchy and settings.
    store.bump_cache_version().await?;
    Ok(report)
}

/// Bills a period; the report's `document` is the §10 document of what was written.
pub(crate) async fn bill(
    url: &str,
    period: &str,
    tenant: Option<&str>,
) -> Result<billing::BillReport, StoreError> {
    let store = open(url).await?;
    billing::bill(&store, period, tenant).await
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

/// What `stackbill export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Exported {
    /// Invoices of the period, one row each.
    Invoices,
    /// Every line of the period's invoices.
    InvoiceLines,
    /// The billing summary of the period.
    Summary,
    /// Commission summaries of a month (YYYY-MM) or a year (YYYY).
    Commissions,
}

/// The table `what` for `period` (and `tenant`), with the platform's whole scope: the same
/// table the API exports for a platform reader.
pub(crate) async fn export(
    url: &str,
    what: Exported,
    period: &str,
    tenant: Option<&str>,
) -> Result<stackbill_export::Table, String> {
    use crate::api::access::Directory;
    use crate::api::commissions::{CommissionQuery, months, summaries_in, table};
    let store = open(url).await.map_err(|e| e.to_string())?;
    let dir = Directory::load(&store).await.map_err(|e| e.to_string())?;
    if what == Exported::Commissions {
        if tenant.is_some() {
            return Err("--tenant: commissions are per partner and distributor".into());
        }
        let (label, periods) =
            months(&CommissionQuery::month_or_year(period)).map_err(|e| e.to_string())?;
        let rows = summaries_in(&store, &dir, &|_| true, &label, &periods)
            .await
            .map_err(|e| e.to_string())?;
        return table(&label, &rows).map_err(|e| e.to_string());
    }
    let period = crate::api::billing::parse_period("--period", period)
        .map(crate::api::billing::period_text)
        .map_err(|e| e.to_string())?;
    let tenant = match tenant {
        Some(t) => Some(
            dir.tenant(t)
                .map(|row| row.id.clone())
                .ok_or_else(|| format!("--tenant: no tenant {t:?}"))?,
        ),
        None => None,
    };
    let filter = stackbill_store::InvoiceFilter {
        period: Some(period.clone()),
        tenant,
        ..stackbill_store::InvoiceFilter::default()
    };
    let rows = store.invoices(&filter).await.map_err(|e| e.to_string())?;
    let rows: Vec<&stackbill_store::InvoiceRow> = rows.iter().collect();
    let today = crate::api::billing::today(&store)
        .await
        .map_err(|e| e.to_string())?;
    match what {
        Exported::Invoices => crate::reports::invoices(&rows, &dir, today),
        Exported::InvoiceLines => crate::reports::invoice_lines(&rows, today),
        // Commissions returned above.
        Exported::Summary | Exported::Commissions => {
            crate::reports::summary(&period, &rows, &dir, today)
        }
    }
    .map_err(|e| e.to_string())
}

/// Writes invoice `id`'s document to `output` (`stackbill invoice render`); the format is
/// `format`, else the file's extension, else PDF.
pub(crate) async fn render_invoice(
    url: &str,
    id: i64,
    format: Option<&str>,
    output: &std::path::Path,
) -> Result<String, String> {
    use crate::documents::Format;
    let name = format
        .map(str::to_owned)
        .or_else(|| output.extension().map(|e| e.to_string_lossy().into_owned()));
    let format = match name.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("pdf") => Format::Pdf,
        Some("html" | "htm") => Format::Html,
        Some(other) if format.is_some() => {
            return Err(format!("--format: {other:?} is not pdf or html"));
        }
        Some(_) => Format::Pdf,
    };
    let store = open(url).await.map_err(|e| e.to_string())?;
    let row = store.invoice(id).await.map_err(|e| e.to_string())?;
    let bytes = crate::documents::document(&store, &row, format)
        .await
        .map_err(|e| e.to_string())?;
    std::fs::write(output, &bytes).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(format!(
        "invoice {id} ({}) written to {} as {}, {} bytes",
        row.number.as_deref().unwrap_or("preview"),
        output.display(),
        format.name(),
        bytes.len()
    ))
}

//! The embedded SQLite store, StackBill's default: its migrations, its dialect, and
//! opening a database file (created on first use).

use sqlx::any::AnyPoolOptions;
use stackbill_store::{Result, StoreError};
use stackbill_store_sql::{Dialect, SqlStore};

/// The schema, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// SQLite specifics: SQLITE_BUSY (5, 261, 517) and SQLITE_LOCKED (6) are retried; a
/// trigger's RAISE(ABORT) reports SQLITE_CONSTRAINT_TRIGGER (1811).
pub const DIALECT: Dialect = Dialect {
    name: "sqlite",
    retryable,
    immutable,
    upsert_rollup: "ON CONFLICT (day, key_id, invalid) DO UPDATE SET quantity = excluded.quantity, records = excluded.records",
    lock_rows: "",
    after_import: Some("PRAGMA wal_checkpoint(TRUNCATE)"),
};

fn code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

fn retryable(e: &sqlx::Error) -> bool {
    matches!(code(e).as_deref(), Some("5" | "6" | "261" | "517"))
}

fn immutable(e: &sqlx::Error) -> bool {
    code(e).as_deref() == Some("1811")
}

/// Opens (creating if needed) the database at `url` (`sqlite://path/to/file.db`), with
/// foreign keys enforced.
pub async fn connect(url: &str) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let url = if url.contains('?') {
        url.to_owned()
    } else {
        format!("{url}?mode=rwc")
    };
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA busy_timeout = 5000")
                    .execute(&mut *conn)
                    .await?;
                // Ingest writes rows, an id index and roll-ups in large transactions: a
                // 64 MiB page cache keeps the index pages it revisits in memory (the
                // default, 2 MiB, rereads them), statement journals stay in memory, and
                // the WAL is folded into the database every 64 MiB rather than every
                // 4 MiB, so a hot page is copied back once per checkpoint, not per batch.
                for pragma in [
                    "PRAGMA cache_size = -65536",
                    "PRAGMA temp_store = MEMORY",
                    "PRAGMA wal_autocheckpoint = 16384",
                ] {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| StoreError::Database(format!("cannot open {url}: {e}")))?;
    Ok(SqlStore::new(pool, DIALECT))
}

/// Applies pending migrations.
pub async fn migrate(store: &SqlStore) -> Result<()> {
    // Processes opening a new file together may both find a migration pending; each
    // migration is one transaction, so the one that loses rolls back whole and, tried
    // again, finds it applied.
    let mut tries = 0u32;
    loop {
        match MIGRATOR.run(store.pool()).await {
            Ok(()) => break,
            Err(_) if tries < 40 => {
                tries = tries.saturating_add(1);
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => return Err(StoreError::Database(format!("migration failed: {e}"))),
        }
    }
    store.convert_legacy_usage().await?;
    Ok(())
}

/// Writes a consistent copy of the whole database to `to` while others keep reading and
/// writing it (`VACUUM INTO`: one read transaction, so the copy is the database as of
/// one commit, compacted). `to` must not exist: a backup never overwrites.
pub async fn backup(store: &SqlStore, to: &std::path::Path) -> Result<()> {
    if to.exists() {
        return Err(StoreError::Database(format!(
            "{} exists; a backup is written to a new file",
            to.display()
        )));
    }
    let path = to
        .to_str()
        .ok_or_else(|| StoreError::Database(format!("{} is not UTF-8", to.display())))?;
    sqlx::query("VACUUM INTO ?")
        .bind(path.to_owned())
        .execute(store.pool())
        .await
        .map(drop)
        .map_err(|e| StoreError::Database(format!("backup to {path}: {e}")))
}

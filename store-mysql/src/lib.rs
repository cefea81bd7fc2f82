//! The MySQL 8 / MariaDB 10.11 store: its migrations, its dialect, and connecting.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let store = stackbill_store_mysql::connect("mysql://root@127.0.0.1:3306/stackbill").await?;
//! # Ok(()) }
//! ```

use sqlx::any::AnyPoolOptions;
use stackbill_store::{Result, StoreError};
use stackbill_store_sql::{Dialect, SqlStore};

/// The schema, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// MySQL/MariaDB specifics: deadlocks (1213), lock-wait timeouts (1205) and a concurrent
/// insert of the same usage id (1062) are retried; the immutability triggers signal
/// SQLSTATE 45000.
pub const DIALECT: Dialect = Dialect {
    name: "mysql",
    retryable,
    immutable,
    upsert_rollup: "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), records = VALUES(records)",
    lock_rows: " FOR UPDATE",
    after_import: None,
};

fn error_number(e: &sqlx::Error) -> Option<u16> {
    match e {
        sqlx::Error::Database(d) => d
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(|m| m.number()),
        _ => None,
    }
}

fn retryable(e: &sqlx::Error) -> bool {
    matches!(error_number(e), Some(1213 | 1205 | 1062))
}

fn immutable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("45000"))
}

/// Connects, creating nothing: the database must exist. Call [`migrate`] first.
pub async fn connect(url: &str) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await
        .map_err(|e| StoreError::Database(format!("cannot connect: {e}")))?;
    Ok(SqlStore::new(pool, DIALECT))
}

/// Applies pending migrations.
pub async fn migrate(store: &SqlStore) -> Result<()> {
    // Processes started together migrate one at a time: a named lock held on one
    // connection while the migrations run on others (MySQL DDL is not transactional, so
    // two runs at once leave a migration half-recorded). GET_LOCK is per server: on a
    // Galera cluster run `stackbill migrate` once (docs/operations.md).
    let mut holder = store
        .pool()
        .acquire()
        .await
        .map_err(|e| StoreError::Database(format!("migration lock: {e}")))?;
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('stackbill.migrate', 600)")
        .fetch_one(&mut *holder)
        .await
        .map_err(|e| StoreError::Database(format!("migration lock: {e}")))?;
    if got != Some(1) {
        return Err(StoreError::Database(
            "migration lock: another process has been migrating for 10 minutes".into(),
        ));
    }
    let migrated = MIGRATOR
        .run(store.pool())
        .await
        .map_err(|e| StoreError::Database(format!("migration failed: {e}")));
    let converted = match migrated {
        Ok(()) => store.convert_legacy_usage().await.map(drop),
        Err(e) => Err(e),
    };
    sqlx::query("SELECT RELEASE_LOCK('stackbill.migrate')")
        .execute(&mut *holder)
        .await
        .ok();
    converted
}

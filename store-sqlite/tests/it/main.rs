//! The store conformance suite and SQLite-specific tests, each on a fresh database file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod specific;

use std::sync::atomic::{AtomicU32, Ordering};

use stackbill_store_sql::SqlStore;

/// Deletes the test database files when the test ends.
pub(crate) struct Database(pub(crate) std::path::PathBuf);

impl Drop for Database {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

pub(crate) async fn fresh() -> (SqlStore, Database) {
    let path = std::env::temp_dir().join(format!(
        "stackbill-t{}-{}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let guard = Database(path.clone());
    let store = stackbill_store_sqlite::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    stackbill_store_sqlite::migrate(&store).await.unwrap();
    (store, guard)
}

stackbill_testkit::conformance_tests!(crate::fresh());

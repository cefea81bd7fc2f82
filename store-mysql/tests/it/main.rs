//! The store conformance suite and MySQL-specific tests against the MariaDB server at
//! 127.0.0.1:3306 (root, no password; `STACKBILL_TEST_MYSQL` overrides the server URL).
//! Every test creates its own database and drops it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod specific;

use std::sync::atomic::{AtomicU32, Ordering};

use stackbill_store_sql::SqlStore;

pub(crate) fn server_url() -> String {
    std::env::var("STACKBILL_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// Drops the test database when the test ends (even when it fails).
pub(crate) struct Database(pub(crate) String);

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::process::Command::new("mariadb")
            .args([
                "-uroot",
                "-h127.0.0.1",
                "-e",
                &format!("DROP DATABASE IF EXISTS `{}`", self.0),
            ])
            .output();
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new, empty database (no schema) and a store on it.
pub(crate) async fn empty() -> (SqlStore, Database) {
    let name = format!(
        "stackbill_t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let admin = stackbill_store_mysql::connect(&format!("{}/mysql", server_url()))
        .await
        .expect("MariaDB runs at 127.0.0.1:3306 (scripts/test starts it)");
    let create = format!("CREATE DATABASE `{name}`");
    sqlx::query(&create).execute(admin.pool()).await.unwrap();
    admin.pool().close().await;
    let guard = Database(name.clone());
    let store = stackbill_store_mysql::connect(&format!("{}/{name}", server_url()))
        .await
        .unwrap();
    (store, guard)
}

/// A new database with the schema applied.
pub(crate) async fn fresh() -> (SqlStore, Database) {
    let (store, guard) = empty().await;
    stackbill_store_mysql::migrate(&store).await.unwrap();
    (store, guard)
}

stackbill_testkit::conformance_tests!(crate::fresh());

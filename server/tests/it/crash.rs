//! Crash safety: `stackbill usage import` and `stackbill bill` killed with SIGKILL at
//! random points, then run again, on both stores. Every row ends up stored exactly once
//! (the store's export equals that of an import that was never interrupted), previews are
//! at every moment either absent or the complete set of an uninterrupted run, and the
//! final bill equals the uninterrupted one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stackbill_store::{InvoiceFilter, InvoiceStatus, Store};

const PERIOD: &str = "2026-10";
const KILLS: usize = 20;

/// A fresh database, dropped (MariaDB) or deleted (SQLite) at the end.
struct Database {
    url: String,
    mariadb: Option<String>,
}

impl Database {
    fn sqlite(dir: &Path, name: &str) -> Self {
        Database {
            url: format!("sqlite://{}/{name}.sqlite", dir.display()),
            mariadb: None,
        }
    }

    fn mariadb(name: &str) -> Self {
        let name = format!("stackbill_crash_{}_{name}", std::process::id());
        mariadb_sql(&format!(
            "DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`"
        ));
        Database {
            url: format!("mysql://root@127.0.0.1:3306/{name}"),
            mariadb: Some(name),
        }
    }

    /// The preview invoices of the period: (tenant, currency, total), sorted.
    fn previews(&self) -> Vec<(String, String, String)> {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let store = if self.mariadb.is_some() {
                stackbill_store_mysql::connect(&self.url).await.unwrap()
            } else {
                stackbill_store_sqlite::connect(&self.url).await.unwrap()
            };
            let mut rows: Vec<_> = store
                .invoices(&InvoiceFilter {
                    period: Some(PERIOD.into()),
                    tenant: None,
                    status: Some(InvoiceStatus::Preview),
                })
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.tenant, i.currency, i.total))
                .collect();
            rows.sort();
            rows
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = &self.mariadb {
            mariadb_sql(&format!("DROP DATABASE IF EXISTS `{name}`"));
        }
    }
}

fn mariadb_sql(sql: &str) {
    let out = Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-e", sql])
        .output()
        .expect("the mariadb client is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stackbill(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackbill"));
    command.args(args);
    command
}

/// Runs to completion; returns stdout.
fn run(args: &[&str]) -> Vec<u8> {
    let out = stackbill(args).stderr(Stdio::piped()).output().unwrap();
    assert!(
        out.status.success(),
        "stackbill {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Starts the command and SIGKILLs it after `after` unless it finished; returns whether
/// it was killed.
fn kill_after(args: &[&str], after: Duration) -> bool {
    let mut child = stackbill(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // `Child::kill` sends SIGKILL on Unix: no destructor, no flush, no rollback runs.
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed
}

/// Starts `args` and SIGKILLs it at a random point within `window` until KILLS runs
/// were really cut off (a run may finish before its kill point), calling `check` after
/// each; returns how many runs were started.
fn kill_repeatedly(
    args: &[&str],
    window: Duration,
    random: &mut Random,
    check: impl Fn(),
) -> usize {
    let (mut killed, mut attempts) = (0, 0);
    while killed < KILLS {
        attempts += 1;
        assert!(
            attempts <= 4 * KILLS,
            "{args:?} keeps finishing before the kill"
        );
        if kill_after(args, random.below(window)) {
            killed += 1;
        }
        check();
    }
    attempts
}

/// A small xorshift generator: the seed is printed, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn new() -> Self {
        let seed = std::env::var("STACKBILL_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash test seed: STACKBILL_CRASH_SEED={seed}");
        Random(seed)
    }

    /// A duration in [0, max).
    fn below(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(self.0 % nanos)
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stackbill-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn survives_kill_9(mariadb: bool) {
    let dir = temp_dir(if mariadb { "mariadb" } else { "sqlite" });
    let (usage, scenario) = (dir.join("usage.csv"), dir.join("scenario.json"));
    let (usage, scenario) = (usage.to_str().unwrap(), scenario.to_str().unwrap());
    run(&[
        "gen-usage",
        "--tenants",
        "30",
        "--meters",
        "10",
        "--hours",
        "100",
        "--seed",
        "9",
        "--duplicate-every",
        "7",
        "--usage",
        usage,
        "--scenario",
        scenario,
        "--quiet",
    ]);
    let database = |name: &str| {
        if mariadb {
            Database::mariadb(name)
        } else {
            Database::sqlite(&dir, name)
        }
    };

    // The run nothing interrupts.
    let reference = database("reference");
    run(&["migrate", "--database", &reference.url]);
    run(&["import-scenario", scenario, "--database", &reference.url]);
    let started = Instant::now();
    run(&[
        "usage",
        "import",
        usage,
        "--quiet",
        "--database",
        &reference.url,
    ]);
    let import_time = started.elapsed();
    let reference_export = run(&[
        "export-scenario",
        "--period",
        PERIOD,
        "--database",
        &reference.url,
    ]);
    let started = Instant::now();
    let reference_bill = run(&[
        "bill",
        "--period",
        PERIOD,
        "--json",
        "--database",
        &reference.url,
    ]);
    let bill_time = started.elapsed();
    let reference_previews = reference.previews();
    assert_eq!(reference_previews.len(), 30, "{reference_previews:?}");

    let crashed = database("crashed");
    run(&["migrate", "--database", &crashed.url]);
    run(&["import-scenario", scenario, "--database", &crashed.url]);
    let mut random = Random::new();
    let import = [
        "usage",
        "import",
        usage,
        "--quiet",
        "--database",
        &crashed.url,
    ];
    let attempts = kill_repeatedly(&import, import_time, &mut random, || {
        // Whatever was cut off, the store opens and bills nothing half-imported.
        assert!(crashed.previews().is_empty());
    });
    run(&import);
    let export = run(&[
        "export-scenario",
        "--period",
        PERIOD,
        "--database",
        &crashed.url,
    ]);
    assert!(
        export == reference_export,
        "after {KILLS} kills and a last import, the stored usage differs from an uninterrupted import"
    );
    eprintln!(
        "{}: {KILLS} imports killed mid-way ({attempts} started), all recovered",
        crashed.url
    );

    let bill = ["bill", "--period", PERIOD, "--database", &crashed.url];
    let attempts = kill_repeatedly(&bill, bill_time, &mut random, || {
        let previews = crashed.previews();
        assert!(
            previews.is_empty() || previews == reference_previews,
            "previews half-written after a kill: {} of {}",
            previews.len(),
            reference_previews.len()
        );
    });
    eprintln!(
        "{}: {KILLS} bills killed mid-way ({attempts} started), none half-written",
        crashed.url
    );
    let bill = run(&[
        "bill",
        "--period",
        PERIOD,
        "--json",
        "--database",
        &crashed.url,
    ]);
    assert!(
        bill == reference_bill,
        "the bill after {KILLS} killed runs differs"
    );
    assert_eq!(crashed.previews(), reference_previews);
    drop((reference, crashed));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sqlite_survives_kill_9_during_import_and_bill() {
    survives_kill_9(false);
}

#[test]
fn mariadb_survives_kill_9_during_import_and_bill() {
    survives_kill_9(true);
}

//! The backup and restore drill of docs/operations.md, run for real: SQLite copied online
//! with `stackbill backup`; MariaDB dumped with `mariadb-dump --single-transaction` and
//! brought forward to the last commit with its binary log (point-in-time recovery), on
//! a MariaDB started for the test with the binary log on. After each restore a server
//! on the restored database answers the same invoices, usage and audit log.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{Api, Db, Server};

/// Invoices with their documents, every usage record of the period, and the audit log.
fn snapshot(api: &Api) -> Value {
    let list = api.ok(
        "GET",
        "/api/v1/billing/invoices?period=2026-10&pageSize=1000",
        None,
    );
    let invoices: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            api.ok(
                "GET",
                &format!("/api/v1/billing/invoices/{}", i["id"].as_str().unwrap()),
                None,
            )
        })
        .collect();
    let mut usage = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/usage?period=2026-10&pageSize=5000&after={a}"),
            None => "/api/v1/usage?period=2026-10&pageSize=5000".to_owned(),
        };
        let page = api.ok("GET", &path, None);
        usage.extend(page["records"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let audit = api.ok("GET", "/api/v1/audit?pageSize=1000", None);
    assert!(!invoices.is_empty() && !usage.is_empty() && !audit.as_array().unwrap().is_empty());
    json!({"invoices": invoices, "usage": usage, "audit": audit})
}

/// Bills the demo month and issues one invoice: data in every table the drill compares.
fn bill_and_issue(api: &Api) -> String {
    api.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let list = api.ok(
        "GET",
        "/api/v1/billing/invoices?period=2026-10&pageSize=1000",
        None,
    );
    list[0]["id"].as_str().unwrap().to_owned()
}

fn stackbill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_sqlite_database_is_copied_online_and_restores_whole() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let first = bill_and_issue(&admin);
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{first}/issue"),
        Some(json!({})),
    );
    let before = snapshot(&admin);
    let copy = server.dir.join("backup.db");
    let url = server.database_url();
    // Online: the server keeps running.
    let out = stackbill(&["backup", "--database", &url, "--to", copy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A backup never overwrites.
    let again = stackbill(&["backup", "--database", &url, "--to", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    let restored_dir = server.dir.join("restored");
    std::fs::create_dir_all(&restored_dir).unwrap();
    std::fs::copy(&copy, restored_dir.join("db.sqlite")).unwrap();
    std::fs::copy(
        server.dir.join("stackbill.key"),
        restored_dir.join("stackbill.key"),
    )
    .unwrap();
    let restored = Server::start_in(
        &restored_dir,
        &format!("sqlite://{}/db.sqlite", restored_dir.display()),
    );
    assert_eq!(snapshot(&restored.admin()), before);
}

/// A MariaDB with its binary log on, in its own folder and port, for the drill.
struct BinlogMariaDb(Child, std::path::PathBuf);

impl Drop for BinlogMariaDb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

const PORT: &str = "3320";

fn sql(database: &str, statement: &str) {
    let out = Command::new("mariadb")
        .args(["-usb", "-h127.0.0.1", "-P", PORT, database, "-e", statement])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{statement}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn binlog_mariadb(dir: &Path) -> BinlogMariaDb {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let conf = dir.join("my.cnf");
    std::fs::write(
        &conf,
        format!(
            "[mysqld]\nuser=mysql\ndatadir={d}/data\nsocket={d}/mysqld.sock\npid-file={d}/mysqld.pid\n\
             log-error={d}/error.log\nport={PORT}\nbind-address=127.0.0.1\nskip-name-resolve\n\
             log-bin={d}/data/binlog\nbinlog_format=ROW\nserver-id=1\ninnodb_buffer_pool_size=64M\n\
             [client]\nsocket={d}/mysqld.sock\nuser=root\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let chown = |p: &Path| {
        Command::new("chown")
            .args(["-R", "mysql:mysql"])
            .arg(p)
            .status()
            .unwrap();
    };
    chown(dir);
    let out = Command::new("mariadb-install-db")
        .arg(format!("--defaults-file={}", conf.display()))
        .arg("--skip-test-db")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    chown(dir);
    let child = Command::new("mariadbd")
        .arg(format!("--defaults-file={}", conf.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = BinlogMariaDb(child, dir.to_owned());
    for _ in 0..120 {
        let ping = Command::new("mariadb-admin")
            .arg(format!("--defaults-file={}", conf.display()))
            .arg("ping")
            .output()
            .unwrap();
        if ping.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let out = Command::new("mariadb")
        .arg(format!("--defaults-file={}", conf.display()))
        .args([
            "-e",
            "CREATE USER 'sb'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'sb'@'127.0.0.1';",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
}

#[test]
fn a_mariadb_dump_and_its_binary_log_restore_to_the_last_commit() {
    let dir = std::env::temp_dir().join(format!("stackbill-drill-{}", std::process::id()));
    let _db = binlog_mariadb(&dir);
    sql("", "CREATE DATABASE stackbill");
    let url = format!("mysql://sb@127.0.0.1:{PORT}/stackbill");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let server = Server::start_in_with(&work, &url, &["--demo"]);
    let admin = server.admin();
    let first = bill_and_issue(&admin);

    // The nightly dump, with the binary log position it was taken at.
    let dump = Command::new("mariadb-dump")
        .args([
            "-usb",
            "-h127.0.0.1",
            "-P",
            PORT,
            "--single-transaction",
            "--master-data=2",
        ])
        .args(["--routines", "--triggers", "stackbill"])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    // The dump holds binary columns (migration checksums): kept as bytes.
    let dump_bytes = dump.stdout;
    let (file, position) = String::from_utf8_lossy(&dump_bytes)
        .lines()
        .find_map(|l| {
            let l = l.strip_prefix("-- CHANGE MASTER TO MASTER_LOG_FILE='")?;
            let (file, rest) = l.split_once("', MASTER_LOG_POS=")?;
            Some((file.to_owned(), rest.trim_end_matches(';').to_owned()))
        })
        .expect("the dump names its binary log position");

    // Work after the dump: an invoice issued (and audited).
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{first}/issue"),
        Some(json!({})),
    );
    let before = snapshot(&admin);
    // The key file is backed up with the database.
    let key = std::fs::read(work.join("stackbill.key")).unwrap();
    drop(server);
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("stackbill.key"), key).unwrap();

    // Restore: the dump, then the binary log from its position to the end.
    sql("", "CREATE DATABASE restored");
    let mut load = Command::new("mariadb")
        .args(["-usb", "-h127.0.0.1", "-P", PORT, "restored"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    load.stdin.take().unwrap().write_all(&dump_bytes).unwrap();
    assert!(load.wait().unwrap().success());
    let mut logs: Vec<_> = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("binlog.") && n != "binlog.index" && *n >= file)
        .collect();
    logs.sort();
    let replay = Command::new("mariadb-binlog")
        .arg(format!("--start-position={position}"))
        .args(["--database=stackbill", "--rewrite-db=stackbill->restored"])
        .args(logs.iter().map(|l| dir.join("data").join(l)))
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let mut apply = Command::new("mariadb")
        .args(["-usb", "-h127.0.0.1", "-P", PORT, "restored"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    apply
        .stdin
        .take()
        .unwrap()
        .write_all(&replay.stdout)
        .unwrap();
    let applied = apply.wait_with_output().unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );

    let restored = Server::start_in(&work, &format!("mysql://sb@127.0.0.1:{PORT}/restored"));
    assert_eq!(snapshot(&restored.admin()), before);
}

//! The scale-out tier (`scripts/test --galera`): a 3-node MariaDB Galera cluster on
//! loopback and three `stackbill serve` processes, one per node. Jobs are queued on every
//! process while one process is SIGKILLed and one database node is shut down: every job
//! still ends once, every schedule slot has one job, collected rows are stored once, and
//! the invoices equal a single process's on SQLite.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stackbill_testkit::fake_stamp::{Fake, SECRET, fixture};

use crate::api::{ADMIN, ADMIN_PASSWORD, Api, Db, Server};

/// The cluster, stopped and deleted when dropped.
struct Cluster(PathBuf);

impl Cluster {
    fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("stackbill-galera-{}", std::process::id()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/galera");
        let out = Command::new(script)
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("mariadb")
            .args([
                "-usb",
                "-h127.0.0.1",
                "-P3311",
                "-e",
                "CREATE DATABASE stackbill",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster(dir)
    }

    fn stop_node(&self, n: u8) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/galera");
        let out = Command::new(script)
            .arg("stop-node")
            .arg(&self.0)
            .arg(n.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/galera");
        let _ = Command::new(script).arg("stop").arg(&self.0).output();
    }
}

/// A `stackbill serve` on one node; SIGKILLed when dropped.
struct Replica(Child, String);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replica(node: u8, dir: &std::path::Path, extra: &[&str]) -> Replica {
    let url = format!("mysql://sb@127.0.0.1:331{node}/stackbill");
    let child = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database", &url])
        .arg("--key-file")
        .arg(dir.join("stackbill.key"))
        .args(["--job-lease-seconds", "3", "--job-poll-ms", "200"])
        .args([
            "--collect-every-seconds",
            "1",
            "--schedule-every-seconds",
            "1",
        ])
        .args(extra)
        .env("FRA01_SECRET", SECRET)
        .env("STACKBILL_ADMIN_EMAIL", ADMIN)
        .env("STACKBILL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (child, base) = crate::api::listening(child);
    Replica(child, base)
}

fn totals(api: &Api) -> Vec<(String, String, String)> {
    let list = api.ok(
        "GET",
        "/api/v1/billing/invoices?period=2026-10&pageSize=1000",
        None,
    );
    let mut out: Vec<(String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["tenantId"].as_str().unwrap_or_default().to_owned(),
                i["status"].as_str().unwrap_or_default().to_owned(),
                i["total"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn queue(api: &Api, path: &str, body: Value) -> Option<i64> {
    let (status, _, answer) = api.no_wait().send_full(path, body);
    (status == 202)
        .then(|| answer["data"]["id"].as_i64())
        .flatten()
}

#[test]
#[ignore = "the Galera tier: scripts/test --galera"]
fn jobs_and_slots_run_once_on_a_galera_cluster_through_a_crash_and_a_lost_node() {
    let started = Instant::now();
    // The reference: one process on SQLite.
    let reference = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let single = reference.admin();
    single.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let want = totals(&single);
    assert!(!want.is_empty());
    drop(reference);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake: Fake = runtime.block_on(Fake::start(false)).unwrap();
    fixture(&fake);
    fake.with(|f| f.delay_ms = 20);

    let cluster = Cluster::start();
    let dir = cluster.0.clone();
    let a = replica(1, &dir, &["--demo"]);
    let b = replica(2, &dir, &["--skip-migrations"]);
    let c = replica(3, &dir, &["--skip-migrations"]);
    let sign_in = |base: &str| {
        let server_api = Api {
            base: base.to_owned(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            token: None,
            async_jobs: false,
        };
        let (status, body) = server_api.post(
            "/api/v1/auth/token",
            json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD}),
        );
        assert_eq!(status, 200, "{body}");
        Api {
            token: Some(body["token"].as_str().unwrap().to_owned()),
            ..server_api
        }
    };
    let (api_a, api_b, api_c) = (sign_in(&a.1), sign_in(&b.1), sign_in(&c.1));
    api_a.ok(
        "POST",
        "/api/v1/regions",
        Some(crate::api::collection::region(&fake.base)),
    );

    // Jobs queued on every process.
    let mut queued = Vec::new();
    for round in 0..4 {
        for api in [&api_a, &api_b, &api_c] {
            queued.extend(queue(
                api,
                "/api/v1/billing/generate",
                json!({"period": "2026-10"}),
            ));
            queued.extend(queue(
                api,
                "/api/v1/commissions/generate",
                json!({"period": "2026-10"}),
            ));
        }
        if round == 1 {
            // A process dies mid-run, and a database node leaves the cluster.
            drop(b);
            cluster.stop_node(3);
            break;
        }
    }
    let hour = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T11:00:00Z"});
    queued.extend(queue(&api_a, "/api/v1/regions/fra01/collect", hour.clone()));
    for _ in 0..2 {
        queued.extend(queue(
            &api_a,
            "/api/v1/billing/generate",
            json!({"period": "2026-10"}),
        ));
    }
    assert!(queued.len() >= 10, "{queued:?}");

    // Every job ends (the survivors take over what the dead process and the process
    // without a database held).
    let deadline = Instant::now() + Duration::from_secs(300);
    let jobs = loop {
        let jobs = api_a.ok("GET", "/api/v1/jobs?pageSize=1000", None);
        let open = jobs
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| {
                queued.contains(&j["id"].as_i64().unwrap_or(-1))
                    && (j["status"] == "queued" || j["status"] == "running")
            })
            .count();
        if open == 0 {
            break jobs;
        }
        assert!(Instant::now() < deadline, "jobs still open: {jobs}");
        std::thread::sleep(Duration::from_millis(500));
    };
    for j in jobs.as_array().unwrap() {
        if queued.contains(&j["id"].as_i64().unwrap_or(-1)) {
            assert_eq!(j["status"], "succeeded", "{j}");
        }
    }
    // One job per schedule slot, however many processes queued it.
    let mut keys: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["runKey"].as_str())
        .collect();
    let slots = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), slots);
    assert!(slots >= 2, "the schedule queued {slots} slots: {jobs}");
    // Collected rows are stored once; the invoices are the single process's.
    let again = api_a.ok("POST", "/api/v1/regions/fra01/collect", Some(hour));
    assert_eq!(
        (
            again["report"]["new"].as_u64(),
            again["report"]["duplicate"].as_u64()
        ),
        (Some(0), Some(6)),
        "{again}"
    );
    assert_eq!(totals(&api_a), want);
    drop(api_c);
    drop(c);
    eprintln!(
        "galera tier: {} jobs, {slots} schedule slots, {:.0} s",
        queued.len(),
        started.elapsed().as_secs_f64()
    );
}

//! Jobs over HTTP: a request that queues one answers 202 with its URL, the job ends with
//! the answer the request would have had, `Prefer: wait` waits for it, only whoever may
//! see a job sees it, cancelling stops it, and a job whose process is killed is taken
//! over by another process and finishes once, on both stores.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stackbill_testkit::fake_stamp::SECRET;

use super::collection::{region, stamp};
use super::{Api, Db, Server, listening};

/// Polls a job until it ends (or two minutes pass).
fn ended(api: &Api, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = api.ok("GET", url, None);
        let status = job["status"].as_str().unwrap_or_default().to_owned();
        if matches!(status.as_str(), "succeeded" | "failed" | "cancelled") {
            return job;
        }
        assert!(Instant::now() < deadline, "job did not end: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Posts without waiting; returns the status, the `Location` header and the body.
fn queue(api: &Api, path: &str, body: Value) -> (u16, Option<String>, Value) {
    api.no_wait().send_full(path, body)
}

#[test]
fn a_billing_run_is_queued_and_ends_with_its_outcome() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let (status, location, body) = queue(
        &admin,
        "/api/v1/billing/generate",
        json!({"period": "2026-10"}),
    );
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let url = format!("/api/v1/jobs/{id}");
    assert_eq!(location.as_deref(), Some(url.as_str()));
    assert_eq!(body["data"]["url"], url.as_str());
    assert_eq!(body["data"]["kind"], "billing.generate");
    let job = ended(&admin, &url);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(job["requestedBy"], super::ADMIN);
    let previews = job["result"]["previews"].as_u64().unwrap();
    assert!(previews > 0, "{job}");
    assert_eq!(job["result"]["jobId"], id);
    assert!(
        job["startedAt"].is_string() && job["finishedAt"].is_string(),
        "{job}"
    );

    // Waiting gives the run's own answer, as before jobs existed.
    let again = admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    assert_eq!(again["previews"].as_u64(), Some(previews), "{again}");
    // A bad request is refused before anything is queued.
    let (status, _, body) = queue(
        &admin,
        "/api/v1/billing/generate",
        json!({"period": "2026-13"}),
    );
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("period"))
    );
    let (status, body) = admin.get("/api/v1/jobs/999999");
    assert_eq!(status, 404, "{body}");

    // A partner administrator follows the run they queued, and no one else's.
    let body = json!({"emailAddress": "pa@jobs.test", "firstName": "P", "lastName": "A",
        "password": "Partner-password-1", "role": "PartnerAdministrator", "partnerId": "part-000"});
    admin.ok("POST", "/api/v1/users", Some(body));
    let partner = server.login("pa@jobs.test", "Partner-password-1");
    assert_eq!(partner.get(&url).0, 404);
    assert_eq!(partner.post(&format!("{url}/cancel"), json!({})).0, 404);
    assert_eq!(partner.get("/api/v1/jobs").0, 403);
    let (status, _, body) = queue(
        &partner,
        "/api/v1/billing/generate",
        json!({"period": "2026-10"}),
    );
    assert_eq!(status, 202, "{body}");
    let own = ended(&partner, body["data"]["url"].as_str().unwrap());
    assert_eq!(own["status"], "succeeded", "{own}");
    assert!(
        own["result"]["previews"].as_u64().unwrap() < previews,
        "{own}"
    );

    // A job that already ended cannot be cancelled.
    let (status, body) = admin.post(&format!("{url}/cancel"), json!({}));
    assert_eq!(status, 409, "{body}");

    // A failed run is a failed job with the error the request would have answered, and
    // an alert until a run of its kind succeeds.
    let (status, _, body) = queue(
        &admin,
        "/api/v1/commissions/generate",
        json!({"period": "2026-10", "partnerId": "part-000"}),
    );
    assert_eq!(status, 202, "{body}");
    let job = ended(&admin, body["data"]["url"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert!(
        job["result"].as_array().is_some_and(|r| !r.is_empty()),
        "{job}"
    );
}

/// Another `stackbill serve` on the same database; killed when dropped.
struct Other(Child, String);

impl Drop for Other {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn other_process(server: &Server, args: &[&str]) -> Other {
    let child = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            &server.database_url(),
        ])
        .arg("--key-file")
        .arg(server.dir.join("stackbill.key"))
        .args(args)
        .env("FRA01_SECRET", SECRET)
        .env_remove("STACKBILL_ADMIN_EMAIL")
        .env_remove("STACKBILL_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (child, base) = listening(child);
    Other(child, base)
}

/// A collection job whose process is killed mid-run is taken over by another process
/// once its lease ends, resumes at its checkpoint, and every row is stored once.
fn taken_over_after_a_crash(db: Db) {
    let (_rt, fake) = stamp();
    // One request per hour of the day, each slow: the run takes several seconds.
    fake.with(|f| f.delay_ms = 300);
    let lease = ["--job-lease-seconds", "3", "--collect-every-seconds", "0"];
    let mut first = Server::start_env(db, true, &lease, &[("FRA01_SECRET", SECRET)]);
    let admin = first.admin();
    admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    let day = json!({"from": "2025-03-04T00:00:00Z", "to": "2025-03-05T00:00:00Z"});
    let (status, _, body) = queue(&admin, "/api/v1/regions/fra01/collect", day.clone());
    assert_eq!(status, 202, "{body}");
    let url = body["data"]["url"].as_str().unwrap().to_owned();
    // Killed once it is well into the day.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.with(|f| f.usage_requests) < 4 {
        assert!(Instant::now() < deadline, "the run did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill();
    let seen = fake.with(|f| f.usage_requests);
    let second = other_process(&first, &lease);
    let api = Api {
        base: second.1.clone(),
        ..admin.clone()
    };
    let job = ended(&api, &url);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    // It resumed: the second process did not ask again for every hour.
    let asked = fake.with(|f| f.usage_requests);
    assert!(asked - seen < 24, "asked {asked} after {seen}");
    // Every row is stored once: collecting the day again finds only duplicates.
    let again = api.ok("POST", "/api/v1/regions/fra01/collect", Some(day));
    assert_eq!(
        (
            again["report"]["new"].as_u64(),
            again["report"]["duplicate"].as_u64()
        ),
        (Some(0), Some(6)),
        "{again}"
    );
    let jobs = api.ok("GET", "/api/v1/jobs", None);
    let running = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["status"] == "running" || j["status"] == "queued")
        .count();
    assert_eq!(running, 0, "{jobs}");
}

#[test]
fn a_job_whose_process_is_killed_is_taken_over_on_sqlite() {
    taken_over_after_a_crash(Db::Sqlite);
}

#[test]
fn a_job_whose_process_is_killed_is_taken_over_on_mariadb() {
    taken_over_after_a_crash(Db::Mariadb);
}

/// A running job stops when cancelled, and its region can be collected again at once.
#[test]
fn a_running_job_is_cancelled() {
    let (_rt, fake) = stamp();
    fake.with(|f| f.delay_ms = 300);
    let server = Server::start_env(
        Db::Sqlite,
        true,
        &["--job-lease-seconds", "3", "--collect-every-seconds", "0"],
        &[("FRA01_SECRET", SECRET)],
    );
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    let day = json!({"from": "2025-03-04T00:00:00Z", "to": "2025-03-05T00:00:00Z"});
    let (status, _, body) = queue(&admin, "/api/v1/regions/fra01/collect", day);
    assert_eq!(status, 202, "{body}");
    let url = body["data"]["url"].as_str().unwrap().to_owned();
    while fake.with(|f| f.usage_requests) < 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let cancelled = admin.ok("POST", &format!("{url}/cancel"), None);
    assert_eq!(cancelled["cancelRequested"], true, "{cancelled}");
    let job = ended(&admin, &url);
    assert_eq!(job["status"], "cancelled", "{job}");
    let stopped_at = fake.with(|f| f.usage_requests);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(fake.with(|f| f.usage_requests) <= stopped_at + 1);
    assert!(stopped_at < 24, "{stopped_at}");
    let hour = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T11:00:00Z"});
    let again = admin.ok("POST", "/api/v1/regions/fra01/collect", Some(hour));
    assert!(again["report"].is_object(), "{again}");
}

/// `/metrics` wants the scrape token when one is configured; it counts jobs by kind and
/// status from the database, and this process's requests by route and status with their
/// latency, the jobs it ran with their durations, and its database pool.
#[test]
fn metrics_need_the_scrape_token_and_count_jobs() {
    let server = Server::start_env(
        Db::Sqlite,
        true,
        &["--demo"],
        &[("STACKBILL_METRICS_TOKEN", "scrape-7b1e4c")],
    );
    let admin = server.admin();
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let get = |token: Option<&str>| {
        let mut req = admin.http.get(format!("{}/metrics", admin.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!(get(None).0, 401);
    assert_eq!(get(Some("scrape-7b1e4")).0, 401);
    let (status, text) = get(Some("scrape-7b1e4c"));
    assert_eq!(status, 200);
    assert!(
        text.lines()
            .any(|l| l == "stackbill_jobs{kind=\"billing.generate\",status=\"succeeded\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE stackbill_alerts_open gauge"),
        "{text}"
    );
    admin.ok("GET", "/api/v1/tenants", None);
    admin.ok("GET", "/API/v1/Tenants/", None);
    let missing = admin.get("/api/v1/tenants/ten-nobody");
    assert_eq!(missing.0, 404);
    let stray = admin.get("/api/v1/no-such-thing/at-all");
    assert_eq!(stray.0, 404);
    let (_, text) = get(Some("scrape-7b1e4c"));
    let has = |line: &str| {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    };
    // Both spellings of the list are one route; the unknown id is labelled by its
    // template, the unknown path as unmatched.
    has(r#"stackbill_http_requests_total{method="GET",route="/api/v1/tenants",status="200"} 2"#);
    has(r#"stackbill_http_request_duration_seconds_count{method="GET",route="/api/v1/tenants"} 2"#);
    has(
        r#"stackbill_http_request_duration_seconds_bucket{method="GET",route="/api/v1/tenants",le="+Inf"} 2"#,
    );
    has(
        r#"stackbill_http_requests_total{method="GET",route="/api/v1/tenants/{id}",status="404"} 1"#,
    );
    has(r#"stackbill_http_requests_total{method="GET",route="unmatched",status="404"} 1"#);
    has(
        r#"stackbill_http_requests_total{method="POST",route="/api/v1/billing/generate",status="200"} 1"#,
    );
    has(r#"stackbill_job_duration_seconds_count{kind="billing.generate",outcome="succeeded"} 1"#);
    assert!(
        text.lines()
            .any(|l| l.starts_with("stackbill_db_pool_connections{state=\"max\"} ")),
        "{text}"
    );
    // Buckets are cumulative: each at least the one before it.
    let buckets: Vec<u64> = text
        .lines()
        .filter(|l| {
            l.starts_with(
                r#"stackbill_http_request_duration_seconds_bucket{method="GET",route="/api/v1/tenants","#,
            )
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 13, "{text}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
}

/// `--log-format json`: every line is one JSON object, and what is logged while a request
/// or a job runs names it (the request id the client got in `X-Request-Id`, the job id).
#[test]
fn logs_are_json_lines_naming_their_request_or_job() {
    let dir = std::env::temp_dir().join(format!("stackbill-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--database",
        ])
        .arg(format!("sqlite://{}/db.sqlite", dir.display()))
        .arg("--key-file")
        .arg(dir.join("stackbill.key"))
        .args(["--collect-every-seconds", "0"])
        .env("STACKBILL_LOG", "debug,sqlx=warn,hyper=warn")
        .env("STACKBILL_ADMIN_EMAIL", super::ADMIN)
        .env("STACKBILL_ADMIN_PASSWORD", super::ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let (mut child, base) = listening(child);
    let http = reqwest::blocking::Client::new();
    let token: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"EmailAddress": super::ADMIN, "Password": super::ADMIN_PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let response = http
        .get(format!("{base}/api/v1/jobs"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // A job that fails (this database has no Billing settings): its lines name it.
    let queued: Value = http
        .post(format!("{base}/api/v1/billing/generate"))
        .bearer_auth(&token)
        .header("Prefer", "wait=60")
        .json(&json!({"period": "2026-10"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(queued["code"], 409, "{queued}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let parsed = loop {
        let parsed: Vec<Value> = lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect();
        let served = parsed
            .iter()
            .any(|l| l["span"]["request_id"] == request_id.as_str());
        if served || Instant::now() > deadline {
            break parsed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let line = parsed
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no line for request {request_id}: {parsed:?}"));
    assert_eq!(line["fields"]["message"], "served", "{line}");
    assert_eq!(line["fields"]["status"], 200, "{line}");
    assert_eq!(line["span"]["path"], "/api/v1/jobs", "{line}");
    assert!(
        line["level"].is_string() && line["timestamp"].is_string(),
        "{line}"
    );
    // Every line logged while a request was served names it.
    for l in parsed.iter().filter(|l| l["fields"]["message"] == "served") {
        assert!(l["span"]["request_id"].is_string(), "{l}");
    }
    let ended = parsed
        .iter()
        .find(|l| l["fields"]["message"] == "ended")
        .unwrap_or_else(|| panic!("no job line: {parsed:?}"));
    assert_eq!(ended["span"]["name"], "job", "{ended}");
    assert_eq!(ended["span"]["kind"], "billing.generate", "{ended}");
    assert!(ended["span"]["job"].is_i64(), "{ended}");
    assert_eq!(ended["fields"]["status"], "failed", "{ended}");
    assert!(
        ended["fields"]["message_detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Billing settings"),
        "{ended}"
    );
}

/// Failed sign-ins across the platform raise `auth.failure_spike` once over the
/// threshold of System Settings → Platforms, and it clears when they are under it.
#[test]
fn a_spike_of_failed_sign_ins_raises_an_alert() {
    let server = Server::start_with(
        Db::Sqlite,
        true,
        &[
            "--schedule-every-seconds",
            "1",
            "--collect-every-seconds",
            "0",
        ],
    );
    let admin = server.admin();
    admin.ok(
        "PUT",
        "/api/v1/settings/platforms",
        Some(json!({"authFailureAlertThreshold": 5})),
    );
    let anonymous = server.anonymous();
    for n in 0..8 {
        let (status, _) = anonymous.post(
            "/api/v1/auth/token",
            json!({"EmailAddress": format!("guess{n}@jobs.test"), "Password": "wrong-password-1"}),
        );
        assert_eq!(status, 401);
    }
    let open = |kind: &str| {
        admin
            .ok("GET", "/api/v1/alerts?status=open", None)
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == kind)
            .cloned()
            .collect::<Vec<Value>>()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while open("auth.failure_spike").is_empty() {
        assert!(Instant::now() < deadline, "no alert");
        std::thread::sleep(Duration::from_millis(200));
    }
    let alert = &open("auth.failure_spike")[0];
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .starts_with("8 failed sign-ins"),
        "{alert}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(open("auth.failure_spike").len(), 1, "raised once");
    admin.ok(
        "PUT",
        "/api/v1/settings/platforms",
        Some(json!({"authFailureAlertThreshold": 100})),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !open("auth.failure_spike").is_empty() {
        assert!(Instant::now() < deadline, "not cleared");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two people collect one region at once: the second run waits for the first (its
/// progress says so) instead of failing, then finds the rows already stored.
#[test]
fn a_second_collection_of_a_region_waits_for_the_first() {
    let (_rt, fake) = stamp();
    let server = Server::start_env(
        Db::Sqlite,
        true,
        // Progress reaches the database with each lease renewal: every second here.
        &[
            "--collect-every-seconds",
            "0",
            "--job-slots",
            "2",
            "--job-lease-seconds",
            "3",
        ],
        &[("FRA01_SECRET", SECRET)],
    );
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    fake.with(|f| f.delay_ms = 1500);
    let window = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T12:00:00Z"});
    let (status, first, _) = queue(&admin, "/api/v1/regions/fra01/collect", window.clone());
    assert_eq!(status, 202);
    let (status, second, _) = queue(&admin, "/api/v1/regions/fra01/collect", window);
    assert_eq!(status, 202);
    // Two job slots take both at once, and either may reach the region first: the other
    // is the one that must be seen waiting, and then find the rows already stored.
    let jobs = [first.unwrap(), second.unwrap()];
    let deadline = Instant::now() + Duration::from_secs(60);
    let (waiter, waited) = 'seen: loop {
        let mut both_ended = true;
        for path in &jobs {
            let job = admin.ok("GET", path, None);
            if job["message"].as_str().unwrap_or("").contains("waiting") {
                break 'seen (path.clone(), job);
            }
            both_ended &= !job["finishedAt"].is_null();
        }
        assert!(!both_ended, "both ended, neither seen waiting");
        assert!(Instant::now() < deadline, "never seen waiting");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        waited["message"]
            .as_str()
            .unwrap()
            .contains("being collected by another process"),
        "{waited}"
    );
    fake.with(|f| f.delay_ms = 0);
    let collector = jobs.iter().find(|p| **p != waiter).unwrap();
    let (a, b) = (ended(&admin, collector), ended(&admin, &waiter));
    assert_eq!(
        (&a["status"], &b["status"]),
        (&json!("succeeded"), &json!("succeeded"))
    );
    assert_eq!(a["result"]["report"]["new"], 6, "{a}");
    assert_eq!(
        (
            b["result"]["report"]["new"].clone(),
            b["result"]["report"]["duplicate"].clone()
        ),
        (json!(0), json!(6)),
        "{b}"
    );
}

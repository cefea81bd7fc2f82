//! Usage collection through the API and the server's schedule, against a local Azure
//! Stack Hub usage API over real HTTP, on both stores.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stackbill_testkit::fake_stamp::{CLIENT, Fake, PROVIDER, SECRET, StampRow, TENANT, fixture};

use super::{Db, Server};

/// A local stamp with the reference fixture, on its own runtime.
pub(crate) fn stamp() -> (tokio::runtime::Runtime, Fake) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime.block_on(Fake::start(false)).unwrap();
    fixture(&fake);
    (runtime, fake)
}

/// Region `fra01` collected from `endpoint` with the fixture's identity.
pub(crate) fn region(endpoint: &str) -> Value {
    json!({
        "id": "fra01", "name": "Frankfurt 1", "timeZone": "Europe/Berlin",
        "adminEndpoint": endpoint, "collectionWindowHours": 1,
        "credentialRef": "env:FRA01_SECRET",
        "collection": {"providerSubscriptionId": PROVIDER, "identity": "entra",
                        "directoryTenant": TENANT, "clientId": CLIENT}
    })
}

fn collected_through_the_api(db: Db) {
    let (_rt, fake) = stamp();
    let server = Server::start_env(
        db,
        true,
        &["--collect-every-seconds", "0"],
        &[("FRA01_SECRET", SECRET), ("FRA01_OLD_SECRET", "expired")],
    );
    let admin = server.admin();

    // Settings the collector could not use are refused, naming the field.
    let mut bad = region(&fake.base);
    bad["collection"]["identity"] = json!("kerberos");
    let (status, body) = admin.post("/api/v1/regions", bad);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "collection.identity", "{body}");
    let mut bad = region(&fake.base);
    bad["collection"]
        .as_object_mut()
        .unwrap()
        .remove("directoryTenant");
    let (status, body) = admin.post("/api/v1/regions", bad);
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("collection.directoryTenant"))
    );
    let mut bad = region("http://stamp.example.net");
    bad["id"] = json!("fra02");
    assert_eq!(admin.post("/api/v1/regions", bad).0, 400);

    let created = admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    assert_eq!(created["collection"]["clientId"], CLIENT);
    // The manual's Test: a token and one call to the usage provider, no usage read (the
    // first collection below still finds every row new).
    let tested = admin.ok("POST", "/api/v1/regions/fra01/test", None);
    assert!(
        !tested["audience"].as_str().unwrap_or_default().is_empty(),
        "{tested}"
    );
    assert!(tested["requests"].as_u64() >= Some(2), "{tested}");
    assert_eq!(fake.with(|f| f.usage_requests), 0);
    // A secret the identity refuses fails the test with a 502 naming the region, and a
    // region without collection settings is refused at that field.
    let mut refused = region(&fake.base);
    refused["id"] = json!("fra09");
    refused["credentialRef"] = json!("env:FRA01_OLD_SECRET");
    admin.ok("POST", "/api/v1/regions", Some(refused));
    let (status, body) = admin.post("/api/v1/regions/fra09/test", json!({}));
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (502, Some("region_failed")),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fra09")
    );
    assert!(!body.to_string().contains("expired"), "{body}");
    admin.ok("DELETE", "/api/v1/regions/fra09", None);
    let mut plain = region(&fake.base);
    plain["id"] = json!("fra08");
    plain.as_object_mut().unwrap().remove("collection");
    admin.ok("POST", "/api/v1/regions", Some(plain));
    let (status, body) = admin.post("/api/v1/regions/fra08/test", json!({}));
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("collection")),
        "{body}"
    );
    admin.ok("DELETE", "/api/v1/regions/fra08", None);
    let window = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T12:00:00Z"});
    let first = admin.ok(
        "POST",
        "/api/v1/regions/fra01/collect",
        Some(window.clone()),
    );
    assert_eq!(first["report"]["new"], 6, "{first}");
    assert_eq!(first["report"]["windows"], 2);
    let again = admin.ok(
        "POST",
        "/api/v1/regions/fra01/collect",
        Some(window.clone()),
    );
    assert_eq!(
        (
            again["report"]["new"].as_u64(),
            again["report"]["duplicate"].as_u64()
        ),
        (Some(0), Some(6))
    );

    // Unreadable rows are kept with their reason and listed.
    fake.with(|f| {
        let mut bad = f.rows[0].clone();
        bad.json["properties"]["quantity"] = json!("lots");
        f.rows.push(bad);
    });
    let third = admin.ok("POST", "/api/v1/regions/fra01/collect", Some(window));
    assert_eq!(third["report"]["rejected"], 1, "{third}");
    let rejected = admin.ok("GET", "/api/v1/regions/fra01/rejected-usage", None);
    assert_eq!(rejected.as_array().map(Vec::len), Some(1));
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("properties.quantity")
    );
    assert!(rejected[0]["raw"].as_str().unwrap().contains("lots"));

    let health = admin.ok("GET", "/api/v1/regions/fra01/health", None);
    let c = &health["collection"];
    assert_eq!(c["credential"], "readable", "{health}");
    assert_eq!(c["lastRun"]["report"]["rejected"], 1, "{health}");
    assert_eq!(c["lastError"], Value::Null);
    assert_eq!(c["token"], "accepted");

    // The scrape reports the region: rows of its last run, how far behind it is, and
    // that it is not failing.
    let metrics = admin
        .http
        .get(format!("{}/metrics", admin.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let figure = |name: &str| -> i64 {
        let prefix = format!("{name}{{region=\"fra01\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(figure("stackbill_collection_rows"), 6);
    assert_eq!(figure("stackbill_collection_failing"), 0);
    let behind = chrono::Utc::now().fixed_offset()
        - chrono::DateTime::parse_from_rfc3339("2025-03-04T12:00:00Z").unwrap();
    assert!((figure("stackbill_collection_lag_seconds") - behind.num_seconds()).abs() < 60);

    // Bad requests are refused by field; a stamp that fails is a 502 naming the region.
    let (status, body) = admin.post(
        "/api/v1/regions/fra01/collect",
        json!({"from": "2025-03-04T10:30:00Z", "to": "2025-03-04T12:00:00Z"}),
    );
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("from")),
        "{body}"
    );
    let (status, _) = admin.post(
        "/api/v1/regions/fra01/collect",
        json!({"from": "2025-03-04T10:00:00Z", "to": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(status, 400);
    fake.with(|f| f.fail_after = Some(0));
    let (status, body) = admin.post(
        "/api/v1/regions/fra01/collect",
        json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T11:00:00Z"}),
    );
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["errors"][0]["code"], "region_failed", "{body}");
    assert!(!body.to_string().contains(SECRET));
    let health = admin.ok("GET", "/api/v1/regions/fra01/health", None);
    assert!(
        health["collection"]["lastError"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{health}"
    );
    let jobs = admin.ok("GET", "/api/v1/jobs", None);
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "usage.collect" && j["status"] == "failed"),
        "{jobs}"
    );
    alerts_follow_the_runs(&admin, &fake);
}

/// Alerts: raised once per condition, counted while it lasts, cleared when it clears.
fn alerts_follow_the_runs(admin: &super::Api, fake: &Fake) {
    let open = |kind: &str| -> Vec<Value> {
        admin
            .ok("GET", "/api/v1/alerts?status=open", None)
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == kind)
            .cloned()
            .collect()
    };
    // The failed run above raised one; the stamp fails again: still one, seen twice.
    assert_eq!(open("collection.failed").len(), 1);
    fake.with(|f| f.fail_after = Some(0));
    let hour = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T11:00:00Z"});
    assert_eq!(
        admin.post("/api/v1/regions/fra01/collect", hour.clone()).0,
        502
    );
    let failed = open("collection.failed");
    assert_eq!(
        (failed.len(), failed[0]["occurrences"].as_i64()),
        (1, Some(2)),
        "{failed:?}"
    );
    // Every fixture meter is unknown to the empty catalogue: one alert each.
    assert_eq!(open("meter.unknown").len(), 6);
    // Refused credentials are their own condition.
    fake.with(|f| f.fail_after = None);
    let mut r = region(&fake.base);
    r["credentialRef"] = json!("env:FRA01_OLD_SECRET");
    admin.ok("PUT", "/api/v1/regions/fra01", Some(r));
    assert_eq!(
        admin.post("/api/v1/regions/fra01/collect", hour.clone()).0,
        502
    );
    assert_eq!(open("region.token_refused").len(), 1);
    let health = admin.ok("GET", "/api/v1/regions/fra01/health", None);
    assert_eq!(health["collection"]["token"], "refused", "{health}");
    assert_eq!(
        health["collection"]["nextRun"],
        Value::Null,
        "not scheduled"
    );
    // Fixed: a successful run clears the region's alerts; adding a meter clears its own.
    admin.ok("PUT", "/api/v1/regions/fra01", Some(region(&fake.base)));
    admin.ok(
        "POST",
        "/api/v1/meters",
        Some(json!({"id": "fab6eb84-500b-4a09-a8ca-7358f8bbaea5", "name": "Base VM Size Hours", "unit": "vCPU hours"})),
    );
    admin.ok("POST", "/api/v1/regions/fra01/collect", Some(hour));
    assert!(open("collection.failed").is_empty());
    assert!(open("region.token_refused").is_empty());
    assert_eq!(open("meter.unknown").len(), 5);
    let all = admin.ok("GET", "/api/v1/alerts", None);
    let cleared = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "collection.failed")
        .unwrap()
        .clone();
    assert_eq!(cleared["status"], "cleared");
    let acked = admin.ok(
        "POST",
        &format!("/api/v1/alerts/{}/acknowledge", cleared["id"]),
        None,
    );
    assert_eq!(acked["acknowledgedBy"], super::ADMIN);

    // Asked per subscriber, the stamp refuses one StackBill has in the region: a warning
    // until the stamp reports on it.
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "d", "name": "D", "currency": "EUR"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "p", "distributorId": "d", "name": "P"})),
    );
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "t", "partnerId": "p", "name": "T"})),
    );
    let foreign = "9d1e0c44-2b7a-4e3f-8c55-a0f6b2d7e913";
    admin.ok(
        "POST",
        "/api/v1/subscriptions",
        Some(json!({"id": foreign, "tenantId": "t", "regionId": "fra01", "name": "Foreign"})),
    );
    fake.with(|f| f.all_subscriber_timeout = true);
    let hour = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T11:00:00Z"});
    let r = admin.ok("POST", "/api/v1/regions/fra01/collect", Some(hour.clone()));
    assert_eq!(
        r["report"]["skippedSubscribers"].as_array().map(Vec::len),
        Some(1),
        "{r}"
    );
    assert_eq!(open("collection.skipped_subscribers").len(), 1);
    fake.with(|f| f.subscriptions.push(foreign.into()));
    admin.ok("POST", "/api/v1/regions/fra01/collect", Some(hour));
    assert!(open("collection.skipped_subscribers").is_empty());
    fake.with(|f| f.all_subscriber_timeout = false);
    assert_eq!(
        admin.post("/api/v1/alerts/999999/acknowledge", json!({})).0,
        404
    );
}

#[test]
fn regions_are_collected_through_the_api_on_sqlite() {
    collected_through_the_api(Db::Sqlite);
}

#[test]
fn regions_are_collected_through_the_api_on_mariadb() {
    collected_through_the_api(Db::Mariadb);
}

/// A second `stackbill serve` on the same database.
struct Second(Child);

impl Drop for Second {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn second_server(url: &str, dir: &std::path::Path) -> Second {
    let child = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database", url])
        .args(["--collect-every-seconds", "1"])
        .arg("--key-file")
        .arg(dir.join("stackbill.key"))
        .env("FRA01_SECRET", SECRET)
        .env_remove("STACKBILL_ADMIN_EMAIL")
        .env_remove("STACKBILL_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Second(super::listening(child).0)
}

/// Two server processes on one database collect on a schedule, one at a time per region.
fn scheduled_on_two_processes(db: Db) {
    let (_rt, fake) = stamp();
    // Recent rows: the schedule collects the last 48 closed hours.
    let hour = 3_600_000_000_000_i64;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let recent = now - now.rem_euclid(hour) - 3 * hour;
    fake.with(|f| {
        let rows: Vec<StampRow> = f.rows.clone();
        f.rows = rows
            .into_iter()
            .map(|mut r| {
                r.reported = recent;
                r
            })
            .collect();
        f.delay_ms = 20;
    });
    let server = Server::start_env(
        db,
        true,
        &["--collect-every-seconds", "1"],
        &[("FRA01_SECRET", SECRET)],
    );
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    let url = match server.mariadb_name() {
        Some(name) => format!("mysql://root@127.0.0.1:3306/{name}"),
        None => format!("sqlite://{}/db.sqlite", server.dir.display()),
    };
    let _second = second_server(&url, &server.dir);
    let deadline = Instant::now() + Duration::from_secs(120);
    let succeeded = loop {
        let jobs = admin.ok("GET", "/api/v1/jobs", None);
        let done = jobs
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "usage.collect" && j["status"] == "succeeded")
            .count();
        if done >= 3 || Instant::now() > deadline {
            break done;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(succeeded >= 3, "scheduled runs: {succeeded}");
    let health = admin.ok("GET", "/api/v1/regions/fra01/health", None);
    assert_eq!(health["collection"]["lastError"], Value::Null, "{health}");
    assert!(health["collection"]["nextRun"].is_string(), "{health}");
    // Every run asked its hours one at a time, and never two processes at once.
    assert_eq!(fake.with(|f| f.max_in_flight), 1);
    // Each row was stored once: the first run found six new rows, the others none.
    let jobs = admin.ok("GET", "/api/v1/jobs", None);
    let new: u64 = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "usage.collect" && j["status"] == "succeeded")
        .filter_map(|j| {
            let m = j["message"].as_str()?;
            m.split(": ").nth(2)?.split(' ').next()?.parse::<u64>().ok()
        })
        .sum();
    assert_eq!(new, 6, "{jobs}");
}

#[test]
fn scheduled_collection_runs_once_per_region_across_processes_on_sqlite() {
    scheduled_on_two_processes(Db::Sqlite);
}

#[test]
fn scheduled_collection_runs_once_per_region_across_processes_on_mariadb() {
    scheduled_on_two_processes(Db::Mariadb);
}

/// Subscriptions created with `provisionOnStamp` are created on the stamp; cancelling
/// disables them there, reactivating enables, deleting deletes; whatever the stamp
/// refuses is refused whole, with nothing written on either side.
fn provisioned_on_the_stamp(db: Db) {
    let (_rt, fake) = stamp();
    let server = Server::start_env(
        db,
        true,
        &["--collect-every-seconds", "0"],
        &[("FRA01_SECRET", SECRET)],
    );
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "dist", "name": "Dist", "currency": "EUR"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "part", "distributorId": "dist", "name": "Part"})),
    );
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(
            json!({"id": "contoso", "partnerId": "part", "name": "Contoso",
                    "entraTenantId": "0f6b2f32-1a1e-4b1a-9b1a-3c2d1e0f9a8b",
                    "initialOwner": "owner@contoso.example"}),
        ),
    );
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "no-owner", "partnerId": "part", "name": "No Owner"})),
    );
    for (id, offer) in [
        ("gold", Some("/delegatedProviders/default/offers/gold")),
        (
            "platinum",
            Some("/delegatedProviders/default/offers/platinum"),
        ),
        ("plain", None),
    ] {
        admin.ok(
            "POST",
            "/api/v1/plans",
            Some(json!({"id": id, "name": id, "offerId": offer})),
        );
    }
    let sub = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
    let body = |plan: &str, tenant: &str| {
        json!({"id": sub, "tenantId": tenant, "regionId": "fra01", "name": "Production",
               "planId": plan, "provisionOnStamp": true})
    };
    let on_stamp = |f: &Fake| f.with(|s| s.subscription_details.get(sub).cloned());

    // Refusals: checked before the stamp is asked, or refused by it; nothing written.
    let (status, e) = admin.post("/api/v1/subscriptions", body("plain", "contoso"));
    assert_eq!(
        (status, e["errors"][0]["field"].as_str()),
        (400, Some("planId")),
        "{e}"
    );
    let (status, e) = admin.post("/api/v1/subscriptions", body("gold", "no-owner"));
    assert_eq!(
        (status, e["errors"][0]["field"].as_str()),
        (400, Some("tenantId")),
        "{e}"
    );
    let (status, e) = admin.post("/api/v1/subscriptions", body("platinum", "contoso"));
    assert_eq!(status, 502, "{e}");
    assert!(e.to_string().contains("OfferNotFound"), "{e}");
    assert_eq!(admin.get(&format!("/api/v1/subscriptions/{sub}")).0, 404);
    assert_eq!(on_stamp(&fake), None);

    // A subscription the stamp already has is not taken over.
    let theirs = "3ac9d8f1-6e24-4b70-a5c3-91f2e8b04d67";
    let mut taken = body("gold", "contoso");
    taken["id"] = json!(theirs);
    let (status, e) = admin.post("/api/v1/subscriptions", taken);
    assert_eq!(status, 409, "{e}");
    assert_eq!(
        fake.with(|s| s.subscription_details.get(theirs).cloned()),
        None
    );

    // Created on both sides.
    let created = admin.ok(
        "POST",
        "/api/v1/subscriptions",
        Some(body("gold", "contoso")),
    );
    assert_eq!(created["id"], sub);
    let stamped = on_stamp(&fake).expect("created on the stamp");
    assert_eq!(stamped["externalReferenceId"], "stackbill");
    assert_eq!(stamped["owner"], "owner@contoso.example");
    assert_eq!(
        stamped["offerId"],
        "/delegatedProviders/default/offers/gold"
    );
    assert_eq!(stamped["tenantId"], "0f6b2f32-1a1e-4b1a-9b1a-3c2d1e0f9a8b");

    // Cancelled and reactivated on both sides; a refused change is not made in StackBill.
    let update = |status: &str| {
        json!({"tenantId": "contoso", "regionId": "fra01", "name": "Production",
               "planId": "gold", "status": status})
    };
    admin.ok(
        "PUT",
        &format!("/api/v1/subscriptions/{sub}"),
        Some(update("cancelled")),
    );
    assert_eq!(on_stamp(&fake).unwrap()["state"], "Disabled");
    fake.with(|s| s.refuse_writes = true);
    let (status, _) = admin.send(
        "PUT",
        &format!("/api/v1/subscriptions/{sub}"),
        Some(update("active")),
    );
    assert_eq!(status, 502);
    let kept = admin.ok("GET", &format!("/api/v1/subscriptions/{sub}"), None);
    assert_eq!(kept["status"], "cancelled");
    fake.with(|s| s.refuse_writes = false);
    admin.ok(
        "PUT",
        &format!("/api/v1/subscriptions/{sub}"),
        Some(update("active")),
    );
    assert_eq!(on_stamp(&fake).unwrap()["state"], "Enabled");

    // Deleted on both sides; while the stamp refuses, kept on both.
    fake.with(|s| s.refuse_writes = true);
    assert_eq!(admin.delete(&format!("/api/v1/subscriptions/{sub}")).0, 502);
    assert_eq!(admin.get(&format!("/api/v1/subscriptions/{sub}")).0, 200);
    fake.with(|s| s.refuse_writes = false);
    assert_eq!(admin.delete(&format!("/api/v1/subscriptions/{sub}")).0, 200);
    assert_eq!(admin.get(&format!("/api/v1/subscriptions/{sub}")).0, 404);
    assert_eq!(on_stamp(&fake), None);
}

#[test]
fn subscriptions_are_provisioned_on_the_stamp_on_sqlite() {
    provisioned_on_the_stamp(Db::Sqlite);
}

#[test]
fn subscriptions_are_provisioned_on_the_stamp_on_mariadb() {
    provisioned_on_the_stamp(Db::Mariadb);
}

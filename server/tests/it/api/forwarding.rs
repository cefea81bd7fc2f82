//! Alerts forwarded to monitoring over real sockets: a webhook receiver (HMAC checked),
//! a Splunk HTTP Event Collector, the Azure Monitor Logs Ingestion API with its token
//! endpoint, and syslog listeners on UDP and TCP, all on loopback. A failing collection
//! raises alerts, a succeeding one clears them, and Report Platform Alerts switches
//! forwarding off.

use std::collections::HashMap;
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use stackbill_testkit::fake_stamp::{Fake, SECRET, fixture};

use super::{Db, Server};

const HOOK_SECRET: &str = "whsec-3f9c1a7e5b2d";
const SPLUNK_TOKEN: &str = "6c8f2a9e-1b7d-4e3a-9f05-2d4c8b1a7e63";
const AZURE_SECRET: &str = "az-client-secret-77";

/// What a receiver got: path, headers (lower-case names) and body.
type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>, String)>>>;

/// Records every call; `/flaky` answers 503 to its first two calls.
async fn record(
    State(seen): State<Seen>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let path = uri.path().to_owned();
    let answer = if path.ends_with("/oauth2/v2.0/token") {
        json!({"access_token": "monitor-token-1", "token_type": "Bearer", "expires_in": 3599})
            .to_string()
    } else {
        "{}".to_owned()
    };
    let mut seen = seen.lock().unwrap();
    let earlier = seen.iter().filter(|(p, _, _)| *p == path).count();
    seen.push((
        path.clone(),
        headers,
        String::from_utf8_lossy(&body).into_owned(),
    ));
    if path == "/flaky" && earlier < 2 {
        return (StatusCode::SERVICE_UNAVAILABLE, "{}".into());
    }
    (StatusCode::OK, answer)
}

fn receivers(runtime: &tokio::runtime::Runtime) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/{*path}", post(record))
        .with_state(seen.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn seen_at(seen: &Seen, path: &str) -> Vec<(HashMap<String, String>, String)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, h, b)| (h.clone(), b.clone()))
        .collect()
}

fn events(seen: &Seen, event: &str) -> Vec<Value> {
    seen_at(seen, "/hook")
        .into_iter()
        .map(|(_, b)| serde_json::from_str::<Value>(&b).unwrap())
        .filter(|v| v["event"] == event)
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn alerts_reach_webhook_splunk_azure_monitor_and_syslog() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake: Fake = runtime.block_on(Fake::start(false)).unwrap();
    fixture(&fake);
    let (base, seen) = receivers(&runtime);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_address = tcp.local_addr().unwrap().to_string();
    let tcp_seen = Arc::new(Mutex::new(String::new()));
    let sink = tcp_seen.clone();
    std::thread::spawn(move || {
        for stream in tcp.incoming().map_while(Result::ok) {
            let mut stream = stream;
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        }
    });

    let server = Server::start_env(
        Db::Sqlite,
        true,
        &[
            "--collect-every-seconds",
            "0",
            "--schedule-every-seconds",
            "1",
        ],
        &[
            ("FRA01_SECRET", SECRET),
            ("HOOK_SECRET", HOOK_SECRET),
            ("SPLUNK_SECRET", SPLUNK_TOKEN),
            ("MONITOR_SECRET", AZURE_SECRET),
        ],
    );
    let admin = server.admin();
    admin.ok(
        "POST",
        "/api/v1/regions",
        Some(super::collection::region(&fake.base)),
    );
    // A secret given in place of a reference is refused, naming the field.
    let (status, body) = admin.send(
        "PUT",
        "/api/v1/settings/platforms",
        Some(json!({"alertTargets": [{"name": "hook", "kind": "webhook",
            "url": format!("{base}/hook"), "secretRef": HOOK_SECRET}]})),
    );
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("alertTargets[0].secretRef")),
        "{body}"
    );
    let targets = json!([
        {"name": "hook", "kind": "webhook", "url": format!("{base}/hook"), "secretRef": "env:HOOK_SECRET"},
        {"name": "splunk", "kind": "splunk", "url": format!("{base}/services/collector/event"),
         "secretRef": "env:SPLUNK_SECRET"},
        {"name": "monitor", "kind": "azureMonitor",
         "url": format!("{base}/dataCollectionRules/dcr-1/streams/Custom-StackBillAlerts?api-version=2023-01-01"),
         "tenant": "contoso.onmicrosoft.com", "clientId": "5f1d2c3b-0a9e-4d7c-8b6a-1e2f3d4c5b6a",
         "secretRef": "env:MONITOR_SECRET", "authority": base},
        {"name": "flaky", "kind": "webhook", "url": format!("{base}/flaky"), "secretRef": "env:HOOK_SECRET"},
        {"name": "siem-udp", "kind": "syslog", "address": udp.local_addr().unwrap().to_string()},
        {"name": "siem-tcp", "kind": "syslog", "address": tcp_address, "transport": "tcp"},
    ]);
    let saved = admin.ok(
        "PUT",
        "/api/v1/settings/platforms",
        Some(json!({"reportPlatformAlerts": true, "alertTargets": targets})),
    );
    assert_eq!(saved["alertTargets"][0]["secretRef"], "env:HOOK_SECRET");
    assert!(!saved.to_string().contains(HOOK_SECRET));

    // The stamp fails: the collection job fails and raises alerts.
    fake.with(|f| f.fail_after = Some(0));
    let hour = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T11:00:00Z"});
    let (status, _) = admin.post("/api/v1/regions/fra01/collect", hour.clone());
    assert_eq!(status, 502);
    wait_for("two raised alerts at the webhook", || {
        events(&seen, "raised").len() >= 2
    });
    let raised = events(&seen, "raised");
    let kinds: Vec<&str> = raised
        .iter()
        .map(|e| e["alert"]["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"job.failed"), "{raised:?}");
    assert!(
        kinds
            .iter()
            .any(|k| k.starts_with("region.") || k.starts_with("collection.")),
        "{raised:?}"
    );
    // Every webhook call is signed over its timestamp and body.
    for (headers, body) in seen_at(&seen, "/hook") {
        let timestamp = &headers["x-stackbill-timestamp"];
        let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.{body}").as_bytes());
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(headers["x-stackbill-signature"], format!("sha256={want}"));
        let event: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            headers["x-stackbill-event-id"],
            event["eventId"].as_str().unwrap()
        );
    }
    wait_for("Splunk, Azure Monitor and both syslogs", || {
        seen_at(&seen, "/services/collector/event").len() >= 2
            && seen_at(
                &seen,
                "/dataCollectionRules/dcr-1/streams/Custom-StackBillAlerts",
            )
            .len()
                >= 2
            && tcp_seen.lock().unwrap().matches("<131>1 ").count() >= 2
    });
    for (headers, body) in seen_at(&seen, "/services/collector/event") {
        assert_eq!(headers["authorization"], format!("Splunk {SPLUNK_TOKEN}"));
        let hec: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(hec["sourcetype"], "stackbill:alert");
        assert!(
            hec["time"].is_i64() && hec["event"]["eventId"].is_string(),
            "{hec}"
        );
    }
    let tokens = seen_at(&seen, "/contoso.onmicrosoft.com/oauth2/v2.0/token");
    assert!(!tokens.is_empty());
    assert!(
        tokens[0].1.contains("grant_type=client_credentials"),
        "{}",
        tokens[0].1
    );
    assert!(
        tokens[0]
            .1
            .contains("scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default")
    );
    for (headers, body) in seen_at(
        &seen,
        "/dataCollectionRules/dcr-1/streams/Custom-StackBillAlerts",
    ) {
        assert_eq!(headers["authorization"], "Bearer monitor-token-1");
        let records: Value = serde_json::from_str(&body).unwrap();
        assert!(records[0]["TimeGenerated"].is_string() && records[0]["EventId"].is_string());
    }
    // A receiver that fails at first gets the event on a later try, once it answers.
    wait_for("the flaky receiver to accept", || {
        seen_at(&seen, "/flaky").len() >= 3
    });
    let flaky = admin.ok("GET", "/api/v1/jobs?pageSize=1000", None);
    assert!(
        flaky
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["kind"] != "alert.forward" || j["status"] != "failed"),
        "{flaky}"
    );
    let mut datagram = [0u8; 4096];
    let n = udp.recv(&mut datagram).unwrap();
    let line = String::from_utf8_lossy(&datagram[..n]).into_owned();
    assert!(line.starts_with("<131>1 "), "{line}");
    assert!(line.contains("[stackbill@32473 eventId=\""), "{line}");
    let framed = tcp_seen.lock().unwrap().clone();
    let (length, rest) = framed.split_once(' ').unwrap();
    assert!(rest.starts_with("<131>1 "), "{framed}");
    assert!(length.parse::<usize>().unwrap() <= rest.len());

    // The stamp answers again: the alerts clear, and their clearing is forwarded.
    fake.with(|f| f.fail_after = None);
    admin.ok("POST", "/api/v1/regions/fra01/collect", Some(hour.clone()));
    wait_for("the cleared alerts at the webhook", || {
        events(&seen, "cleared").len() >= 2
    });
    // (The fixture's meters are not in the catalogue: those alerts stay open.)
    let open = admin.ok("GET", "/api/v1/alerts?status=open", None);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|a| a["kind"] == "meter.unknown"),
        "{open}"
    );

    // Report Platform Alerts off: new alerts stay in StackBill.
    admin.ok(
        "PUT",
        "/api/v1/settings/platforms",
        Some(json!({"reportPlatformAlerts": false})),
    );
    wait_for("forwarding to settle", || {
        let jobs = admin.ok("GET", "/api/v1/jobs?pageSize=1000", None);
        jobs.as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] != "queued" && j["status"] != "running")
    });
    let before = seen_at(&seen, "/hook").len();
    fake.with(|f| f.fail_after = Some(0));
    assert_eq!(admin.post("/api/v1/regions/fra01/collect", hour).0, 502);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(seen_at(&seen, "/hook").len(), before);
    let open = admin.ok("GET", "/api/v1/alerts?status=open", None);
    assert!(open.as_array().is_some_and(|a| !a.is_empty()), "{open}");
}

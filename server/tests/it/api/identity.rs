//! Tenant identity health checks against an identity authority on loopback that answers
//! as Microsoft Entra does: the OpenID configuration of a directory that exists, 400
//! `AADSTS90002` for one that does not.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Db, Server};

/// Serves `/{directory}/v2.0/.well-known/openid-configuration` for the directories in
/// the set; returns its base URL.
fn authority(known: Arc<Mutex<HashSet<String>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or(0);
            // The rest of the head.
            let mut header = String::new();
            while reader.read_line(&mut header).unwrap_or(0) > 2 {
                header.clear();
            }
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            let directory = path
                .strip_prefix('/')
                .and_then(|p| p.strip_suffix("/v2.0/.well-known/openid-configuration"))
                .unwrap_or("")
                .to_ascii_lowercase();
            let (status, body) = if known.lock().unwrap().contains(&directory) {
                (
                    "200 OK",
                    json!({"issuer": format!("https://login.microsoftonline.com/{directory}/v2.0")}),
                )
            } else {
                (
                    "400 Bad Request",
                    json!({"error": "invalid_tenant",
                           "error_description": format!("AADSTS90002: Tenant '{directory}' not found.\r\nTrace ID: 1")}),
                )
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn identity_alerts(admin: &super::Api) -> Vec<Value> {
    admin
        .ok("GET", "/api/v1/alerts", None)
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "tenant.identity")
        .cloned()
        .collect()
}

#[test]
fn a_tenant_whose_directory_is_gone_raises_an_alert_until_it_is_back() {
    let present = "0f6b2f32-1a1e-4b1a-9b1a-3c2d1e0f9a8b";
    let gone = "9c1d2e3f-1a1e-4b1a-9b1a-3c2d1e0f9a8b";
    let known = Arc::new(Mutex::new(HashSet::from([present.to_owned()])));
    let base = authority(known.clone());
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();

    // Plain http only to this machine, the host compared whole.
    for refused in [
        "http://identity.example.net",
        "http://127.0.0.1.example.net",
        "ftp://x",
    ] {
        let (status, answer) = admin.send(
            "PUT",
            "/api/v1/settings/subscriptions",
            Some(json!({"tenantIdentityAuthority": refused})),
        );
        assert_eq!(
            (status, answer["errors"][0]["field"].as_str()),
            (400, Some("tenantIdentityAuthority")),
            "{refused}: {answer}"
        );
    }
    admin.ok(
        "PUT",
        "/api/v1/settings/subscriptions",
        Some(json!({"performTenantIdentityHealthChecks": true, "tenantIdentityAuthority": base})),
    );
    super::branch(&admin);
    for (id, directory) in [
        ("T-Here", Some(present)),
        ("T-Gone", Some(gone)),
        ("T-None", None),
    ] {
        admin.ok(
            "POST",
            "/api/v1/tenants",
            Some(json!({"id": id, "partnerId": "P1", "name": id, "entraTenantId": directory})),
        );
    }

    let first = admin.ok("POST", "/api/v1/alerts/identity-check", None);
    assert_eq!(
        first,
        json!({"checked": 2, "missing": 1, "unknown": 0, "cleared": 0})
    );
    let open = identity_alerts(&admin);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["subject"].as_str(), open[0]["status"].as_str()),
        (Some("T-Gone"), Some("open"))
    );
    let message = open[0]["message"].as_str().unwrap();
    assert!(
        message.contains(gone) && message.contains("AADSTS90002"),
        "{message}"
    );

    // Again: the same alert, seen twice.
    admin.ok("POST", "/api/v1/alerts/identity-check", None);
    let again = identity_alerts(&admin);
    assert_eq!(
        (again.len(), again[0]["occurrences"].clone()),
        (1, json!(2))
    );

    // The directory is back: the alert clears.
    known.lock().unwrap().insert(gone.to_owned());
    let back = admin.ok("POST", "/api/v1/alerts/identity-check", None);
    assert_eq!(
        back,
        json!({"checked": 2, "missing": 0, "unknown": 0, "cleared": 1})
    );
    assert_eq!(identity_alerts(&admin)[0]["status"], "cleared");

    // An authority that cannot be reached decides nothing.
    admin.ok(
        "PUT",
        "/api/v1/settings/subscriptions",
        Some(json!({"tenantIdentityAuthority": "http://127.0.0.1:9"})),
    );
    let unreachable = admin.ok("POST", "/api/v1/alerts/identity-check", None);
    assert_eq!(
        unreachable,
        json!({"checked": 2, "missing": 0, "unknown": 2, "cleared": 0})
    );
}

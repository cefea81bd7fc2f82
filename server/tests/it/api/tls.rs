//! `stackbill serve --tls-cert --tls-key`: HTTPS straight from the process.

use std::time::Duration;

use serde_json::json;

use super::{ADMIN, ADMIN_PASSWORD, Db, Server};

/// A server on SQLite serving `cert` and `key` (written to a fresh folder named `name`,
/// returned with it) over HTTPS.
fn serving(name: &str, cert: &str, key: &str, args: &[&str]) -> (Server, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let mut all = vec![
        "--tls-cert",
        cert_file.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    (Server::start_with(Db::Sqlite, true, &all), dir)
}

#[test]
fn the_server_speaks_https_with_its_certificate() {
    let (ca, cert, key) = stackbill_testkit::tls::localhost_certificate().unwrap();
    let (server, dir) = serving("stackbill-tls", &cert, &key, &[]);
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let base = server.base.replace("127.0.0.1", "localhost");
    let trusting = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ready = trusting.get(format!("{base}/readyz")).send().unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let signed_in = trusting
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 200);
    // Paths are normalised as over HTTP.
    let upper = trusting.get(format!("{base}/HEALTHZ/")).send().unwrap();
    assert_eq!(upper.status().as_u16(), 200);
    // A client that does not trust the certificate gets no answer.
    let untrusting = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    assert!(untrusting.get(format!("{base}/healthz")).send().is_err());
    // Plain HTTP to the TLS port is not served.
    let plain = server.base.replace("https://", "http://");
    assert!(untrusting.get(format!("{plain}/healthz")).send().is_err());
    let _ = std::fs::remove_dir_all(&dir);

    // A key that does not belong to the certificate is refused at start.
    let (_, other_cert, _) = stackbill_testkit::tls::localhost_certificate().unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&cert_file, other_cert).unwrap();
    std::fs::write(&key_file, "not a key").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}/db.sqlite", dir.display()))
        .arg("--key-file")
        .arg(dir.join("stackbill.key"))
        .arg("--tls-cert")
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A served certificate that expires within System Settings → Platforms →
/// `certificateExpiryWarningDays` raises `tls.expiring` once, named by its subject; with
/// a shorter warning period it clears.
#[test]
fn a_certificate_near_its_expiry_raises_an_alert() {
    let soon = chrono::Utc::now().date_naive() + chrono::Days::new(10);
    let (ca, cert, key) = stackbill_testkit::tls::localhost_certificate_until(Some((
        chrono::Datelike::year(&soon),
        u8::try_from(chrono::Datelike::month(&soon)).unwrap(),
        u8::try_from(chrono::Datelike::day(&soon)).unwrap(),
    )))
    .unwrap();
    let (server, dir) = serving(
        "stackbill-tls-expiry",
        &cert,
        &key,
        &["--schedule-every-seconds", "1"],
    );
    let base = server.base.replace("127.0.0.1", "localhost");
    let http = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD}))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let expiring = || -> Vec<serde_json::Value> {
        let alerts: serde_json::Value = http
            .get(format!("{base}/api/v1/alerts"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        alerts["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "tls.expiring")
            .cloned()
            .collect()
    };
    let wait_for = |want: &dyn Fn(&[serde_json::Value]) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let now = expiring();
            if want(&now) {
                return now;
            }
            assert!(std::time::Instant::now() < deadline, "{now:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let raised = wait_for(&|a| a.iter().any(|a| a["occurrences"].as_i64() >= Some(2)));
    assert_eq!(
        raised.len(),
        1,
        "one alert however often it is seen: {raised:?}"
    );
    assert_eq!(raised[0]["status"], "open");
    assert_eq!(raised[0]["subject"], "CN=localhost");
    assert_eq!(raised[0]["severity"], "warning");
    let message = raised[0]["message"].as_str().unwrap();
    assert!(message.contains(&soon.to_string()), "{message}");

    let settings = http
        .put(format!("{base}/api/v1/settings/platforms"))
        .bearer_auth(&token)
        .json(&json!({"certificateExpiryWarningDays": 5}))
        .send()
        .unwrap();
    assert_eq!(settings.status().as_u16(), 200);
    let cleared = wait_for(&|a| a.iter().all(|a| a["status"] == "cleared"));
    assert_eq!(cleared.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

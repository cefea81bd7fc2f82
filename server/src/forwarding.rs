//! Alerts forwarded to the operator's monitoring when System Settings → Platforms →
//! Report Platform Alerts is on: each alert's raising and clearing goes to every target of
//! `alertTargets` as its own `alert.forward` job (queued once per alert, event and target
//! by its run key, retried with back-off, taken over like any job if its process dies).
//! Receivers may see an event twice after a crash mid-send and should keep the first of
//! each `eventId`.
//!
//! Formats: `webhook` (JSON, HMAC-SHA256 signed), `syslog` (RFC 5424 over UDP, or over
//! TCP with octet counting, RFC 6587), `splunk` (the HTTP Event Collector's event
//! format), `azureMonitor` (the Logs Ingestion API: a JSON array posted to a data
//! collection rule's stream, with an Entra token from client credentials), `email` (a
//! message to `address` through the Notifications SMTP server, as a `mail.send` job).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use stackbill_collector::{check_reference, resolve_secret};
use stackbill_store::AlertRow;

use crate::api::AppState;
use crate::api::wire::{ApiError, ApiResult};
use crate::jobs::{Done, Progress, submit};

/// Tries per event and target before its job fails.
const ATTEMPTS: u32 = 5;

/// IANA's enterprise number for documentation (RFC 5612), naming StackBill's syslog
/// structured data until one is registered.
const SD_ID: &str = "stackbill@32473";

const KINDS: [&str; 5] = ["webhook", "syslog", "splunk", "azureMonitor", "email"];

const FIELDS: [&str; 9] = [
    "name",
    "kind",
    "url",
    "address",
    "transport",
    "secretRef",
    "tenant",
    "clientId",
    "authority",
];

/// Checks the `alertTargets` setting: a list of targets, each named uniquely, with the
/// fields its kind needs (secrets as references only).
pub(crate) fn check_targets(key: &str, value: &Value) -> ApiResult<Value> {
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::field(key, "must be a list of targets"))?;
    let mut out = Vec::new();
    let mut names = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let at = |f: &str| format!("{key}[{i}].{f}");
        let map = t
            .as_object()
            .ok_or_else(|| ApiError::field(format!("{key}[{i}]"), "must be an object"))?;
        let mut clean = Map::new();
        for (k, v) in map {
            let name = FIELDS
                .into_iter()
                .find(|n| n.eq_ignore_ascii_case(k))
                .ok_or_else(|| ApiError::field(at(k), "unknown field"))?;
            let text = v
                .as_str()
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 2000)
                .ok_or_else(|| ApiError::field(at(name), "must be a non-empty string"))?;
            clean.insert(name.to_owned(), json!(text));
        }
        let get = |f: &str| clean.get(f).and_then(Value::as_str);
        let need = |f: &str| get(f).ok_or_else(|| ApiError::field(at(f), "is required"));
        let name = need("name")?.to_owned();
        if names.contains(&name) {
            return Err(ApiError::field(at("name"), "names another target too"));
        }
        let kind = need("kind")?;
        if !KINDS.contains(&kind) {
            return Err(ApiError::field(
                at("kind"),
                "must be webhook, syslog, splunk, azureMonitor or email",
            ));
        }
        let mut email_address = None;
        match kind {
            "email" => {
                email_address = Some(crate::api::email::valid(&at("address"), need("address")?)?);
            }
            "syslog" => {
                let address = need("address")?;
                address
                    .rsplit_once(':')
                    .and_then(|(host, port)| (!host.is_empty()).then_some(port))
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or_else(|| ApiError::field(at("address"), "must be HOST:PORT"))?;
                if !matches!(get("transport").unwrap_or("udp"), "udp" | "tcp") {
                    return Err(ApiError::field(at("transport"), "must be udp or tcp"));
                }
            }
            _ => {
                check_url(&at("url"), need("url")?)?;
                let secret = need("secretRef")?;
                check_reference(secret)
                    .map_err(|e| ApiError::field(at("secretRef"), strip_field(&e.to_string())))?;
            }
        }
        if kind == "azureMonitor" {
            need("tenant")?;
            need("clientId")?;
            if let Some(authority) = get("authority") {
                check_url(&at("authority"), authority)?;
            }
        }
        if let Some(address) = email_address {
            clean.insert("address".into(), json!(address));
        }
        names.push(name);
        out.push(Value::Object(clean));
    }
    Ok(Value::Array(out))
}

fn strip_field(message: &str) -> String {
    message
        .split_once("credentialRef: ")
        .map_or(message, |(_, m)| m)
        .to_owned()
}

/// Whatever the server calls (alert targets, identity keys and authorities) is reached
/// only over https, or plain http to this machine: the host is compared whole, so
/// `http://127.0.0.1.example.net` is refused.
pub(crate) fn check_url(field: &str, text: &str) -> ApiResult<reqwest::Url> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| ApiError::field(field, format!("{text:?} is not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(ApiError::field(
            field,
            "must be an https URL (plain http only to this machine)",
        )),
    }
}

/// Hands every alert event not yet forwarded to forwarding: one job per target when
/// Report Platform Alerts is on (none when it is off). Alerts about forwarding itself
/// are not forwarded, nor alerts about mail to `email` targets: they could not arrive.
pub(crate) async fn queue_pending(state: &AppState) -> ApiResult<usize> {
    let snapshot = state.snapshot().await?;
    let platforms = &snapshot.settings["platforms"];
    let on = platforms["reportPlatformAlerts"].as_bool() == Some(true);
    let targets: Vec<Value> = platforms["alertTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut queued = 0usize;
    for pending in state.store().unforwarded_alerts(500).await? {
        let alert = &pending.alert;
        let about_forwarding = alert.subject == "alert.forward";
        for event in &pending.events {
            if on && !about_forwarding {
                for target in &targets {
                    let name = target["name"].as_str().unwrap_or_default();
                    let key = format!("{}:{}:{name}", alert.id, event.as_str());
                    if target["kind"] == "email" {
                        // An alert that mail fails could not arrive by mail either.
                        if alert.subject == "mail.send" {
                            continue;
                        }
                        let to = target["address"].as_str().unwrap_or_default();
                        let message = alert_mail(alert, event.as_str(), key, to);
                        crate::mail::queue(state, &message).await?;
                    } else {
                        let params = json!({
                            "target": name,
                            "event": event.as_str(),
                            "alert": alert_document(alert),
                        });
                        submit(state, "alert.forward", &params, Some(key), "alerts").await?;
                    }
                    queued = queued.saturating_add(1);
                }
            }
            state.store().mark_alert_forwarded(alert.id, *event).await?;
        }
    }
    Ok(queued)
}

/// An alert event as an e-mail to an `email` target.
fn alert_mail(a: &AlertRow, event: &str, key: String, to: &str) -> crate::mail::Outgoing {
    let when = if event == "cleared" {
        a.cleared_at.clone().unwrap_or_default()
    } else {
        a.raised_at.clone()
    };
    crate::mail::Outgoing {
        key: format!("alert:{key}"),
        to: to.to_owned(),
        subject: format!("[{}] alert {event}: {}", a.severity, a.message),
        body: format!(
            "Alert {} ({}, {}) {event} at {when}.\n\n{}\n\nOccurrences: {}; last seen {}.",
            a.id, a.kind, a.subject, a.message, a.occurrences, a.last_seen_at
        ),
        sealed: false,
        attachment: None,
        attempt: 1,
    }
}

fn alert_document(a: &AlertRow) -> Value {
    json!({
        "id": a.id,
        "key": a.key,
        "kind": a.kind,
        "subject": a.subject,
        "severity": a.severity,
        "message": a.message,
        "raisedAt": a.raised_at,
        "lastSeenAt": a.last_seen_at,
        "occurrences": a.occurrences,
        "clearedAt": a.cleared_at,
    })
}

/// The `alert.forward` job: sends one event to one target, trying again with back-off.
pub(crate) async fn run_forward(
    state: &AppState,
    job: i64,
    params: &Value,
    _actor: &str,
    progress: &Progress,
) -> ApiResult<Done> {
    let name = params["target"].as_str().unwrap_or_default();
    let snapshot = state.snapshot().await?;
    // Switched off after the job was queued: nothing more leaves.
    if snapshot.settings["platforms"]["reportPlatformAlerts"].as_bool() != Some(true) {
        return Ok(Done {
            message: format!("not sent to {name}: Report Platform Alerts is off"),
            data: json!({"jobId": job, "target": name, "sent": false}),
        });
    }
    let target = snapshot.settings["platforms"]["alertTargets"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["name"] == name))
        .cloned()
        .ok_or_else(|| {
            ApiError::Conflict(format!("alert target {name:?} is no longer configured"))
        })?;
    let event = Event::from(params);
    let mut delay = Duration::from_secs(1);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        progress.set(0, format!("{name}: attempt {attempt}"));
        match send(&target, &event).await {
            Ok(()) => {
                return Ok(Done {
                    message: format!("alert {} {} sent to {name}", event.alert_id, event.event),
                    data: json!({"jobId": job, "target": name, "eventId": event.id(), "sent": true}),
                });
            }
            Err(e) => last = e,
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    Err(ApiError::Status(
        axum::http::StatusCode::BAD_GATEWAY,
        "forwarding_failed",
        format!("alert target {name:?}: {ATTEMPTS} attempts failed; the last: {last}"),
    ))
}

/// One event of one alert, as forwarded.
#[derive(Debug)]
struct Event {
    alert_id: i64,
    event: String,
    alert: Value,
}

impl From<&Value> for Event {
    fn from(params: &Value) -> Self {
        Event {
            alert_id: params["alert"]["id"].as_i64().unwrap_or_default(),
            event: params["event"].as_str().unwrap_or("raised").to_owned(),
            alert: params["alert"].clone(),
        }
    }
}

impl Event {
    /// Stable across retries and takeovers: receivers keep the first of each.
    fn id(&self) -> String {
        format!("{}:{}", self.alert_id, self.event)
    }

    fn text(&self, field: &str) -> &str {
        self.alert[field].as_str().unwrap_or_default()
    }

    /// When it happened: the clearing, or the raising.
    fn at(&self) -> &str {
        match self.event.as_str() {
            "cleared" => self.text("clearedAt"),
            _ => self.text("raisedAt"),
        }
    }

    fn document(&self) -> Value {
        json!({"eventId": self.id(), "event": self.event, "source": "stackbill", "alert": self.alert})
    }
}

/// HMAC-SHA256 of `timestamp.body` with the target's secret, hex: what the
/// `X-StackBill-Signature: sha256=…` header carries.
pub(crate) fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

fn secret(target: &Value) -> Result<String, String> {
    let reference = target["secretRef"].as_str().unwrap_or_default();
    resolve_secret(reference)
        .map(|s| s.expose().to_owned())
        .map_err(|e| e.to_string())
}

async fn post(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

async fn send(target: &Value, event: &Event) -> Result<(), String> {
    let url = target["url"].as_str().unwrap_or_default();
    match target["kind"].as_str() {
        Some("webhook") => {
            let body = event.document().to_string();
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let mac = signature(secret(target)?.as_bytes(), &timestamp, body.as_bytes());
            post(
                client()?
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("X-StackBill-Event-Id", event.id())
                    .header("X-StackBill-Timestamp", timestamp)
                    .header("X-StackBill-Signature", format!("sha256={mac}"))
                    .body(body),
            )
            .await
        }
        Some("splunk") => {
            let time = chrono::DateTime::parse_from_rfc3339(event.at())
                .map(|t| t.timestamp())
                .unwrap_or_else(|_| chrono::Utc::now().timestamp());
            let body = json!({
                "time": time,
                "host": hostname(),
                "source": "stackbill",
                "sourcetype": "stackbill:alert",
                "event": event.document(),
            });
            post(
                client()?
                    .post(url)
                    .header("Authorization", format!("Splunk {}", secret(target)?))
                    .json(&body),
            )
            .await
        }
        Some("azureMonitor") => {
            let token = azure_token(target).await?;
            let record = json!([{
                "TimeGenerated": event.at(),
                "EventId": event.id(),
                "Event": event.event,
                "AlertId": event.alert_id,
                "Kind": event.text("kind"),
                "Subject": event.text("subject"),
                "Severity": event.text("severity"),
                "Message": event.text("message"),
                "Key": event.text("key"),
            }]);
            post(client()?.post(url).bearer_auth(token).json(&record)).await
        }
        Some("syslog") => syslog(target, event).await,
        other => Err(format!("no forwarding for target kind {other:?}")),
    }
}

/// A client-credentials token for the Logs Ingestion API.
async fn azure_token(target: &Value) -> Result<String, String> {
    let authority = target["authority"]
        .as_str()
        .unwrap_or("https://login.microsoftonline.com")
        .trim_end_matches('/');
    let tenant = target["tenant"].as_str().unwrap_or_default();
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        (
            "client_id",
            target["clientId"].as_str().unwrap_or_default().to_owned(),
        ),
        ("client_secret", secret(target)?),
        ("scope", "https://monitor.azure.com//.default".to_owned()),
    ];
    let response = client()?
        .post(format!("{authority}/{tenant}/oauth2/v2.0/token"))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("token: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("token: the identity provider answered {status}"));
    }
    let body: Value = response.json().await.map_err(|e| format!("token: {e}"))?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "token: no access_token in the answer".into())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".into())
}

/// An RFC 5424 message: facility local0, the alert's severity (a clearing is a notice),
/// the alert's fields as structured data, its message as the free text.
pub(crate) fn syslog_line(event_id: &str, event: &str, alert: &Value, host: &str) -> String {
    let text = |f: &str| alert[f].as_str().unwrap_or_default();
    // PRI = facility local0 (16) × 8 + severity.
    let priority = match (event, text("severity")) {
        ("cleared", _) => 133,
        (_, "error") => 131,
        (_, "warning") => 132,
        _ => 134,
    };
    let at = if event == "cleared" {
        text("clearedAt")
    } else {
        text("raisedAt")
    };
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(']', "\\]")
    };
    let printable = |v: &str, max: usize| -> String {
        let clean: String = v
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(max)
            .collect();
        if clean.is_empty() { "-".into() } else { clean }
    };
    format!(
        "<{}>1 {} {} stackbill {} {} [{SD_ID} eventId=\"{}\" event=\"{event}\" key=\"{}\" kind=\"{}\" subject=\"{}\" severity=\"{}\"] {}",
        priority,
        printable(at, 64),
        printable(host, 255),
        std::process::id(),
        printable(&format!("alert.{event}"), 32),
        escape(event_id),
        escape(text("key")),
        escape(text("kind")),
        escape(text("subject")),
        escape(text("severity")),
        text("message"),
    )
}

async fn syslog(target: &Value, event: &Event) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let address = target["address"].as_str().unwrap_or_default();
    let line = syslog_line(&event.id(), &event.event, &event.alert, &hostname());
    match target["transport"].as_str().unwrap_or("udp") {
        "tcp" => {
            let mut stream = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(address),
            )
            .await
            .map_err(|_| format!("{address}: connection timed out"))?
            .map_err(|e| format!("{address}: {e}"))?;
            // Octet counting (RFC 6587 §3.4.1): the length, a space, the message.
            let framed = format!("{} {line}", line.len());
            stream
                .write_all(framed.as_bytes())
                .await
                .map_err(|e| format!("{address}: {e}"))?;
            stream
                .shutdown()
                .await
                .map_err(|e| format!("{address}: {e}"))
        }
        _ => {
            let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
                .await
                .map_err(|e| e.to_string())?;
            socket
                .send_to(line.as_bytes(), address)
                .await
                .map(drop)
                .map_err(|e| format!("{address}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syslog_line_is_rfc_5424_with_escaped_structured_data() {
        let alert = json!({"key": "region.unreachable:fra01", "kind": "region.unreachable",
            "subject": "fra]01\"x", "severity": "error", "message": "region fra01: refused",
            "raisedAt": "2026-12-06T07:00:00Z"});
        let line = syslog_line("7:raised", "raised", &alert, "node-1");
        let pid = std::process::id();
        assert_eq!(
            line,
            format!(
                "<131>1 2026-12-06T07:00:00Z node-1 stackbill {pid} alert.raised \
                 [stackbill@32473 eventId=\"7:raised\" event=\"raised\" key=\"region.unreachable:fra01\" \
                 kind=\"region.unreachable\" subject=\"fra\\]01\\\"x\" severity=\"error\"] region fra01: refused"
            )
        );
        let cleared = syslog_line("7:cleared", "cleared", &alert, "");
        assert!(cleared.starts_with("<133>1 - - stackbill "), "{cleared}");
    }

    #[test]
    fn targets_are_checked_field_by_field() {
        let bad = |v: Value| {
            check_targets("alertTargets", &v)
                .err()
                .map(|e| e.problems()[0].field.clone().unwrap_or_default())
        };
        assert_eq!(
            bad(json!([{"name": "a", "kind": "pager"}])),
            Some("alertTargets[0].kind".into())
        );
        assert_eq!(
            bad(
                json!([{"name": "a", "kind": "webhook", "url": "http://example.com/x", "secretRef": "env:A_SECRET"}])
            ),
            Some("alertTargets[0].url".into())
        );
        assert_eq!(
            bad(
                json!([{"name": "a", "kind": "webhook", "url": "https://example.com/x", "secretRef": "hunter2"}])
            ),
            Some("alertTargets[0].secretRef".into())
        );
        assert_eq!(
            bad(json!([{"name": "a", "kind": "syslog", "address": "siem"}])),
            Some("alertTargets[0].address".into())
        );
        assert_eq!(
            bad(
                json!([{"name": "a", "kind": "syslog", "address": "siem:514"},
                       {"name": "a", "kind": "syslog", "address": "siem:515"}])
            ),
            Some("alertTargets[1].name".into())
        );
        assert_eq!(
            bad(
                json!([{"name": "a", "kind": "azureMonitor", "url": "https://dce.example/x", "secretRef": "env:A_SECRET"}])
            ),
            Some("alertTargets[0].tenant".into())
        );
        let good = json!([{"name": "siem", "kind": "syslog", "address": "10.0.0.5:514", "transport": "tcp"}]);
        assert_eq!(check_targets("alertTargets", &good).ok(), Some(good));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: Python's hmac.new(b"Jefe", b'1700000000.{"a":1}', sha256).
        assert_eq!(
            signature(b"Jefe", "1700000000", br#"{"a":1}"#),
            "fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
    }
}

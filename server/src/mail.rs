//! E-mail through the platform's SMTP server (System Settings → Notifications), sent by
//! jobs: each message is a `mail.send` job whose run key is the message's key
//! (`invoice:42`, `delinquent:42:0`), so a message is queued once however many processes
//! or runs ask for it, one worker sends it under a lease, and the Jobs list shows every
//! message and every failed attempt. A transient failure queues the next attempt with a
//! growing delay; a permanent one (the server refused the address) ends it.
//!
//! Messages carry a Message-ID derived from their key, so the rare resend after a process
//! died between the server's acceptance and the job's end is recognisable as the same
//! message by any mail system that deduplicates.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stackbill_store::NewJob;

use crate::api::AppState;
use crate::api::system::effective_settings;
use crate::api::wire::ApiError;
use crate::jobs::Done;

/// The connection security choices of `smtpSecurity`: STARTTLS (port 587), implicit TLS
/// (port 465), or none — only to a server on this machine (a local relay, tests).
pub(crate) const SECURITY: &[&str] = &["starttls", "tls", "none"];

/// Delays before the 2nd, 3rd, … attempt; after the last, the message is given up (its
/// failed jobs say why).
const BACKOFF_SECONDS: [i64; 5] = [60, 300, 1_800, 7_200, 21_600];

/// A document attached to a message, read from the store when it is sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvoiceAttachment {
    /// The invoice whose kept PDF is attached.
    pub invoice: i64,
    /// The attachment's file name.
    pub file_name: String,
}

/// One message, as a `mail.send` job's parameters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outgoing {
    /// What makes it one message (`invoice:42`).
    pub key: String,
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body; sealed with the server's key when [`Outgoing::sealed`] (it holds a
    /// secret such as an activation code, which must not rest in the job table readable).
    pub body: String,
    /// Whether `body` is sealed.
    #[serde(default)]
    pub sealed: bool,
    /// The invoice PDF to attach, if any.
    pub attachment: Option<InvoiceAttachment>,
    /// 1 for the first attempt.
    #[serde(default = "first")]
    pub attempt: usize,
}

fn first() -> usize {
    1
}

/// The SMTP settings in force.
#[derive(Debug, Clone)]
struct Smtp {
    host: String,
    port: u16,
    security: String,
    username: Option<String>,
    password_ref: Option<String>,
    from: Mailbox,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v[key]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn unusable(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::Conflict(format!("notification setting {field} {why}"))
}

impl Smtp {
    /// The settings, or why mail cannot be sent (naming the setting).
    fn configured(settings: &Value) -> Result<Smtp, ApiError> {
        let host = text(settings, "smtpHost").ok_or_else(|| unusable("smtpHost", "is not set"))?;
        let address = text(settings, "fromAddress")
            .ok_or_else(|| unusable("fromAddress", "is not set"))?
            .parse()
            .map_err(|e| unusable("fromAddress", format!("is not an address: {e}")))?;
        let security = text(settings, "smtpSecurity").unwrap_or_else(|| "starttls".into());
        let local = matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost");
        if security == "none" && !local {
            return Err(unusable(
                "smtpSecurity",
                "none is allowed only for a server on this machine; use starttls or tls",
            ));
        }
        Ok(Smtp {
            port: settings["smtpPort"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(587),
            username: text(settings, "smtpUsername"),
            password_ref: text(settings, "smtpPasswordRef"),
            from: Mailbox::new(text(settings, "fromName"), address),
            security,
            host,
        })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, ApiError> {
        let builder = match self.security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host),
            "none" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &self.host,
            )),
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host),
        }
        .map_err(|e| unusable("smtpHost", e))?;
        let mut builder = builder
            .port(self.port)
            .timeout(Some(Duration::from_secs(60)));
        if let Some(user) = &self.username {
            let reference = self
                .password_ref
                .as_deref()
                .ok_or_else(|| unusable("smtpPasswordRef", "is not set but smtpUsername is"))?;
            let secret = stackbill_collector::resolve_secret(reference)
                .map_err(|e| unusable("smtpPasswordRef", e))?;
            builder =
                builder.credentials(Credentials::new(user.clone(), secret.expose().to_owned()));
        }
        Ok(builder.build())
    }
}

/// The Notifications settings in force.
async fn notifications(state: &AppState) -> Result<Value, ApiError> {
    let settings = state.store().settings().await?;
    Ok(effective_settings(
        "notifications",
        settings.get("notifications"),
    ))
}

/// Whether mail can be sent at all (an SMTP host and sender are set); `Err` says which
/// setting is missing.
pub(crate) async fn ready(state: &AppState) -> Result<(), ApiError> {
    Smtp::configured(&notifications(state).await?).map(|_| ())
}

/// A message whose body holds a secret (an activation code): sealed with the server's
/// key until it is sent.
pub(crate) fn secret(
    state: &AppState,
    key: String,
    to: String,
    subject: String,
    body: &str,
) -> Result<Outgoing, ApiError> {
    let sealed = state
        .keys
        .seal(body.as_bytes())
        .map_err(ApiError::internal)?;
    Ok(Outgoing {
        key,
        to,
        subject,
        body: sealed,
        sealed: true,
        attachment: None,
        attempt: 1,
    })
}

/// Queues `message` once: a second request with the same key is the same message
/// (`false`: it was queued before).
pub(crate) async fn queue(state: &AppState, message: &Outgoing) -> Result<bool, ApiError> {
    let params = serde_json::to_value(message)
        .map_err(|e| ApiError::internal(format!("message {}: {e}", message.key)))?;
    let queued = state
        .store()
        .enqueue_job(&NewJob {
            kind: "mail.send".into(),
            run_key: Some(run_key(&message.key, message.attempt)),
            params: params.to_string(),
            requested_by: Some("mail".into()),
            due_at: crate::jobs::now_ms(),
        })
        .await?;
    state.wake_worker();
    Ok(matches!(queued, stackbill_store::Enqueued::New(_)))
}

fn run_key(key: &str, attempt: usize) -> String {
    if attempt <= 1 {
        format!("mail:{key}")
    } else {
        format!("mail:{key}#{attempt}")
    }
}

fn build(smtp: &Smtp, message: &Outgoing, pdf: Option<Vec<u8>>) -> Result<Message, ApiError> {
    let to: Mailbox = message.to.parse().map_err(|e| {
        ApiError::Conflict(format!(
            "message {}: recipient {:?}: {e}",
            message.key, message.to
        ))
    })?;
    let id: String = message
        .key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    let builder = Message::builder()
        .from(smtp.from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(format!("<{id}@stackbill>")));
    let body = SinglePart::plain(message.body.clone());
    let built = match (&message.attachment, pdf) {
        (Some(a), Some(pdf)) => {
            let kind = ContentType::parse("application/pdf")
                .map_err(|e| ApiError::internal(e.to_string()))?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(body)
                    .singlepart(Attachment::new(a.file_name.clone()).body(pdf, kind)),
            )
        }
        _ => builder.singlepart(body),
    };
    built.map_err(|e| ApiError::internal(format!("message {}: {e}", message.key)))
}

/// Runs a `mail.send` job: sends the message, or queues its next attempt.
pub(crate) async fn run_send(state: &AppState, job: i64, params: &Value) -> Result<Done, ApiError> {
    let message: Outgoing = serde_json::from_value(params.clone())
        .map_err(|e| ApiError::internal(format!("job {job} parameters: {e}")))?;
    let smtp = Smtp::configured(&notifications(state).await?)?;
    let pdf = match &message.attachment {
        Some(a) => {
            let row = state.store().invoice(a.invoice).await?;
            Some(
                crate::documents::document(state.store(), &row, crate::documents::Format::Pdf)
                    .await?,
            )
        }
        None => None,
    };
    let original = message.clone();
    let mut message = message;
    if message.sealed {
        let plain = state
            .keys
            .unseal(&message.body)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "message {}: the sealed body does not open",
                    message.key
                ))
            })?;
        message.body = plain;
        message.sealed = false;
    }
    let email = build(&smtp, &message, pdf)?;
    let sent = smtp.transport()?.send(email).await;
    match sent {
        Ok(response) => {
            let text = response.message().collect::<Vec<_>>().join(" ");
            Done::of(
                job,
                format!(
                    "sent {:?} to {} ({})",
                    message.subject,
                    message.to,
                    text.trim()
                ),
                &serde_json::json!({"key": message.key, "to": message.to, "attempt": message.attempt}),
            )
        }
        Err(e) if e.is_permanent() => Err(ApiError::Conflict(format!(
            "not sent to {}: the mail server refused it: {e}",
            message.to
        ))),
        Err(e) => {
            let Some(delay) = BACKOFF_SECONDS.get(message.attempt.saturating_sub(1)) else {
                return Err(ApiError::Unavailable(format!(
                    "not sent to {} after {} attempts: {e}",
                    message.to, message.attempt
                )));
            };
            let next = Outgoing {
                attempt: message.attempt.saturating_add(1),
                ..original.clone()
            };
            let params = serde_json::to_value(&next)
                .map_err(|e| ApiError::internal(format!("job {job}: {e}")))?;
            state
                .store()
                .enqueue_job(&NewJob {
                    kind: "mail.send".into(),
                    run_key: Some(run_key(&next.key, next.attempt)),
                    params: params.to_string(),
                    requested_by: Some("mail".into()),
                    due_at: crate::jobs::now_ms().saturating_add(delay.saturating_mul(1000)),
                })
                .await?;
            Err(ApiError::Unavailable(format!(
                "attempt {} to {} failed: {e}; attempt {} in {delay} s",
                message.attempt, message.to, next.attempt
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_smtp_only_to_this_machine_and_missing_settings_are_named() {
        let mut s = json!({"smtpHost": "mail.example.com", "smtpPort": 587,
            "smtpSecurity": "none", "fromAddress": "billing@example.com"});
        let e = Smtp::configured(&s).unwrap_err().to_string();
        assert!(e.contains("smtpSecurity"), "{e}");
        s["smtpHost"] = json!("127.0.0.1");
        assert!(Smtp::configured(&s).is_ok());
        s["fromAddress"] = json!(null);
        assert!(
            Smtp::configured(&s)
                .unwrap_err()
                .to_string()
                .contains("fromAddress")
        );
    }

    #[test]
    fn each_attempt_has_its_own_run_key() {
        assert_eq!(run_key("invoice:7", 1), "mail:invoice:7");
        assert_eq!(run_key("invoice:7", 3), "mail:invoice:7#3");
    }
}

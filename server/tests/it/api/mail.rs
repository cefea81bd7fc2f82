//! E-mail through a real SMTP server on loopback (aiosmtpd, which scripts/test installs;
//! `STACKBILL_SMTP_PYTHON` names the Python that has it): an issued invoice reaches the
//! tenant's billing contact once, with its kept PDF attached; a delinquent notice goes out
//! once per interval and stops once the invoice is paid; a new account gets its
//! activation code; an alert reaches an e-mail alert target; a forgotten password is reset
//! through a link that works once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Db, Server, bill_demo_month, editable_tenant, fetch};

/// aiosmtpd writing every message it accepts into a Maildir; stopped on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    std::env::var("STACKBILL_SMTP_PYTHON").unwrap_or_else(|_| {
        panic!("STACKBILL_SMTP_PYTHON names a Python with aiosmtpd (scripts/test installs it)")
    })
}

/// A Mailbox that holds the first message's first recipient for 30 s (before DATA), after
/// writing `MAILDIR.sending`: a sender killed meanwhile has delivered nothing.
const SLOW_FIRST: &str = r#"
import asyncio, pathlib
from aiosmtpd.handlers import Mailbox

class SlowFirst(Mailbox):
    held = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not SlowFirst.held:
            SlowFirst.held = True
            pathlib.Path(str(self.mail_dir) + ".sending").touch()
            await asyncio.sleep(30)
        envelope.rcpt_tos.append(address)
        return "250 OK"
"#;

impl SmtpSink {
    fn start(dir: &Path) -> SmtpSink {
        Self::start_with(dir, None)
    }

    /// With `handler` (Python source defining `SlowFirst`) instead of aiosmtpd's Mailbox.
    fn start_with(dir: &Path, handler: Option<&str>) -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        // aiosmtpd's Mailbox creates the Maildir; it must not exist yet.
        let maildir = dir.join("maildir");
        let mut command = Command::new(python());
        let class = match handler {
            Some(source) => {
                std::fs::write(dir.join("slow_first.py"), source).unwrap();
                command.env("PYTHONPATH", dir);
                "slow_first.SlowFirst"
            }
            None => "aiosmtpd.handlers.Mailbox",
        };
        let child = command
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", class])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let sink = SmtpSink {
            child,
            port,
            maildir,
        };
        let until = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "aiosmtpd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        sink
    }

    /// Every message received: recipient, subject, Message-ID and attachments (name,
    /// type, SHA-256 of the decoded bytes), read with Python's e-mail parser.
    fn messages(&self) -> Vec<Value> {
        const READ: &str = r#"
import email, email.policy, hashlib, json, mailbox, sys
out = []
for m in mailbox.Maildir(sys.argv[1], create=False):
    msg = email.message_from_bytes(bytes(m), policy=email.policy.default)
    atts = [{"name": p.get_filename(), "type": p.get_content_type(),
             "sha256": hashlib.sha256(p.get_content()).hexdigest()}
            for p in msg.iter_attachments()]
    body = msg.get_body(("plain",))
    out.append({"to": str(msg["To"]), "subject": str(msg["Subject"]),
                "messageId": str(msg["Message-ID"]), "attachments": atts,
                "body": body.get_content() if body else ""})
print(json.dumps(sorted(out, key=lambda m: m["subject"])))
"#;
        if !self.maildir.join("new").exists() {
            return Vec::new();
        }
        let out = Command::new(python())
            .args(["-c", READ])
            .arg(&self.maildir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Waits until `n` messages arrived; then checks no more arrive for a moment.
    fn exactly(&self, n: usize) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.messages();
            if got.len() >= n {
                std::thread::sleep(Duration::from_secs(2));
                let settled = self.messages();
                assert_eq!(settled.len(), n, "{settled:#?}");
                return settled;
            }
            assert!(
                Instant::now() < until,
                "{n} message(s) expected, got {got:#?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Mail through the sink at `port`, links in it to `https://portal.contoso.test`.
fn mail_through(admin: &super::Api, port: u16) {
    let mut notifications = admin.ok("GET", "/api/v1/settings/notifications", None);
    notifications["smtpHost"] = json!("127.0.0.1");
    notifications["smtpPort"] = json!(port);
    notifications["smtpSecurity"] = json!("none");
    notifications["fromAddress"] = json!("billing@contoso.test");
    notifications["fromName"] = json!("Contoso Billing");
    notifications["portalUrl"] = json!("https://portal.contoso.test/");
    admin.ok("PUT", "/api/v1/settings/notifications", Some(notifications));
}

/// Mail through the sink at `port`, Auto Email Invoices and delinquent notices on; one
/// tenant given a billing contact and its October invoice issued on 31 October (due 30
/// November, so already delinquent). Returns the invoice's id and number.
fn issue_one_by_mail(admin: &super::Api, port: u16) -> (String, String) {
    mail_through(admin, port);
    let mut invoices = admin.ok("GET", "/api/v1/settings/invoices", None);
    invoices["autoEmailInvoices"] = json!(true);
    invoices["sendDelinquentPaymentNotifications"] = json!(true);
    invoices["delinquentPaymentNotificationIntervalDays"] = json!(7);
    admin.ok("PUT", "/api/v1/settings/invoices", Some(invoices));

    let preview = bill_demo_month(admin)[0].clone();
    let tenant_id = preview["tenantId"].as_str().unwrap();
    let mut tenant = editable_tenant(admin, tenant_id);
    tenant["billingContact"] = json!("ap@tenant.test");
    tenant["paymentTermsDays"] = json!(30);
    admin.ok("PUT", &format!("/api/v1/tenants/{tenant_id}"), Some(tenant));
    let id = preview["id"].as_str().unwrap().to_owned();
    let issued = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/issue"),
        Some(json!({"issueDate": "2026-10-31"})),
    );
    (id, issued["number"].as_str().unwrap().to_owned())
}

/// The server dies while the SMTP server holds its message before DATA; the restarted
/// server takes the job over once its lease ends and the message arrives exactly once.
#[test]
fn a_restart_in_the_middle_of_a_send_loses_and_duplicates_nothing() {
    let lease = ["--job-lease-seconds", "3"];
    let mut server = Server::start_with(Db::Sqlite, true, &["--demo", lease[0], lease[1]]);
    let sink = SmtpSink::start_with(&server.dir, Some(SLOW_FIRST));
    let admin = server.admin();
    let (_, number) = issue_one_by_mail(&admin, sink.port);
    let sending = sink.maildir.with_extension("sending");
    let until = Instant::now() + Duration::from_secs(60);
    while !sending.exists() {
        assert!(Instant::now() < until, "the message was never being sent");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill();
    assert!(
        sink.messages().is_empty(),
        "nothing delivered by the killed server"
    );
    let url = server.database_url();
    let _restarted = Server::start_in_with(&server.dir, &url, &lease);
    let mail = sink.exactly(1);
    assert!(
        mail[0]["subject"].as_str().unwrap().contains(&number),
        "{mail:#?}"
    );
}

#[test]
fn invoices_and_delinquent_notices_reach_the_billing_contact_once() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let sink = SmtpSink::start(&server.dir);
    let admin = server.admin();
    let mut notifications = admin.ok("GET", "/api/v1/settings/notifications", None);
    notifications["smtpHost"] = json!("mail.example.com");
    notifications["smtpSecurity"] = json!("NONE");
    let (status, body) = admin.send(
        "PUT",
        "/api/v1/settings/notifications",
        Some(notifications.clone()),
    );
    assert_eq!(status, 200, "{body}");
    notifications["smtpHost"] = json!("127.0.0.1");
    notifications["smtpPort"] = json!(sink.port);
    notifications["fromAddress"] = json!("billing@contoso.test");
    notifications["fromName"] = json!("Contoso Billing");
    notifications["smtpPasswordRef"] = json!("the-password-itself");
    let (status, body) = admin.send(
        "PUT",
        "/api/v1/settings/notifications",
        Some(notifications.clone()),
    );
    assert_eq!(status, 400, "a secret instead of a reference: {body}");
    assert!(
        body["errors"].to_string().contains("smtpPasswordRef"),
        "{body}"
    );
    notifications["smtpPasswordRef"] = Value::Null;
    admin.ok("PUT", "/api/v1/settings/notifications", Some(notifications));
    let (id, number) = issue_one_by_mail(&admin, sink.port);
    let (_, _, pdf) = fetch(
        &admin,
        &format!("/api/v1/billing/invoices/{id}/document"),
        None,
    );
    let pdf_hash = format!("{:x}", Sha256::digest(&pdf));
    let mail = sink.exactly(1);
    assert_eq!(mail[0]["to"], "ap@tenant.test");
    assert!(
        mail[0]["subject"].as_str().unwrap().contains(&number),
        "{mail:#?}"
    );
    assert_eq!(
        mail[0]["attachments"],
        json!([{"name": format!("{number}.pdf"), "type": "application/pdf", "sha256": pdf_hash}])
    );

    // One notice per interval, however often the check runs.
    let run = admin.ok("POST", "/api/v1/billing/invoices/delinquent-notices", None);
    assert_eq!(run["queued"], json!([number]), "{run}");
    let again = admin.ok("POST", "/api/v1/billing/invoices/delinquent-notices", None);
    assert_eq!(again["queued"], json!([]), "{again}");
    let mail = sink.exactly(2);
    let notice = mail
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .unwrap()
                .starts_with("Payment overdue")
        })
        .unwrap();
    assert_eq!(notice["to"], "ap@tenant.test");
    assert_eq!(notice["attachments"][0]["sha256"], json!(pdf_hash));
    assert_ne!(mail[0]["messageId"], mail[1]["messageId"]);

    // Paid: no longer delinquent, no more notices.
    admin.ok("POST", &format!("/api/v1/billing/invoices/{id}/pay"), None);
    let paid = admin.ok("POST", "/api/v1/billing/invoices/delinquent-notices", None);
    assert_eq!(paid["queued"], json!([]));
    sink.exactly(2);
    // A new account gets its activation code.
    let mut users = admin.ok("GET", "/api/v1/settings/users", None);
    users["requireUserActivationCode"] = json!(true);
    admin.ok("PUT", "/api/v1/settings/users", Some(users));
    let created = admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "new.user@tenant.test", "firstName": "Nia", "lastName": "U",
                    "password": "Mail-password-for-tests-1", "role": "PlatformReader"}),
        ),
    );
    let code = created["activationCode"].as_str().unwrap();
    let mail = sink.exactly(3);
    let welcome = mail
        .iter()
        .find(|m| m["to"] == "new.user@tenant.test")
        .unwrap();
    assert!(
        welcome["body"].as_str().unwrap().contains(code),
        "{welcome:#?}"
    );
    assert_eq!(welcome["attachments"], json!([]));

    // Alerts reach an e-mail target: a billing run that cannot succeed raises one.
    let mut platforms = admin.ok("GET", "/api/v1/settings/platforms", None);
    platforms["reportPlatformAlerts"] = json!(true);
    platforms["alertTargets"] =
        json!([{"name": "ops", "kind": "email", "address": "not-an-address"}]);
    let (status, body) = admin.send("PUT", "/api/v1/settings/platforms", Some(platforms.clone()));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"]
            .to_string()
            .contains("alertTargets[0].address"),
        "{body}"
    );
    platforms["alertTargets"][0]["address"] = json!("ops@contoso.test");
    admin.ok("PUT", "/api/v1/settings/platforms", Some(platforms));
    let (status, body) = admin.send(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2020-01"})),
    );
    assert!(status >= 400, "{status} {body}");
    let mail = sink.exactly(4);
    let alert = mail.iter().find(|m| m["to"] == "ops@contoso.test").unwrap();
    assert!(
        alert["subject"].as_str().unwrap().contains("alert raised"),
        "{alert:#?}"
    );
    assert!(
        alert["body"].as_str().unwrap().contains("billing.generate"),
        "{alert:#?}"
    );

    let jobs = admin.ok("GET", "/api/v1/jobs?pageSize=1000", None);
    let sent: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "mail.send")
        .collect();
    assert_eq!(sent.len(), 4, "every message is a job: {sent:#?}");
    assert!(sent.iter().all(|j| j["status"] == "succeeded"), "{sent:#?}");
}

/// The reset link arrives once however often it is asked for, answers alike for an
/// unknown address, works once, ends the account's sessions, and the old password stops.
#[test]
fn a_forgotten_password_is_reset_by_a_link_that_works_once() {
    let server = Server::start_with(Db::Sqlite, true, &[]);
    let admin = server.admin();
    let anonymous = server.anonymous();
    let ask = |email: &str| {
        anonymous.ok(
            "POST",
            "/api/v1/auth/password-reset",
            Some(json!({"emailAddress": email})),
        )
    };
    let (status, body) = anonymous.send(
        "POST",
        "/api/v1/auth/password-reset",
        Some(json!({"emailAddress": "ana@tenant.test"})),
    );
    assert_eq!(status, 409, "mail is not set up yet: {body}");
    assert!(
        body["errors"].to_string().contains("Notifications"),
        "{body}"
    );

    let sink = SmtpSink::start(&server.dir);
    mail_through(&admin, sink.port);
    let old = "Forgotten-blue-kettle-71";
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "ana@tenant.test", "firstName": "Ana", "lastName": "L",
                    "password": old, "role": "PlatformReader"}),
        ),
    );
    let signed_in = server.login("ana@tenant.test", old);
    let known = ask("Ana@Tenant.test");
    let unknown = ask("nobody@tenant.test");
    assert_eq!(
        known["message"]
            .as_str()
            .unwrap()
            .replace("Ana@Tenant.test", "X")
            .replace("ana@tenant.test", "X"),
        unknown["message"]
            .as_str()
            .unwrap()
            .replace("nobody@tenant.test", "X"),
        "an unknown address answers alike"
    );
    ask("ana@tenant.test");
    let mail = sink.exactly(1);
    assert_eq!(mail[0]["to"], "ana@tenant.test");
    let body = mail[0]["body"].as_str().unwrap();
    let link = "https://portal.contoso.test/reset-password?token=";
    let token = body
        .split(link)
        .nth(1)
        .unwrap_or_else(|| panic!("no link in {body}"))
        .split_whitespace()
        .next()
        .unwrap();

    let confirm = |token: &str, password: &str| {
        anonymous.send(
            "POST",
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token": token, "newPassword": password})),
        )
    };
    let (status, body) = confirm(token, "short");
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"].to_string().contains("newPassword"), "{body}");
    let (status, body) = confirm(&format!("{token}x"), "Remembered-green-lamp-42");
    assert_eq!(status, 400, "a forged token: {body}");
    assert!(body["errors"].to_string().contains("token"), "{body}");
    let (status, body) = confirm(token, "Remembered-green-lamp-42");
    assert_eq!(status, 200, "{body}");
    let (status, body) = confirm(token, "Remembered-green-lamp-43");
    assert_eq!(status, 400, "used once already: {body}");

    let (status, _) = signed_in.get("/api/v1/auth/me");
    assert_eq!(status, 401, "the sessions of the old password ended");
    let (status, _) = anonymous.send(
        "POST",
        "/api/v1/auth/token",
        Some(json!({"EmailAddress": "ana@tenant.test", "Password": old})),
    );
    assert_eq!(status, 401, "the old password no longer signs in");
    server.login("ana@tenant.test", "Remembered-green-lamp-42");
    let audit = admin.ok("GET", "/api/v1/audit?pageSize=1000", None);
    assert!(
        audit.to_string().contains("user.password_reset_by_email"),
        "the reset is audited"
    );
}

/// Email Invoice: only an issued invoice, only to a billing contact, only by someone who
/// manages the tenant's billing; each request is one message with the kept PDF, and a
/// repeat within the same minute is the same message.
#[test]
fn email_invoice_sends_an_issued_invoice_to_the_billing_contact_on_request() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let sink = SmtpSink::start(&server.dir);
    let admin = server.admin();
    let preview = bill_demo_month(&admin)[0].clone();
    let id = preview["id"].as_str().unwrap().to_owned();
    let tenant_id = preview["tenantId"].as_str().unwrap().to_owned();
    let email = format!("/api/v1/billing/invoices/{id}/email");

    let (status, body) = admin.send("POST", &email, None);
    assert_eq!(status, 409, "a preview is not sent: {body}");
    assert!(
        body["errors"].to_string().contains("issue it first"),
        "{body}"
    );
    let issued = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/issue"),
        Some(json!({})),
    );
    let number = issued["number"].as_str().unwrap().to_owned();
    let (status, body) = admin.send("POST", &email, None);
    assert_eq!(status, 409, "no SMTP server yet: {body}");
    assert!(body["errors"].to_string().contains("smtpHost"), "{body}");
    mail_through(&admin, sink.port);
    let mut tenant = editable_tenant(&admin, &tenant_id);
    tenant["billingContact"] = json!("");
    admin.ok(
        "PUT",
        &format!("/api/v1/tenants/{tenant_id}"),
        Some(tenant.clone()),
    );
    let (status, body) = admin.send("POST", &email, None);
    assert_eq!(status, 409, "no one to send it to: {body}");
    assert!(
        body["errors"].to_string().contains("billingContact"),
        "{body}"
    );

    // Readers and other branches cannot send it.
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "reader@platform.test", "firstName": "R", "lastName": "O",
                    "password": "Mail-password-for-tests-1", "role": "PlatformReader"}),
        ),
    );
    let reader = server.login("reader@platform.test", "Mail-password-for-tests-1");
    let (status, body) = reader.send("POST", &email, None);
    assert_eq!(status, 403, "{body}");
    let (status, body) = admin.send("POST", "/api/v1/billing/invoices/999999/email", None);
    assert_eq!(status, 404, "{body}");

    tenant["billingContact"] = json!("ap@tenant.test");
    admin.ok("PUT", &format!("/api/v1/tenants/{tenant_id}"), Some(tenant));
    let first = admin.ok("POST", &email, None);
    assert_eq!(first["to"], "ap@tenant.test", "{first}");
    assert_eq!(first["number"], json!(number));
    assert_eq!(first["queued"], json!(true), "{first}");
    let again = admin.ok("POST", &email, None);
    // The second request is the same message unless the minute turned between the two.
    let expected = if again["queued"] == json!(true) { 2 } else { 1 };
    let mail = sink.exactly(expected);
    let (_, _, pdf) = fetch(
        &admin,
        &format!("/api/v1/billing/invoices/{id}/document"),
        None,
    );
    let pdf_hash = format!("{:x}", Sha256::digest(&pdf));
    for m in &mail {
        assert_eq!(m["to"], "ap@tenant.test");
        assert!(m["subject"].as_str().unwrap().contains(&number), "{m:#?}");
        assert_eq!(
            m["attachments"],
            json!([{"name": format!("{number}.pdf"), "type": "application/pdf", "sha256": pdf_hash}])
        );
    }
    let jobs = admin.ok("GET", "/api/v1/jobs?pageSize=1000", None);
    let sent = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "mail.send" && j["status"] == "succeeded")
        .count();
    assert_eq!(sent, expected, "one job per message: {jobs:#}");

    // A paid invoice can still be sent (a copy for the records); a void one cannot.
    admin.ok("POST", &format!("/api/v1/billing/invoices/{id}/pay"), None);
    admin.ok("POST", &email, None);
    let audit = admin.ok("GET", "/api/v1/audit?pageSize=1000", None);
    assert!(audit.to_string().contains("invoice.email"), "audited");
    let other = bill_demo_month(&admin)
        .into_iter()
        .find(|i| i["status"] == "preview")
        .unwrap();
    let other_id = other["id"].as_str().unwrap();
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{other_id}/issue"),
        Some(json!({})),
    );
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{other_id}/void"),
        None,
    );
    let (status, body) = admin.send(
        "POST",
        &format!("/api/v1/billing/invoices/{other_id}/email"),
        None,
    );
    assert_eq!(status, 409, "{body}");
    assert!(body["errors"].to_string().contains("void"), "{body}");
}

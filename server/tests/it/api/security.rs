//! The attacks of issue #13, each followed by its refusal: sessions under concurrency,
//! session lifetime and epoch, second-factor replacement, look-alike accounts, strict
//! request parsing, one error envelope, security headers, and database errors that
//! reach the client only as a request id.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use super::tokens::{base32_decode, now, totp};
use super::{ADMIN, ADMIN_PASSWORD, Api, Db, Server};

const OPS: &str = "ops@stackbill.test";
const OPS_PASSWORD: &str = "ops-password-123";

/// Creates a platform reader `ops@…`; returns its id.
fn create_ops(admin: &Api) -> String {
    let created = admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": OPS, "firstName": "O", "lastName": "P",
                    "password": OPS_PASSWORD, "role": "PlatformReader"}),
        ),
    );
    created["id"].as_str().unwrap().to_owned()
}

fn tokens(body: &Value) -> (String, String) {
    (
        body["token"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

fn me_status(api: &Api, token: &str) -> u16 {
    api.with_token(token).get("/api/v1/auth/me").0
}

#[test]
fn concurrent_refreshes_have_one_winner_and_a_replay_ends_every_session() {
    for db in [Db::Sqlite, Db::Mariadb] {
        let server = Server::start(db);
        let anon = server.anonymous();
        let (_, first) = anon.post(
            "/api/v1/auth/token",
            json!({"emailAddress": ADMIN, "password": ADMIN_PASSWORD}),
        );
        let (access, refresh) = tokens(&first);
        let gate = Arc::new(Barrier::new(8));
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (anon, refresh, gate) = (anon.clone(), refresh.clone(), gate.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    anon.post(
                        "/api/v1/auth/token-refresh",
                        json!({"refreshToken": refresh}),
                    )
                })
            })
            .collect();
        let results: Vec<(u16, Value)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(winners.len(), 1, "{db:?}: exactly one winner: {results:?}");
        assert!(
            results.iter().all(|(s, _)| *s == 200 || *s == 401),
            "{db:?}: losers are told, never 'busy': {results:?}"
        );
        // The losers were replays: the winner's successor and every access token of the
        // account are dead, the winner's included.
        let (won_access, won_refresh) = tokens(winners[0]);
        let (status, body) = anon.post(
            "/api/v1/auth/token-refresh",
            json!({"refreshToken": won_refresh}),
        );
        assert_eq!(status, 401, "{db:?}: {body}");
        assert_eq!(me_status(&anon, &access), 401, "{db:?}");
        assert_eq!(me_status(&anon, &won_access), 401, "{db:?}");
        // Signing in again works.
        assert_eq!(
            me_status(&anon, server.admin().token.as_deref().unwrap()),
            200
        );
    }
}

#[test]
fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let server = Server::start_with(Db::Sqlite, true, &["--session-seconds", "3"]);
    let anon = server.anonymous();
    let (_, first) = anon.post(
        "/api/v1/auth/token",
        json!({"emailAddress": ADMIN, "password": ADMIN_PASSWORD}),
    );
    let (_, mut refresh) = tokens(&first);
    for _ in 0..2 {
        let (status, body) = anon.post(
            "/api/v1/auth/token-refresh",
            json!({"refreshToken": refresh}),
        );
        assert_eq!(status, 200, "{body}");
        refresh = tokens(&body).1;
    }
    std::thread::sleep(std::time::Duration::from_millis(3300));
    let (status, body) = anon.post(
        "/api/v1/auth/token-refresh",
        json!({"refreshToken": refresh}),
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("expired"), "{body}");
}

#[test]
fn password_change_disable_and_role_removal_end_access_tokens_at_once() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let id = create_ops(&admin);
    let first = server.login(OPS, OPS_PASSWORD);
    let second = server.login(OPS, OPS_PASSWORD);
    let changed = first.ok(
        "POST",
        "/api/v1/auth/change-password",
        Some(json!({"currentPassword": OPS_PASSWORD, "newPassword": "a-new-ops-secret-456"})),
    );
    let fresh = changed["token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&second, second.token.as_deref().unwrap()), 401);
    assert_eq!(me_status(&first, first.token.as_deref().unwrap()), 401);
    assert_eq!(me_status(&first, &fresh), 200);

    admin.ok(
        "PUT",
        &format!("/api/v1/users/{id}"),
        Some(json!({"disabled": true})),
    );
    assert_eq!(me_status(&first, &fresh), 401, "disabled");
    admin.ok(
        "PUT",
        &format!("/api/v1/users/{id}"),
        Some(json!({"disabled": false})),
    );

    let third = server.login(OPS, "a-new-ops-secret-456");
    assert_eq!(me_status(&third, third.token.as_deref().unwrap()), 200);
    admin.ok(
        "POST",
        "/api/v1/roles/revoke",
        Some(json!({"userId": id, "role": "PlatformReader"})),
    );
    assert_eq!(
        me_status(&third, third.token.as_deref().unwrap()),
        401,
        "role removed"
    );
}

#[test]
fn replacing_a_second_factor_needs_the_current_factor_or_the_password() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let id = create_ops(&admin);
    let api = server.login(OPS, OPS_PASSWORD);
    let enrolment = api.ok("POST", "/api/v1/auth/mfa/enroll", None);
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    let signed = api.ok(
        "POST",
        "/api/v1/auth/mfa/confirm",
        Some(json!({"enrolmentToken": enrolment["enrolmentToken"], "code": totp(&secret, now() / 30)})),
    );
    // A stolen access token alone cannot swap the factor for the thief's own.
    let thief = api.with_token(signed["token"].as_str().unwrap());
    let theirs = thief.ok("POST", "/api/v1/auth/mfa/enroll", None);
    let their_secret = base32_decode(theirs["secret"].as_str().unwrap());
    let attempt = |extra: Value| {
        let mut body = json!({"enrolmentToken": theirs["enrolmentToken"],
                              "code": totp(&their_secret, now() / 30)});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        thief.post("/api/v1/auth/mfa/confirm", body)
    };
    let (status, body) = attempt(json!({}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "currentCode", "{body}");
    let (status, body) = attempt(json!({"password": "not-the-password-1"}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "password", "{body}");
    // The owner, who knows the password, may.
    let (status, body) = attempt(json!({"password": OPS_PASSWORD}));
    assert_eq!(status, 200, "{body}");
    let owner = thief.with_token(body["data"]["token"].as_str().unwrap());
    // An administrator resets a lost factor: the sessions end, and the account signs in
    // with its password alone again.
    admin.ok(
        "PUT",
        &format!("/api/v1/users/{id}"),
        Some(json!({"resetMfa": true})),
    );
    assert_eq!(me_status(&owner, owner.token.as_deref().unwrap()), 401);
    let again = server.login(OPS, OPS_PASSWORD);
    let me = again.ok("GET", "/api/v1/auth/me", None);
    assert_eq!(me["mfaEnrolled"], false);
    let audit = admin.ok("GET", "/api/v1/audit?pageSize=1000", None);
    assert!(audit.to_string().contains("user.mfa_reset"), "{audit}");
}

#[test]
fn look_alike_e_mail_addresses_cannot_become_second_accounts() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    create_ops(&admin);
    let create = |email: &str| {
        admin.post(
            "/api/v1/users",
            json!({"emailAddress": email, "firstName": "E", "lastName": "V",
                   "password": "evil-password-789", "role": "PlatformReader"}),
        )
    };
    for (email, status) in [
        ("ｏｐｓ@stackbill.test", 409),
        ("OPS@stackbill.test", 409),
        ("\u{43e}\u{440}\u{455}@stackbill.test", 409),
        ("o\u{200b}ps@stackbill.test", 400),
        ("\u{43e}ps@stackbill.test", 400),
        ("o\u{20dd}ps@stackbill.test", 400),
    ] {
        let (got, body) = create(email);
        assert_eq!(got, status, "{email:?}: {body}");
        assert_eq!(body["code"], json!(status), "{body}");
    }
    // The fullwidth spelling signs in to the one account it normalises to.
    assert_eq!(
        server
            .anonymous()
            .post(
                "/api/v1/auth/token",
                json!({"emailAddress": "ｏｐｓ@stackbill.test", "password": OPS_PASSWORD})
            )
            .0,
        200
    );
}

#[test]
fn weak_passwords_are_refused() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    for weak in [
        "password1234",
        "aaaaaaaaaaaa",
        "123456789012",
        "qwertyuiop12",
    ] {
        let (status, body) = admin.post(
            "/api/v1/users",
            json!({"emailAddress": "weak@stackbill.test", "firstName": "W", "lastName": "P",
                   "password": weak, "role": "PlatformReader"}),
        );
        assert_eq!(status, 400, "{weak}: {body}");
        assert_eq!(body["errors"][0]["field"], "password", "{body}");
    }
}

/// Sends raw bytes with a content type.
fn raw(
    api: &Api,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = api
        .http
        .request(method, format!("{}{path}", api.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = &api.token {
        req = req.bearer_auth(t);
    }
    let response = req.send().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let value = serde_json::from_str(&response.text().unwrap()).unwrap_or(Value::Null);
    (status, headers, value)
}

#[test]
fn requests_are_read_strictly_and_every_error_has_the_envelope() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let anon = server.anonymous();
    let envelope = |status: u16, body: &Value, code: &str| {
        assert_eq!(body["code"], json!(status), "{body}");
        assert_eq!(body["data"], Value::Null, "{body}");
        assert_eq!(body["errors"][0]["code"], code, "{body}");
    };
    // Two values for one key: which one would be checked, which one used?
    let smuggled = format!(
        r#"{{"emailAddress":"nobody@stackbill.test","EmailAddress":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#
    );
    let (status, _, body) = raw(
        &anon,
        "POST",
        "/api/v1/auth/token",
        "application/json",
        smuggled.clone().into_bytes(),
    );
    assert_eq!(status, 400);
    envelope(400, &body, "invalid_request");
    assert!(body.to_string().contains("more than once"), "{body}");
    // A JSON body under another type is refused, whatever it holds.
    let login = json!({"emailAddress": ADMIN, "password": ADMIN_PASSWORD}).to_string();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let (status, _, body) = raw(
            &anon,
            "POST",
            "/api/v1/auth/token",
            ct,
            login.clone().into_bytes(),
        );
        assert_eq!(status, 415, "{ct}");
        envelope(415, &body, "unsupported_media_type");
    }
    // The router's own answers wear the envelope too.
    let (status, headers, body) = raw(
        &admin,
        "DELETE",
        "/api/v1/auth/token",
        "application/json",
        Vec::new(),
    );
    assert_eq!(status, 405);
    envelope(405, &body, "method_not_allowed");
    assert!(headers.contains_key("allow"), "{headers:?}");
    let (status, _, body) = raw(
        &admin,
        "GET",
        "/api/v1/tenants/%FF%FE",
        "application/json",
        Vec::new(),
    );
    assert!(status == 400 || status == 404, "{status}");
    envelope(
        status,
        &body,
        if status == 400 {
            "invalid_request"
        } else {
            "not_found"
        },
    );
    let (status, _, body) = raw(
        &admin,
        "GET",
        "/api/v1/no-such-thing",
        "application/json",
        Vec::new(),
    );
    envelope(status, &body, "not_found");
    // Usage the API promises to refuse is refused, the whole batch.
    let record = |quantity: &str, end: &str| {
        json!({"records": [{"subscriptionId": "s", "meterId": "m",
            "start": "2026-10-01T00:00:00Z", "end": end, "quantity": quantity}]})
    };
    for (body, field) in [
        (record("-1", "2026-10-01T01:00:00Z"), "records[0].quantity"),
        (record("1", "2026-10-01T00:00:00Z"), "records[0].end"),
    ] {
        let (status, answer) = admin.post("/api/v1/usage", body);
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{answer}");
    }
}

#[test]
fn responses_carry_security_headers_and_tokens_are_never_cached() {
    let server = Server::start(Db::Sqlite);
    let anon = server.anonymous();
    let check = |path: &str, response: reqwest::blocking::Response, api: bool| {
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(h.contains_key("x-request-id"), "{path}");
        if api {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    };
    let token = anon
        .http
        .post(format!("{}/api/v1/auth/token", anon.base))
        .json(&json!({"emailAddress": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .unwrap();
    check("token", token, true);
    let admin = server.admin();
    let me = admin
        .http
        .get(format!("{}/api/v1/auth/me", admin.base))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .unwrap();
    check("me", me, true);
    let swagger = anon
        .http
        .get(format!("{}/swagger/", anon.base))
        .send()
        .unwrap();
    assert_eq!(swagger.status(), 200);
    check("swagger", swagger, false);
}

#[test]
fn database_failures_reach_the_client_only_as_a_request_id() {
    let server = Server::start(Db::Mariadb);
    let admin = server.admin();
    let db = server.mariadb_name().unwrap().to_owned();
    let out = std::process::Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", &db, "-e", "DROP TABLE audit_log"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response = admin
        .http
        .get(format!("{}/api/v1/audit", admin.base))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().unwrap();
    assert!(body.contains(&id), "the message names the request: {body}");
    for leak in ["audit_log", "exist", "SELECT", "mysql", "1146"] {
        assert!(!body.contains(leak), "{leak:?} leaked: {body}");
    }
}

#[test]
fn an_absurd_price_increase_is_a_clear_error_not_a_crash() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let lists = admin.ok("GET", "/api/v1/pricing", None);
    let id = lists[0]["id"].as_str().unwrap().to_owned();
    for amount in [
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
    ] {
        let (status, body) = admin.post(
            &format!("/api/v1/pricing/{id}/increase"),
            json!({"kind": "percentage", "amount": amount, "period": "2026-10"}),
        );
        assert_eq!(status, 400, "{amount}: {body}");
        assert_eq!(body["errors"][0]["field"], "amount", "{body}");
    }
}

#[test]
fn readers_cannot_start_billing_or_commission_runs() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let first = |path: &str| {
        admin.ok("GET", path, None)[0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (d, p, t) = (
        first("/api/v1/distributors"),
        first("/api/v1/partners"),
        first("/api/v1/tenants"),
    );
    let readers = [
        ("PlatformReader", json!({})),
        ("DistributorReader", json!({"distributorId": d})),
        ("PartnerReader", json!({"partnerId": p})),
        ("TenantUser", json!({"tenantId": t})),
    ];
    let jobs_before = admin.ok("GET", "/api/v1/jobs?pageSize=1000", None);
    for (i, (role, place)) in readers.into_iter().enumerate() {
        let email = format!("reader{i}@stackbill.test");
        let mut body = json!({"emailAddress": email, "firstName": "R", "lastName": "O",
                              "password": "reader-password-42", "role": role});
        for (k, v) in place.as_object().unwrap() {
            body[k] = v.clone();
        }
        admin.ok("POST", "/api/v1/users", Some(body));
        let reader = server.login(&email, "reader-password-42");
        for path in [
            "/api/v1/billing/generate",
            "/api/v1/pricing/recalculate",
            "/api/v1/commissions/generate",
            "/api/v1/commissions/summary",
        ] {
            let (status, answer) = reader.post(path, json!({"period": "2026-10"}));
            assert_eq!(status, 403, "{role} {path}: {answer}");
        }
        // Reading stays open to readers.
        assert_eq!(reader.get("/api/v1/billing/invoices").0, 200, "{role}");
    }
    let jobs_after = admin.ok("GET", "/api/v1/jobs?pageSize=1000", None);
    assert_eq!(jobs_before, jobs_after, "no run was started");
}

#[test]
fn an_oversized_body_is_refused_from_its_length_alone() {
    use std::io::{Read, Write};
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let head = format!(
        "POST /api/v1/usage HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        admin.token.as_deref().unwrap(),
        64 * 1024 * 1024
    );
    // Headers only: the server must answer without waiting for 64 MiB (bytes it left
    // unread would make the kernel reset the connection and lose the answer).
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"payload_too_large\""), "{text}");
}

#[test]
fn an_mfa_requirement_is_lifted_only_from_above() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let tenants = admin.ok("GET", "/api/v1/tenants?pageSize=1000", None);
    let tenant = &tenants[0];
    let (t, p) = (
        tenant["id"].as_str().unwrap().to_owned(),
        tenant["partnerId"].as_str().unwrap().to_owned(),
    );
    let user = |email: &str, role: &str, place: Value, mfa: bool| {
        let mut body = json!({"emailAddress": email, "firstName": "M", "lastName": "F",
                              "password": "mfa-test-password-9", "role": role, "mfaRequired": mfa});
        for (k, v) in place.as_object().unwrap() {
            body[k] = v.clone();
        }
        admin.ok("POST", "/api/v1/users", Some(body))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    user(
        "pa@stackbill.test",
        "PartnerAdministrator",
        json!({"partnerId": p}),
        false,
    );
    user(
        "ta@stackbill.test",
        "TenantAdministrator",
        json!({"tenantId": t}),
        false,
    );
    let staff = user(
        "tu@stackbill.test",
        "TenantUser",
        json!({"tenantId": t}),
        true,
    );
    let partner = server.login("pa@stackbill.test", "mfa-test-password-9");
    let tenant_admin = server.login("ta@stackbill.test", "mfa-test-password-9");
    let path = format!("/api/v1/users/{staff}");
    let (status, body) = tenant_admin.send("PUT", &path, Some(json!({"mfaRequired": false})));
    assert_eq!(
        status, 403,
        "the tenant lifts its partner's requirement: {body}"
    );
    let (status, body) = partner.send("PUT", &path, Some(json!({"mfaRequired": false})));
    assert_eq!(status, 200, "{body}");
    // Requiring it is open to whoever manages the user.
    let (status, body) = tenant_admin.send("PUT", &path, Some(json!({"mfaRequired": true})));
    assert_eq!(status, 200, "{body}");
}

/// Runs `stackbill users …` against a running server's database and key file.
fn recover(server: &Server, command: &str, email: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(["users", command, email, "--database"])
        .arg(format!("sqlite://{}/db.sqlite", server.dir.display()))
        .arg("--key-file")
        .arg(server.dir.join("stackbill.key"))
        .output()
        .unwrap()
}

#[test]
fn a_locked_out_sole_administrator_recovers_from_the_command_line() {
    let server = Server::start_with(Db::Sqlite, true, &["--auth-attempts-per-minute", "100"]);
    let anon = server.anonymous();
    let sign_in = |password: &str, code: Option<String>| {
        anon.post(
            "/api/v1/auth/token",
            json!({"emailAddress": ADMIN, "password": password, "mfaCode": code}),
        )
    };
    // The administrator enrols a second factor, then strangers guess the password.
    let admin = server.admin();
    let enrolment = admin.ok("POST", "/api/v1/auth/mfa/enroll", None);
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    admin.ok(
        "POST",
        "/api/v1/auth/mfa/confirm",
        Some(json!({"enrolmentToken": enrolment["enrolmentToken"], "code": totp(&secret, now() / 30)})),
    );
    for _ in 0..8 {
        sign_in("wrong-password-000", None);
    }
    assert_eq!(sign_in(ADMIN_PASSWORD, None).0, 429);

    let out = recover(&server, "unlock", ADMIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = sign_in(ADMIN_PASSWORD, None);
    assert_eq!(
        status, 401,
        "unlocked, the second factor is still asked: {body}"
    );
    assert!(body.to_string().contains("mfaCode"), "{body}");

    // The phone is lost: the factor goes, the password alone signs in.
    let out = recover(&server, "reset-mfa", ADMIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sign_in(ADMIN_PASSWORD, None).0, 200);

    // The password is forgotten: a temporary one, to be changed at once.
    let out = recover(&server, "reset-password", ADMIN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let temporary = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(
        sign_in(ADMIN_PASSWORD, None).0,
        401,
        "the old password is gone"
    );
    let (status, body) = sign_in(&temporary, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restriction"], "password_change", "{body}");

    let out = recover(&server, "unlock", "nobody@stackbill.test");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@stackbill.test"));
}

//! The token attack suite and the sign-in rules: forged, expired and misdirected access
//! tokens; federated ID tokens against a local JWKS server with keys made here; refresh
//! token replay; TOTP code reuse; lockout; throttling; the generated first administrator.

use std::io::{Read, Write};
use std::net::TcpListener;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use super::{ADMIN, ADMIN_PASSWORD, Api, Db, Server};

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// The server's own signing key, read from its key file.
fn server_secret(server: &Server) -> Vec<u8> {
    let text = std::fs::read_to_string(server.dir.join("stackbill.key")).unwrap();
    STANDARD.decode(text.trim()).unwrap()[..32].to_vec()
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn status_with(api: &Api, token: &str) -> u16 {
    api.with_token(token).get("/api/v1/auth/me").0
}

#[test]
fn forged_expired_and_misdirected_access_tokens_are_rejected() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let me = admin.ok("GET", "/api/v1/auth/me", None);
    let sub = me["id"].as_str().unwrap().to_owned();
    let secret = server_secret(&server);
    let t = now();
    let good = json!({"sub": sub, "iss": "stackbill", "aud": "stackbill-api", "iat": t, "nbf": t, "exp": t + 300});
    // The real key signs a valid token: the attacks below differ in one thing each.
    assert_eq!(status_with(&admin, &hs256(&secret, &good)), 200);

    let mut attacks: Vec<(&str, String)> = Vec::new();
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );
    attacks.push(("alg none", none));
    let none_upper = format!(
        "{}.{}.",
        b64(&json!({"alg": "NONE", "typ": "JWT"})),
        b64(&good)
    );
    attacks.push(("alg NONE", none_upper));
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    attacks.push((
        "HS256 with a public key as secret",
        hs256(public_pem.as_bytes(), &good),
    ));
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &good,
        &EncodingKey::from_rsa_pem(
            key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                .unwrap()
                .as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    attacks.push(("RS256 (not allowed)", rs));
    let mut c = good.clone();
    c["exp"] = json!(t - 60);
    attacks.push(("expired", hs256(&secret, &c)));
    let mut c = good.clone();
    c["nbf"] = json!(t + 600);
    attacks.push(("not yet valid", hs256(&secret, &c)));
    let mut c = good.clone();
    c["iss"] = json!("someone-else");
    attacks.push(("wrong iss", hs256(&secret, &c)));
    let mut c = good.clone();
    c["aud"] = json!("another-api");
    attacks.push(("wrong aud", hs256(&secret, &c)));
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("exp");
    attacks.push(("no exp", hs256(&secret, &c)));
    let valid = hs256(&secret, &good);
    let (head, sig) = valid.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[0] ^= 1;
    attacks.push((
        "bad signature",
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes)),
    ));
    attacks.push((
        "wrong key",
        hs256(b"not the server key, 32 bytes long", &good),
    ));
    let mut c = good.clone();
    c["sub"] = json!("nobody");
    attacks.push(("unknown subject", hs256(&secret, &c)));
    attacks.push(("garbage", "abc.def.ghi".into()));

    for (name, token) in attacks {
        let (status, body) = admin.with_token(&token).get("/api/v1/subscriptions");
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["errors"][0]["code"], "unauthenticated", "{name}");
    }
    let (status, _) = server.anonymous().get("/api/v1/subscriptions");
    assert_eq!(status, 401, "no token");
}

/// A local identity provider: an RSA key and a JWKS endpoint serving it over HTTP.
struct Provider {
    key: rsa::RsaPrivateKey,
    jwks_uri: String,
}

impl Provider {
    fn start() -> Self {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = key.to_public_key();
        let jwks = json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]})
        .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{jwks}",
                    jwks.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Provider {
            key,
            jwks_uri: format!("http://127.0.0.1:{port}/discovery/keys"),
        }
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        self.sign_with(&self.key, kid, claims)
    }

    fn sign_with(&self, key: &rsa::RsaPrivateKey, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let pem = key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

const ISSUER: &str = "https://login.microsoftonline.com/contoso/v2.0";
const AUDIENCE: &str = "api://stackbill";

/// System Settings → Identity: the local provider as Microsoft Entra, allowed or not.
fn trust(admin: &Api, idp: &Provider, allow: bool) {
    admin.ok(
        "PUT",
        "/api/v1/settings/identity",
        Some(json!({
            "allowLocalSignIn": true, "allowEntra": allow, "allowGoogle": false,
            "providers": [{"kind": "entra", "issuer": ISSUER, "audience": AUDIENCE, "jwksUri": idp.jwks_uri}]
        })),
    );
}

#[test]
fn federated_id_tokens_are_verified_against_the_issuers_keys() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let idp = Provider::start();
    trust(&admin, &idp, true);
    let anon = server.anonymous();
    let t = now();
    let good = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "email": ADMIN, "iat": t, "nbf": t, "exp": t + 600});
    let exchange = |token: &str| anon.post("/api/v1/auth/federated", json!({"IdToken": token}));

    let (status, body) = exchange(&idp.sign("k1", &good));
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(status_with(&anon, token), 200, "the exchanged token works");

    let public_pem = idp
        .key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some("k1".into());
    let hs_with_public = jsonwebtoken::encode(
        &confused,
        &good,
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
        b64(&good)
    );
    let other = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        idp.sign("k1", &c)
    };
    let attacks = [
        ("alg none", none),
        ("HS256 signed with the public key", hs_with_public),
        ("expired", with("exp", json!(t - 3600))),
        ("not yet valid", with("nbf", json!(t + 3600))),
        ("wrong iss", with("iss", json!("https://evil.example/v2.0"))),
        ("wrong aud", with("aud", json!("api://someone-else"))),
        ("unknown kid", idp.sign("k2", &good)),
        ("bad signature", idp.sign_with(&other, "k1", &good)),
        ("unknown account", {
            let mut c = good.clone();
            c["sub"] = json!("y");
            c["email"] = json!("stranger@example.test");
            idp.sign("k1", &c)
        }),
        ("no subject", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("sub");
            idp.sign("k1", &c)
        }),
    ];
    for (name, token) in attacks {
        let (status, body) = exchange(&token);
        assert!(status == 401, "{name}: answered {status} {body}");
    }

    // Settings choose the identity paths: Entra off refuses even a valid token.
    trust(&admin, &idp, false);
    let (status, _) = exchange(&idp.sign("k1", &good));
    assert_eq!(status, 403);
}

#[test]
fn federated_sign_in_binds_the_subject_and_needs_a_verified_e_mail() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let idp = Provider::start();
    trust(&admin, &idp, true);
    let anon = server.anonymous();
    let t = now();
    let token = |claims: Value| {
        let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": t, "nbf": t, "exp": t + 600});
        for (k, v) in claims.as_object().unwrap() {
            c[k] = v.clone();
        }
        anon.post(
            "/api/v1/auth/federated",
            json!({"idToken": idp.sign("k1", &c)}),
        )
    };
    // An attacker's own directory account, named like the administrator: mutable claims
    // never bind an account.
    for (name, claims) in [
        (
            "unverified e-mail",
            json!({"sub": "evil-1", "email": ADMIN, "email_verified": false}),
        ),
        (
            "unverified, as text",
            json!({"sub": "evil-2", "email": ADMIN, "email_verified": "false"}),
        ),
        (
            "preferred_username only",
            json!({"sub": "evil-3", "preferred_username": ADMIN}),
        ),
        ("upn only", json!({"sub": "evil-4", "upn": ADMIN})),
    ] {
        let (status, body) = token(claims);
        assert_eq!(status, 401, "{name}: {body}");
    }
    // The first sign-in through a vouched-for address binds (issuer, subject)…
    let (status, body) = token(json!({"sub": "admin-oid", "email": ADMIN, "email_verified": true}));
    assert_eq!(status, 200, "{body}");
    // …and later ones follow the binding whatever the e-mail claim says.
    let (status, body) = token(json!({"sub": "admin-oid", "email": "renamed@contoso.example"}));
    assert_eq!(status, 200, "{body}");
    let me = anon
        .with_token(body["token"].as_str().unwrap())
        .ok("GET", "/api/v1/auth/me", None);
    assert_eq!(me["emailAddress"], ADMIN);
    let audit = admin.ok("GET", "/api/v1/audit?pageSize=1000", None);
    assert!(
        audit.to_string().contains("user.federated_linked"),
        "{audit}"
    );

    // Required activation holds for federated sign-in too.
    admin.ok(
        "PUT",
        "/api/v1/settings/users",
        Some(json!({"requireUserActivationCode": true})),
    );
    let created = admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "fed@contoso.example", "firstName": "F", "lastName": "D",
                    "role": "PlatformReader", "federatedOnly": true}),
        ),
    );
    let code = created["activationCode"].as_str().unwrap().to_owned();
    let claims = json!({"sub": "fed-oid", "email": "fed@contoso.example"});
    let (status, body) = token(claims);
    assert_eq!(status, 401, "not activated: {body}");
    assert!(body.to_string().contains("activat"), "{body}");
    let (status, body) = anon.post(
        "/api/v1/auth/federated",
        json!({"idToken": idp.sign("k1", &{
            let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": t, "nbf": t, "exp": t + 600});
            c["sub"] = json!("fed-oid");
            c["email"] = json!("fed@contoso.example");
            c
        }), "activationCode": code}),
    );
    assert_eq!(status, 200, "activated with its code: {body}");
}

#[test]
fn a_replayed_refresh_token_revokes_its_whole_family() {
    let server = Server::start(Db::Sqlite);
    let anon = server.anonymous();
    let (_, first) = anon.post(
        "/api/v1/auth/token",
        json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD}),
    );
    let r1 = first["refreshToken"].as_str().unwrap().to_owned();
    let (status, second) = anon.post("/api/v1/auth/token-refresh", json!({"RefreshToken": r1}));
    assert_eq!(status, 200, "{second}");
    let r2 = second["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "rotated");
    let (status, body) = anon.post("/api/v1/auth/token-refresh", json!({"RefreshToken": r1}));
    assert_eq!(status, 401, "replay: {body}");
    let (status, body) = anon.post("/api/v1/auth/token-refresh", json!({"RefreshToken": r2}));
    assert_eq!(status, 401, "the successor died with the family: {body}");
    let (status, _) = anon.post(
        "/api/v1/auth/token-refresh",
        json!({"RefreshToken": "made-up"}),
    );
    assert_eq!(status, 401);
    // A fresh sign-in starts a new family that works.
    let (_, third) = anon.post(
        "/api/v1/auth/login",
        json!({"emailAddress": ADMIN, "password": ADMIN_PASSWORD}),
    );
    let r3 = third["refreshToken"].as_str().unwrap();
    assert_eq!(
        anon.post("/api/v1/auth/token-refresh", json!({"refreshToken": r3}))
            .0,
        200
    );
}

pub(crate) fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {c}"),
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

pub(crate) fn totp(secret: &[u8], step: i64) -> String {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).unwrap();
    mac.update(&step.to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = usize::from(d[19] & 15);
    let bin = (u32::from(d[o]) & 0x7f) << 24
        | u32::from(d[o + 1]) << 16
        | u32::from(d[o + 2]) << 8
        | u32::from(d[o + 3]);
    format!("{:06}", bin % 1_000_000)
}

#[test]
fn totp_codes_work_once_and_mfa_is_then_required() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let enrolment = admin.ok("POST", "/api/v1/auth/mfa/enroll", Some(json!({})));
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    let step = now() / 30;
    let wrong = admin.post(
        "/api/v1/auth/mfa/confirm",
        json!({"enrolmentToken": enrolment["enrolmentToken"], "code": "000000"}),
    );
    assert_eq!(wrong.0, 400, "{}", wrong.1);
    admin.ok(
        "POST",
        "/api/v1/auth/mfa/confirm",
        Some(json!({"enrolmentToken": enrolment["enrolmentToken"], "code": totp(&secret, step)})),
    );
    let anon = server.anonymous();
    let sign_in = |code: Option<String>| {
        let mut body = json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD});
        if let Some(code) = code {
            body["MfaCode"] = json!(code);
        }
        anon.post("/api/v1/auth/token", body)
    };
    assert_eq!(sign_in(None).0, 401, "a code is required now");
    assert_eq!(
        sign_in(Some(totp(&secret, step))).0,
        401,
        "the enrolment code was used"
    );
    let next = totp(&secret, step + 1);
    let (status, body) = sign_in(Some(next.clone()));
    assert_eq!(
        status, 200,
        "the next step's code is accepted (±1 step): {body}"
    );
    assert_eq!(sign_in(Some(next)).0, 401, "and only once");
    assert_eq!(
        sign_in(Some(totp(&secret, step + 5))).0,
        401,
        "too far ahead"
    );
}

#[test]
fn failed_sign_ins_back_off_without_locking_and_reveal_nothing() {
    // Above the per-minute burst limit, so only the back-off decides here.
    let server = Server::start_with(Db::Sqlite, true, &["--auth-attempts-per-minute", "100"]);
    let admin = server.admin();
    let created = admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "ops@stackbill.test", "firstName": "O", "lastName": "P",
                    "password": "ops-password-123", "role": "PlatformReader"}),
        ),
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let anon = server.anonymous();
    let attempt = |email: &str, password: &str| {
        anon.post(
            "/api/v1/auth/token",
            json!({"emailAddress": email, "password": password}),
        )
    };
    // Five wrong passwords for a real account and for a made-up one answer alike…
    for _ in 0..5 {
        // The known account last, so the check below follows its fifth failure at once
        // (the first delay is one second; a slow machine must not outlast it).
        let unknown = attempt("nobody@stackbill.test", "wrong-password-000");
        let known = attempt("ops@stackbill.test", "wrong-password-000");
        assert_eq!(known.0, 401);
        assert_eq!(
            known, unknown,
            "a known account answers like an unknown one"
        );
    }
    // …and then both are delayed alike, the right password included: no oracle.
    let (status, body) = attempt("ops@stackbill.test", "ops-password-123");
    assert_eq!(status, 429, "delayed after the threshold: {body}");
    assert_eq!(attempt("nobody@stackbill.test", "x").0, 429);
    // The delay ends by itself: strangers cannot lock an account for good.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(attempt("ops@stackbill.test", "ops-password-123").0, 200);

    // An administrator's unlock forgets the failures at once.
    for _ in 0..5 {
        assert_eq!(attempt("ops@stackbill.test", "wrong-password-000").0, 401);
    }
    assert_eq!(attempt("ops@stackbill.test", "ops-password-123").0, 429);
    admin.ok(
        "PUT",
        &format!("/api/v1/users/{id}"),
        Some(json!({"lockedOut": false})),
    );
    let (status, body) = attempt("ops@stackbill.test", "ops-password-123");
    assert_eq!(status, 200, "unlocked: {body}");

    // An administrator's lock holds; its reason is told only to whoever knows the
    // password.
    admin.ok(
        "PUT",
        &format!("/api/v1/users/{id}"),
        Some(json!({"lockedOut": true})),
    );
    let (status, body) = attempt("ops@stackbill.test", "ops-password-123");
    assert_eq!(status, 401);
    assert!(
        body.to_string().contains("locked by an administrator"),
        "{body}"
    );
    let wrong = attempt("ops@stackbill.test", "wrong-password-001");
    let stranger = attempt("stranger@stackbill.test", "wrong-password-001");
    assert_eq!(wrong, stranger);
    let audit = admin.ok("GET", "/api/v1/audit?pageSize=1000", None);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"user.security"), "{actions:?}");
}

#[test]
fn disabled_and_federated_only_users_cannot_use_a_password() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    for (email, extra) in [
        ("disabled@stackbill.test", json!({"disabled": true})),
        ("federated@stackbill.test", json!({"federatedOnly": true})),
    ] {
        let created = admin.ok(
            "POST",
            "/api/v1/users",
            Some(
                json!({"emailAddress": email, "firstName": "A", "lastName": "B",
                        "password": "a-good-password-1", "role": "PlatformReader"}),
            ),
        );
        let id = created["id"].as_str().unwrap();
        admin.ok("PUT", &format!("/api/v1/users/{id}"), Some(extra));
        let (status, body) = server.anonymous().post(
            "/api/v1/auth/token",
            json!({"emailAddress": email, "password": "a-good-password-1"}),
        );
        assert_eq!(status, 401, "{email}: {body}");
    }
}

#[test]
fn sign_in_attempts_are_throttled_per_address() {
    let server = Server::start_with(Db::Sqlite, true, &["--auth-attempts-per-minute", "3"]);
    let anon = server.anonymous();
    for _ in 0..3 {
        let (status, _) = anon.post(
            "/api/v1/auth/token",
            json!({"emailAddress": ADMIN, "password": "wrong-password-000"}),
        );
        assert_eq!(status, 401);
    }
    let response = anon
        .http
        .post(format!("{}/api/v1/auth/token", anon.base))
        .json(&json!({"emailAddress": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[test]
fn a_generated_first_administrator_must_change_the_password() {
    let server = Server::start_with(Db::Sqlite, false, &[]);
    let line = server
        .output
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("with password"))
        .cloned()
        .expect("the generated password is printed once");
    let password = line.rsplit(' ').next().unwrap().to_owned();
    let anon = server.anonymous();
    let (status, body) = anon.post(
        "/api/v1/auth/token",
        json!({"emailAddress": "admin@stackbill.local", "password": password}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restriction"], "password_change");
    let restricted = anon.with_token(body["token"].as_str().unwrap());
    assert_eq!(restricted.get("/api/v1/subscriptions").0, 403);
    let (status, body) = restricted.post(
        "/api/v1/auth/change-password",
        json!({"currentPassword": password, "newPassword": "short"}),
    );
    assert_eq!(
        (status, body["errors"][0]["field"].clone()),
        (400, json!("newPassword"))
    );
    let changed = restricted.ok(
        "POST",
        "/api/v1/auth/change-password",
        Some(json!({"currentPassword": password, "newPassword": "a-brand-new-password"})),
    );
    assert_eq!(changed["restriction"], Value::Null);
    let full = anon.with_token(changed["token"].as_str().unwrap());
    assert_eq!(full.get("/api/v1/subscriptions").0, 200);
    let (status, _) = anon.post(
        "/api/v1/auth/token",
        json!({"emailAddress": "admin@stackbill.local", "password": password}),
    );
    assert_eq!(status, 401, "the generated password no longer works");
}

#[test]
fn activation_codes_are_required_once_when_the_settings_say_so() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    admin.ok(
        "PUT",
        "/api/v1/settings/users",
        Some(json!({"requireUserActivationCode": true})),
    );
    let created = admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "new@stackbill.test", "firstName": "N", "lastName": "U",
                    "password": "new-user-password-1", "role": "PlatformReader"}),
        ),
    );
    assert_eq!(created["activated"], false);
    let code = created["activationCode"].as_str().unwrap().to_owned();
    let anon = server.anonymous();
    let sign_in = |extra: Value| {
        let mut body =
            json!({"emailAddress": "new@stackbill.test", "password": "new-user-password-1"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        anon.post("/api/v1/auth/token", body)
    };
    let (status, body) = sign_in(json!({}));
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("activationCode"), "{body}");
    assert_eq!(sign_in(json!({"activationCode": "wrong-code"})).0, 401);
    assert_eq!(sign_in(json!({"activationCode": code})).0, 200);
    assert_eq!(sign_in(json!({})).0, 200, "activated once, for good");
    // The code is not shown again, and an administrator can activate without one.
    let id = created["id"].as_str().unwrap();
    assert!(admin.ok("GET", &format!("/api/v1/users/{id}"), None)["activationCode"].is_null());
    let other = admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "other@stackbill.test", "firstName": "O", "lastName": "U",
                    "password": "other-user-password", "role": "PlatformReader"}),
        ),
    );
    let other_id = other["id"].as_str().unwrap();
    admin.ok(
        "PUT",
        &format!("/api/v1/users/{other_id}"),
        Some(json!({"activated": true})),
    );
    let (status, body) = anon.post(
        "/api/v1/auth/token",
        json!({"emailAddress": "other@stackbill.test", "password": "other-user-password"}),
    );
    assert_eq!(status, 200, "{body}");
}

//! The portal's Entra / Google buttons against a local OpenID provider over HTTP: its
//! discovery document, an authorisation endpoint that sends the browser back with a
//! one-time code, a token endpoint that checks the PKCE verifier, redirect URI and
//! client secret before it signs an ID token, and its keys.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Digest;

use super::tokens::now;
use super::{Db, Server};

const CLIENT: &str = "stackbill-portal";
const SECRET: &str = "a-client-secret-for-tests";

/// What the provider remembers of a code it issued.
#[derive(Clone)]
struct Grant {
    challenge: String,
    redirect_uri: String,
    nonce: String,
}

#[derive(Default)]
struct Memory {
    grants: HashMap<String, Grant>,
    /// Sign the next ID token with this nonce instead of the one asked for.
    wrong_nonce: bool,
    /// Why the token endpoint refused its last request.
    refusals: Vec<String>,
}

struct Idp {
    base: String,
    memory: Arc<Mutex<Memory>>,
}

fn pem(key: &rsa::RsaPrivateKey) -> String {
    key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .unwrap()
        .to_string()
}

impl Idp {
    fn start(subject: &'static str, email: &'static str) -> Idp {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let memory = Arc::new(Mutex::new(Memory::default()));
        let (issuer, shared) = (base.clone(), memory.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (method, target, body) = read_request(&stream);
                let answer = serve(
                    &issuer, &key, subject, email, &shared, &method, &target, &body,
                );
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        Idp { base, memory }
    }

    fn provider(&self) -> Value {
        json!({"kind": "entra", "issuer": self.base, "audience": CLIENT,
               "jwksUri": format!("{}/keys", self.base), "clientSecretRef": "env:STACKBILL_TEST_OIDC_SECRET"})
    }
}

fn read_request(stream: &TcpStream) -> (String, String, String) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap_or_default();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap_or_default();
    (method, target, String::from_utf8_lossy(&body).into_owned())
}

fn query(text: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str(text).unwrap_or_default()
}

fn http(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[allow(clippy::too_many_arguments)]
fn serve(
    issuer: &str,
    key: &rsa::RsaPrivateKey,
    subject: &str,
    email: &str,
    memory: &Mutex<Memory>,
    method: &str,
    target: &str,
    body: &str,
) -> String {
    let json_type = "Content-Type: application/json\r\n";
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    match (method, path) {
        ("GET", "/.well-known/openid-configuration") => http(
            "200 OK",
            json_type,
            &json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}/authorize"),
                    "token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/keys")})
            .to_string(),
        ),
        ("GET", "/keys") => {
            let public = key.to_public_key();
            let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be())}]});
            http("200 OK", json_type, &jwks.to_string())
        }
        ("GET", "/authorize") => {
            // The person signs in here; the provider sends the browser back.
            let q = query(q);
            assert_eq!(q["response_type"], "code");
            assert_eq!(q["client_id"], CLIENT);
            assert_eq!(q["code_challenge_method"], "S256");
            assert!(q["scope"].split(' ').any(|s| s == "openid"));
            let code = format!("code-{}", rand::random::<u64>());
            memory.lock().unwrap().grants.insert(
                code.clone(),
                Grant {
                    challenge: q["code_challenge"].clone(),
                    redirect_uri: q["redirect_uri"].clone(),
                    nonce: q["nonce"].clone(),
                },
            );
            let back = format!(
                "{}?{}",
                q["redirect_uri"],
                serde_urlencoded::to_string([("code", &code), ("state", &q["state"])]).unwrap()
            );
            http("302 Found", &format!("Location: {back}\r\n"), "")
        }
        ("POST", "/token") => {
            let f = query(body);
            let mut memory = memory.lock().unwrap();
            let grant = memory.grants.remove(&f["code"]);
            let verifier_digest = f
                .get("code_verifier")
                .map(|v| URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v.as_bytes())));
            let refusal = match &grant {
                None => Some("the code is unknown or was used".to_owned()),
                Some(g) if Some(&g.challenge) != verifier_digest.as_ref() => {
                    Some("the PKCE verifier does not match".into())
                }
                Some(g) if f.get("redirect_uri") != Some(&g.redirect_uri) => {
                    Some("the redirect URI differs".into())
                }
                Some(_) if f.get("client_id").map(String::as_str) != Some(CLIENT) => {
                    Some("wrong client".into())
                }
                Some(_) if f.get("client_secret").map(String::as_str) != Some(SECRET) => {
                    Some("wrong client secret".into())
                }
                Some(_) if f.get("grant_type").map(String::as_str) != Some("authorization_code") => {
                    Some("wrong grant type".into())
                }
                Some(_) => None,
            };
            if let Some(why) = refusal {
                memory.refusals.push(why.clone());
                let body = json!({"error": "invalid_grant", "error_description": why});
                return http("400 Bad Request", json_type, &body.to_string());
            }
            let nonce = if memory.wrong_nonce {
                "another-sign-in".to_owned()
            } else {
                grant.map(|g| g.nonce).unwrap_or_default()
            };
            let claims = json!({"iss": issuer, "aud": CLIENT, "sub": subject, "email": email,
                "email_verified": true, "nonce": nonce, "iat": now(), "exp": now() + 300});
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some("k1".into());
            let token = jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_rsa_pem(pem(key).as_bytes()).unwrap(),
            )
            .unwrap();
            http(
                "200 OK",
                json_type,
                &json!({"id_token": token, "token_type": "Bearer"}).to_string(),
            )
        }
        _ => http("404 Not Found", "", ""),
    }
}

fn browser() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The `name=value` of cookie `name` set by `response`, with its attributes.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn value(cookie: &str) -> &str {
    cookie.split(';').next().unwrap_or_default()
}

/// Starts a sign-in with the first provider; the provider's answer (where it sends the
/// browser back) and the cookie the portal set.
fn begin(browser: &Client, server: &Server, next: &str) -> (String, String) {
    let start = browser
        .get(format!("{}/sign-in/federated/0?next={next}", server.base))
        .send()
        .unwrap();
    assert_eq!(
        start.status(),
        303,
        "the portal sends the browser to the provider"
    );
    let cookie = set_cookie(&start, "stackbill_federation").expect("a sign-in cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/sign-in", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let authorize = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let at_provider = browser.get(&authorize).send().unwrap();
    assert_eq!(at_provider.status(), 302);
    let back = at_provider.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{}/sign-in/callback?", server.base)),
        "{back}"
    );
    (back, value(&cookie).to_owned())
}

fn text(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().unwrap())
}

#[test]
fn the_portal_signs_in_through_an_openid_provider_with_pkce_state_and_nonce() {
    let idp = Idp::start("entra-subject-1", "fed@stackbill.test");
    let server = Server::start_env(
        Db::Sqlite,
        true,
        &[],
        &[("STACKBILL_TEST_OIDC_SECRET", SECRET)],
    );
    let admin = server.admin();
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(
            json!({"emailAddress": "fed@stackbill.test", "firstName": "Fed", "lastName": "Erated",
                    "role": "PlatformReader", "federatedOnly": true}),
        ),
    );
    let settings = |allow: bool| {
        json!({"allowLocalSignIn": true, "allowEntra": allow, "allowGoogle": false,
               "providers": [idp.provider()]})
    };
    admin.ok("PUT", "/api/v1/settings/identity", Some(settings(false)));
    let http = browser();
    let (_, page) = text(http.get(format!("{}/sign-in", server.base)).send().unwrap());
    assert!(
        !page.contains("Sign in with Microsoft Entra ID"),
        "no button while Entra is not allowed"
    );
    let (status, page) = text(
        http.get(format!("{}/sign-in/federated/0", server.base))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
    assert!(
        page.contains("Entra sign-in is disabled in System Settings"),
        "{page}"
    );

    admin.ok("PUT", "/api/v1/settings/identity", Some(settings(true)));
    let (_, page) = text(
        http.get(format!("{}/sign-in?next=%2Ftenants", server.base))
            .send()
            .unwrap(),
    );
    assert!(
        page.contains("href=\"/sign-in/federated/0?next=%2Ftenants\""),
        "{page}"
    );
    assert!(page.contains("Sign in with Microsoft Entra ID"));

    // Back without the cookie (another browser), or with another sign-in's state.
    let (back, cookie) = begin(&http, &server, "%2Ftenants");
    let (status, page) = text(http.get(&back).send().unwrap());
    assert_eq!(status, 401);
    assert!(page.contains("not started in this browser"), "{page}");
    let (status, page) = text(
        http.get(back.replace("state=", "state=x"))
            .header(COOKIE, &cookie)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
    assert!(page.contains("does not belong to this browser"), "{page}");

    // The real return: signed in, then moved on from this site (SameSite=Strict session).
    let (back, cookie) = begin(&http, &server, "%2Ftenants");
    let done = http.get(&back).header(COOKIE, &cookie).send().unwrap();
    assert_eq!(done.status(), 200);
    let session = set_cookie(&done, "stackbill_session").expect("a session");
    assert!(session.contains("SameSite=Strict") && session.contains("HttpOnly"));
    let cleared = set_cookie(&done, "stackbill_federation").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (_, page) = text(done);
    assert!(
        page.contains("<meta http-equiv=\"refresh\" content=\"0;url=/tenants\">"),
        "{page}"
    );
    let (status, page) = text(
        http.get(format!("{}/tenants", server.base))
            .header(COOKIE, value(&session))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("Fed Erated"),
        "signed in as the linked account"
    );
    assert!(idp.memory.lock().unwrap().refusals.is_empty());
    let (_, audit) = admin.get("/api/v1/audit?pageSize=100");
    assert!(audit.to_string().contains("user.federated_linked"));

    // A code is good once: the provider refuses it again, and the page says why.
    let (status, page) = text(http.get(&back).header(COOKIE, &cookie).send().unwrap());
    assert_eq!(status, 401);
    assert!(
        page.contains("The identity provider refused the sign-in: the code is unknown or was used"),
        "{page}"
    );

    // An ID token minted for another sign-in (its nonce) is refused.
    idp.memory.lock().unwrap().wrong_nonce = true;
    let (back, cookie) = begin(&http, &server, "%2Fdashboard");
    let (status, page) = text(http.get(&back).header(COOKIE, &cookie).send().unwrap());
    assert_eq!(status, 401);
    assert!(page.contains("its nonce is not this sign-in"), "{page}");
    assert!(set_cookie_absent(&http, &back, &cookie));

    // The person declined at the provider.
    let (back, cookie) = begin(&http, &server, "%2Fdashboard");
    let state = back.split("state=").nth(1).unwrap().to_owned();
    let declined = format!(
        "{}/sign-in/callback?error=access_denied&error_description=the+user+declined&state={state}",
        server.base
    );
    let (status, page) = text(http.get(declined).header(COOKIE, &cookie).send().unwrap());
    assert_eq!(status, 401);
    assert!(
        page.contains("The identity provider did not sign you in: the user declined"),
        "{page}"
    );
}

/// A refused return never sets a session.
fn set_cookie_absent(http: &Client, back: &str, cookie: &str) -> bool {
    let again = http.get(back).header(COOKIE, cookie).send().unwrap();
    set_cookie(&again, "stackbill_session").is_none()
}

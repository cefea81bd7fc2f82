//! The portal's session over plain HTTP (the browser flows are in server/tests/portal):
//! cookies that scripts cannot read and other sites do not send, forms that another site
//! cannot post, and a CSRF token every signed-in form must carry.

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

use super::{ADMIN, ADMIN_PASSWORD, Db, Server};

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

fn post(http: &Client, url: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Response {
    let mut req = http
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(form));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().unwrap()
}

/// `application/x-www-form-urlencoded`: every byte but unreserved ones percent-encoded.
fn form_body(form: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn portal_sessions_are_http_only_same_site_and_forms_need_this_site_and_their_token() {
    let server = Server::start_with(Db::Sqlite, true, &[]);
    let http = client();
    let base = &server.base;

    let anonymous = http.get(format!("{base}/dashboard")).send().unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()[LOCATION], "/sign-in?next=%2Fdashboard");

    let credentials = [
        ("email", ADMIN),
        ("password", ADMIN_PASSWORD),
        ("next", "/tenants"),
    ];
    let forged = post(
        &http,
        &format!("{base}/sign-in"),
        &credentials,
        &[(ORIGIN.as_str(), "https://evil.test")],
    );
    assert_eq!(forged.status(), 400, "a sign-in posted by another site");
    assert!(forged.headers().get(SET_COOKIE).is_none());

    let signed_in = post(
        &http,
        &format!("{base}/sign-in"),
        &credentials,
        &[(ORIGIN.as_str(), base)],
    );
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/tenants");
    let cookies: Vec<String> = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for c in &cookies {
        assert!(
            c.contains("; HttpOnly") && c.contains("; SameSite=Strict"),
            "{c}"
        );
    }
    let jar = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect::<Vec<_>>()
        .join("; ");
    let dashboard = http
        .get(format!("{base}/dashboard"))
        .header(COOKIE, &jar)
        .send()
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let csp = dashboard.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = dashboard.text().unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    for bad in ["", "not-the-token"] {
        let refused = post(
            &http,
            &format!("{base}/sign-out"),
            &[("csrf", bad)],
            &[(COOKIE.as_str(), &jar)],
        );
        assert_eq!(refused.status(), 400, "sign-out with csrf {bad:?}");
    }
    let still = http
        .get(format!("{base}/dashboard"))
        .header(COOKIE, &jar)
        .send()
        .unwrap();
    assert_eq!(still.status(), 200, "a refused form changed nothing");
    let out = post(
        &http,
        &format!("{base}/sign-out"),
        &[("csrf", &csrf)],
        &[(COOKIE.as_str(), &jar)],
    );
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|c| c.to_str().unwrap().contains("Max-Age=0")),
        "the cookies are cleared"
    );
}

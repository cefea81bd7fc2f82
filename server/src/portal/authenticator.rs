//! TOTP enrolment (manual: Sign-in → authenticator app): the key as a QR code for the
//! phone's app and as text for typing, then a code from the app to prove it holds the
//! key. Through the API's own `auth/mfa/enroll` and `auth/mfa/confirm`, so its rules
//! apply: a code is used once, replacing an enrolled app needs its current code or the
//! password (and ends every other session), and the enrolment is audited. An account
//! that must use MFA and has none lands here from the sign-in, in a session that opens
//! nothing else; it leaves with a full session.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::calls::call;
use super::session::{self, Visitor};
use super::{Chrome, page, refused};
use crate::api::AppState;
use crate::api::portal_api::{TokenResponse, enrolment_key};

#[derive(Template)]
#[template(path = "portal/authenticator.html")]
struct Enrol {
    chrome: Chrome,
    next: String,
    /// The QR code of the `otpauth:` URI, as a `data:` SVG image.
    qr: String,
    /// The key in groups of four, for typing.
    key: String,
    enrolment: String,
    /// Whether an app is enrolled already (replacing it needs proof).
    replacing: bool,
    /// Whether the session opens only this page.
    required: bool,
    error: Option<String>,
    code_error: Option<String>,
    current_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    next: Option<String>,
}

/// The QR code of `text` as an SVG `data:` URL (allowed by the portal's policy, shown as
/// an image with a text alternative).
fn qr_code(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

fn grouped(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the visitor's session opens only the pages that finish signing in.
fn restricted(state: &AppState, visitor: &Visitor) -> bool {
    state
        .keys
        .verify(&visitor.token)
        .is_some_and(|claims| claims.rst.is_some())
}

/// A new enrolment's page, or the page again for `enrolment` with the errors placed.
async fn render(
    state: &AppState,
    visitor: &Visitor,
    next: String,
    enrolment: Option<String>,
    errors: &[(String, String)],
) -> Result<Enrol, Response> {
    let email = visitor.caller.principal.user.email.clone();
    let (enrolment, key, uri) = match enrolment {
        Some(token) => match enrolment_key(state, &token, &email) {
            Some((key, uri)) => (token, key, uri),
            None => return Err(refused("This enrolment has expired. Start again.")),
        },
        None => {
            let answer = call(
                state,
                visitor,
                Method::POST,
                "/api/v1/auth/mfa/enroll",
                None,
            )
            .await;
            let text = |k: &str| answer.data[k].as_str().unwrap_or_default().to_owned();
            if !answer.status.is_success() {
                return Err(answer.refusal("An enrolment could not be started"));
            }
            (text("enrolmentToken"), text("secret"), text("otpauthUri"))
        }
    };
    let me = call(state, visitor, Method::GET, "/api/v1/auth/me", None).await;
    let at = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| super::sign_in::sentence(m))
    };
    let placed = ["code", "currentCode", "password"];
    let rest: Vec<String> = errors
        .iter()
        .filter(|(f, _)| !placed.contains(&f.as_str()))
        .map(|(_, m)| super::sign_in::sentence(m))
        .collect();
    let required = restricted(state, visitor);
    Ok(Enrol {
        chrome: if required {
            Chrome {
                csrf: visitor.csrf(state),
                ..Chrome::anonymous(&visitor.caller.settings)
            }
        } else {
            Chrome::signed_in(state, visitor, "/authenticator")
        },
        next,
        qr: qr_code(&uri).unwrap_or_default(),
        key: grouped(&key),
        enrolment,
        replacing: me.data["mfaEnrolled"].as_bool() == Some(true),
        required,
        error: (!rest.is_empty()).then(|| rest.join(" ")),
        code_error: at("code"),
        current_error: at("currentCode").or_else(|| at("password")),
    })
}

pub(crate) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let Some(visitor) = session::finishing(&state, &headers).await else {
        return Redirect::to("/sign-in?next=%2Fauthenticator").into_response();
    };
    let next = super::sign_in::local_path(q.next.as_deref());
    match render(&state, &visitor, next, None, &[]).await {
        Ok(p) => page(&state, Some(&visitor), &p),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Confirm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    enrolment: String,
    #[serde(default)]
    code: String,
    /// A code of the app enrolled now, or the password, when replacing it.
    #[serde(default)]
    current: String,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Confirm>,
) -> Response {
    let Some(visitor) = session::finishing(&state, &headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    let next = super::sign_in::local_path(form.next.as_deref());
    let mut body = json!({"enrolmentToken": form.enrolment.trim(), "code": form.code.trim()});
    let current = form.current.trim();
    if !current.is_empty() {
        // Six digits are a code of the app enrolled now; anything else is the password.
        let key = if current.len() == 6 && current.chars().all(|c| c.is_ascii_digit()) {
            "currentCode"
        } else {
            "password"
        };
        body[key] = json!(current);
    }
    let answer = call(
        &state,
        &visitor,
        Method::POST,
        "/api/v1/auth/mfa/confirm",
        Some(body),
    )
    .await;
    if answer.status.is_success() {
        let text = |k: &str| answer.data[k].as_str().unwrap_or_default().to_owned();
        let tokens = TokenResponse {
            token: text("token"),
            refresh_token: text("refreshToken"),
            expires_at: text("expiresAt"),
            restriction: None,
        };
        let mut response = Redirect::to(&next).into_response();
        session::keep(&mut response, &tokens, &state);
        return response;
    }
    match render(
        &state,
        &visitor,
        next,
        Some(form.enrolment.trim().to_owned()),
        &answer.errors,
    )
    .await
    {
        Ok(p) => super::refused_form(&state, &visitor, &p, answer.status),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_shown_as_a_qr_code_and_in_groups() {
        assert_eq!(grouped("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
        let qr = qr_code("otpauth://totp/StackBill:a@b.c?secret=JBSWY3DPEHPK3PXP").unwrap();
        let svg = base64::engine::general_purpose::STANDARD
            .decode(qr.trim_start_matches("data:image/svg+xml;base64,"))
            .unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    }
}

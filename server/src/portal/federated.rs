//! The sign-in page's Entra and Google buttons: the OpenID Connect authorisation-code
//! flow with PKCE (`crate::api::federated` speaks to the provider). The sign-in in
//! progress travels in a short-lived `HttpOnly` cookie, `SameSite=Lax` because the
//! provider's redirect back is a cross-site navigation; its `state` must come back
//! unchanged, so a sign-in cannot be started in one browser and finished in another.
//! The account is then signed in exactly as `POST auth/federated` signs it in.

use askama::Template;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::session;
use super::sign_in::{Next, local_path, render, sentence};
use crate::api::AppState;
use crate::api::portal_api::{Pending, authorize, federated_sign_in, finish, throttle};
use crate::api::wire::ApiError;

/// The cookie that carries a sign-in in progress.
const PENDING: &str = "stackbill_federation";
/// How long a person has to sign in at the provider.
const PENDING_SECONDS: u32 = 600;
/// The longest page address a sign-in returns to.
const MAX_NEXT: usize = 512;

/// Where the provider sends the browser back: System Settings → Notifications → Portal
/// URL when set (the address people use, e.g. behind a proxy), else this request's host.
fn redirect_uri(settings: &serde_json::Value, headers: &HeaderMap, state: &AppState) -> String {
    let base = match settings["notifications"]["portalUrl"].as_str() {
        Some(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
        _ => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    !h.is_empty()
                        && h.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
                })
                .unwrap_or("localhost");
            let scheme = if session::secure(state) {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    format!("{base}/sign-in/callback")
}

fn pending_cookie(value: &str, max_age: u32, state: &AppState) -> Option<HeaderValue> {
    let secure = if session::secure(state) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{PENDING}={value}; Path=/sign-in; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

async fn refused_sign_in(state: &AppState, next: String, why: String) -> Response {
    let mut response = render(state, String::new(), next, Some(why), None).await;
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    if let Some(cookie) = pending_cookie("", 0, state) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn why(error: &ApiError) -> String {
    match error {
        ApiError::Unauthenticated(m)
        | ApiError::Forbidden(m)
        | ApiError::NotFound(m)
        | ApiError::Unavailable(m) => sentence(m),
        ApiError::Throttled(seconds) => {
            format!("Too many attempts. Try again in {seconds} second(s).")
        }
        other => {
            tracing::warn!(error = %other, "a federated portal sign-in failed");
            "Signing in failed on the server. Try again in a moment.".to_owned()
        }
    }
}

/// `GET /sign-in/federated/{index}`: off to the provider.
pub(crate) async fn start(
    State(state): State<AppState>,
    Path(index): Path<usize>,
    Query(q): Query<Next>,
    headers: HeaderMap,
) -> Response {
    // The path travels in a cookie: a long one would not fit, so it is not kept.
    let next = Some(local_path(q.next.as_deref()))
        .filter(|n| n.len() <= MAX_NEXT)
        .unwrap_or_else(|| "/dashboard".to_owned());
    let settings = super::settings(&state).await;
    let uri = redirect_uri(&settings, &headers, &state);
    let (location, pending) = match authorize(&settings, index, &uri, next.clone()).await {
        Ok(found) => found,
        Err(e) => return refused_sign_in(&state, next, why(&e)).await,
    };
    let carried = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&pending).unwrap_or_default());
    let mut response = Redirect::to(&location).into_response();
    if let Some(cookie) = pending_cookie(&carried, PENDING_SECONDS, &state) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct Returned {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The page that moves a freshly signed-in browser on. The session cookies are
/// `SameSite=Strict`, so they are not sent on a redirect the provider's site started: the
/// next page is opened from this site instead.
#[derive(Template)]
#[template(
    source = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={{ next }}\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Signed in</title><link rel=\"stylesheet\" href=\"/assets/portal.css\"></head><body><main id=\"content\"><h1>Signed in</h1><p><a href=\"{{ next }}\">Continue</a></p></main></body></html>",
    ext = "html"
)]
struct Onward {
    next: String,
}

/// `GET /sign-in/callback`: back from the provider.
pub(crate) async fn callback(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(returned): Query<Returned>,
    headers: HeaderMap,
) -> Response {
    // A return is a sign-in attempt, counted like a password's.
    if let Err(e) = throttle(&state, &addr) {
        return refused_sign_in(&state, "/dashboard".into(), why(&e)).await;
    }
    let pending = session::cookie(&headers, PENDING)
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|bytes| serde_json::from_slice::<Pending>(&bytes).ok());
    let Some(pending) = pending else {
        let why = "This sign-in was not started in this browser, or took longer than ten minutes. Start again.";
        return refused_sign_in(&state, "/dashboard".into(), why.into()).await;
    };
    let next = local_path(Some(&pending.next));
    let same_state = returned
        .state
        .as_deref()
        .is_some_and(|s| session::same_token(s, &pending.state));
    if !same_state {
        let why = "This sign-in's answer does not belong to this browser. Start again.";
        return refused_sign_in(&state, next, why.into()).await;
    }
    if let Some(error) = returned.error {
        let detail = returned.error_description.unwrap_or(error);
        let why = format!("The identity provider did not sign you in: {detail}");
        return refused_sign_in(&state, next, sentence(&why)).await;
    }
    let Some(code) = returned.code.filter(|c| !c.is_empty()) else {
        let why = "The identity provider sent no authorisation code. Start again.";
        return refused_sign_in(&state, next, why.into()).await;
    };
    let settings = super::settings(&state).await;
    let uri = redirect_uri(&settings, &headers, &state);
    let signed_in = match finish(&state, &settings, &pending, &code, &uri).await {
        Ok(identity) => federated_sign_in(&state, identity, None).await,
        Err(e) => Err(e),
    };
    let tokens = match signed_in {
        Ok(tokens) => tokens,
        Err(e) => return refused_sign_in(&state, next, why(&e)).await,
    };
    let mut response = super::page(&state, None, &Onward { next });
    session::keep(&mut response, &tokens, &state);
    if let Some(cookie) = pending_cookie("", 0, &state) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

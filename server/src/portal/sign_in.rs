//! Signing in and out. The form posts to the same sign-in as `POST auth/token` (the same
//! throttling, lockout, second factor and activation), and a refusal is shown above the
//! form with the e-mail address kept (never the password).

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{self, Visitor};
use super::{Chrome, page, refused};
use crate::api::AppState;
use crate::api::portal_api::{SignInButton, TokenRequest, buttons, end_all, token_for};
use crate::api::wire::ApiError;

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignIn {
    chrome: Chrome,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    local_allowed: bool,
    activation: bool,
    buttons: Vec<SignInButton>,
    /// `next=…`, for the federated buttons' links.
    next_query: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
}

/// Only a path on this site: `next` must not send a signed-in user elsewhere.
pub(crate) fn local_path(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/dashboard")
        .to_owned()
}

/// The sign-in page, with what was typed, and why the last attempt failed.
pub(crate) async fn render(
    state: &AppState,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let settings = super::settings(state).await;
    let identity = &settings["identity"];
    let users = &settings["users"];
    let template = SignIn {
        chrome: Chrome::anonymous(&settings),
        email,
        next_query: serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default(),
        next,
        buttons: buttons(&settings),
        error,
        notice,
        local_allowed: identity["allowLocalSignIn"].as_bool() != Some(false),
        activation: users["requireUserActivationCode"].as_bool() == Some(true)
            || users["requireUserActivation"].as_bool() == Some(true),
    };
    page(state, None, &template)
}

pub(crate) async fn form(State(state): State<AppState>, Query(q): Query<Next>) -> Response {
    let notice = q
        .signed_out
        .is_some()
        .then(|| "You are signed out.".to_owned());
    render(
        &state,
        String::new(),
        local_path(q.next.as_deref()),
        None,
        notice,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    activation: String,
    #[serde(default)]
    next: Option<String>,
}

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    if !session::same_origin(&headers) {
        return refused("This sign-in did not come from this site.");
    }
    let next = local_path(form.next.as_deref());
    let request = TokenRequest::new(
        form.email.trim().to_owned(),
        form.password,
        optional(&form.code),
        optional(&form.activation),
    );
    let why = match token_for(&state, addr, request).await {
        Ok(tokens) if tokens.restriction.is_none() => {
            let mut response = Redirect::to(&next).into_response();
            session::keep(&mut response, &tokens, &state);
            return response;
        }
        Ok(tokens) if tokens.restriction.as_deref() == Some("password_change") => {
            let next = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
            let mut response = Redirect::to(&format!("/change-password?{next}")).into_response();
            session::keep(&mut response, &tokens, &state);
            return response;
        }
        Ok(tokens) => {
            // MFA is required and none is enrolled: the session opens the enrolment only.
            let next = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
            let mut response = Redirect::to(&format!("/authenticator?{next}")).into_response();
            session::keep(&mut response, &tokens, &state);
            return response;
        }
        Err(ApiError::Throttled(seconds)) => {
            format!("Too many attempts. Try again in {seconds} second(s).")
        }
        Err(ApiError::Unauthenticated(m) | ApiError::Forbidden(m) | ApiError::Conflict(m)) => {
            sentence(&m)
        }
        Err(ApiError::Invalid { message, .. }) => sentence(&message),
        Err(other) => {
            tracing::warn!(error = %other, "a portal sign-in failed");
            "Signing in failed on the server. Try again in a moment.".to_owned()
        }
    };
    let mut response = render(&state, form.email.trim().to_owned(), next, Some(why), None).await;
    *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    response
}

/// An API message as a sentence for a person.
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let rest: String = chars.collect();
    let text = format!("{first}{rest}");
    if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    everywhere: Option<String>,
}

/// Signs out of this browser (its refresh token is used up, its cookies cleared), or
/// everywhere (every session of the account ends, API clients included).
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    if form.everywhere.is_some() {
        if let Err(e) = end_all(&state, &visitor.caller.principal.user.id).await {
            tracing::warn!(error = %e, "signing out everywhere failed");
            return refused("Signing out everywhere failed on the server. Try again.");
        }
    } else if let Some(refresh) = session::cookie(&headers, session::REFRESH) {
        // Rotating and dropping the successor leaves this browser's token used.
        let _ = crate::api::portal_api::refresh(&state, refresh).await;
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    session::forget(&mut response, &state);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_path(Some("/tenants?page=2")), "/tenants?page=2");
        for away in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "tenants",
        ] {
            assert_eq!(local_path(Some(away)), "/dashboard", "{away}");
        }
        assert_eq!(local_path(None), "/dashboard");
    }
}

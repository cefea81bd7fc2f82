//! The portal's session: the API's own access and refresh tokens, kept in `HttpOnly`,
//! `SameSite=Strict` cookies (`Secure` when the server speaks TLS), so a page is checked
//! exactly like an API call with the same token. An expired access token is renewed with
//! the refresh cookie on the way in. Every form carries a CSRF token bound by the server's
//! key to the account and its sessions generation; posts are also refused when their
//! `Origin` is another site's.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::api::AppState;
use crate::api::access::Caller;
use crate::api::portal_api::{TokenResponse, refresh};

/// The access token's cookie.
pub(crate) const ACCESS: &str = "stackbill_session";
/// The refresh token's cookie.
pub(crate) const REFRESH: &str = "stackbill_refresh";

/// A signed-in visitor of the portal.
pub(crate) struct Visitor {
    /// Who it is, with its scopes: the API's caller.
    pub caller: Caller,
    /// Tokens renewed while reading this request, to be set as cookies on its answer.
    pub renewed: Option<TokenResponse>,
    /// The access token the visitor holds now: forms send it with their API call.
    pub token: String,
}

impl Visitor {
    /// The CSRF token of this visitor's forms.
    pub(crate) fn csrf(&self, state: &AppState) -> String {
        let user = &self.caller.principal.user;
        csrf_token(state, &user.id, user.session_epoch)
    }

    /// Whether a form's CSRF token is this visitor's.
    pub(crate) fn csrf_ok(&self, state: &AppState, sent: &str) -> bool {
        same_token(sent, &self.csrf(state))
    }

    /// The refusal of a form post from another origin or without this visitor's CSRF
    /// token; `None` for a good one.
    pub(crate) fn form_refusal(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        csrf: &str,
    ) -> Option<Response> {
        (!(same_origin(headers) && self.csrf_ok(state, csrf))).then(|| super::refused(EXPIRED))
    }
}

/// A form that carries nothing but its CSRF token (a confirmation's button).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Csrf {
    #[serde(default)]
    pub csrf: String,
}

/// Why a form was refused by [`Visitor::form_refusal`].
pub(crate) const EXPIRED: &str =
    "This form has expired or did not come from this site. Go back, reload the page and try again.";

/// The `csrf` field of a form read as a list of pairs.
pub(crate) fn csrf_of(form: &[(String, String)]) -> &str {
    form.iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str())
}

/// Constant-time equality of a sent token and the expected one.
pub(crate) fn same_token(sent: &str, want: &str) -> bool {
    use subtle::ConstantTimeEq;
    sent.len() == want.len() && bool::from(sent.as_bytes().ct_eq(want.as_bytes()))
}

/// The CSRF token of `user`'s forms in its current sessions generation.
pub(crate) fn csrf_token(state: &AppState, user: &str, epoch: i64) -> String {
    URL_SAFE_NO_PAD.encode(
        state
            .keys
            .bind("portal-csrf", &[user.as_bytes(), &epoch.to_be_bytes()]),
    )
}

/// The value of cookie `name`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether cookies must be `Secure`: the server serves HTTPS.
pub(crate) fn secure(state: &AppState) -> bool {
    state.config.certificate.is_some()
}

fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Adds the cookies of a sign-in or renewal to `response`.
pub(crate) fn keep(response: &mut Response, tokens: &TokenResponse, state: &AppState) {
    let secure = secure(state);
    let lifetime = i64::try_from(state.config.session_ttl.as_secs()).unwrap_or(i64::MAX);
    for cookie in [
        set_cookie(ACCESS, &tokens.token, lifetime, secure),
        set_cookie(REFRESH, &tokens.refresh_token, lifetime, secure),
    ]
    .into_iter()
    .flatten()
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

/// Adds cookies that end the session in this browser to `response`.
pub(crate) fn forget(response: &mut Response, state: &AppState) {
    let secure = secure(state);
    for cookie in [
        set_cookie(ACCESS, "", 0, secure),
        set_cookie(REFRESH, "", 0, secure),
    ]
    .into_iter()
    .flatten()
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

/// Whether a form post comes from this site: its `Origin` (sent by every current
/// browser on a POST) names the host it was sent to.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn to_sign_in(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/dashboard");
    let next = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/sign-in?{next}")).into_response()
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(token) = cookie(&parts.headers, ACCESS)
            && let Ok(caller) = state.caller_of(token, false).await
        {
            return Ok(Visitor {
                caller,
                renewed: None,
                token: token.to_owned(),
            });
        }
        if let Some(token) = cookie(&parts.headers, ACCESS)
            && state.caller_of(token, true).await.is_ok()
        {
            // Signed in, but only to finish signing in: that page first.
            let next =
                serde_urlencoded::to_string([("next", parts.uri.path())]).unwrap_or_default();
            let page = finishing_page(state, token);
            return Err(Redirect::to(&format!("{page}?{next}")).into_response());
        }
        let Some(presented) = cookie(&parts.headers, REFRESH) else {
            return Err(to_sign_in(parts));
        };
        let Ok(tokens) = refresh(state, presented).await else {
            let mut response = to_sign_in(parts);
            forget(&mut response, state);
            return Err(response);
        };
        match state.caller_of(&tokens.token, false).await {
            Ok(caller) => Ok(Visitor {
                caller,
                token: tokens.token.clone(),
                renewed: Some(tokens),
            }),
            Err(_) => Err(to_sign_in(parts)),
        }
    }
}

/// The page a session restricted to finishing its sign-in opens: the authenticator's
/// enrolment or the password change.
pub(crate) fn finishing_page(state: &AppState, token: &str) -> &'static str {
    match state.keys.verify(token).and_then(|claims| claims.rst) {
        Some(r) if r == "mfa_enrolment" => "/authenticator",
        _ => "/change-password",
    }
}

/// The visitor of a page that also opens to a session that may only finish signing in.
pub(crate) async fn finishing(state: &AppState, headers: &HeaderMap) -> Option<Visitor> {
    let token = cookie(headers, ACCESS)?;
    let caller = state.caller_of(token, true).await.ok()?;
    Some(Visitor {
        caller,
        renewed: None,
        token: token.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("x_stackbill_session=no; stackbill_session=abc; other=1"),
        );
        assert_eq!(cookie(&h, ACCESS), Some("abc"));
        assert_eq!(cookie(&h, REFRESH), None);
    }

    #[test]
    fn a_post_from_another_site_is_told_apart() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h), "no Origin: a same-site navigation");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.test"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}

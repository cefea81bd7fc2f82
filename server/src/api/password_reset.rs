//! Forgotten passwords: `auth/password-reset` e-mails a one-hour reset link to a local
//! account, `auth/password-reset/confirm` sets the new password with it.
//!
//! The reset token is not stored: it carries the account and its expiry, bound by the
//! server's key to the account's current password hash and sessions generation. Setting
//! a password (by this flow or any other) or ending the account's sessions changes one
//! of them, so a token works once, and every replica sharing the key file checks it
//! alike. The request answers the same whether or not the address has an account.

use axum::http::Method;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use stackbill_store::UserRow;
use utoipa::ToSchema;

use super::ops::{Op, one};
use super::secrets::{self, Keys};
use super::wire::{ApiError, ApiResult, Body, ok};
use super::{AppState, unix_now};

/// How long a reset link works.
const LIFETIME_SECONDS: i64 = 3600;

/// At most one reset message per account in each window of this many seconds: asking
/// again sooner sends nothing more, so the endpoint cannot flood a mailbox.
const WINDOW_SECONDS: i64 = 900;

/// `POST auth/password-reset` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResetRequest {
    /// The account's e-mail address.
    email_address: String,
}

/// `POST auth/password-reset/confirm` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResetConfirm {
    /// The token from the reset message.
    token: String,
    /// The new password (the password policy applies).
    new_password: String,
}

/// What a reset request or confirmation did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetOutcome {
    /// What happens next, for the person asking.
    message: String,
}

/// The token for `user` as it is now, working until `expires` (Unix seconds).
fn token(keys: &Keys, user: &UserRow, expires: i64) -> String {
    let mac = binding(keys, user, expires);
    format!(
        "v1.{}.{expires}.{}",
        URL_SAFE_NO_PAD.encode(user.id.as_bytes()),
        URL_SAFE_NO_PAD.encode(mac)
    )
}

fn binding(keys: &Keys, user: &UserRow, expires: i64) -> [u8; 32] {
    keys.bind(
        "password-reset",
        &[
            user.id.as_bytes(),
            &expires.to_be_bytes(),
            user.password_hash.as_deref().unwrap_or_default().as_bytes(),
            &user.session_epoch.to_be_bytes(),
        ],
    )
}

/// The account and expiry a token names, before its binding is checked.
fn parse(token: &str) -> Option<(String, i64, Vec<u8>)> {
    let mut parts = token.trim().split('.');
    let (Some("v1"), Some(user), Some(expires), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
    Some((
        user,
        expires.parse().ok()?,
        URL_SAFE_NO_PAD.decode(mac).ok()?,
    ))
}

/// Whether `user` may set a password by e-mail at all.
fn resettable(user: &UserRow) -> bool {
    !user.federated_only && !user.disabled
}

async fn request(
    axum::extract::State(state): axum::extract::State<AppState>,
    Body(req): Body<ResetRequest>,
) -> ApiResult<super::wire::Ok<ResetOutcome>> {
    let email = super::email::valid("emailAddress", &req.email_address)?;
    crate::mail::ready(&state).await.map_err(|_| {
        ApiError::Conflict(
            "password reset by e-mail is not available: mail is not set up (System Settings → Notifications); ask an administrator to set a temporary password".into(),
        )
    })?;
    if let Some(user) = state.store().user_by_email(&email).await?
        && resettable(&user)
    {
        send(&state, &user).await?;
    }
    Ok(ok(ResetOutcome {
        message: format!(
            "if {email} has an account that signs in with a password, a reset link is on its way; it works for one hour"
        ),
    }))
}

async fn send(state: &AppState, user: &UserRow) -> ApiResult<()> {
    let now = unix_now();
    let token = token(&state.keys, user, now.saturating_add(LIFETIME_SECONDS));
    let snapshot = state.snapshot().await?;
    let product = snapshot.settings["branding"]["productName"]
        .as_str()
        .unwrap_or("StackBill")
        .to_owned();
    let how = match snapshot.settings["notifications"]["portalUrl"].as_str() {
        Some(portal) if !portal.is_empty() => format!(
            "open this link to choose a new password:\n\n    {portal}/reset-password?token={token}\n"
        ),
        _ => format!(
            "choose a new password by sending this reset token with it to \
             POST /api/v1/auth/password-reset/confirm:\n\n    {token}\n"
        ),
    };
    let body = format!(
        "Hello {},\n\nsomeone (we hope you) asked to reset the password of {} on {product}. \
         To do so, {how}\nIt works for one hour and only once. If you did not ask, ignore this \
         message: your password stays as it is.",
        user.first_name, user.email
    );
    let message = crate::mail::secret(
        state,
        format!("password-reset:{}:{}", user.id, now / WINDOW_SECONDS),
        user.email.clone(),
        format!("Reset your {product} password"),
        &body,
    )?;
    crate::mail::queue(state, &message).await.map(|_| ())
}

async fn confirm(
    axum::extract::State(state): axum::extract::State<AppState>,
    Body(req): Body<ResetConfirm>,
) -> ApiResult<super::wire::Ok<ResetOutcome>> {
    let refused = || ApiError::field("token", "is not a valid reset token, was used, or expired");
    let (id, expires, mac) = parse(&req.token).ok_or_else(refused)?;
    if expires < unix_now() {
        return Err(refused());
    }
    let mut user = state.store().user(&id).await?.ok_or_else(refused)?;
    let expected = binding(&state.keys, &user, expires);
    let matches = mac.len() == expected.len() && {
        use subtle::ConstantTimeEq;
        bool::from(mac.as_slice().ct_eq(&expected))
    };
    if !matches || !resettable(&user) {
        return Err(refused());
    }
    secrets::password_policy(&req.new_password, &user.email)
        .map_err(|m| ApiError::field("newPassword", m))?;
    let new = req.new_password;
    let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&new))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)?;
    user.password_hash = Some(hash);
    user.must_change_password = false;
    user.failed_logins = 0;
    state.store().put_user(&user).await?;
    let key = super::throttle::account_key(&state.keys, &user.email);
    state.store().clear_sign_in_failures(&key).await?;
    super::sessions::end_all(&state, &user.id).await?;
    state
        .audit(
            &user.email,
            "user.password_reset_by_email",
            &user.id,
            None,
            None,
        )
        .await?;
    Ok(ok(ResetOutcome {
        message: "the password is set; sign in with it (every earlier session has ended)".into(),
    }))
}

/// The two endpoints, both public.
pub(crate) fn ops() -> Vec<Op> {
    vec![
        Op::new(
            Method::POST,
            "/api/v1/auth/password-reset",
            "Authentication",
            "E-mail a password reset link (answers alike whether or not the account exists)",
            post(request),
        )
        .body(one::<ResetRequest>())
        .data(one::<ResetOutcome>())
        .public(),
        Op::new(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            "Authentication",
            "Set a new password with the token of a reset link",
            post(confirm),
        )
        .body(one::<ResetConfirm>())
        .data(one::<ResetOutcome>())
        .public(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(hash: &str, epoch: i64) -> UserRow {
        UserRow {
            password_hash: Some(hash.into()),
            session_epoch: epoch,
            ..UserRow::active("u-1", "ana@example.com", "Ana", "Lopes")
        }
    }

    #[test]
    fn a_token_is_bound_to_the_password_and_sessions_it_was_issued_for() {
        let keys = Keys::from_bytes(&[7; 64]);
        let before = user("$argon2id$old", 3);
        let t = token(&keys, &before, 1_000);
        let (id, expires, mac) = parse(&t).expect("parses");
        assert_eq!((id.as_str(), expires), ("u-1", 1_000));
        assert_eq!(mac, binding(&keys, &before, 1_000));
        // A new password, ended sessions, another expiry or another key: no longer it.
        assert_ne!(mac, binding(&keys, &user("$argon2id$new", 3), 1_000));
        assert_ne!(mac, binding(&keys, &user("$argon2id$old", 4), 1_000));
        assert_ne!(mac, binding(&keys, &before, 1_001));
        assert_ne!(mac, binding(&Keys::from_bytes(&[8; 64]), &before, 1_000));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for t in [
            "",
            "v1",
            "v2.dS0x.1000.AA",
            "v1.dS0x.soon.AA",
            "v1.dS0x.1000.AA.x",
            "v1.!!.1.AA",
        ] {
            assert!(parse(t).is_none(), "{t}");
        }
    }
}

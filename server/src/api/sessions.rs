//! Sessions: the tokens a sign-in yields and their life after it.
//!
//! A sign-in starts a refresh-token *family* with an absolute end ([`super::Config::session_ttl`]);
//! every refresh rotates the token inside the database (exactly one of concurrent uses
//! wins; any later use of a used token revokes the family and ends the user's sessions).
//! Access tokens carry the user's session epoch: a password change, an MFA reset,
//! disabling or a role removal bumps it, so older access tokens fail at once, on every
//! server process.

use stackbill_store::{RefreshTokenRow, RefreshUse, UserRow};

use super::auth::TokenResponse;
use super::secrets::{self, AUDIENCE, AccessClaims, ISSUER};
use super::wire::{ApiError, ApiResult};
use super::{AppState, unix_now};

fn seconds(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// What is still missing before the user may use the API.
fn restriction(user: &UserRow) -> Option<&'static str> {
    if user.must_change_password {
        Some("password_change")
    } else if user.mfa_required && user.mfa_secret_sealed.is_none() {
        Some("mfa_enrolment")
    } else {
        None
    }
}

/// Tokens for a completed sign-in: a new family.
pub(crate) async fn sign_in(state: &AppState, user: &UserRow) -> ApiResult<TokenResponse> {
    let now = unix_now();
    let family_end = now.saturating_add(seconds(state.config.session_ttl));
    let refresh = secrets::random_token(32);
    state
        .store()
        .put_refresh_token(&RefreshTokenRow {
            hash: secrets::token_hash(&refresh),
            family: secrets::token_hash(&secrets::random_token(16)),
            user: user.id.clone(),
            expires_at: now
                .saturating_add(seconds(state.config.refresh_ttl))
                .min(family_end),
            family_expires_at: family_end,
        })
        .await?;
    tokens(state, user, refresh, now)
}

/// Rotates a refresh token.
pub(crate) async fn refresh(state: &AppState, presented: &str) -> ApiResult<TokenResponse> {
    let now = unix_now();
    let successor = secrets::random_token(32);
    let used = state
        .store()
        .rotate_refresh_token(
            &secrets::token_hash(presented),
            now,
            &secrets::token_hash(&successor),
            seconds(state.config.refresh_ttl),
        )
        .await?;
    match used {
        RefreshUse::Rotated(row) => {
            let user = state
                .store()
                .user(&row.user)
                .await?
                .filter(|u| !u.disabled && !u.locked_out)
                .ok_or_else(|| ApiError::Unauthenticated("the account cannot sign in".into()))?;
            tokens(state, &user, successor, now)
        }
        RefreshUse::Replayed { user } => {
            // Someone holds a copy of a token that was used: end every session of the
            // user, access tokens included, and make them sign in again.
            end_all(state, &user).await?;
            state
                .audit(&user, "auth.refresh_replayed", &user, None, None)
                .await?;
            Err(ApiError::Unauthenticated(
                "the refresh token was already used; every session of the account is now ended"
                    .into(),
            ))
        }
        RefreshUse::Expired => Err(ApiError::Unauthenticated(
            "the refresh token has expired; sign in again".into(),
        )),
        RefreshUse::Unknown => Err(ApiError::Unauthenticated(
            "the refresh token is not valid".into(),
        )),
    }
}

/// Ends every session of a user and returns the user as it now stands (new epoch).
pub(crate) async fn end_all(state: &AppState, user: &str) -> ApiResult<UserRow> {
    state.store().end_sessions(user).await?;
    state.forget_principals();
    state
        .store()
        .user(user)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {user:?}")))
}

fn tokens(
    state: &AppState,
    user: &UserRow,
    refresh_token: String,
    now: i64,
) -> ApiResult<TokenResponse> {
    let ttl = seconds(state.config.access_ttl);
    let rst = restriction(user).map(str::to_owned);
    let claims = AccessClaims {
        sub: user.id.clone(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now,
        nbf: now,
        exp: now.saturating_add(ttl),
        rst: rst.clone(),
        sep: user.session_epoch,
    };
    let token = state.keys.sign(&claims).map_err(ApiError::internal)?;
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Ok(TokenResponse {
        token,
        refresh_token,
        expires_at,
        restriction: rst,
    })
}

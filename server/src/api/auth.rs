//! Sign-in: `auth/token` (alias `auth/login`), `auth/token-refresh`, `auth/federated`,
//! `auth/change-password`, MFA enrolment. Responses of the token endpoints are the token
//! object itself, as the manual's PowerShell client reads `$Response.Token`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use stackbill_store::{RefreshTokenRow, RefreshUse, UserRow};
use utoipa::ToSchema;

use super::access::SignedIn;
use super::ops::{Op, one};
use super::secrets::{self, AUDIENCE, AccessClaims, ISSUER, totp};
use super::wire::{ApiError, ApiResult, Body, ok};
use super::{AppState, unix_now};

/// Failed sign-ins before an account locks, unless System Settings → Users say otherwise.
const DEFAULT_LOCKOUT_THRESHOLD: i64 = 5;

/// `POST auth/token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenRequest {
    /// The account's e-mail.
    email_address: String,
    /// Its password.
    password: String,
    /// The current TOTP code, when MFA is enrolled.
    #[serde(default)]
    mfa_code: Option<String>,
    /// The one-time activation code, at first sign-in when activation codes are required.
    #[serde(default)]
    activation_code: Option<String>,
}

/// `POST auth/token-refresh` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshRequest {
    /// The refresh token from the last token response.
    refresh_token: String,
}

/// `POST auth/federated` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FederatedRequest {
    /// An ID token issued by Microsoft Entra or Google.
    id_token: String,
}

/// `POST auth/change-password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangePasswordRequest {
    /// The password now in use.
    current_password: String,
    /// The new password (12–128 characters).
    new_password: String,
}

/// `POST auth/mfa/confirm` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaConfirmRequest {
    /// The `enrolmentToken` from `auth/mfa/enroll`.
    enrolment_token: String,
    /// A current code from the authenticator.
    code: String,
}

/// The token object.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResponse {
    /// Bearer access token (short-lived).
    token: String,
    /// Opaque refresh token: single use, rotated on every refresh.
    refresh_token: String,
    /// When `token` expires (RFC 3339).
    expires_at: String,
    /// Set when the token only allows finishing sign-in: `password_change` or
    /// `mfa_enrolment`.
    restriction: Option<String>,
}

/// An MFA enrolment in progress.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaEnrolment {
    /// The TOTP secret, base32, for manual entry.
    secret: String,
    /// `otpauth://` URI for QR codes.
    otpauth_uri: String,
    /// Send back with a code to `auth/mfa/confirm`.
    enrolment_token: String,
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Me {
    id: String,
    email_address: String,
    first_name: String,
    last_name: String,
    mfa_enrolled: bool,
}

pub(crate) fn ops() -> Vec<Op> {
    let token = || {
        post(
            |state: State<AppState>, addr: ConnectInfo<SocketAddr>, body: Body<TokenRequest>| async move {
                bare(token(state, addr, body).await)
            },
        )
    };
    vec![
        Op::new(
            Method::POST,
            "/api/v1/auth/token",
            "Authentication",
            "Sign in with e-mail and password",
            token(),
        )
        .body(one::<TokenRequest>())
        .data(one::<TokenResponse>())
        .public()
        .bare(),
        Op::new(
            Method::POST,
            "/api/v1/auth/login",
            "Authentication",
            "Sign in (alias of auth/token)",
            token(),
        )
        .body(one::<TokenRequest>())
        .data(one::<TokenResponse>())
        .public()
        .bare(),
        Op::new(
            Method::POST,
            "/api/v1/auth/token-refresh",
            "Authentication",
            "Exchange a refresh token for new tokens",
            post(
                |state: State<AppState>,
                 addr: ConnectInfo<SocketAddr>,
                 body: Body<RefreshRequest>| async move {
                    bare(refresh(state, addr, body).await)
                },
            ),
        )
        .body(one::<RefreshRequest>())
        .data(one::<TokenResponse>())
        .public()
        .bare(),
        Op::new(
            Method::POST,
            "/api/v1/auth/federated",
            "Authentication",
            "Exchange a Microsoft Entra or Google ID token",
            post(
                |state: State<AppState>,
                 addr: ConnectInfo<SocketAddr>,
                 body: Body<FederatedRequest>| async move {
                    bare(federated(state, addr, body).await)
                },
            ),
        )
        .body(one::<FederatedRequest>())
        .data(one::<TokenResponse>())
        .public()
        .bare(),
        Op::new(
            Method::POST,
            "/api/v1/auth/change-password",
            "Authentication",
            "Change the signed-in user's password",
            post(change_password),
        )
        .body(one::<ChangePasswordRequest>())
        .data(one::<TokenResponse>()),
        Op::new(
            Method::POST,
            "/api/v1/auth/mfa/enroll",
            "Authentication",
            "Start TOTP enrolment",
            post(mfa_enroll),
        )
        .data(one::<MfaEnrolment>()),
        Op::new(
            Method::POST,
            "/api/v1/auth/mfa/confirm",
            "Authentication",
            "Finish TOTP enrolment with a code",
            post(mfa_confirm),
        )
        .body(one::<MfaConfirmRequest>())
        .data(one::<TokenResponse>()),
        Op::new(
            Method::GET,
            "/api/v1/auth/me",
            "Authentication",
            "The signed-in user",
            axum::routing::get(me),
        )
        .data(one::<Me>()),
    ]
}

fn bare(result: ApiResult<TokenResponse>) -> Response {
    match result {
        Ok(token) => Json(token).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The settings the sign-in paths read.
struct SignInSettings {
    local_allowed: bool,
    lockout_threshold: i64,
    activation_required: bool,
    activation_code_required: bool,
}

async fn sign_in_settings(state: &AppState) -> ApiResult<SignInSettings> {
    let snapshot = state.snapshot().await?;
    let s = &snapshot.settings;
    let flag = |group: &str, key: &str, default: bool| {
        s.get(group)
            .and_then(|g| g.get(key))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(default)
    };
    Ok(SignInSettings {
        local_allowed: flag("identity", "allowLocalSignIn", true),
        lockout_threshold: s
            .get("users")
            .and_then(|g| g.get("lockoutThreshold"))
            .and_then(serde_json::Value::as_i64)
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_LOCKOUT_THRESHOLD),
        activation_required: flag("users", "requireUserActivation", false),
        activation_code_required: flag("users", "requireUserActivationCode", false),
    })
}

fn throttle(state: &AppState, addr: &SocketAddr) -> ApiResult<()> {
    let key = state.keys.address_key(&addr.ip().to_string());
    state.throttle.attempt(key).map_err(ApiError::Throttled)
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthenticated("the e-mail address or password is not correct".into())
}

async fn token(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Body(req): Body<TokenRequest>,
) -> ApiResult<TokenResponse> {
    throttle(&state, &addr)?;
    let settings = sign_in_settings(&state).await?;
    if !settings.local_allowed {
        return Err(ApiError::Forbidden(
            "password sign-in is disabled; use federated sign-in".into(),
        ));
    }
    let user = state
        .store()
        .user_by_email(req.email_address.trim())
        .await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let password = req.password.clone();
    let owned_hash = hash.map(str::to_owned);
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let verified = tokio::task::spawn_blocking(move || {
        secrets::verify_password(&password, owned_hash.as_deref())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let Some(mut user) = user else {
        return Err(invalid_credentials());
    };
    if user.locked_out {
        return Err(ApiError::Unauthenticated(
            "the account is locked after too many failed sign-ins; an administrator must unlock it"
                .into(),
        ));
    }
    if !verified {
        if !user.federated_only && user.password_hash.is_some() {
            let locked = state
                .store()
                .record_login_failure(&user.id, settings.lockout_threshold)
                .await?;
            if locked {
                state
                    .audit(&user.email, "user.locked_out", &user.id, None, None)
                    .await?;
            }
        }
        return Err(invalid_credentials());
    }
    if user.federated_only {
        return Err(ApiError::Unauthenticated(
            "this account signs in only through its identity provider".into(),
        ));
    }
    if user.disabled {
        return Err(ApiError::Unauthenticated("the account is disabled".into()));
    }
    if !user.activated && (settings.activation_required || settings.activation_code_required) {
        let code_ok = match (&req.activation_code, &user.activation_code_hash) {
            (Some(code), Some(hash)) => secrets::same_hash(&secrets::token_hash(code.trim()), hash),
            _ => false,
        };
        if settings.activation_code_required && !code_ok {
            return Err(ApiError::Unauthenticated(
                "the account must be activated: send its activationCode".into(),
            ));
        }
        if !settings.activation_code_required && !code_ok {
            return Err(ApiError::Unauthenticated(
                "the account has not been activated".into(),
            ));
        }
        user.activated = true;
        user.activation_code_hash = None;
        state.store().put_user(&user).await?;
    }
    if let Some(sealed) = &user.mfa_secret_sealed {
        let secret = state
            .keys
            .unseal(sealed)
            .ok_or_else(|| ApiError::internal("the MFA secret cannot be unsealed"))?;
        let Some(code) = req.mfa_code.as_deref() else {
            return Err(ApiError::Unauthenticated(
                "an MFA code is required (mfaCode)".into(),
            ));
        };
        if !claim_code(&state, &user.id, &secret, code).await? {
            state
                .store()
                .record_login_failure(&user.id, settings.lockout_threshold)
                .await?;
            return Err(ApiError::Unauthenticated(
                "the MFA code is not valid or was already used".into(),
            ));
        }
    }
    state.store().record_login_success(&user.id).await?;
    issue(&state, &user, None).await
}

/// Checks a TOTP code and claims its step, so the same code never works twice.
async fn claim_code(state: &AppState, user: &str, secret: &[u8], code: &str) -> ApiResult<bool> {
    let Some(step) = totp::matching_step(secret, code, unix_now()) else {
        return Ok(false);
    };
    Ok(state.store().claim_totp_step(user, step).await?)
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

/// Issues an access token and a refresh token (a new family unless `family` is given).
async fn issue(
    state: &AppState,
    user: &UserRow,
    family: Option<String>,
) -> ApiResult<TokenResponse> {
    let now = unix_now();
    let ttl = i64::try_from(state.config.access_ttl.as_secs()).unwrap_or(900);
    let rst = restriction(user).map(str::to_owned);
    let claims = AccessClaims {
        sub: user.id.clone(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now,
        nbf: now,
        exp: now + ttl,
        rst: rst.clone(),
    };
    let token = state.keys.sign(&claims).map_err(ApiError::internal)?;
    let refresh = secrets::random_token(32);
    let refresh_ttl = i64::try_from(state.config.refresh_ttl.as_secs()).unwrap_or(86_400);
    state
        .store()
        .put_refresh_token(&RefreshTokenRow {
            hash: secrets::token_hash(&refresh),
            family: family.unwrap_or_else(|| secrets::token_hash(&secrets::random_token(16))),
            user: user.id.clone(),
            expires_at: now + refresh_ttl,
        })
        .await?;
    let expires_at = chrono::DateTime::from_timestamp(now + ttl, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Ok(TokenResponse {
        token,
        refresh_token: refresh,
        expires_at,
        restriction: rst,
    })
}

async fn user_by_id(state: &AppState, id: &str) -> ApiResult<Option<UserRow>> {
    Ok(state
        .store()
        .users()
        .await?
        .into_iter()
        .find(|u| u.id == id))
}

async fn refresh(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Body(req): Body<RefreshRequest>,
) -> ApiResult<TokenResponse> {
    throttle(&state, &addr)?;
    let hash = secrets::token_hash(req.refresh_token.trim());
    match state.store().use_refresh_token(&hash, unix_now()).await? {
        RefreshUse::Rotated(row) => {
            let user = user_by_id(&state, &row.user)
                .await?
                .filter(|u| !u.disabled && !u.locked_out)
                .ok_or_else(|| ApiError::Unauthenticated("the account cannot sign in".into()))?;
            issue(&state, &user, Some(row.family)).await
        }
        RefreshUse::Replayed { user } => {
            state
                .audit(&user, "auth.refresh_replayed", &user, None, None)
                .await?;
            Err(ApiError::Unauthenticated(
                "the refresh token was already used; every session it belongs to is now revoked"
                    .into(),
            ))
        }
        RefreshUse::Expired => Err(ApiError::Unauthenticated(
            "the refresh token has expired".into(),
        )),
        RefreshUse::Unknown => Err(ApiError::Unauthenticated(
            "the refresh token is not valid".into(),
        )),
    }
}

async fn federated(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Body(req): Body<FederatedRequest>,
) -> ApiResult<TokenResponse> {
    throttle(&state, &addr)?;
    let snapshot = state.snapshot().await?;
    let identity = super::federated::verify(&state, &snapshot.settings, &req.id_token).await?;
    let user = state
        .store()
        .user_by_email(&identity.email)
        .await?
        .ok_or_else(|| {
            ApiError::Unauthenticated("no account is registered for this identity".into())
        })?;
    if user.disabled || user.locked_out {
        return Err(ApiError::Unauthenticated(
            "the account is disabled or locked".into(),
        ));
    }
    state.store().record_login_success(&user.id).await?;
    // The identity provider has checked the password and its own MFA.
    let user = UserRow {
        must_change_password: false,
        mfa_required: false,
        ..user
    };
    issue(&state, &user, None).await
}

async fn change_password(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Body(req): Body<ChangePasswordRequest>,
) -> ApiResult<super::wire::Ok<TokenResponse>> {
    let mut user = signed_in.user;
    if user.federated_only {
        return Err(ApiError::Forbidden(
            "this account has no password: it signs in through its identity provider".into(),
        ));
    }
    secrets::password_policy(&req.new_password, &user.email)
        .map_err(|m| ApiError::field("newPassword", m))?;
    let (current, new, hash) = (
        req.current_password,
        req.new_password,
        user.password_hash.clone(),
    );
    let new_hash = tokio::task::spawn_blocking(move || {
        if !secrets::verify_password(&current, hash.as_deref()) {
            return Err(ApiError::field(
                "currentPassword",
                "is not the password in use",
            ));
        }
        if current == new {
            return Err(ApiError::field(
                "newPassword",
                "must differ from the current password",
            ));
        }
        secrets::hash_password(&new).map_err(ApiError::internal)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    user.password_hash = Some(new_hash);
    user.must_change_password = false;
    state.store().put_user(&user).await?;
    state.store().revoke_refresh_tokens(&user.id).await?;
    state.forget_principals();
    state
        .audit(&user.email, "user.password_changed", &user.id, None, None)
        .await?;
    issue(&state, &user, None).await.map(ok)
}

async fn mfa_enroll(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<super::wire::Ok<MfaEnrolment>> {
    let secret = totp::new_secret();
    let encoded = totp::base32(&secret);
    let enrolment_token = state.keys.seal(&secret).map_err(ApiError::internal)?;
    Ok(ok(MfaEnrolment {
        otpauth_uri: format!(
            "otpauth://totp/StackBill:{}?secret={encoded}&issuer=StackBill&algorithm=SHA1&digits=6&period=30",
            signed_in.user.email
        ),
        secret: encoded,
        enrolment_token,
    }))
}

async fn mfa_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Body(req): Body<MfaConfirmRequest>,
) -> ApiResult<super::wire::Ok<TokenResponse>> {
    let mut user = signed_in.user;
    let secret = state
        .keys
        .unseal(req.enrolment_token.trim())
        .ok_or_else(|| ApiError::field("enrolmentToken", "is not a valid enrolment token"))?;
    if !claim_code(&state, &user.id, &secret, &req.code).await? {
        return Err(ApiError::field("code", "is not valid or was already used"));
    }
    user.mfa_secret_sealed = Some(state.keys.seal(&secret).map_err(ApiError::internal)?);
    state.store().put_user(&user).await?;
    state.forget_principals();
    state
        .audit(&user.email, "user.mfa_enrolled", &user.id, None, None)
        .await?;
    issue(&state, &user, None).await.map(ok)
}

async fn me(signed_in: SignedIn) -> ApiResult<super::wire::Ok<Me>> {
    let u = signed_in.user;
    Ok(ok(Me {
        id: u.id,
        email_address: u.email,
        first_name: u.first_name,
        last_name: u.last_name,
        mfa_enrolled: u.mfa_secret_sealed.is_some(),
    }))
}

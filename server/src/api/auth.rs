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
use stackbill_store::UserRow;
use utoipa::ToSchema;

use super::access::SignedIn;
use super::ops::{Op, one};
use super::secrets::{self, totp};
use super::sessions;
use super::throttle::SignInKeys;
use super::wire::{ApiError, ApiResult, Body, ok};
use super::{AppState, unix_now};

/// Failed sign-ins before an account's attempts are delayed (doubling with each further
/// failure), unless System Settings → Users → lockout threshold says otherwise.
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
    /// The one-time activation code, at first sign-in when activation codes are required.
    #[serde(default)]
    activation_code: Option<String>,
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
    /// When a second factor is enrolled already: a current code of it…
    #[serde(default)]
    current_code: Option<String>,
    /// …or the account's password, to prove that replacing it is the owner's wish.
    #[serde(default)]
    password: Option<String>,
}

/// The token object.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResponse {
    /// Bearer access token (short-lived).
    pub(crate) token: String,
    /// Opaque refresh token: single use, rotated on every refresh.
    pub(crate) refresh_token: String,
    /// When `token` expires (RFC 3339).
    pub(crate) expires_at: String,
    /// Set when the token only allows finishing sign-in: `password_change` or
    /// `mfa_enrolment`.
    pub(crate) restriction: Option<String>,
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

/// Counts a sign-in attempt from `addr`: too many a minute are refused (429).
pub(crate) fn throttle(state: &AppState, addr: &SocketAddr) -> ApiResult<()> {
    let key = state.keys.address_key(&addr.ip().to_string());
    state.throttle.attempt(key).map_err(ApiError::Throttled)
}

/// The one answer to a wrong e-mail, a wrong password, or an account without a password:
/// they are indistinguishable.
fn invalid_credentials() -> ApiError {
    ApiError::Unauthenticated("the e-mail address or password is not correct".into())
}

impl TokenRequest {
    /// A sign-in as the portal's form sends it.
    pub(crate) fn new(
        email_address: String,
        password: String,
        mfa_code: Option<String>,
        activation_code: Option<String>,
    ) -> Self {
        TokenRequest {
            email_address,
            password,
            mfa_code,
            activation_code,
        }
    }
}

/// Signs in with e-mail and password (and the second factor or activation code when
/// needed): the one path for `auth/token` and the portal's sign-in form.
pub(crate) async fn token_for(
    state: &AppState,
    addr: SocketAddr,
    req: TokenRequest,
) -> ApiResult<TokenResponse> {
    token(State(state.clone()), ConnectInfo(addr), Body(req)).await
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
    let guard = SignInKeys::new(&state.keys, &req.email_address, addr.ip());
    guard.check(&state).await?;
    let user = state
        .store()
        .user_by_email(&super::email::key(&req.email_address))
        .await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = req.password.clone();
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers. Unknown
    // accounts verify against a dummy hash, so timing tells nothing either.
    let verified =
        tokio::task::spawn_blocking(move || secrets::verify_password(&password, hash.as_deref()))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut user = match user {
        Some(user) if verified => user,
        other => {
            if let Some(u) = &other {
                state.store().record_login_failure(&u.id).await?;
            }
            guard.failed(&state, settings.lockout_threshold).await?;
            return Err(invalid_credentials());
        }
    };
    // From here on the caller has shown the password: telling them why the account
    // cannot sign in reveals nothing they did not know.
    if user.locked_out {
        return Err(ApiError::Unauthenticated(
            "the account is locked by an administrator".into(),
        ));
    }
    if user.federated_only {
        return Err(ApiError::Unauthenticated(
            "this account signs in only through its identity provider".into(),
        ));
    }
    if user.disabled {
        return Err(ApiError::Unauthenticated("the account is disabled".into()));
    }
    activate(&state, &settings, &mut user, req.activation_code.as_deref()).await?;
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
            state.store().record_login_failure(&user.id).await?;
            guard.failed(&state, settings.lockout_threshold).await?;
            return Err(ApiError::Unauthenticated(
                "the MFA code is not valid or was already used".into(),
            ));
        }
    }
    guard.succeeded(&state).await?;
    state.store().record_login_success(&user.id).await?;
    sessions::sign_in(&state, &user).await
}

/// Activates the account at its first sign-in when System Settings → Users require it
/// (with the one-time code when codes are required).
async fn activate(
    state: &AppState,
    settings: &SignInSettings,
    user: &mut UserRow,
    code: Option<&str>,
) -> ApiResult<()> {
    if user.activated || !(settings.activation_required || settings.activation_code_required) {
        return Ok(());
    }
    let code_ok = match (code, &user.activation_code_hash) {
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
    state.store().put_user(user).await?;
    Ok(())
}

/// Checks a TOTP code and claims its step, so the same code never works twice.
async fn claim_code(state: &AppState, user: &str, secret: &[u8], code: &str) -> ApiResult<bool> {
    let Some(step) = totp::matching_step(secret, code, unix_now()) else {
        return Ok(false);
    };
    Ok(state.store().claim_totp_step(user, step).await?)
}

async fn refresh(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Body(req): Body<RefreshRequest>,
) -> ApiResult<TokenResponse> {
    throttle(&state, &addr)?;
    sessions::refresh(&state, req.refresh_token.trim()).await
}

async fn federated(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Body(req): Body<FederatedRequest>,
) -> ApiResult<TokenResponse> {
    throttle(&state, &addr)?;
    let snapshot = state.snapshot().await?;
    let identity = super::federated::verify(&state, &snapshot.settings, &req.id_token).await?;
    federated_sign_in(&state, identity, req.activation_code.as_deref()).await
}

/// Signs in the account bound to a verified federated identity: the one path for
/// `auth/federated` and the portal's sign-in buttons.
pub(crate) async fn federated_sign_in(
    state: &AppState,
    identity: super::federated::Identity,
    activation_code: Option<&str>,
) -> ApiResult<TokenResponse> {
    let settings = sign_in_settings(state).await?;
    let store = state.store();
    let bound = match store
        .federated_identity(&identity.issuer, &identity.subject)
        .await?
    {
        Some(user) => user,
        None => {
            // The first sign-in binds the provider's immutable (issuer, subject) to the
            // account with the same e-mail address, and only when the provider vouches
            // for that address; later sign-ins follow the binding, whatever the token's
            // mutable claims say.
            let email = identity.verified_email.as_deref().ok_or_else(|| {
                ApiError::Unauthenticated(
                    "no account is linked to this identity, and its ID token carries no verified e-mail address to link one".into(),
                )
            })?;
            let user = store
                .user_by_email(&super::email::key(email))
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthenticated("no account is registered for this identity".into())
                })?;
            let bound = store
                .link_federated_identity(
                    &identity.issuer,
                    &identity.subject,
                    &user.id,
                    &super::now_rfc3339(),
                )
                .await?;
            state
                .audit(&user.email, "user.federated_linked", &bound, None, None)
                .await?;
            bound
        }
    };
    let mut user = store
        .user(&bound)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the linked account no longer exists".into()))?;
    if user.disabled || user.locked_out {
        return Err(ApiError::Unauthenticated(
            "the account is disabled or locked".into(),
        ));
    }
    activate(state, &settings, &mut user, activation_code).await?;
    store.record_login_success(&user.id).await?;
    // The identity provider has checked the password and its own MFA.
    let user = UserRow {
        must_change_password: false,
        mfa_required: false,
        ..user
    };
    sessions::sign_in(state, &user).await
}

async fn change_password(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Body(req): Body<ChangePasswordRequest>,
) -> ApiResult<super::wire::Ok<TokenResponse>> {
    change_password_of(
        &state,
        signed_in.user,
        req.current_password,
        req.new_password,
    )
    .await
    .map(ok)
}

/// Changes `user`'s password, proven by the current one: every session ends and the
/// answer is a new sign-in. The one path for `auth/change-password` and the portal.
pub(crate) async fn change_password_of(
    state: &AppState,
    mut user: UserRow,
    current_password: String,
    new_password: String,
) -> ApiResult<TokenResponse> {
    let req = ChangePasswordRequest {
        current_password,
        new_password,
    };
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
    let user = sessions::end_all(state, &user.id).await?;
    state
        .audit(&user.email, "user.password_changed", &user.id, None, None)
        .await?;
    sessions::sign_in(state, &user).await
}

async fn mfa_enroll(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<super::wire::Ok<MfaEnrolment>> {
    let secret = totp::new_secret();
    let encoded = totp::base32(&secret);
    let enrolment_token = state.keys.seal(&secret).map_err(ApiError::internal)?;
    Ok(ok(MfaEnrolment {
        otpauth_uri: otpauth_uri(&signed_in.user.email, &encoded),
        secret: encoded,
        enrolment_token,
    }))
}

/// The `otpauth:` URI authenticator apps read (from a QR code) for a base32 `key`.
fn otpauth_uri(email: &str, key: &str) -> String {
    format!(
        "otpauth://totp/StackBill:{email}?secret={key}&issuer=StackBill&algorithm=SHA1&digits=6&period=30"
    )
}

/// The base32 key and `otpauth:` URI of an enrolment in progress, from its token: what
/// the portal shows again when a code was refused.
pub(crate) fn enrolment_key(
    state: &AppState,
    token: &str,
    email: &str,
) -> Option<(String, String)> {
    let key = totp::base32(&state.keys.unseal(token)?);
    let uri = otpauth_uri(email, &key);
    Some((key, uri))
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
    let replacing = user.mfa_secret_sealed.is_some();
    if replacing {
        current_factor(&state, &user, &req).await?;
    }
    // The proof of the current factor claimed this time step; the new secret, fresh from
    // this enrolment, is only checked (its code proves the authenticator holds it).
    let confirmed = if replacing {
        totp::matching_step(&secret, &req.code, unix_now()).is_some()
    } else {
        claim_code(&state, &user.id, &secret, &req.code).await?
    };
    if !confirmed {
        return Err(ApiError::field("code", "is not valid or was already used"));
    }
    user.mfa_secret_sealed = Some(state.keys.seal(&secret).map_err(ApiError::internal)?);
    state.store().put_user(&user).await?;
    // A replaced factor ends every other session: whoever enrolled the old one is out.
    let user = if replacing {
        sessions::end_all(&state, &user.id).await?
    } else {
        user
    };
    state.forget_principals();
    state
        .audit(&user.email, "user.mfa_enrolled", &user.id, None, None)
        .await?;
    sessions::sign_in(&state, &user).await.map(ok)
}

/// Replacing an enrolled second factor needs that factor (a current code) or the
/// password: an access token alone, perhaps stolen, must not swap it.
async fn current_factor(
    state: &AppState,
    user: &UserRow,
    req: &MfaConfirmRequest,
) -> ApiResult<()> {
    if let (Some(code), Some(sealed)) = (&req.current_code, &user.mfa_secret_sealed) {
        let secret = state
            .keys
            .unseal(sealed)
            .ok_or_else(|| ApiError::internal("the MFA secret cannot be unsealed"))?;
        if claim_code(state, &user.id, &secret, code).await? {
            return Ok(());
        }
        return Err(ApiError::field(
            "currentCode",
            "is not a valid code of the enrolled authenticator",
        ));
    }
    if let Some(password) = req.password.clone() {
        let hash = user.password_hash.clone();
        let verified = tokio::task::spawn_blocking(move || {
            secrets::verify_password(&password, hash.as_deref())
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
        if verified {
            return Ok(());
        }
        return Err(ApiError::field("password", "is not the password in use"));
    }
    Err(ApiError::field(
        "currentCode",
        "an authenticator is enrolled already: send a current code of it (currentCode) or the password (password) to replace it",
    ))
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

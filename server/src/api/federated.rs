//! Federated sign-in: ID tokens from Microsoft Entra or Google, verified against the
//! issuer's JWKS. System Settings → Identity names the providers
//! (`{"allowEntra": true, "providers": [{"kind": "entra", "issuer", "audience",
//! "jwksUri"}]}`); only RS256 is accepted, `iss` and `aud` must match the provider, and
//! `exp`/`nbf` allow 60 seconds of skew. Key sets are cached for an hour and fetched again
//! when a token names an unknown `kid` (at most every five seconds per issuer).
//!
//! The portal's sign-in buttons use the authorisation-code flow with PKCE (RFC 7636),
//! `state` and `nonce`: a provider may also name its `clientId` (default: its audience),
//! a `clientSecretRef` (a credential reference, for confidential clients) and its
//! `authorizationEndpoint` / `tokenEndpoint` (default: from the issuer's
//! `/.well-known/openid-configuration`). Nothing of a sign-in in progress is kept in a
//! server's memory: the browser carries it ([`Pending`]), so any replica can finish it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::wire::{ApiError, ApiResult};

const KEYS_TTL: Duration = Duration::from_secs(3600);
const REFETCH_AFTER: Duration = Duration::from_secs(5);
const SKEW_SECONDS: u64 = 60;

/// JWKS per URI, with when it was fetched.
#[derive(Debug, Default)]
pub(crate) struct JwksCache {
    sets: tokio::sync::Mutex<HashMap<String, (Instant, JwkSet)>>,
}

/// A provider from System Settings → Identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    kind: String,
    issuer: String,
    audience: String,
    jwks_uri: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret_ref: Option<String>,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
}

fn providers(settings: &Value) -> ApiResult<Vec<Provider>> {
    settings
        .get("identity")
        .and_then(|i| i.get("providers"))
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::internal(format!("identity settings: {e}")))
        .map(Option::unwrap_or_default)
}

/// Whether System Settings → Identity allows sign-in with providers of `kind`.
fn allowed(settings: &Value, kind: &str) -> bool {
    let key = match kind {
        "entra" => "allowEntra",
        "google" => "allowGoogle",
        _ => return false,
    };
    settings["identity"][key].as_bool().unwrap_or(false)
}

/// Who a verified ID token speaks for: the provider's immutable (issuer, subject), and
/// an e-mail address only where it may link a first sign-in to an account.
#[derive(Debug)]
pub(crate) struct Identity {
    pub issuer: String,
    pub subject: String,
    /// The `email` claim, unless the token says it is unverified (`email_verified`
    /// false). `preferred_username` and `upn` are display names any tenant
    /// administrator can set: they never identify an account.
    pub verified_email: Option<String>,
    /// The `nonce` claim: the portal's sign-in checks it is the one it sent.
    pub nonce: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    /// A boolean, or the text `"true"` / `"false"` (some providers send text).
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
}

fn rejected(why: &str) -> ApiError {
    ApiError::Unauthenticated(format!("the ID token was rejected: {why}"))
}

/// Verifies `token` against the configured providers.
pub(crate) async fn verify(state: &AppState, settings: &Value, token: &str) -> ApiResult<Identity> {
    let providers = providers(settings)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("not a JWT"))?;
    if header.alg != Algorithm::RS256 {
        return Err(rejected("algorithm not allowed"));
    }
    let kid = header.kid.ok_or_else(|| rejected("no key id"))?;
    let issuer = unverified_issuer(token).ok_or_else(|| rejected("no issuer"))?;
    let provider = providers
        .iter()
        .find(|p| p.issuer == issuer)
        .ok_or_else(|| rejected("unknown issuer"))?;
    if !allowed(settings, &provider.kind) {
        return Err(ApiError::Forbidden(format!(
            "{} sign-in is disabled in System Settings → Identity",
            provider.kind
        )));
    }
    let key = key_for(state, &provider.jwks_uri, &kid).await?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[&provider.audience]);
    validation.validate_nbf = true;
    validation.leeway = SKEW_SECONDS;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| rejected(&e.to_string()))?;
    let c = data.claims;
    if c.sub.trim().is_empty() || c.sub.len() > 255 {
        return Err(rejected("the subject is empty or too long"));
    }
    let verified = match &c.email_verified {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(_) => false,
    };
    Ok(Identity {
        issuer: provider.issuer.clone(),
        subject: c.sub,
        verified_email: c.email.filter(|_| verified),
        nonce: c.nonce,
    })
}

/// The `iss` claim before verification, only to choose the provider.
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

async fn key_for(state: &AppState, uri: &str, kid: &str) -> ApiResult<DecodingKey> {
    let mut sets = state.jwks.sets.lock().await;
    let usable = match sets.get(uri) {
        Some((at, set)) if at.elapsed() < KEYS_TTL && set.find(kid).is_some() => Some(set.clone()),
        // An unknown kid may mean the provider rotated its keys: fetch again, but not
        // more often than REFETCH_AFTER, so bogus kids cannot make us hammer it.
        Some((at, set)) if at.elapsed() < REFETCH_AFTER => Some(set.clone()),
        _ => None,
    };
    let set = match usable {
        Some(set) => set,
        None => {
            let set = fetch(uri).await?;
            sets.insert(uri.to_owned(), (Instant::now(), set.clone()));
            set
        }
    };
    let jwk = set.find(kid).ok_or_else(|| rejected("unknown key id"))?;
    DecodingKey::from_jwk(jwk).map_err(|_| rejected("unusable key"))
}

async fn fetch(uri: &str) -> ApiResult<JwkSet> {
    let response = client()?
        .get(uri)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("identity provider keys: {e}")))?;
    if !response.status().is_success() {
        return Err(ApiError::Unavailable(format!(
            "identity provider keys: HTTP {}",
            response.status()
        )));
    }
    response
        .json::<JwkSet>()
        .await
        .map_err(|e| ApiError::Unavailable(format!("identity provider keys: {e}")))
}

fn client() -> ApiResult<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// A sign-in button of the portal: the provider's place in the settings' list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignInButton {
    pub index: usize,
    pub label: &'static str,
}

/// The buttons of the providers System Settings → Identity allows.
pub(crate) fn buttons(settings: &Value) -> Vec<SignInButton> {
    providers(settings)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, p)| allowed(settings, &p.kind))
        .map(|(index, p)| SignInButton {
            index,
            label: if p.kind == "google" {
                "Sign in with Google"
            } else {
                "Sign in with Microsoft Entra ID"
            },
        })
        .collect()
}

/// A sign-in in progress, carried by the browser between the redirect to the provider
/// and its return: which provider, and the `state`, `nonce` and PKCE verifier to check.
#[derive(Debug, Clone, serde::Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Pending {
    pub provider: usize,
    pub issuer: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Where the person goes once signed in (a path on this site).
    pub next: String,
}

fn random_text() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

fn chosen(settings: &Value, index: usize) -> ApiResult<Provider> {
    let provider = providers(settings)?
        .into_iter()
        .nth(index)
        .ok_or_else(|| ApiError::NotFound(format!("no identity provider {index}")))?;
    if !allowed(settings, &provider.kind) {
        return Err(ApiError::Forbidden(format!(
            "{} sign-in is disabled in System Settings → Identity",
            provider.kind
        )));
    }
    Ok(provider)
}

/// The provider's authorisation and token endpoints: as configured, or from its
/// discovery document (whose `issuer` must be the provider's).
async fn endpoints(provider: &Provider) -> ApiResult<(String, String)> {
    if let (Some(a), Some(t)) = (&provider.authorization_endpoint, &provider.token_endpoint) {
        return Ok((a.clone(), t.clone()));
    }
    let unavailable =
        |why: String| ApiError::Unavailable(format!("identity provider discovery: {why}"));
    let uri = format!(
        "{}/.well-known/openid-configuration",
        provider.issuer.trim_end_matches('/')
    );
    let response = client()?
        .get(&uri)
        .send()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(unavailable(format!("HTTP {}", response.status())));
    }
    let document: Value = response
        .json()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if document["issuer"].as_str() != Some(provider.issuer.as_str()) {
        return Err(unavailable("the document names another issuer".into()));
    }
    let endpoint = |key: &str, configured: &Option<String>| {
        configured
            .clone()
            .or_else(|| document[key].as_str().map(str::to_owned))
            .ok_or_else(|| unavailable(format!("no {key}")))
    };
    Ok((
        endpoint("authorization_endpoint", &provider.authorization_endpoint)?,
        endpoint("token_endpoint", &provider.token_endpoint)?,
    ))
}

/// Where to send the browser to sign in with provider `index`, and what it carries
/// until it returns to `redirect_uri`.
pub(crate) async fn authorize(
    settings: &Value,
    index: usize,
    redirect_uri: &str,
    next: String,
) -> ApiResult<(String, Pending)> {
    let provider = chosen(settings, index)?;
    let (authorization, _) = endpoints(&provider).await?;
    let pending = Pending {
        provider: index,
        issuer: provider.issuer.clone(),
        state: random_text(),
        nonce: random_text(),
        verifier: random_text(),
        next,
    };
    let client_id = provider.client_id.as_deref().unwrap_or(&provider.audience);
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid email profile"),
        ("state", &pending.state),
        ("nonce", &pending.nonce),
        ("code_challenge", &challenge(&pending.verifier)),
        ("code_challenge_method", "S256"),
    ])
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let separator = if authorization.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok((format!("{authorization}{separator}{query}"), pending))
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The identity a returning sign-in proves: its code exchanged for an ID token (with the
/// PKCE verifier and any client secret), the token verified like `auth/federated`'s,
/// and its `nonce` the one this sign-in sent.
pub(crate) async fn finish(
    state: &AppState,
    settings: &Value,
    pending: &Pending,
    code: &str,
    redirect_uri: &str,
) -> ApiResult<Identity> {
    let provider = chosen(settings, pending.provider)?;
    if provider.issuer != pending.issuer {
        return Err(rejected("the identity settings changed during the sign-in"));
    }
    let (_, token_endpoint) = endpoints(&provider).await?;
    let client_id = provider.client_id.as_deref().unwrap_or(&provider.audience);
    let secret = match &provider.client_secret_ref {
        Some(reference) => {
            Some(stackbill_collector::resolve_secret(reference).map_err(|e| {
                ApiError::Unavailable(format!("identity provider client secret: {e}"))
            })?)
        }
        None => None,
    };
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", pending.verifier.as_str()),
    ];
    if let Some(secret) = &secret {
        form.push(("client_secret", secret.expose()));
    }
    let response = client()?
        .post(&token_endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("identity provider token endpoint: {e}")))?;
    let status = response.status();
    let answer: TokenAnswer = response.json().await.map_err(|e| {
        ApiError::Unavailable(format!(
            "identity provider token endpoint: HTTP {status}: {e}"
        ))
    })?;
    let Some(id_token) = answer.id_token.filter(|_| status.is_success()) else {
        let why = answer
            .error_description
            .or(answer.error)
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(ApiError::Unauthenticated(format!(
            "the identity provider refused the sign-in: {why}"
        )));
    };
    let identity = verify(state, settings, &id_token).await?;
    if identity.issuer != pending.issuer {
        return Err(rejected("it comes from another issuer"));
    }
    let nonce_matches = identity.nonce.as_deref().is_some_and(|n| {
        use subtle::ConstantTimeEq;
        n.len() == pending.nonce.len() && bool::from(n.as_bytes().ct_eq(pending.nonce.as_bytes()))
    });
    if !nonce_matches {
        return Err(rejected("its nonce is not this sign-in's"));
    }
    Ok(identity)
}

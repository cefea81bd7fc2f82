//! Federated sign-in: ID tokens from Microsoft Entra or Google, verified against the
//! issuer's JWKS. System Settings → Identity names the providers
//! (`{"allowEntra": true, "providers": [{"kind": "entra", "issuer", "audience",
//! "jwksUri"}]}`); only RS256 is accepted, `iss` and `aud` must match the provider, and
//! `exp`/`nbf` allow 60 seconds of skew. Key sets are cached for an hour and fetched again
//! when a token names an unknown `kid` (at most every five seconds per issuer).

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
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    /// A boolean, or the text `"true"` / `"false"` (some providers send text).
    #[serde(default)]
    email_verified: Option<Value>,
}

fn rejected(why: &str) -> ApiError {
    ApiError::Unauthenticated(format!("the ID token was rejected: {why}"))
}

/// Verifies `token` against the configured providers.
pub(crate) async fn verify(state: &AppState, settings: &Value, token: &str) -> ApiResult<Identity> {
    let identity = settings.get("identity").cloned().unwrap_or(Value::Null);
    let providers: Vec<Provider> = identity
        .get("providers")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::internal(format!("identity settings: {e}")))?
        .unwrap_or_default();
    let allowed = |kind: &str| {
        let key = match kind {
            "entra" => "allowEntra",
            "google" => "allowGoogle",
            _ => return false,
        };
        identity.get(key).and_then(Value::as_bool).unwrap_or(false)
    };
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
    if !allowed(&provider.kind) {
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
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let response = client
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

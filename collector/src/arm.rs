//! Talking to a stamp's admin Resource Manager: endpoint discovery, client-credential
//! tokens (cached, refreshed before expiry and once on a 401), and GETs retried with
//! exponential back-off and jitter on throttling, unavailability, gateway timeouts and
//! broken connections.

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::region::{Identity, RegionConfig, check_transport};
use crate::secret::Secret;
use crate::{CollectError, Stats};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The first back-off; each retry doubles it.
    pub base: Duration,
    /// The longest single wait, `Retry-After` included.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (1-based): full jitter over `base · 2ⁿ⁻¹`, or what the
    /// server asked for in `Retry-After`, capped at `max`.
    fn wait(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max);
        }
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms.max(1)))
    }
}

#[derive(Debug, Deserialize)]
struct Metadata {
    authentication: Option<Authentication>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authentication {
    login_endpoint: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    /// Seconds, sent as a string by v1 endpoints and as a number by others.
    expires_in: Option<serde_json::Value>,
}

#[derive(Debug)]
struct Token {
    value: String,
    /// When to fetch a new one: a fifth of its lifetime (at most five minutes) early.
    refresh_at: Instant,
}

/// Where tokens come from, found through `/metadata/endpoints`.
#[derive(Debug, Clone)]
struct Login {
    token_url: Url,
    audience: String,
}

/// An authenticated client of one region's admin Resource Manager.
#[derive(Debug)]
pub struct Arm {
    region: RegionConfig,
    http: reqwest::Client,
    secret: Secret,
    retry: RetryPolicy,
    login: Mutex<Option<Login>>,
    token: Mutex<Option<Token>>,
}

/// A failed response's ARM error body, when it has one.
fn arm_error(body: &[u8]) -> (String, String) {
    #[derive(Deserialize)]
    struct Body {
        error: Option<Inner>,
    }
    #[derive(Deserialize)]
    struct Inner {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(Body { error: Some(e) }) => (e.code.unwrap_or_default(), e.message.unwrap_or_default()),
        _ => (
            String::new(),
            String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
        ),
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// A transport error with its causes (`…: invalid peer certificate: UnknownIssuer`), so
/// an operator sees why a stamp could not be reached.
fn chain(e: &reqwest::Error) -> String {
    // reqwest names the URL, continuation token and all: keep only its path.
    let mut text = match e.url() {
        Some(u) => e.to_string().replace(u.as_str(), &redact(u)),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether a transport error is worth another attempt (the connection broke or timed out
/// before a response arrived).
fn transient(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
}

impl Arm {
    /// A client for `region`, its secret already resolved.
    pub fn new(
        region: RegionConfig,
        secret: Secret,
        retry: RetryPolicy,
    ) -> Result<Self, CollectError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false)
            // A redirect would carry the bearer token elsewhere: refuse them.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(180))
            .user_agent(concat!("stackbill-collector/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &region.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| CollectError::Config {
                field: "caBundle",
                message: format!("cannot read {path}: {e}"),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| CollectError::Config {
                    field: "caBundle",
                    message: format!("{path} is not a PEM bundle: {e}"),
                })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| CollectError::Config {
            field: "adminEndpoint",
            message: format!("cannot build an HTTP client: {e}"),
        })?;
        Ok(Arm {
            region,
            http,
            secret,
            retry,
            login: Mutex::new(None),
            token: Mutex::new(None),
        })
    }

    /// The region this client talks to.
    pub fn region(&self) -> &RegionConfig {
        &self.region
    }

    /// Discovers the login endpoint and audience (anonymous), once per client.
    async fn login(&self, stats: &Stats) -> Result<Login, CollectError> {
        let mut cached = self.login.lock().await;
        if let Some(l) = cached.as_ref() {
            return Ok(l.clone());
        }
        let mut url =
            self.region
                .arm
                .join("metadata/endpoints")
                .map_err(|e| CollectError::Config {
                    field: "adminEndpoint",
                    message: e.to_string(),
                })?;
        url.set_query(Some("api-version=2015-01-01"));
        let body = self.send(&url, None, stats).await?;
        let meta: Metadata = serde_json::from_slice(&body)
            .map_err(|e| CollectError::Protocol(format!("metadata/endpoints: {e}")))?;
        let auth = meta.authentication.ok_or_else(|| {
            CollectError::Protocol("metadata/endpoints: no authentication".into())
        })?;
        let login = auth
            .login_endpoint
            .ok_or_else(|| CollectError::Protocol("metadata/endpoints: no loginEndpoint".into()))?;
        let audience = auth
            .audiences
            .into_iter()
            .next()
            .ok_or_else(|| CollectError::Protocol("metadata/endpoints: no audiences".into()))?;
        let mut login = login.trim().to_owned();
        if !login.ends_with('/') {
            login.push('/');
        }
        let login_url = Url::parse(&login)
            .map_err(|e| CollectError::Protocol(format!("loginEndpoint {login:?}: {e}")))?;
        check_transport(&login_url, "loginEndpoint")?;
        let token_url = match &self.region.identity {
            Identity::Entra { tenant } => login_url.join(&format!("{tenant}/oauth2/token")),
            // AD FS advertises `https://adfs.…/adfs/`: the tenant segment is the literal
            // `adfs` already in the path.
            Identity::Adfs => {
                let base = if login_url.path().trim_end_matches('/').ends_with("/adfs") {
                    login_url.clone()
                } else {
                    login_url
                        .join("adfs/")
                        .unwrap_or_else(|_| login_url.clone())
                };
                base.join("oauth2/token")
            }
        }
        .map_err(|e| CollectError::Protocol(format!("token endpoint: {e}")))?;
        let l = Login {
            token_url,
            audience,
        };
        *cached = Some(l.clone());
        Ok(l)
    }

    /// A valid access token: the cached one, or a new one by client credentials.
    async fn token(&self, stats: &Stats) -> Result<String, CollectError> {
        let login = self.login(stats).await?;
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.region.client_id.as_str()),
            ("client_secret", self.secret.expose()),
            ("resource", login.audience.as_str()),
        ];
        let mut attempt = 0u32;
        let response = loop {
            attempt = attempt.saturating_add(1);
            let sent = self
                .http
                .post(login.token_url.clone())
                .form(&form)
                .send()
                .await;
            match sent {
                Ok(r)
                    if matches!(r.status().as_u16(), 429 | 503 | 504)
                        && attempt < self.retry.attempts =>
                {
                    stats.retry();
                    tokio::time::sleep(self.retry.wait(attempt, retry_after(r.headers()))).await;
                }
                Err(e) if transient(&e) && attempt < self.retry.attempts => {
                    stats.retry();
                    tokio::time::sleep(self.retry.wait(attempt, None)).await;
                }
                Ok(r) => break r,
                Err(e) => {
                    return Err(CollectError::Unreachable(format!(
                        "{}: {e}",
                        login.token_url
                    )));
                }
            }
        };
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| CollectError::Unreachable(format!("{}: {e}", login.token_url)))?;
        if status.is_server_error() {
            return Err(CollectError::Unreachable(format!(
                "{}: the identity provider answered {status}",
                login.token_url
            )));
        }
        if !status.is_success() {
            // The body of a refused token request names the error, never the secret.
            let (code, message) = token_error(&body);
            return Err(CollectError::TokenRefused(format!(
                "{status} {code}: {message}"
            )));
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| CollectError::Protocol(format!("token response: {e}")))?;
        let value = t
            .access_token
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CollectError::Protocol("token response: no access_token".into()))?;
        let lifetime = match t.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .unwrap_or(300);
        let early = (lifetime / 5).min(300);
        let refresh_at = Instant::now() + Duration::from_secs(lifetime.saturating_sub(early));
        stats.token();
        *cached = Some(Token {
            value: value.clone(),
            refresh_at,
        });
        Ok(value)
    }

    /// Forgets the cached token (after a 401), so the next call fetches a new one.
    async fn drop_token(&self) {
        *self.token.lock().await = None;
    }

    /// One GET with retries; `bearer` adds the token. Returns the body of a 2xx.
    async fn send(
        &self,
        url: &Url,
        bearer: Option<&str>,
        stats: &Stats,
    ) -> Result<Vec<u8>, CollectError> {
        self.send_with(Method::GET, url, None, bearer, stats).await
    }

    /// One request with retries (only idempotent methods are sent: GET, PUT, DELETE).
    async fn send_with(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        bearer: Option<&str>,
        stats: &Stats,
    ) -> Result<Vec<u8>, CollectError> {
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            if let Some(body) = body {
                req = req
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_vec());
            }
            if let Some(token) = bearer {
                req = req.bearer_auth(token);
            }
            stats.request();
            let response = match req.send().await {
                Ok(r) => r,
                Err(e) if transient(&e) && attempt < self.retry.attempts => {
                    stats.retry();
                    tokio::time::sleep(self.retry.wait(attempt, None)).await;
                    continue;
                }
                Err(e) => {
                    return Err(CollectError::Unreachable(format!(
                        "{}: {}",
                        redact(url),
                        chain(&e)
                    )));
                }
            };
            let status = response.status();
            if status.is_success() {
                match response.bytes().await {
                    Ok(b) => return Ok(b.to_vec()),
                    Err(e) if attempt < self.retry.attempts => {
                        let _ = e;
                        stats.retry();
                        tokio::time::sleep(self.retry.wait(attempt, None)).await;
                        continue;
                    }
                    Err(e) => {
                        return Err(CollectError::Unreachable(format!("{}: {e}", redact(url))));
                    }
                }
            }
            let wait = retry_after(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            let (code, message) = arm_error(&body);
            let retryable = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            );
            if retryable && attempt < self.retry.attempts {
                stats.retry();
                tokio::time::sleep(self.retry.wait(attempt, wait)).await;
                continue;
            }
            return Err(match status {
                StatusCode::GATEWAY_TIMEOUT => CollectError::GatewayTimeout(message),
                StatusCode::UNAUTHORIZED => CollectError::Unauthorized(format!("{code} {message}")),
                s => CollectError::Api {
                    status: s.as_u16(),
                    code,
                    message,
                },
            });
        }
    }

    /// Checks a region end to end without reading usage: discovery, a token, and the
    /// Commerce admin operations list (a cheap authenticated call). Returns the token
    /// audience.
    pub async fn probe(&self, stats: &Stats) -> Result<String, CollectError> {
        let audience = self.login(stats).await?.audience;
        let mut url = self
            .region
            .arm
            .join("providers/Microsoft.Commerce.Admin/operations")
            .map_err(|e| CollectError::Protocol(e.to_string()))?;
        url.set_query(Some("api-version=2015-06-01-preview"));
        self.get(&url, stats).await?;
        Ok(audience)
    }

    /// Sends `method` (PUT or DELETE) with a JSON body to an ARM URL with the region's
    /// token, like [`Arm::get`]; returns the response body.
    pub(crate) async fn write(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        stats: &Stats,
    ) -> Result<Vec<u8>, CollectError> {
        let token = self.token(stats).await?;
        match self
            .send_with(method.clone(), url, body, Some(&token), stats)
            .await
        {
            Err(CollectError::Unauthorized(_)) => {
                self.drop_token().await;
                let token = self.token(stats).await?;
                self.send_with(method, url, body, Some(&token), stats).await
            }
            other => other,
        }
    }

    /// GETs an ARM URL with the region's token; on a 401 fetches a new token once and
    /// tries again (a token can be revoked or expire early).
    pub async fn get(&self, url: &Url, stats: &Stats) -> Result<Vec<u8>, CollectError> {
        let token = self.token(stats).await?;
        match self.send(url, Some(&token), stats).await {
            Err(CollectError::Unauthorized(_)) => {
                self.drop_token().await;
                let token = self.token(stats).await?;
                self.send(url, Some(&token), stats).await
            }
            other => other,
        }
    }
}

fn token_error(body: &[u8]) -> (String, String) {
    #[derive(Deserialize)]
    struct E {
        error: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(E {
            error: Some(code),
            error_description,
        }) => (code, error_description.unwrap_or_default()),
        _ => (String::new(), String::new()),
    }
}

/// A URL for messages: the continuation token and other query values are left out.
pub(crate) fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_honour_retry_after() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for n in 1..=4u32 {
            let w = p.wait(n, None);
            let ceiling = Duration::from_millis(100 * (1 << (n - 1)));
            assert!(w <= ceiling && w >= ceiling / 2, "{n}: {w:?}");
        }
        assert!(p.wait(9, None) <= Duration::from_secs(1));
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(7))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.wait(1, Some(Duration::from_millis(3))),
            Duration::from_millis(3)
        );
    }
}

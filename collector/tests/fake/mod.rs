//! A local Azure Stack Hub admin Resource Manager speaking the usage API as
//! `azure-stack-usage.md` §6 describes it: anonymous metadata, client-credential tokens
//! (Entra or AD FS style, `expires_in` as a string), `subscriberUsageAggregates` selected
//! by reported time and paged with padded, URL-encoded continuation tokens, the admin
//! subscription list, and injected faults (429 with `Retry-After`, 503, 504, tokens
//! revoked mid-run).

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};

pub const PROVIDER: &str = "5f0c2a7e-3b1d-4c8e-9a26-7d41e0b9c3f5";
pub const AUDIENCE: &str = "https://adminmanagement.example-operator.onmicrosoft.com/8c2f4d1a";
pub const CLIENT: &str = "collector-app";
pub const SECRET: &str = "fake-client-secret";
pub const TENANT: &str = "operator.onmicrosoft.com";

/// One injected answer to the next usage request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Throttle {
        retry_after: u64,
    },
    Unavailable,
    GatewayTimeout,
    /// Revoke every token issued so far (the next call gets a 401).
    RevokeTokens,
}

/// A usage row as the stamp holds it: the reported hour it belongs to and its JSON.
#[derive(Debug, Clone)]
pub struct StampRow {
    pub reported: i64,
    pub subscription: String,
    pub json: Value,
}

#[derive(Debug, Default)]
pub struct Inner {
    pub adfs: bool,
    pub rows: Vec<StampRow>,
    pub page_size: usize,
    pub faults: VecDeque<Fault>,
    /// All-subscriber usage queries always time out.
    pub all_subscriber_timeout: bool,
    /// Subscriptions the admin list returns.
    pub subscriptions: Vec<String>,
    /// Token → expiry.
    pub tokens: HashMap<String, Instant>,
    pub token_lifetime_secs: u64,
    pub tokens_issued: u64,
    /// Continuation tokens exactly as they arrived in the query string.
    pub continuations_received: Vec<String>,
    pub continuations_sent: Vec<String>,
    pub usage_requests: u64,
    /// Answer every usage page with this `nextLink` (a loop, another host).
    pub next_link_override: Option<String>,
    /// Stop answering (500) after this many more usage requests, to interrupt a run.
    pub fail_after: Option<u64>,
}

#[derive(Clone)]
pub struct Fake {
    pub inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl Fake {
    pub async fn start(adfs: bool) -> Fake {
        let inner = Arc::new(Mutex::new(Inner {
            adfs,
            page_size: 4,
            token_lifetime_secs: 3599,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Fake { inner, base };
        let app = Router::new()
            .route("/metadata/endpoints", get(metadata))
            .route("/{tenant}/oauth2/token", post(token))
            .route("/adfs/oauth2/token", post(adfs_token))
            .route(
                "/subscriptions/{provider}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
                get(usage),
            )
            .route(
                "/subscriptions/{provider}/providers/Microsoft.Subscriptions.Admin/subscriptions",
                get(subscriptions),
            )
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        fake
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("fake state"))
    }
}

fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response();
    r.headers_mut().insert(
        "x-ms-request-id",
        HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
    );
    r
}

async fn metadata(State(fake): State<Fake>) -> Response {
    let login = if fake.with(|s| s.adfs) {
        format!("{}/adfs/", fake.base)
    } else {
        format!("{}/", fake.base)
    };
    axum::Json(json!({
        "galleryEndpoint": format!("{}:30015/", fake.base),
        "graphEndpoint": "https://graph.windows.net/",
        "portalEndpoint": format!("{}/portal/", fake.base),
        "authentication": {"loginEndpoint": login, "audiences": [AUDIENCE]}
    }))
    .into_response()
}

fn issue(fake: &Fake, form: &HashMap<String, String>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials"
        || field("client_id") != CLIENT
        || field("client_secret") != SECRET
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})),
        )
            .into_response();
    }
    if field("resource") != AUDIENCE {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": "invalid_resource", "error_description": "unknown resource"}),
            ),
        )
            .into_response();
    }
    let (token, lifetime) = fake.with(|s| {
        s.tokens_issued += 1;
        let token = format!("tok-{}", s.tokens_issued);
        s.tokens.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(s.token_lifetime_secs),
        );
        (token, s.token_lifetime_secs)
    });
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime.to_string(),
        "ext_expires_in": lifetime.to_string(),
        "resource": AUDIENCE,
        "access_token": token,
    }))
    .into_response()
}

async fn token(
    State(fake): State<Fake>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if fake.with(|s| s.adfs) || tenant != TENANT {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_tenant"})),
        )
            .into_response();
    }
    issue(&fake, &form)
}

async fn adfs_token(
    State(fake): State<Fake>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !fake.with(|s| s.adfs) {
        return (StatusCode::NOT_FOUND, "no AD FS here").into_response();
    }
    issue(&fake, &form)
}

fn authorised(fake: &Fake, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    fake.with(|s| s.tokens.get(token).is_some_and(|e| Instant::now() < *e))
}

/// The raw (still percent-encoded) value of a query parameter.
fn raw_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        kv.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

fn decoded(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn hour(text: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let ns = t.timestamp_nanos_opt()?;
    (ns % 3_600_000_000_000 == 0).then_some(ns)
}

async fn usage(
    State(fake): State<Fake>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !authorised(&fake, &headers) {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    }
    let query = query.unwrap_or_default();
    let subscriber = decoded(&query, "subscriberId");
    let fault = fake.with(|s| {
        s.usage_requests += 1;
        if let Some(n) = s.fail_after.as_mut() {
            if *n == 0 {
                return Some(Err(()));
            }
            *n -= 1;
        }
        s.faults.pop_front().map(Ok)
    });
    match fault {
        Some(Err(())) => {
            return arm_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "stamp went away",
            );
        }
        Some(Ok(Fault::Throttle { retry_after })) => {
            let mut r = arm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "throttled",
            );
            r.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&retry_after.to_string()).expect("header"),
            );
            return r;
        }
        Some(Ok(Fault::Unavailable)) => {
            return arm_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "busy",
            );
        }
        Some(Ok(Fault::GatewayTimeout)) => return gateway_timeout(),
        Some(Ok(Fault::RevokeTokens)) => {
            fake.with(|s| s.tokens.clear());
            return arm_error(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            );
        }
        None => {}
    }
    if subscriber.is_none() && fake.with(|s| s.all_subscriber_timeout) {
        return gateway_timeout();
    }
    if provider != PROVIDER {
        return arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            "no such provider subscription",
        );
    }
    if decoded(&query, "api-version").as_deref() != Some("2015-06-01-preview") {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "NoApiVersion",
            "api-version is missing",
        );
    }
    if decoded(&query, "aggregationGranularity").as_deref() != Some("Hourly") {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidAggregationGranularity",
            "Hourly expected",
        );
    }
    let (Some(start), Some(end)) = (
        decoded(&query, "reportedStartTime")
            .as_deref()
            .and_then(hour),
        decoded(&query, "reportedEndTime").as_deref().and_then(hour),
    ) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidProperty",
            "reportedStartTime/reportedEndTime",
        );
    };
    if let Some(s) = &subscriber
        && !fake.with(|st| st.subscriptions.iter().any(|x| x.eq_ignore_ascii_case(s)))
    {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "SubscriberIdIsNotDirectTenant",
            &format!("Subscription {s} is not a direct tenant of the caller."),
        );
    }
    // The continuation token must come back exactly as it was sent: padded, encoded.
    let skip = match raw_param(&query, "continuationToken") {
        None => 0,
        Some(raw) => {
            let known = fake.with(|s| {
                s.continuations_received.push(raw.to_owned());
                s.continuations_sent.iter().any(|t| t == raw)
            });
            if !known {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidContinuationToken",
                    "the continuation token is invalid",
                );
            }
            let text = decoded(&query, "continuationToken").unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("our token");
            let v: Value = serde_json::from_slice(&bytes).expect("our token");
            v["skip"].as_u64().unwrap_or(0) as usize
        }
    };
    let (value, more) = fake.with(|s| {
        let selected: Vec<Value> = s
            .rows
            .iter()
            .filter(|r| r.reported >= start && r.reported < end)
            .filter(|r| {
                subscriber
                    .as_deref()
                    .is_none_or(|x| r.subscription.eq_ignore_ascii_case(x))
            })
            .map(|r| r.json.clone())
            .collect();
        let page: Vec<Value> = selected
            .iter()
            .skip(skip)
            .take(s.page_size)
            .cloned()
            .collect();
        (page, selected.len() > skip + s.page_size)
    });
    let mut body = json!({ "value": value });
    if let Some(link) = fake.with(|s| s.next_link_override.clone()) {
        body["nextLink"] = json!(link);
    } else if more {
        // Padding `=` makes the encoded token end in %3D, which a client that decodes and
        // re-encodes would change.
        let next_skip = skip + fake.with(|s| s.page_size);
        let mut pad = String::new();
        let b64 = loop {
            let bookmark = json!({"rt": start, "skip": next_skip, "p": pad}).to_string();
            if !bookmark.len().is_multiple_of(3) {
                break base64::engine::general_purpose::STANDARD.encode(bookmark);
            }
            pad.push('x');
        };
        let encoded: String = url::form_urlencoded::byte_serialize(b64.as_bytes()).collect();
        let encoded = encoded.replace("%3D", "%3d");
        fake.with(|s| s.continuations_sent.push(encoded.clone()));
        let without: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.starts_with("continuationToken="))
            .collect();
        body["nextLink"] = json!(format!(
            "{}/subscriptions/{PROVIDER}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates?{}&continuationToken={encoded}",
            fake.base,
            without.join("&")
        ));
    }
    let mut r = axum::Json(body).into_response();
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    r.headers_mut().insert(
        "x-ms-ratelimit-remaining-subscription-reads",
        HeaderValue::from_static("14785"),
    );
    r
}

fn gateway_timeout() -> Response {
    let mut r = arm_error(
        StatusCode::GATEWAY_TIMEOUT,
        "GatewayTimeout",
        "The gateway did not receive a response from 'Microsoft.Commerce.Admin' within the specified time period.",
    );
    r.headers_mut()
        .insert("x-ms-failure-cause", HeaderValue::from_static("service"));
    r
}

async fn subscriptions(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    if !authorised(&fake, &headers) {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        );
    }
    let subs = fake.with(|s| s.subscriptions.clone());
    let value: Vec<Value> = subs
        .iter()
        .map(|s| json!({"id": format!("/subscriptions/{PROVIDER}/providers/Microsoft.Subscriptions.Admin/subscriptions/{s}"), "subscriptionId": s, "state": "Enabled", "offerId": "/delegatedProviders/default/offers/basic"}))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

/// A usage row in the API's exact shape.
pub fn row(
    subscription: &str,
    meter: &str,
    resource: &str,
    start: &str,
    quantity: &str,
    sku: Option<&str>,
) -> Value {
    let start_t = chrono::DateTime::parse_from_rfc3339(start).expect("start");
    let end = (start_t + chrono::Duration::hours(1)).to_rfc3339();
    let info = match sku {
        Some(s) => format!("{{\"ServiceType\":\"{s}\",\"ImageType\":null}}"),
        None => String::new(),
    };
    let instance = json!({"Microsoft.Resources": {
        "resourceUri": resource, "location": "fra01", "tags": "", "additionalInfo": info
    }})
    .to_string();
    let text = format!(
        r#"{{"id":"/subscriptions/{PROVIDER}/providers/Microsoft.Commerce/UsageAggregate/{subscription}-{meter}",
        "name":"{subscription}-{meter}","type":"Microsoft.Commerce/UsageAggregate",
        "properties":{{"subscriptionId":"{subscription}","usageStartTime":"{start}","usageEndTime":"{end}",
        "instanceData":{instance},"quantity":{quantity},"meterId":"{meter}","name":"{subscription}-{meter}"}}}}"#,
        instance = serde_json::to_string(&instance).expect("string"),
    );
    serde_json::from_str(&text).expect("row json")
}

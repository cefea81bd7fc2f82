//! A local Azure Stack Hub admin Resource Manager speaking the usage API as
//! `azure-stack-usage.md` §6 describes it: anonymous metadata, client-credential tokens
//! (Entra or AD FS style, `expires_in` as a string), `subscriberUsageAggregates` selected
//! by reported time and paged with padded, URL-encoded continuation tokens, the admin
//! subscription list, and injected faults (429 with `Retry-After`, 503, 504, tokens
//! revoked mid-run).

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

pub const SUB_A: &str = "b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1";
pub const SUB_B: &str = "3ac9d8f1-6e24-4b70-a5c3-91f2e8b04d67";
pub const WIN_CORES: &str = "9cd92d4c-bafd-4492-b278-bedc2de8232a";
pub const VM_HOURS: &str = "6dab500f-a4fd-49c4-956d-229bb9c8c793";
pub const PAGE_BLOB: &str = "B5C15376-6C94-4FDD-B655-1A69D138ACA3";
pub const BLOB_OUT: &str = "3023FEF4-ECA5-4D7B-87B3-CFBC061931E8";

/// The fixture of the reference (§7): six rows in the reported hour 10:00–11:00, two of
/// them reported late (usage hours 08:00 and 09:00), across two pages.
pub fn fixture(fake: &Fake) {
    let reported = 1_741_082_400_000_000_000; // 2025-03-04T10:00:00Z
    let rows = [
        (
            SUB_A,
            WIN_CORES,
            "/subscriptions/b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1/resourceGroups/rg-erp-prod/providers/Microsoft.Compute/virtualMachines/erp-app-01",
            "2025-03-04T09:00:00+00:00",
            "2.0",
            Some("Standard_DS2_v2"),
        ),
        (
            SUB_A,
            VM_HOURS,
            "/subscriptions/b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1/resourceGroups/rg-erp-prod/providers/Microsoft.Compute/virtualMachines/erp-app-01",
            "2025-03-04T09:00:00+00:00",
            "1.0",
            Some("Standard_DS2_v2"),
        ),
        (
            SUB_A,
            PAGE_BLOB,
            "/subscriptions/b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1/resourcegroups/rg-erp-prod/providers/Microsoft.Storage/storageAccounts/erpdiag7731",
            "2025-03-04T09:00:00+00:00",
            "37.91846084594727",
            None,
        ),
        (
            SUB_A,
            "d5f7731b-f639-404a-89d0-e46186e22c8d",
            "/subscriptions/b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1/resourceGroups/RG-ERP-PROD/providers/Microsoft.Compute/disks/erp-app-01_DataDisk_0",
            "2025-03-04T10:00:00+00:00",
            "0.0013440860215053765",
            None,
        ),
        (
            SUB_B,
            "fab6eb84-500b-4a09-a8ca-7358f8bbaea5",
            "/subscriptions/3ac9d8f1-6e24-4b70-a5c3-91f2e8b04d67/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-lnx-02",
            "2025-03-04T08:00:00+00:00",
            "2.0",
            Some("Standard_F2s_v2"),
        ),
        (
            SUB_B,
            BLOB_OUT,
            "/subscriptions/3ac9d8f1-6e24-4b70-a5c3-91f2e8b04d67/resourcegroups/rg-web/providers/Microsoft.Storage/storageAccounts/webassets02",
            "2025-03-04T09:00:00+00:00",
            "4.57763671875e-05",
            None,
        ),
    ];
    fake.with(|s| {
        s.subscriptions = vec![SUB_A.into(), SUB_B.into()];
        for (sub, meter, res, start, q, sku) in rows {
            s.rows.push(StampRow {
                reported,
                subscription: sub.into(),
                json: row(sub, meter, res, start, q, sku).unwrap_or_default(),
            });
        }
    });
}

/// A flat rate for each meter of the fixture, as price-list items (`{meter, rate}`); the
/// meter ids in lower case with `lower`, as the API's callers usually write them.
pub fn fixture_rates(lower: bool) -> Vec<Value> {
    let meters = [
        WIN_CORES,
        VM_HOURS,
        PAGE_BLOB,
        BLOB_OUT,
        "fab6eb84-500b-4a09-a8ca-7358f8bbaea5",
        "d5f7731b-f639-404a-89d0-e46186e22c8d",
    ];
    meters
        .iter()
        .zip(["0.0425", "0.011", "0.00015", "0.087", "0.0317", "3.2"])
        .map(|(m, r)| {
            let meter = if lower {
                m.to_ascii_lowercase()
            } else {
                (*m).to_owned()
            };
            json!({"meter": meter, "rate": r})
        })
        .collect()
}

/// The scenario the fixture is billed under: two tenants, the fixture's subscriptions
/// (the first spelled in upper case, as an operator may have typed it), a price for each
/// of its meters, and no usage.
pub fn fixture_scenario() -> Value {
    let items = fixture_rates(false);
    json!({
        "period": "2025-03",
        "platform": {"currency": "EUR", "time_zone": "UTC", "monthly_variable_pricing": false, "rounding": "half_even"},
        "distributors": [{"id": "dist", "currency": "EUR"}],
        "partners": [{"id": "part", "distributor": "dist"}],
        "tenants": [{"id": "ten-a", "partner": "part"}, {"id": "ten-b", "partner": "part"}],
        "subscriptions": [
            {"id": SUB_A.to_ascii_uppercase(), "tenant": "ten-a", "region": "fra01"},
            {"id": SUB_B, "tenant": "ten-b", "region": "fra01"}
        ],
        "price_lists": [{"id": "fra01", "scope": {"region": "fra01"}, "currency": "EUR", "effective_from": "2025-01-01", "items": items}],
        "fx_rates": [],
        "usage": []
    })
}

/// The fixture's rows as scenario usage records, written from the stamp's rows by hand
/// (ids, StackBill's spelling of the subscription, the VM size from `additionalInfo`).
pub fn fixture_usage(fake: &Fake) -> Value {
    let rows: Vec<Value> = fake.with(|f| {
        f.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let p = &r.json["properties"];
                let instance: Value =
                    serde_json::from_str(p["instanceData"].as_str().unwrap_or("{}")).unwrap_or_default();
                let info = instance["Microsoft.Resources"]["additionalInfo"].as_str().unwrap_or("");
                let sku = serde_json::from_str::<Value>(info).ok().map(|v| v["ServiceType"].clone());
                json!({
                    "sku": sku.unwrap_or(Value::Null),
                    "id": format!("u{i}"),
                    // StackBill's spelling of the subscription, as an operator's own
                    // export would have it (the stamp reports GUIDs in lower case).
                    "subscription": if p["subscriptionId"] == SUB_A { json!(SUB_A.to_ascii_uppercase()) } else { p["subscriptionId"].clone() },
                    "meter": p["meterId"],
                    "start": p["usageStartTime"],
                    "end": p["usageEndTime"],
                    "quantity": p["quantity"],
                })
            })
            .collect()
    });
    Value::Array(rows)
}

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
    /// All-subscriber usage queries time out from their second page on.
    pub all_subscriber_timeout_after_first_page: bool,
    /// Subscriptions the admin list returns.
    pub subscriptions: Vec<String>,
    /// What was PUT for a subscription (owner, offer, state, …), by lower-case id.
    pub subscription_details: HashMap<String, Value>,
    /// Offers a subscription may be created from.
    pub offers: Vec<String>,
    /// Refuse every subscription PUT and DELETE (409), as a stamp under maintenance.
    pub refuse_writes: bool,
    /// Token → expiry.
    pub tokens: HashMap<String, Instant>,
    pub token_lifetime_secs: u64,
    pub tokens_issued: u64,
    /// Continuation tokens exactly as they arrived in the query string.
    pub continuations_received: Vec<String>,
    pub continuations_sent: Vec<String>,
    pub usage_requests: u64,
    /// Each usage request takes this long (to make overlapping callers visible).
    pub delay_ms: u64,
    /// Usage requests being answered now, and the most ever at once.
    pub in_flight: u64,
    pub max_in_flight: u64,
    /// Answer every usage page with this `nextLink` (a loop, another host).
    pub next_link_override: Option<String>,
    /// Stop answering (500) after this many more usage requests, to interrupt a run.
    pub fail_after: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Fake {
    pub inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl Fake {
    /// Starts a stamp on a free loopback port (AD FS or Entra style sign-in).
    pub async fn start(adfs: bool) -> std::io::Result<Fake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let fake = Fake::new(adfs, format!("http://{}", listener.local_addr()?));
        let app = fake.router();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Ok(fake)
    }

    /// Starts a stamp served over TLS at `https://localhost:PORT`, its certificate issued
    /// by a CA of its own. Returns the stamp and the CA's PEM (what a region's
    /// `caBundle` holds).
    pub async fn start_tls(adfs: bool) -> std::io::Result<(Fake, String)> {
        let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
        let ca_key = rcgen::KeyPair::generate().map_err(|e| other(&e))?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| other(&e))?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "StackBill test stamp CA");
        let ca_cert = ca.self_signed(&ca_key).map_err(|e| other(&e))?;
        let leaf_key = rcgen::KeyPair::generate().map_err(|e| other(&e))?;
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(|e| other(&e))?
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .map_err(|e| other(&e))?;
        let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der())
            .map_err(|e| other(&e))?;
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| other(&e))?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .map_err(|e| other(&e))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let fake = Fake::new(adfs, format!("https://localhost:{port}"));
        let app = fake.router();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await
                        .ok();
                });
            }
        });
        Ok((fake, ca_cert.pem()))
    }

    fn new(adfs: bool, base: String) -> Fake {
        let inner = Arc::new(Mutex::new(Inner {
            adfs,
            page_size: 4,
            offers: vec!["/delegatedProviders/default/offers/gold".into()],
            token_lifetime_secs: 3599,
            ..Inner::default()
        }));
        Fake { inner, base }
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/metadata/endpoints", get(metadata))
            .route("/{tenant}/oauth2/token", post(token))
            .route("/adfs/oauth2/token", post(adfs_token))
            .route(
                "/subscriptions/{provider}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
                get(usage),
            )
            .route(
                "/providers/Microsoft.Commerce.Admin/operations",
                get(operations),
            )
            .route(
                "/subscriptions/{provider}/providers/Microsoft.Subscriptions.Admin/subscriptions/{id}",
                get(get_subscription)
                    .put(put_subscription)
                    .delete(delete_subscription),
            )
            .route(
                "/subscriptions/{provider}/providers/Microsoft.Subscriptions.Admin/subscriptions",
                get(subscriptions),
            )
            .with_state(self.clone())
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
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

/// ARM's answer to a missing, unknown or expired token.
fn unauthorised() -> Response {
    arm_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        "The access token is invalid.",
    )
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
        return unauthorised();
    }
    let delay = fake.with(|s| {
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        s.delay_ms
    });
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let response = usage_page(&fake, &provider, query.unwrap_or_default()).await;
    fake.with(|s| s.in_flight -= 1);
    response
}

async fn usage_page(fake: &Fake, provider: &str, query: String) -> Response {
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
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(retry_after));
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
    if subscriber.is_none()
        && raw_param(&query, "continuationToken").is_some()
        && fake.with(|s| s.all_subscriber_timeout_after_first_page)
    {
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
            let bookmark = base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            match bookmark.and_then(|v| v["skip"].as_u64()) {
                Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                None => {
                    return arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidContinuationToken",
                        "the continuation token is invalid",
                    );
                }
            }
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

async fn operations(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    if !authorised(&fake, &headers) {
        return unauthorised();
    }
    axum::Json(json!({"value": [{"name": "Microsoft.Commerce.Admin/subscriberUsageAggregates/read",
        "display": {"provider": "Microsoft Commerce Admin", "operation": "List subscriber usage aggregates"}}]}))
    .into_response()
}

fn subscription_json(id: &str, details: Option<&Value>) -> Value {
    let mut v = json!({
        "id": format!("/subscriptions/{PROVIDER}/providers/Microsoft.Subscriptions.Admin/subscriptions/{id}"),
        "subscriptionId": id, "state": "Enabled", "offerId": "/delegatedProviders/default/offers/basic"
    });
    if let (Some(Value::Object(d)), Some(out)) = (details, v.as_object_mut()) {
        for (k, val) in d {
            out.insert(k.clone(), val.clone());
        }
    }
    v
}

async fn get_subscription(
    State(fake): State<Fake>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&fake, &headers) {
        return unauthorised();
    }
    let id = id.to_ascii_lowercase();
    match fake.with(|s| {
        s.subscriptions
            .iter()
            .any(|x| x.eq_ignore_ascii_case(&id))
            .then(|| subscription_json(&id, s.subscription_details.get(&id)))
    }) {
        Some(v) => axum::Json(v).into_response(),
        None => arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            "no such subscription",
        ),
    }
}

async fn put_subscription(
    State(fake): State<Fake>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorised(&fake, &headers) {
        return unauthorised();
    }
    if fake.with(|s| s.refuse_writes) {
        return arm_error(
            StatusCode::CONFLICT,
            "OperationNotAllowed",
            "the stamp refuses changes now",
        );
    }
    let id = id.to_ascii_lowercase();
    let Ok(Value::Object(b)) = serde_json::from_slice::<Value>(&body) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "the body is not a JSON object",
        );
    };
    let text = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    if !text("subscriptionId").eq_ignore_ascii_case(&id) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidProperty",
            "subscriptionId differs from the path",
        );
    }
    if text("owner").is_empty() {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidProperty",
            "owner is required",
        );
    }
    let offer = text("offerId");
    if !fake.with(|s| s.offers.iter().any(|o| o.eq_ignore_ascii_case(&offer))) {
        return arm_error(
            StatusCode::NOT_FOUND,
            "OfferNotFound",
            &format!("offer {offer} was not found"),
        );
    }
    let details = Value::Object(b);
    let out = fake.with(|s| {
        if !s.subscriptions.iter().any(|x| x.eq_ignore_ascii_case(&id)) {
            s.subscriptions.push(id.clone());
        }
        s.subscription_details.insert(id.clone(), details);
        subscription_json(&id, s.subscription_details.get(&id))
    });
    axum::Json(out).into_response()
}

async fn delete_subscription(
    State(fake): State<Fake>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&fake, &headers) {
        return unauthorised();
    }
    if fake.with(|s| s.refuse_writes) {
        return arm_error(
            StatusCode::CONFLICT,
            "OperationNotAllowed",
            "the stamp refuses changes now",
        );
    }
    let id = id.to_ascii_lowercase();
    let found = fake.with(|s| {
        let before = s.subscriptions.len();
        s.subscriptions.retain(|x| !x.eq_ignore_ascii_case(&id));
        s.subscription_details.remove(&id);
        before != s.subscriptions.len()
    });
    if found {
        StatusCode::OK.into_response()
    } else {
        arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            "no such subscription",
        )
    }
}

async fn subscriptions(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    if !authorised(&fake, &headers) {
        return unauthorised();
    }
    let value: Vec<Value> = fake.with(|s| {
        s.subscriptions
            .iter()
            .map(|id| subscription_json(id, s.subscription_details.get(&id.to_ascii_lowercase())))
            .collect()
    });
    axum::Json(json!({ "value": value })).into_response()
}

/// A usage row in the API's exact shape; `quantity` is the JSON number's text, kept
/// exactly. `None` when `start` is not RFC 3339 or `quantity` not a JSON number.
pub fn row(
    subscription: &str,
    meter: &str,
    resource: &str,
    start: &str,
    quantity: &str,
    sku: Option<&str>,
) -> Option<Value> {
    let start_t = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let end = (start_t + chrono::Duration::hours(1)).to_rfc3339();
    let info = match sku {
        Some(s) => json!({"ServiceType": s, "ImageType": null}).to_string(),
        None => String::new(),
    };
    let instance = json!({"Microsoft.Resources": {
        "resourceUri": resource, "location": "fra01", "tags": "", "additionalInfo": info
    }})
    .to_string();
    let quantity: serde_json::Number = serde_json::from_str(quantity).ok()?;
    let name = format!("{subscription}-{meter}");
    Some(json!({
        "id": format!("/subscriptions/{PROVIDER}/providers/Microsoft.Commerce/UsageAggregate/{name}"),
        "name": name,
        "type": "Microsoft.Commerce/UsageAggregate",
        "properties": {
            "subscriptionId": subscription,
            "usageStartTime": start,
            "usageEndTime": end,
            "instanceData": instance,
            "quantity": quantity,
            "meterId": meter,
            "name": name,
        }
    }))
}

/// Meters the generated usage cycles through: (meter id as the stamp spells it, VM size,
/// quantity text), covering upper- and lower-case ids, VM sizes from `additionalInfo`,
/// monthly meters as hourly fractions and exponent quantities.
const GENERATED: [(&str, Option<&str>, &str); 6] = [
    (
        "9cd92d4c-bafd-4492-b278-bedc2de8232a",
        Some("Standard_DS2_v2"),
        "2.0",
    ),
    (
        "6dab500f-a4fd-49c4-956d-229bb9c8c793",
        Some("Standard_DS2_v2"),
        "1.0",
    ),
    (
        "B5C15376-6C94-4FDD-B655-1A69D138ACA3",
        None,
        "37.91846084594727",
    ),
    (
        "d5f7731b-f639-404a-89d0-e46186e22c8d",
        None,
        "0.0013440860215053765",
    ),
    (
        "fab6eb84-500b-4a09-a8ca-7358f8bbaea5",
        Some("Standard_F2s_v2"),
        "2.0",
    ),
    (
        "3023FEF4-ECA5-4D7B-87B3-CFBC061931E8",
        None,
        "4.57763671875e-05",
    ),
];

/// `per_hour` rows for each of `hours` reported hours from `first_reported` (Unix
/// nanoseconds), spread over `subscriptions` subscriptions, each usage hour one to two
/// hours before its reported hour.
pub fn generated_rows(
    first_reported: i64,
    hours: i64,
    per_hour: usize,
    subscriptions: usize,
) -> Vec<StampRow> {
    let mut out = Vec::with_capacity(per_hour.saturating_mul(usize::try_from(hours).unwrap_or(0)));
    for h in 0..hours {
        let reported = first_reported.saturating_add(h.saturating_mul(3_600_000_000_000));
        for i in 0..per_hour {
            let sub_n = i % subscriptions.max(1);
            let subscription = format!("{sub_n:08x}-0000-4000-8000-{:012x}", sub_n);
            let (meter, sku, quantity) = GENERATED[i % GENERATED.len()];
            let late = 1 + (i % 2) as i64;
            let start = chrono::DateTime::from_timestamp_nanos(
                reported.saturating_sub(late.saturating_mul(3_600_000_000_000)),
            )
            .to_rfc3339();
            let resource = format!(
                "/subscriptions/{subscription}/resourceGroups/rg-{}/providers/Microsoft.Compute/virtualMachines/vm-{}",
                i % 7,
                i / subscriptions.max(1)
            );
            if let Some(json) = row(&subscription, meter, &resource, &start, quantity, sku) {
                out.push(StampRow {
                    reported,
                    subscription,
                    json,
                });
            }
        }
    }
    out
}

/// A page body of `rows` in the API's exact shape (for parsing benchmarks).
pub fn page_body(rows: &[StampRow], next_link: Option<&str>) -> String {
    let mut body = json!({ "value": rows.iter().map(|r| r.json.clone()).collect::<Vec<_>>() });
    if let Some(link) = next_link {
        body["nextLink"] = json!(link);
    }
    body.to_string()
}

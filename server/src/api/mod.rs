//! The reference REST server (`stackbill serve`): a thin translation between HTTP and the
//! store and core. Requests are normalised (lower-cased path, no trailing slash) before
//! routing, because the manual's PowerShell client lower-cases whole URLs.

pub(crate) mod access;
mod alerts;
mod auth;
pub(crate) mod billing;
pub(crate) mod catalogue;
pub(crate) mod collection;
pub(crate) mod commissions;
mod contract;
pub(crate) mod demo;
pub(crate) mod email;
mod export;
mod federated;
mod fields;
pub(crate) mod fuzzing;
mod fx;
mod hardening;
mod hierarchy;
mod invoice_document;
mod invoice_mail;
mod jobs;
mod metrics;
mod ops;
mod password_reset;
mod people;
pub(crate) mod portal_api {
    //! What the portal reuses of the API's handlers.
    pub(crate) use super::auth::{
        TokenRequest, TokenResponse, change_password_of, enrolment_key, federated_sign_in,
        throttle, token_for,
    };
    pub(crate) use super::export::safe_file_name;
    pub(crate) use super::federated::{Pending, SignInButton, authorize, buttons, finish};
    pub(crate) use super::sessions::{end_all, refresh};
}
mod plans;
mod pricing;
mod provisioning;
pub(crate) mod recovery;
pub(crate) mod secrets;
mod sessions;
mod subscriptions;
pub(crate) mod system;
pub(crate) mod throttle;
pub(crate) mod tls;
mod usage;
mod usage_summary;
pub(crate) mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::request::Parts;
use axum::http::{Uri, header};
use stackbill_core::rbac::Governance;
use stackbill_store::Store;
use stackbill_store_sql::SqlStore;
use tower::ServiceExt;
use utoipa_swagger_ui::SwaggerUi;

use access::{Caller, Directory, Principal};
use secrets::Keys;
use wire::{ApiError, ApiResult};

/// How long a resolved principal is reused (its user row is read on every request, and
/// any change to roles or the hierarchy clears the cache through the cache version).
const SNAPSHOT_TTL: Duration = Duration::from_secs(5);

/// Server settings from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token unused.
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a sign-in: no refresh extends a session past it.
    pub session_ttl: Duration,
    /// Sign-in attempts allowed per client address per minute.
    pub auth_attempts_per_minute: u32,
    /// How often regions are collected on the schedule (`None`: not scheduled).
    pub collect_every: Option<Duration>,
    /// The bearer token `/metrics` requires (`STACKBILL_METRICS_TOKEN`); none: open.
    pub metrics_token: Option<String>,
    /// The certificate this process serves HTTPS with, watched for its expiry.
    pub certificate: Option<tls::Served>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            auth_attempts_per_minute: 20,
            collect_every: None,
            metrics_token: None,
            certificate: None,
        }
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub(crate) struct AppState(Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub store: SqlStore,
    pub keys: Keys,
    pub config: Config,
    snapshot: RwLock<Arc<Snapshot>>,
    reload: tokio::sync::Mutex<()>,
    principals: Mutex<std::collections::HashMap<String, (Instant, Arc<Principal>)>>,
    pub throttle: throttle::Throttle,
    pub jwks: federated::JwksCache,
    pub metrics: metrics::Metrics,
    /// Wakes this process's job worker when a request queued a job.
    worker: tokio::sync::Notify,
}

/// The hierarchy and settings as last read.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub directory: Arc<Directory>,
    pub settings: Arc<serde_json::Value>,
    pub governance: Governance,
    /// The cache version it was read at (`Store::cache_version`).
    version: i64,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// A state over an open, migrated store.
    pub(crate) async fn new(store: SqlStore, keys: Keys, config: Config) -> ApiResult<Self> {
        let snapshot = load_snapshot(&store).await?;
        let throttle = throttle::Throttle::new(config.auth_attempts_per_minute);
        Ok(AppState(Arc::new(Inner {
            store,
            keys,
            config,
            snapshot: RwLock::new(Arc::new(snapshot)),
            reload: tokio::sync::Mutex::new(()),
            principals: Mutex::new(Default::default()),
            throttle,
            jwks: federated::JwksCache::default(),
            metrics: metrics::Metrics::default(),
            worker: tokio::sync::Notify::new(),
        })))
    }

    /// Tells this process's worker a job was queued (other processes find it when they
    /// next look).
    pub(crate) fn wake_worker(&self) {
        self.worker.notify_one();
    }

    /// Resolves when [`AppState::wake_worker`] is called.
    pub(crate) async fn worker_wakeup(&self) {
        self.worker.notified().await;
    }

    /// The store.
    pub(crate) fn store(&self) -> &dyn Store {
        &self.store
    }

    /// The store itself, for work that outlives a request (a cheap clone of a pool).
    pub(crate) fn sql_store(&self) -> &SqlStore {
        &self.store
    }

    /// The current snapshot: re-read when the database's cache version moved (another
    /// process, or this one, changed the hierarchy, settings or roles). One key read per
    /// call decides.
    pub(crate) async fn snapshot(&self) -> ApiResult<Arc<Snapshot>> {
        let current = self.current();
        let version = self.store.cache_version().await?;
        if version == current.version {
            return Ok(current);
        }
        let _one_reader = self.reload.lock().await;
        let current = self.current();
        if version <= current.version {
            return Ok(current);
        }
        self.reload_snapshot().await
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// After a write to the hierarchy, settings or roles: tells every process (bumping
    /// the cache version) and re-reads them here now.
    pub(crate) async fn refresh(&self) -> ApiResult<Arc<Snapshot>> {
        self.store.bump_cache_version().await?;
        self.reload_snapshot().await
    }

    async fn reload_snapshot(&self) -> ApiResult<Arc<Snapshot>> {
        let fresh = Arc::new(load_snapshot(&self.store).await?);
        match self.snapshot.write() {
            Ok(mut s) => *s = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        self.forget_principals();
        Ok(fresh)
    }

    /// Forgets cached principals (after a user or role change).
    pub(crate) fn forget_principals(&self) {
        if let Ok(mut p) = self.principals.lock() {
            p.clear();
        }
    }

    /// Resolves the bearer token of a request. `restricted_ok` admits tokens that only
    /// allow finishing sign-in.
    pub(crate) async fn caller(&self, parts: &Parts, restricted_ok: bool) -> ApiResult<Caller> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| ApiError::Unauthenticated("a bearer token is required".into()))?;
        self.caller_of(token, restricted_ok).await
    }

    /// The caller an access token stands for (from a bearer header or the portal's
    /// session cookie): the same checks either way.
    pub(crate) async fn caller_of(&self, token: &str, restricted_ok: bool) -> ApiResult<Caller> {
        let Some(claims) = self.keys.verify(token) else {
            self.metrics.auth_failure();
            return Err(ApiError::Unauthenticated(
                "the token is invalid or expired".into(),
            ));
        };
        if let Some(restriction) = &claims.rst
            && !restricted_ok
        {
            let what = if restriction == "password_change" {
                "change your password (POST /api/v1/auth/change-password)"
            } else {
                "enrol MFA (POST /api/v1/auth/mfa/enroll)"
            };
            return Err(ApiError::Forbidden(format!(
                "finish signing in first: {what}"
            )));
        }
        let snapshot = self.snapshot().await?;
        let principal = self.principal(&claims, &snapshot).await?;
        Ok(Caller {
            principal,
            governance: snapshot.governance,
            directory: snapshot.directory.clone(),
            settings: snapshot.settings.clone(),
        })
    }

    /// The caller's principal. The user row is read on every request (one key look-up),
    /// so a disabled account or an ended session is refused at once by every process;
    /// role assignments are reused for the epoch they were read in.
    async fn principal(
        &self,
        claims: &secrets::AccessClaims,
        snapshot: &Snapshot,
    ) -> ApiResult<Arc<Principal>> {
        let row = self
            .store
            .user(&claims.sub)
            .await?
            .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".into()))?;
        if row.disabled || row.locked_out {
            return Err(ApiError::Unauthenticated(
                "the account is disabled or locked".into(),
            ));
        }
        if row.session_epoch != claims.sep {
            return Err(ApiError::Unauthenticated(
                "the session has ended (password or second factor changed, or access revoked); sign in again"
                    .into(),
            ));
        }
        if let Ok(cache) = self.principals.lock()
            && let Some((at, p)) = cache.get(&claims.sub)
            && at.elapsed() < SNAPSHOT_TTL
            && p.user == row
        {
            return Ok(p.clone());
        }
        let assignments = self.store.role_assignments(&row.id).await?;
        let principal = Arc::new(Principal::new(row, &assignments, &snapshot.directory));
        if let Ok(mut cache) = self.principals.lock() {
            cache.insert(claims.sub.clone(), (Instant::now(), principal.clone()));
        }
        Ok(principal)
    }

    /// Appends a change of one object to the audit log, as its API representation.
    pub(crate) async fn audit_change<T: serde::Serialize>(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> ApiResult<()> {
        let json = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok());
        self.audit(actor, action, target, json(before), json(after))
            .await
    }

    /// Appends to the audit log.
    pub(crate) async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> ApiResult<()> {
        let entry = stackbill_store::AuditEntry {
            at: now_rfc3339(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            before,
            after,
        };
        self.store.append_audit(&entry).await?;
        Ok(())
    }
}

async fn load_snapshot(store: &SqlStore) -> ApiResult<Snapshot> {
    // The version first: a change committed while the rest is read moves it again, and
    // the next call reads once more.
    let version = store.cache_version().await?;
    let directory = Directory::load(store).await?;
    let settings = serde_json::Value::Object(store.settings().await?.into_iter().collect());
    Ok(Snapshot {
        governance: access::governance(&settings),
        directory: Arc::new(directory),
        settings: Arc::new(settings),
        version,
    })
}

/// The current instant, RFC 3339 UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Makes sure a platform administrator exists. With `STACKBILL_ADMIN_EMAIL` and
/// `STACKBILL_ADMIN_PASSWORD` set, that account is created (usable at once) if missing;
/// otherwise, when no platform administrator exists, one is generated with a random
/// password, printed once, that must be changed at first sign-in.
pub(crate) async fn bootstrap_admin(state: &AppState) -> ApiResult<()> {
    let store = state.store();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (email, password, generated) = match (
        env("STACKBILL_ADMIN_EMAIL"),
        env("STACKBILL_ADMIN_PASSWORD"),
    ) {
        (Some(email), Some(password)) => {
            if store.user_by_email(&email).await?.is_some() {
                return Ok(());
            }
            secrets::password_policy(&password, &email)
                .map_err(|m| ApiError::field("STACKBILL_ADMIN_PASSWORD", m))?;
            (email, password, false)
        }
        _ => {
            for user in store.users().await? {
                let admin =
                    store.role_assignments(&user.id).await?.iter().any(|a| {
                        a.role == stackbill_core::rbac::Role::PlatformAdministrator.name()
                    });
                if admin {
                    return Ok(());
                }
            }
            (
                "admin@stackbill.local".to_owned(),
                secrets::random_token(18),
                true,
            )
        }
    };
    let id = format!("user-{:016x}", rand::random::<u64>());
    let hash = secrets::hash_password(&password).map_err(ApiError::internal)?;
    store
        .put_user(&stackbill_store::UserRow {
            password_hash: Some(hash),
            must_change_password: generated,
            ..stackbill_store::UserRow::active(&id, &email, "Platform", "Administrator")
        })
        .await?;
    store
        .grant_role(&stackbill_store::RoleAssignmentRow {
            user: id.clone(),
            role: stackbill_core::rbac::Role::PlatformAdministrator
                .name()
                .into(),
            distributor: None,
            partner: None,
            tenant: None,
        })
        .await?;
    state
        .audit("stackbill", "user.bootstrap_admin", &id, None, None)
        .await?;
    if generated {
        println!(
            "stackbill: created the first platform administrator {email} with password {password}\n\
             stackbill: it is shown only now and must be changed at first sign-in \
             (POST /api/v1/auth/change-password)"
        );
    } else {
        println!("stackbill: created the platform administrator {email}");
    }
    Ok(())
}

/// Every operation of the API.
pub(crate) fn operations() -> Vec<ops::Op> {
    let mut all = Vec::new();
    all.extend(auth::ops());
    all.extend(password_reset::ops());
    all.extend(hierarchy::ops());
    all.extend(subscriptions::ops());
    all.extend(people::ops());
    all.extend(catalogue::ops());
    all.extend(plans::ops());
    all.extend(collection::ops());
    all.extend(jobs::ops());
    all.extend(alerts::ops());
    all.extend(pricing::ops());
    all.extend(fx::ops());
    all.extend(usage::ops());
    all.extend(usage_summary::ops());
    all.extend(billing::ops());
    all.extend(invoice_document::ops());
    all.extend(invoice_mail::ops());
    all.extend(commissions::ops());
    all.extend(system::ops());
    all
}

/// The OpenAPI document, as served.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    ops::openapi(&operations())
}

/// The API's own routes (no portal, Swagger UI or response hardening). The portal sends
/// its forms through them, so a form does exactly what the same API call does.
pub(crate) fn api_routes(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for op in operations() {
        router = router.route(&op.path.to_lowercase(), op.route);
    }
    router
        .merge(system::probes())
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(wire::BODY_LIMIT))
        .with_state(state)
}

/// The application: API routes, the portal, Swagger UI, health and metrics.
pub(crate) fn app(state: AppState) -> Router {
    let router = api_routes(state.clone());
    Router::new()
        .merge(SwaggerUi::new("/swagger").url("/swagger/v1/swagger.json", openapi()))
        .merge(crate::portal::router().with_state(state.clone()))
        .merge(router)
        .layer(axum::middleware::from_fn_with_state(state, metrics::count))
        .layer(axum::middleware::from_fn(hardening::harden))
}

/// Lower-cases the path and drops a trailing slash, before routing.
pub(crate) fn normalise(mut req: Request) -> Request {
    let uri = req.uri();
    let path = uri.path();
    if path.starts_with("/swagger") {
        return req;
    }
    let mut lowered = path.to_lowercase();
    while lowered.len() > 1 && lowered.ends_with('/') {
        lowered.pop();
    }
    if lowered != path {
        let rebuilt = match uri.query() {
            Some(q) => format!("{lowered}?{q}"),
            None => lowered,
        };
        if let Ok(new) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = new;
        }
    }
    req
}

/// Serves until interrupted.
pub(crate) async fn serve(state: AppState, bind: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("stackbill: listening on http://{local} (API /api/v1, docs /swagger)");
    let app = app(state).map_request(normalise);
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

//! Usage collection from the regions, as the API and the server's schedule run it: a
//! region's collection settings, `POST /regions/{id}/collect`, the rows a region sent
//! that could not be read, and the scheduled run every server process takes part in
//! (one process per region at a time, by a lease in the database).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackbill_collector::{
    Arm, CollectError, Collector, Lease, Options, RegionConfig, RetryPolicy, RunReport,
    resolve_secret,
};
use stackbill_store::{RegionRow, Store};
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, ManageRegions, Platform, ProcessUsage, ReadRegions};
use super::catalogue::find_region as find;
use super::ops::{Op, many, one};
use super::wire::{self, ApiError, ApiResult, Body, ok};
use crate::jobs;

const HOUR_NS: i64 = 3_600_000_000_000;
/// Hours a scheduled run collects again (late usage and corrections arrive within them).
const RECOLLECT_HOURS: i64 = 48;

/// How a region's usage is collected (absent: the region is not collected from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegionCollection {
    /// The provider subscription the usage API is called under (normally the Default
    /// Provider Subscription).
    provider_subscription_id: String,
    /// `entra` (Microsoft Entra ID) or `adfs`.
    identity: String,
    /// Entra only: the stamp's home directory (domain or GUID).
    #[serde(default)]
    directory_tenant: Option<String>,
    /// The service principal's application id; its secret is the region's
    /// `credentialRef`.
    client_id: String,
    /// A PEM file of the stamp's root CA on the server, trusted besides the system roots.
    #[serde(default)]
    ca_bundle: Option<String>,
    /// The stamp's own subscriptions besides the provider's (metering, consumption,
    /// infrastructure): their usage is kept apart from tenants.
    #[serde(default)]
    system_subscription_ids: Option<Vec<String>>,
}

const KEYS: [&str; 6] = [
    "providerSubscriptionId",
    "identity",
    "directoryTenant",
    "clientId",
    "caBundle",
    "systemSubscriptionIds",
];

impl RegionCollection {
    /// The collection settings kept in a region's details.
    pub(crate) fn of(row: &RegionRow) -> Option<Self> {
        let d = &row.details;
        d.get("identity")?;
        let mut only = serde_json::Map::new();
        for k in KEYS {
            if let Some(v) = d.get(k) {
                only.insert(k.to_owned(), v.clone());
            }
        }
        serde_json::from_value(Value::Object(only)).ok()
    }

    /// `details` with the collection settings replaced by `settings` (removed when none).
    pub(crate) fn apply(settings: Option<Self>, mut details: Value) -> Value {
        if !details.is_object() {
            details = json!({});
        }
        if let Some(map) = details.as_object_mut() {
            for k in KEYS {
                map.remove(k);
            }
            if let Some(Value::Object(s)) = settings.and_then(|s| serde_json::to_value(s).ok()) {
                for (k, v) in s {
                    if !v.is_null() {
                        map.insert(k, v);
                    }
                }
            }
        }
        details
    }
}

/// Where a collector setting sits in a region's body: on the region itself, or in its
/// `collection` object.
fn field_path(field: &str) -> String {
    if matches!(field, "adminEndpoint" | "credentialRef") {
        field.to_owned()
    } else {
        format!("collection.{field}")
    }
}

/// Checks a region's collection settings as the collector will read them, naming the
/// field (`collection.clientId`, `credentialRef`, …).
pub(crate) fn check(row: &RegionRow) -> ApiResult<()> {
    if RegionCollection::of(row).is_none() {
        return Ok(());
    }
    match RegionConfig::from_row(row) {
        Ok(_) => Ok(()),
        Err(CollectError::Config { field, message }) => {
            Err(ApiError::field(field_path(field), message))
        }
        Err(e) => Err(ApiError::field("collection", e.to_string())),
    }
}

/// Re-collects the reported hours of the days `from` to `to` (inclusive, UTC) and one
/// day more (usage of those days reported late), up to the last closed hour: "Update
/// Usage" for a region that is collected from. `None` for a region that is not.
pub(crate) async fn recollect_days(
    state: &AppState,
    job: i64,
    region: &RegionRow,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
    progress: &jobs::Progress,
) -> ApiResult<Option<RunReport>> {
    if RegionCollection::of(region).is_none() {
        return Ok(None);
    }
    let start = from
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_utc().timestamp_nanos_opt())
        .ok_or_else(|| ApiError::field("from", "out of range"))?;
    let end = to
        .checked_add_days(chrono::Days::new(2))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_utc().timestamp_nanos_opt())
        .ok_or_else(|| ApiError::field("to", "out of range"))?
        .min(closed_until(Utc::now()));
    if end <= start {
        return Ok(None);
    }
    let store: Arc<dyn Store> = Arc::new(state.sql_store().clone());
    let span = Span {
        from: start,
        to: end,
        subscription: None,
    };
    let report = run_waiting(store, region, span, job, progress)
        .await
        .map_err(|e| region_error(&region.id, e))?;
    Ok(Some(report))
}

/// A collection request: reported hours `[from, to)`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CollectIn {
    /// First reported hour (RFC 3339, whole hour; default: 48 hours before `to`).
    #[serde(default)]
    from: Option<String>,
    /// End of the last reported hour, exclusive (default: the start of the hour that
    /// began at least an hour ago).
    #[serde(default)]
    to: Option<String>,
}

impl CollectIn {
    /// The reported hours `[from, to)` asked for, in Unix nanoseconds: whole hours, in
    /// order, none in the future.
    fn hours(&self) -> ApiResult<(i64, i64)> {
        let to = match self.to.as_deref() {
            Some(t) => whole_hour("to", t)?,
            None => closed_until(Utc::now()),
        };
        let from = match self.from.as_deref() {
            Some(t) => whole_hour("from", t)?,
            None => to.saturating_sub(HOUR_NS.saturating_mul(RECOLLECT_HOURS)),
        };
        if from >= to {
            return Err(ApiError::field("to", "must be after from"));
        }
        if to > closed_until(Utc::now()).saturating_add(HOUR_NS) {
            return Err(ApiError::field("to", "must not be in the future"));
        }
        Ok((from, to))
    }
}

/// What a collection run did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Collected {
    job_id: i64,
    /// The run's report: hours, pages, rows new / duplicate / replaced / rejected,
    /// unknown meters and subscriptions, requests and retries.
    #[schema(value_type = Object)]
    report: Value,
}

/// A row a region sent that could not be read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RejectedRow {
    id: String,
    /// The reported window it came in.
    window_start: String,
    window_end: String,
    /// What was wrong, naming the field.
    reason: String,
    /// The row as received.
    raw: String,
}

fn instant(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn whole_hour(field: &str, text: &str) -> ApiResult<i64> {
    let ns = DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| ApiError::field(field, format!("{text:?} is not an RFC 3339 instant")))?;
    if ns.rem_euclid(HOUR_NS) != 0 {
        return Err(ApiError::field(field, "must be on a whole hour"));
    }
    Ok(ns)
}

/// The start of the hour that began at least an hour ago: every hour before it is
/// closed on the stamp.
pub(crate) fn closed_until(now: DateTime<Utc>) -> i64 {
    let t = now
        .checked_sub_signed(chrono::Duration::hours(1))
        .unwrap_or(now);
    t.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
        .timestamp_nanos_opt()
        .unwrap_or(0)
}

pub(crate) fn region_error(region: &str, e: CollectError) -> ApiError {
    match e {
        CollectError::Store(e) => e.into(),
        CollectError::Config { field, message } => ApiError::field(field_path(field), message),
        CollectError::Range(m) => ApiError::field("from", m),
        CollectError::Busy(m) => ApiError::Conflict(m),
        e => ApiError::Status(
            StatusCode::BAD_GATEWAY,
            "region_failed",
            format!("region {region}: {e}"),
        ),
    }
}

/// The region lease job `job`'s collection holds: renewed every collected hour, so a
/// quarter of an hour covers the slowest hour. It is named for the job, so a process
/// that takes the job over after its owner died holds it at once.
fn job_lease(job: i64) -> Lease {
    Lease {
        owner: format!("job-{job}"),
        hold_secs: 900,
    }
}

/// A person's run (`POST …/collect`, "Update Usage"): while another run holds the region
/// (usually a scheduled run of recent hours) it waits, saying so in the job's progress;
/// cancelling the job or its maximum runtime ends the wait.
async fn run_waiting(
    store: Arc<dyn Store>,
    region: &RegionRow,
    span: Span<'_>,
    job: i64,
    progress: &jobs::Progress,
) -> Result<RunReport, CollectError> {
    loop {
        match run(store.clone(), region, span, job_lease(job)).await {
            Err(CollectError::Busy(why)) => {
                progress.set(0, format!("region {}: waiting: {why}", region.id));
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            done => return done,
        }
    }
}

/// What a run collects: reported hours `[from, to)` (Unix nanoseconds) of the whole
/// region, or of one of its subscriptions (a subscription's Update Usage).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span<'a> {
    pub from: i64,
    pub to: i64,
    pub subscription: Option<&'a str>,
}

/// Collects `span` of `region` under the region's lease (one run per region at a time,
/// whichever process and job starts it). Failures are recorded in the region's
/// collection state and its alerts.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    region: &RegionRow,
    span: Span<'_>,
    lease: Lease,
) -> Result<RunReport, CollectError> {
    if RegionCollection::of(region).is_none() {
        return Err(CollectError::Config {
            field: "identity",
            message: "the region has no collection settings".into(),
        });
    }
    lease.take(store.as_ref(), &region.id).await?;
    let held = Held {
        store: store.clone(),
        region: region.id.clone(),
        lease: lease.clone(),
    };
    let result = async {
        let collector = Collector::new(arm_of(region)?, store.clone(), Options::default())
            .with_lease(lease.clone());
        match span.subscription {
            Some(s) => {
                collector
                    .collect_subscriber(s, span.from, span.to, &|_| {})
                    .await
            }
            None => collector.collect(span.from, span.to, &|_| {}).await,
        }
    }
    .await;
    drop(held);
    alert(store.as_ref(), &region.id, &result).await;
    result
}

/// A region lease this process holds: released when dropped, also when the run is
/// stopped half-way (a cancelled job, a lost job lease), so the region can be collected
/// again at once.
struct Held {
    store: Arc<dyn Store>,
    region: String,
    lease: Lease,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (store, region, lease) = (self.store.clone(), self.region.clone(), self.lease.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { lease.release(store.as_ref(), &region).await });
        }
    }
}

/// A line for the job list; `what` names the region (and subscription).
fn describe(what: &str, from: i64, to: i64, report: &RunReport) -> String {
    format!(
        "{what}: {} to {}: {} new, {} duplicate, {} replaced, {} rejected{}",
        instant(from),
        instant(to),
        report.new,
        report.duplicate,
        report.replaced,
        report.rejected,
        if report.unknown_meters.is_empty() {
            String::new()
        } else {
            format!("; unknown meters {}", report.unknown_meters.join(", "))
        }
    )
}

/// The alert conditions a collection run decides, per region.
const FAILURES: [(&str, &str); 3] = [
    (
        "region.token_refused",
        "the identity provider refused the region's credentials",
    ),
    (
        "region.unreachable",
        "the region's Resource Manager could not be reached",
    ),
    ("collection.failed", "usage collection failed"),
];

/// Raises or clears the region's alerts after a run: a failure raises its kind (once
/// while it lasts), a success clears them all; unknown meters raise one alert each,
/// cleared once the meter is in the catalogue. Alerting never fails the run.
async fn alert(store: &dyn Store, region: &str, result: &Result<RunReport, CollectError>) {
    let now = instant(Utc::now().timestamp_nanos_opt().unwrap_or(0));
    match result {
        Err(e) => {
            let kind = match e {
                CollectError::TokenRefused(_) | CollectError::Unauthorized(_) => FAILURES[0],
                CollectError::Unreachable(_) | CollectError::GatewayTimeout(_) => FAILURES[1],
                _ => FAILURES[2],
            };
            let new = stackbill_store::NewAlert {
                key: format!("{}:{region}", kind.0),
                kind: kind.0.to_owned(),
                subject: region.to_owned(),
                severity: "error".into(),
                message: format!("region {region}: {}: {e}", kind.1),
            };
            store.raise_alert(&new, &now).await.ok();
        }
        Ok(report) => {
            for (kind, _) in FAILURES {
                store
                    .clear_alert(&format!("{kind}:{region}"), &now)
                    .await
                    .ok();
            }
            // Subscribers the stamp would not report on (not its direct tenants): their
            // usage, if any, was not collected.
            let skipped = format!("collection.skipped_subscribers:{region}");
            if report.skipped_subscribers.is_empty() {
                store.clear_alert(&skipped, &now).await.ok();
            } else {
                let new = stackbill_store::NewAlert {
                    key: skipped,
                    kind: "collection.skipped_subscribers".into(),
                    subject: region.to_owned(),
                    severity: "warning".into(),
                    message: format!(
                        "region {region}: the stamp would not report per subscriber on {}",
                        report.skipped_subscribers.join("; ")
                    ),
                };
                store.raise_alert(&new, &now).await.ok();
            }
            for meter in &report.unknown_meters {
                let new = stackbill_store::NewAlert {
                    key: format!("meter.unknown:{meter}"),
                    kind: "meter.unknown".into(),
                    subject: meter.clone(),
                    severity: "warning".into(),
                    message: format!(
                        "region {region} reported usage of meter {meter}, which is not in the catalogue: \
                         add it (and its price) or its usage stays unbilled"
                    ),
                };
                store.raise_alert(&new, &now).await.ok();
            }
            let Ok(meters) = store.meters().await else {
                return;
            };
            let known: std::collections::HashSet<String> = meters
                .iter()
                .map(|m| stackbill_core::meter::canonical_meter(&m.id))
                .collect();
            if let Ok(open) = store.alerts(true).await {
                for a in open.iter().filter(|a| a.kind == "meter.unknown") {
                    if known.contains(&a.subject) {
                        store.clear_alert(&a.key, &now).await.ok();
                    }
                }
            }
        }
    }
}

async fn collect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Platform(auth): Platform<ProcessUsage>,
    Path(id): Path<String>,
    Body(body): Body<CollectIn>,
) -> ApiResult<Response> {
    let region = find(&state, &id).await?;
    if RegionCollection::of(&region).is_none() {
        return Err(ApiError::field(
            "collection",
            "the region has no collection settings; add them with PUT /api/v1/regions/{id}",
        ));
    }
    let (from, to) = body.hours()?;
    let params = json!({"region": region.id, "from": from, "to": to});
    let job = jobs::submit(&state, "usage.collect", &params, None, &auth.caller.actor()).await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

/// A subscription's Update Usage: its region's usage API asked for its rows only, as a
/// `usage.collect` job under the region's lease. Partner and distributor administrators
/// may run it on the subscriptions of their branch.
async fn collect_subscription(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: Allowed<ProcessUsage>,
    Path(id): Path<String>,
    Body(body): Body<CollectIn>,
) -> ApiResult<Response> {
    let subscription = super::subscriptions::find_subscription(&auth, &id)?.clone();
    if !stackbill_collector::provision::is_guid(&subscription.id) {
        return Err(ApiError::Conflict(format!(
            "subscription {:?} is not a stamp subscription (its id is not a GUID): its usage arrives by import, not from a region",
            subscription.id
        )));
    }
    let region = find(&state, &subscription.region).await?;
    if RegionCollection::of(&region).is_none() {
        return Err(ApiError::Conflict(format!(
            "region {} has no collection settings: a platform administrator adds them on the region",
            region.id
        )));
    }
    let (from, to) = body.hours()?;
    let params = json!({"region": region.id, "from": from, "to": to,
                        "subscription": subscription.id.to_ascii_lowercase()});
    let job = jobs::submit(&state, "usage.collect", &params, None, &auth.caller.actor()).await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

/// Queues a collection of the region's last [`RECOLLECT_HOURS`] closed hours for a
/// schedule's slot (once per slot, whichever process gets there first).
pub(crate) async fn schedule_collect(state: &AppState, region: &str, slot: &str) -> ApiResult<()> {
    let to = closed_until(Utc::now());
    let from = to.saturating_sub(HOUR_NS.saturating_mul(RECOLLECT_HOURS));
    let params = json!({"region": region, "from": from, "to": to});
    jobs::submit(
        state,
        "usage.collect",
        &params,
        Some(format!("collect:{region}@{slot}")),
        "schedule",
    )
    .await
    .map(drop)
}

/// The `usage.collect` job: reported hours `[from, to)` of a region, in Unix
/// nanoseconds.
pub(crate) async fn run_collect(
    state: &AppState,
    job: i64,
    params: &Value,
    actor: &str,
    progress: &jobs::Progress,
) -> ApiResult<jobs::Done> {
    let id = params["region"].as_str().unwrap_or_default();
    let span = Span {
        from: params["from"].as_i64().unwrap_or_default(),
        to: params["to"].as_i64().unwrap_or_default(),
        subscription: params["subscription"].as_str(),
    };
    let (from, to) = (span.from, span.to);
    let region = find(state, id).await?;
    let what = match span.subscription {
        Some(s) => format!("region {id}, subscription {s}"),
        None => format!("region {id}"),
    };
    progress.set(0, format!("{what}: {} to {}", instant(from), instant(to)));
    let store: Arc<dyn Store> = Arc::new(state.sql_store().clone());
    let waited = match actor {
        "schedule" => run(store, &region, span, job_lease(job)).await,
        _ => run_waiting(store, &region, span, job, progress).await,
    };
    let report = match waited {
        Ok(report) => report,
        // A slot that comes while the region's previous run still goes is covered by
        // that run (it collects the same recent hours): nothing failed.
        Err(CollectError::Busy(why)) => {
            return Ok(jobs::Done {
                message: format!("region {id}: skipped: {why}"),
                data: json!({"jobId": job, "skipped": why}),
            });
        }
        Err(e) => return Err(region_error(&region.id, e)),
    };
    state
        .audit(
            actor,
            "usage.collect",
            &region.id,
            None,
            Some(
                json!({"from": instant(from), "to": instant(to), "jobId": job,
                        "subscription": span.subscription}),
            ),
        )
        .await?;
    if !report.created_subscriptions.is_empty() {
        // Subscriptions the run created: every process's directory must know them.
        state.refresh().await?;
    }
    let message = describe(&what, from, to, &report);
    let data = Collected {
        job_id: job,
        report: serde_json::to_value(&report).unwrap_or(Value::Null),
    };
    jobs::Done::of(job, message, &data)
}

async fn rejected(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadRegions>,
    Path(id): Path<String>,
) -> ApiResult<wire::Ok<Vec<RejectedRow>>> {
    let region = find(&state, &id).await?;
    let rows = state.store().rejected_usage(Some(&region.id), 1000).await?;
    Ok(ok(rows
        .into_iter()
        .map(|r| RejectedRow {
            id: r.id,
            window_start: instant(r.window.0),
            window_end: instant(r.window.1),
            reason: r.reason,
            raw: r.raw,
        })
        .collect()))
}

/// The collection part of a region's health: the last run and the last error, and a
/// run in progress.
pub(crate) async fn health(state: &AppState, region: &RegionRow) -> ApiResult<Option<Value>> {
    if RegionCollection::of(region).is_none() {
        return Ok(None);
    }
    let every = state.config.collect_every;
    let state = state.store().collection_state(&region.id).await?;
    let last_error = state
        .as_ref()
        .and_then(|s| s.get("lastError"))
        .and_then(Value::as_str);
    let finished = state
        .as_ref()
        .and_then(|s| s.pointer("/lastRun/finishedAt"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    // Runs start on the schedule's beat after the last one finished, or at the next
    // beat when none has.
    let next_run = every.map(|e| {
        let beat = chrono::Duration::from_std(e).unwrap_or(chrono::Duration::hours(1));
        let base = finished.map_or_else(Utc::now, |f| f.with_timezone(&Utc));
        base.checked_add_signed(beat)
            .unwrap_or(base)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    let token = match last_error {
        Some(e) if e.starts_with("token refused") || e.starts_with("unauthorized") => {
            json!("refused")
        }
        _ if finished.is_some() => json!("accepted"),
        _ => json!("unknown"),
    };
    let secret =
        RegionConfig::from_row(region).and_then(|c| resolve_secret(&c.credential_ref).map(|_| ()));
    Ok(Some(json!({
        "lastRun": state.as_ref().and_then(|s| s.get("lastRun")).cloned(),
        "lastError": state.as_ref().and_then(|s| s.get("lastError")).cloned(),
        "inProgress": state.as_ref().and_then(|s| s.get("cursor")).is_some_and(|c| !c.is_null()),
        "nextRun": next_run,
        "token": token,
        "credential": match secret {
            Ok(()) => json!("readable"),
            Err(e) => json!(e.to_string()),
        },
    })))
}

/// A client of `region`'s Azure Resource Manager, its secret read from its reference.
fn arm_of(region: &RegionRow) -> Result<Arm, CollectError> {
    let config = RegionConfig::from_row(region)?;
    let secret = resolve_secret(&config.credential_ref)?;
    Arm::new(config, secret, RetryPolicy::default())
}

/// What a region's test found.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tested {
    /// The audience of the token the region's identity issued.
    audience: String,
    /// HTTP requests the test made, and how many of them were retries.
    requests: u64,
    retries: u64,
}

/// The manual's "Test" of a region: discovery, a token from its identity and one cheap
/// authenticated call to its usage provider, without reading or storing usage. A region
/// that does not answer is a 502 saying what failed.
async fn test_region(
    State(state): State<AppState>,
    Platform(_auth): Platform<ManageRegions>,
    Path(id): Path<String>,
) -> ApiResult<wire::Ok<Tested>> {
    let region = find(&state, &id).await?;
    if RegionCollection::of(&region).is_none() {
        return Err(ApiError::field(
            "collection",
            "the region has no collection settings; add them with PUT /api/v1/regions/{id}",
        ));
    }
    let stats = stackbill_collector::Stats::default();
    let audience = async { arm_of(&region)?.probe(&stats).await }
        .await
        .map_err(|e| region_error(&region.id, e))?;
    Ok(ok(Tested {
        audience,
        requests: stats.requests(),
        retries: stats.retries(),
    }))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Catalogue";
    vec![
        Op::new(
            Method::POST,
            "/api/v1/regions/{id}/test",
            t,
            "Test a region: its identity issues a token and its usage provider answers",
            post(test_region),
        )
        .data(one::<Tested>())
        .reaches_region(),
        Op::new(
            Method::POST,
            "/api/v1/regions/{id}/collect",
            t,
            "Collect a region's usage for reported hours [from, to)",
            post(collect),
        )
        .body(one::<CollectIn>())
        .data(one::<Collected>())
        .job()
        .reaches_region(),
        Op::new(
            Method::POST,
            "/api/v1/subscriptions/{id}/collect",
            "Relationships",
            "Update Usage of one subscription: collect its rows of reported hours [from, to) from its region",
            post(collect_subscription),
        )
        .body(one::<CollectIn>())
        .data(one::<Collected>())
        .job()
        .reaches_region(),
        Op::new(
            Method::GET,
            "/api/v1/regions/{id}/rejected-usage",
            t,
            "List the rows a region sent that could not be read",
            get(rejected),
        )
        .data(many::<RejectedRow>()),
    ]
}

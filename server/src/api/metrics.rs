//! `/metrics` in the Prometheus text format. Two kinds of figures: this process's own
//! (requests and their latency by route, jobs it ran and how long they took, its
//! database pool), which a scraper sums over replicas; and the platform's, read from the
//! database (jobs by status, open alerts, collection per region), the same on every
//! replica.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Upper bounds (seconds) of the latency buckets: from a cached read to a long export.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) of the job duration buckets: a small run to a month of a big
/// platform.
const JOB_BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0];

/// A latency distribution: counts per bucket (not cumulative), total and sum.
#[derive(Debug, Clone, Default)]
struct Histogram<const N: usize> {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

impl<const N: usize> Histogram<N> {
    fn observe(&mut self, bounds: &[f64; N], seconds: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; N];
        }
        if let Some(i) = bounds.iter().position(|b| seconds <= *b)
            && let Some(slot) = self.buckets.get_mut(i)
        {
            *slot = slot.saturating_add(1);
        }
        self.count = self.count.saturating_add(1);
        self.sum += seconds;
    }

    /// Writes `name_bucket`, `name_sum` and `name_count` lines with `labels`.
    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64; N]) {
        let mut cumulative = 0u64;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative = cumulative.saturating_add(self.buckets.get(i).copied().unwrap_or(0));
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {:.6}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// This process's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    auth_failures: AtomicU64,
    /// (method, route template) → latency; (method, route, status) → responses.
    routes: Mutex<RouteStats>,
    /// (kind, outcome) → duration of the jobs this process ran to their end.
    jobs: Mutex<BTreeMap<(String, String), Histogram<{ JOB_BUCKETS.len() }>>>,
}

#[derive(Debug, Default)]
struct RouteStats {
    latency: BTreeMap<(String, String), Histogram<{ BUCKETS.len() }>>,
    responses: BTreeMap<(String, String, u16), u64>,
}

/// The route template a request matched (`/api/v1/tenants/{id}`), carried out of the
/// router on the response so that the outer layer can label by it.
#[derive(Debug, Clone)]
struct Route(String);

impl Metrics {
    /// A token or sign-in was refused.
    pub(crate) fn auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A job this process ran ended (`succeeded`, `failed`, `cancelled`).
    pub(crate) fn job_ended(&self, kind: &str, outcome: &str, took: Duration) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.entry((kind.to_owned(), outcome.to_owned()))
                .or_default()
                .observe(&JOB_BUCKETS, took.as_secs_f64());
        }
    }

    fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        if let Ok(mut routes) = self.routes.lock() {
            routes
                .latency
                .entry((method.to_owned(), route.to_owned()))
                .or_default()
                .observe(&BUCKETS, took.as_secs_f64());
            let n = routes
                .responses
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default();
            *n = n.saturating_add(1);
        }
    }
}

/// Inside the router (a route layer): notes which route template matched.
pub(crate) async fn tag_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Outside the router: times every request and counts it by route and status. Requests
/// that matched no route are counted as `unmatched`, so that probing random paths cannot
/// grow the label set.
pub(crate) async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str())
        .to_owned();
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The scrape. When `STACKBILL_METRICS_TOKEN` is set the scraper must send it as a
/// bearer token.
pub(crate) async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        use subtle::ConstantTimeEq;
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(token.as_bytes())) {
            return (StatusCode::UNAUTHORIZED, "a scrape token is required").into_response();
        }
    }
    let mut text = String::new();
    process_figures(&state, &mut text);
    platform_figures(&state, &mut text).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

fn process_figures(state: &AppState, out: &mut String) {
    let m = &state.metrics;
    let _ = writeln!(
        out,
        "# HELP stackbill_auth_failures_total Rejected tokens and sign-ins (this process).\n\
         # TYPE stackbill_auth_failures_total counter\n\
         stackbill_auth_failures_total {}",
        m.auth_failures.load(Ordering::Relaxed)
    );
    if let Ok(routes) = m.routes.lock() {
        out.push_str(
            "# HELP stackbill_http_requests_total Responses by method, route and status \
             (this process).\n# TYPE stackbill_http_requests_total counter\n",
        );
        for ((method, route, status), n) in &routes.responses {
            let _ = writeln!(
                out,
                "stackbill_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        out.push_str(
            "# HELP stackbill_http_request_duration_seconds Time to answer, by method and \
             route (this process).\n# TYPE stackbill_http_request_duration_seconds histogram\n",
        );
        for ((method, route), h) in &routes.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", label(route));
            h.write(
                out,
                "stackbill_http_request_duration_seconds",
                &labels,
                &BUCKETS,
            );
        }
    }
    if let Ok(jobs) = m.jobs.lock() {
        out.push_str(
            "# HELP stackbill_job_duration_seconds Jobs this process ran to their end, by \
             kind and outcome.\n# TYPE stackbill_job_duration_seconds histogram\n",
        );
        for ((kind, outcome), h) in jobs.iter() {
            let labels = format!("kind=\"{}\",outcome=\"{}\"", label(kind), label(outcome));
            h.write(out, "stackbill_job_duration_seconds", &labels, &JOB_BUCKETS);
        }
    }
    let pool = state.sql_store().pool();
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    let _ = writeln!(
        out,
        "# HELP stackbill_db_pool_connections Database connections of this process.\n\
         # TYPE stackbill_db_pool_connections gauge\n\
         stackbill_db_pool_connections{{state=\"idle\"}} {idle}\n\
         stackbill_db_pool_connections{{state=\"in_use\"}} {}\n\
         stackbill_db_pool_connections{{state=\"max\"}} {}",
        size.saturating_sub(idle),
        pool.options().get_max_connections()
    );
}

async fn platform_figures(state: &AppState, out: &mut String) {
    let store = state.store();
    if let Ok(counts) = store.job_counts().await {
        out.push_str(
            "# HELP stackbill_jobs Jobs in the database by kind and status.\n\
             # TYPE stackbill_jobs gauge\n",
        );
        for (kind, status, n) in counts {
            let _ = writeln!(
                out,
                "stackbill_jobs{{kind=\"{}\",status=\"{}\"}} {n}",
                label(&kind),
                label(&status)
            );
        }
    }
    if let Ok(open) = store.alerts(true).await {
        let mut by_kind = BTreeMap::<String, u64>::new();
        for a in open {
            let n = by_kind.entry(a.kind).or_default();
            *n = n.saturating_add(1);
        }
        out.push_str(
            "# HELP stackbill_alerts_open Open alerts by kind.\n\
             # TYPE stackbill_alerts_open gauge\n",
        );
        for (kind, n) in by_kind {
            let _ = writeln!(
                out,
                "stackbill_alerts_open{{kind=\"{}\"}} {n}",
                label(&kind)
            );
        }
    }
    if let Ok(regions) = store.regions().await {
        out.push_str(
            "# HELP stackbill_collection_rows Rows the last finished collection of a region \
             stored (new, unchanged and replaced).\n# TYPE stackbill_collection_rows gauge\n\
             # HELP stackbill_collection_lag_seconds How far behind now a region's usage is \
             collected (end of the last collected hour).\n\
             # TYPE stackbill_collection_lag_seconds gauge\n\
             # HELP stackbill_collection_failing 1 when a region's last collection failed.\n\
             # TYPE stackbill_collection_failing gauge\n",
        );
        let now = chrono::Utc::now();
        for region in regions {
            let Ok(Some(doc)) = store.collection_state(&region.id).await else {
                continue;
            };
            let name = label(&region.id);
            let last = &doc["lastRun"];
            if let Some(report) = last.get("report") {
                let rows = ["new", "duplicate", "replaced"]
                    .iter()
                    .filter_map(|k| report[*k].as_u64())
                    .fold(0u64, u64::saturating_add);
                let _ = writeln!(out, "stackbill_collection_rows{{region=\"{name}\"}} {rows}");
            }
            if let Some(to) = last["to"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            {
                let lag = now.signed_duration_since(to).num_seconds().max(0);
                let _ = writeln!(
                    out,
                    "stackbill_collection_lag_seconds{{region=\"{name}\"}} {lag}"
                );
            }
            let failing = u8::from(doc["lastError"].is_string());
            let _ = writeln!(
                out,
                "stackbill_collection_failing{{region=\"{name}\"}} {failing}"
            );
        }
    }
}

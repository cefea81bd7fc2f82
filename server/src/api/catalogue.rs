//! Regions (Azure Stack Hub stamps) and meters: what the platform sells from (plans are
//! in `plans`). Region credentials are never accepted in clear: a region names where its
//! secret lives (`env:NAME`, `file:/path`, `vault:…`), and the API never returns more.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackbill_store::{MeterRow, RegionRow};
use utoipa::ToSchema;

use super::AppState;
use super::access::{ManagePlans, ManageRegions, Platform, ProcessUsage, ReadPlans, ReadRegions};
use super::fields::{valid_id, valid_name, valid_zone};
use super::ops::{Op, many, one};
use super::wire::{self, ApiError, ApiResult, Body, created, ok};
use crate::jobs;

type Reply<T> = ApiResult<wire::Ok<T>>;

/// A region as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegionIn {
    /// Id (generated when absent on create; ignored on update).
    #[serde(default)]
    id: Option<String>,
    name: String,
    /// IANA time zone the stamp reports in.
    time_zone: String,
    /// The stamp's admin Resource Manager endpoint (https).
    admin_endpoint: String,
    /// Hours of usage collected per run, 1–168.
    #[schema(minimum = 1, maximum = 168)]
    collection_window_hours: i64,
    /// Where the collector's secret lives: `env:NAME`, `file:/path` or `vault:NAME`.
    #[serde(default)]
    credential_ref: Option<String>,
    /// How usage is collected from the stamp (absent: the region is not collected).
    #[serde(default)]
    collection: Option<super::collection::RegionCollection>,
}

/// A region.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Region {
    id: String,
    name: String,
    time_zone: String,
    admin_endpoint: String,
    collection_window_hours: i64,
    credential_ref: Option<String>,
    collection: Option<super::collection::RegionCollection>,
}

impl From<&RegionRow> for Region {
    fn from(r: &RegionRow) -> Self {
        Region {
            id: r.id.clone(),
            name: r.name.clone(),
            time_zone: r.time_zone.clone(),
            admin_endpoint: r.admin_endpoint.clone(),
            collection_window_hours: r.collection_window_hours,
            credential_ref: r.credential_ref.clone(),
            collection: super::collection::RegionCollection::of(r),
        }
    }
}

fn region_fields(body: RegionIn, base: RegionRow) -> ApiResult<RegionRow> {
    let zone = valid_zone("timeZone", Some(&body.time_zone))?.unwrap_or_default();
    let endpoint = body.admin_endpoint.trim();
    if endpoint.len() > 500
        || endpoint.contains(' ')
        || stackbill_collector::check_endpoint(endpoint).is_err()
    {
        return Err(ApiError::field(
            "adminEndpoint",
            "must be an https URL of the stamp's admin endpoint (plain http only to a loopback address)",
        ));
    }
    if !(1..=168).contains(&body.collection_window_hours) {
        return Err(ApiError::field(
            "collectionWindowHours",
            "must be from 1 to 168",
        ));
    }
    let credential_ref = match body.credential_ref.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => {
            let (scheme, name) = r.split_once(':').unwrap_or(("", ""));
            if !matches!(scheme, "env" | "file" | "vault") || name.is_empty() || r.len() > 500 {
                return Err(ApiError::field(
                    "credentialRef",
                    "must name where the secret lives (env:NAME, file:/path or vault:NAME), \
                     never the secret itself",
                ));
            }
            Some(r.to_owned())
        }
    };
    let details = super::collection::RegionCollection::apply(body.collection, base.details.clone());
    let row = RegionRow {
        name: valid_name("name", &body.name)?,
        time_zone: zone,
        admin_endpoint: endpoint.to_owned(),
        collection_window_hours: body.collection_window_hours,
        credential_ref,
        details,
        ..base
    };
    super::collection::check(&row)?;
    Ok(row)
}

pub(crate) async fn find_region(state: &AppState, id: &str) -> ApiResult<RegionRow> {
    state
        .store()
        .regions()
        .await?
        .into_iter()
        .find(|r| r.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::NotFound(format!("no region {id:?}")))
}

async fn list_regions(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadRegions>,
) -> Reply<Vec<Region>> {
    let regions = state.store().regions().await?;
    Ok(ok(regions.iter().map(Region::from).collect()))
}

async fn get_region(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadRegions>,
    Path(id): Path<String>,
) -> Reply<Region> {
    Ok(ok(Region::from(&find_region(&state, &id).await?)))
}

async fn create_region(
    State(state): State<AppState>,
    Platform(auth): Platform<ManageRegions>,
    Body(body): Body<RegionIn>,
) -> Reply<Region> {
    let id = match body.id.clone() {
        Some(id) => {
            valid_id("id", &id)?;
            if find_region(&state, &id).await.is_ok() {
                return Err(ApiError::Conflict(format!("region {id:?} already exists")));
            }
            id
        }
        None => super::fields::new_id(),
    };
    let base = RegionRow {
        id,
        name: String::new(),
        time_zone: String::new(),
        admin_endpoint: String::new(),
        collection_window_hours: 24,
        credential_ref: None,
        details: json!({}),
    };
    let row = region_fields(body, base)?;
    state.store().put_region(&row).await?;
    let out = Region::from(&row);
    state
        .audit_change(
            &auth.caller.actor(),
            "region.create",
            &row.id,
            None,
            Some(&out),
        )
        .await?;
    Ok(created(out))
}

async fn update_region(
    State(state): State<AppState>,
    Platform(auth): Platform<ManageRegions>,
    Path(id): Path<String>,
    Body(body): Body<RegionIn>,
) -> Reply<Region> {
    let before = find_region(&state, &id).await?;
    let row = region_fields(body, before.clone())?;
    state.store().put_region(&row).await?;
    let out = Region::from(&row);
    state
        .audit(
            &auth.caller.actor(),
            "region.update",
            &row.id,
            serde_json::to_value(Region::from(&before)).ok(),
            serde_json::to_value(&out).ok(),
        )
        .await?;
    Ok(ok(out))
}

async fn delete_region(
    State(state): State<AppState>,
    Platform(auth): Platform<ManageRegions>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_region(&state, &id).await?;
    state.store().delete_region(&row.id).await?;
    state
        .audit(
            &auth.caller.actor(),
            "region.delete",
            &row.id,
            serde_json::to_value(Region::from(&row)).ok(),
            None,
        )
        .await?;
    Ok(ok(()))
}

/// A usage processing request: the days whose billing periods are re-rated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProcessIn {
    /// First day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    from: String,
    /// Last day (inclusive), `YYYY-MM-DD`.
    #[schema(format = Date)]
    to: String,
}

/// What a processing run did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Processed {
    job_id: i64,
    /// The job that fetched the range again first (collected regions only): this job,
    /// which collects before it rates.
    collect_job_id: Option<i64>,
    /// The billing periods re-rated into preview invoices.
    periods: Vec<String>,
    /// Preview invoices written.
    previews: usize,
    /// Tenants of the region whose issued invoice was kept.
    kept_issued: Vec<String>,
}

/// "Update Usage": queues a job that collects the range again (collected regions) and
/// re-rates the stored usage of the region's tenants for every billing period the date
/// range touches, writing preview invoices.
async fn process_region(
    State(state): State<AppState>,
    headers: HeaderMap,
    Platform(auth): Platform<ProcessUsage>,
    Path(id): Path<String>,
    Body(body): Body<ProcessIn>,
) -> ApiResult<Response> {
    let region = find_region(&state, &id).await?;
    let (from, to) = (wire::date("from", &body.from)?, wire::date("to", &body.to)?);
    if to < from {
        return Err(ApiError::field("to", "must not be before from"));
    }
    if to.signed_duration_since(from).num_days() > 366 {
        return Err(ApiError::field("to", "the range may span at most 366 days"));
    }
    let params = json!({"region": region.id, "from": body.from, "to": body.to});
    let job = jobs::submit(&state, "usage.process", &params, None, &auth.caller.actor()).await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

/// The `usage.process` job.
pub(crate) async fn run_process(
    state: &AppState,
    job: i64,
    params: &Value,
    actor: &str,
    progress: &jobs::Progress,
) -> ApiResult<jobs::Done> {
    let region = find_region(state, params["region"].as_str().unwrap_or_default()).await?;
    let text = |k: &str| params[k].as_str().unwrap_or_default().to_owned();
    let (from_text, to_text) = (text("from"), text("to"));
    let (from, to) = (wire::date("from", &from_text)?, wire::date("to", &to_text)?);
    let mut periods = Vec::new();
    let mut p = stackbill_core::period::Period::containing(from);
    let last = stackbill_core::period::Period::containing(to);
    while p <= last {
        periods.push(format!("{:04}-{:02}", p.year(), p.month()));
        p = p.next();
    }
    // A collected region's usage for the range is fetched again first.
    progress.set(0, format!("region {}: collecting", region.id));
    let collected =
        super::collection::recollect_days(state, job, &region, (from, to), progress).await?;
    let dir = state.snapshot().await?.directory.clone();
    let mut tenants: Vec<String> = dir
        .subscriptions
        .iter()
        .filter(|s| s.region == region.id)
        .map(|s| s.tenant.clone())
        .collect();
    tenants.sort();
    tenants.dedup();
    let store = state.store();
    let steps = periods.len().max(1);
    let (mut done, mut previews, mut kept) = (0usize, 0usize, Vec::new());
    for period in &periods {
        if tenants.is_empty() {
            break;
        }
        // One narrowed run per period for all the region's tenants.
        let selection = stackbill_store::billing::Selection::Tenants(&tenants);
        let report = stackbill_store::billing::bill_selection(store, period, selection).await?;
        previews = previews.saturating_add(report.previews);
        kept.extend(report.kept_issued);
        done = done.saturating_add(1);
        progress.set(
            progress_of(done, steps),
            format!("region {}: {period}", region.id),
        );
    }
    kept.sort();
    kept.dedup();
    let message = format!(
        "region {}: {} period(s), {} tenant(s), {previews} preview(s)",
        region.id,
        periods.len(),
        tenants.len()
    );
    // The collection ran inside this job: it is named as the collecting job.
    let collect_job = collected.as_ref().map(|_| job);
    state
        .audit(
            actor,
            "usage.process",
            &region.id,
            None,
            Some(
                json!({"from": from_text, "to": to_text, "periods": periods, "jobId": job, "collectJobId": collect_job}),
            ),
        )
        .await?;
    let out = Processed {
        job_id: job,
        collect_job_id: collect_job,
        periods,
        previews,
        kept_issued: kept,
    };
    jobs::Done::of(job, message, &out)
}

fn progress_of(done: usize, steps: usize) -> i64 {
    i64::try_from(done.saturating_mul(100).checked_div(steps).unwrap_or(100)).unwrap_or(100)
}

/// A region's health as StackBill sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    id: String,
    /// Whether a credential reference is configured.
    credential_configured: bool,
    /// Subscriptions placed in the region.
    subscriptions: usize,
    /// The latest usage processing job, if any.
    #[schema(value_type = Option<Object>)]
    last_processing: Option<Value>,
    /// Usage collection: the last run (when, range, report), the last error, whether a
    /// run is in progress, and whether the credential is readable by this server.
    #[schema(value_type = Option<Object>)]
    collection: Option<Value>,
}

async fn region_health(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadRegions>,
    Path(id): Path<String>,
) -> Reply<Health> {
    let region = find_region(&state, &id).await?;
    let dir = state.snapshot().await?.directory.clone();
    let jobs = state.store().jobs().await?;
    let last = jobs
        .into_iter()
        .find(|j| {
            j.kind == "usage.process" && j.message.contains(&format!("region {}:", region.id))
        })
        .map(|j| json!({"jobId": j.id, "status": j.status, "message": j.message}));
    let collection = super::collection::health(&state, &region).await?;
    Ok(ok(Health {
        collection,
        credential_configured: region.credential_ref.is_some(),
        subscriptions: dir
            .subscriptions
            .iter()
            .filter(|s| s.region == region.id)
            .count(),
        last_processing: last,
        id: region.id,
    }))
}

// ---- meters

/// A meter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Meter {
    /// Meter id (Azure Stack meter GUID or a name).
    id: String,
    name: String,
    /// Unit of its quantities (`hour`, `GB`, …).
    unit: String,
}

async fn list_meters(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPlans>,
) -> Reply<Vec<Meter>> {
    let meters = state.store().meters().await?;
    Ok(ok(meters.iter().map(Meter::from).collect()))
}

/// One meter, found whatever the case of its id (Azure Stack meter GUIDs arrive in both).
async fn get_meter(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPlans>,
    Path(id): Path<String>,
) -> Reply<Meter> {
    let meters = state.store().meters().await?;
    meters
        .iter()
        .find(|m| m.id.eq_ignore_ascii_case(id.trim()))
        .map(|m| ok(Meter::from(m)))
        .ok_or_else(|| ApiError::NotFound(format!("no meter {id:?}")))
}

impl From<&MeterRow> for Meter {
    fn from(m: &MeterRow) -> Self {
        Meter {
            id: m.id.clone(),
            name: m.name.clone(),
            unit: m.unit.clone(),
        }
    }
}

fn meter_row(body: Meter) -> ApiResult<MeterRow> {
    valid_id("id", &body.id)?;
    let unit = body.unit.trim();
    if unit.is_empty() || unit.len() > 50 {
        return Err(ApiError::field("unit", "must be 1–50 characters"));
    }
    Ok(MeterRow {
        id: stackbill_core::meter::canonical_meter(&body.id),
        name: valid_name("name", &body.name)?,
        unit: unit.to_owned(),
    })
}

async fn create_meter(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePlans>,
    Body(body): Body<Meter>,
) -> Reply<Meter> {
    let row = meter_row(body)?;
    if state.store().meters().await?.iter().any(|m| m.id == row.id) {
        return Err(ApiError::Conflict(format!(
            "meter {:?} already exists",
            row.id
        )));
    }
    state.store().put_meter(&row).await?;
    let out = Meter::from(&row);
    state
        .audit_change(
            &auth.caller.actor(),
            "meter.create",
            &row.id,
            None,
            Some(&out),
        )
        .await?;
    Ok(created(out))
}

async fn update_meter(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePlans>,
    Path(id): Path<String>,
    Body(body): Body<Meter>,
) -> Reply<Meter> {
    let id = stackbill_core::meter::canonical_meter(&id);
    let before = state
        .store()
        .meters()
        .await?
        .into_iter()
        .find(|m| m.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ApiError::NotFound(format!("no meter {id:?}")))?;
    let mut row = meter_row(body)?;
    row.id = before.id.clone();
    state.store().put_meter(&row).await?;
    let out = Meter::from(&row);
    state
        .audit(
            &auth.caller.actor(),
            "meter.update",
            &row.id,
            Some(json!({"name": before.name, "unit": before.unit})),
            serde_json::to_value(&out).ok(),
        )
        .await?;
    Ok(ok(out))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Catalogue";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/regions",
            t,
            "List regions",
            get(list_regions),
        )
        .data(many::<Region>()),
        Op::new(
            Method::POST,
            "/api/v1/regions",
            t,
            "Create a region",
            post(create_region),
        )
        .body(one::<RegionIn>())
        .data(one::<Region>()),
        Op::new(
            Method::GET,
            "/api/v1/regions/{id}",
            t,
            "View a region",
            get(get_region),
        )
        .data(one::<Region>()),
        Op::new(
            Method::PUT,
            "/api/v1/regions/{id}",
            t,
            "Edit a region",
            put(update_region),
        )
        .body(one::<RegionIn>())
        .data(one::<Region>()),
        Op::new(
            Method::DELETE,
            "/api/v1/regions/{id}",
            t,
            "Delete a region",
            delete(delete_region),
        ),
        Op::new(
            Method::POST,
            "/api/v1/regions/{id}/process",
            t,
            "Process usage of a region for a date range (re-rates into previews)",
            post(process_region),
        )
        .body(one::<ProcessIn>())
        .data(one::<Processed>())
        .job()
        .reaches_region(),
        Op::new(
            Method::GET,
            "/api/v1/regions/{id}/health",
            t,
            "View a region's health",
            get(region_health),
        )
        .data(one::<Health>()),
        Op::new(
            Method::GET,
            "/api/v1/meters",
            t,
            "List meters",
            get(list_meters),
        )
        .data(many::<Meter>()),
        Op::new(
            Method::POST,
            "/api/v1/meters",
            t,
            "Create a meter",
            post(create_meter),
        )
        .body(one::<Meter>())
        .data(one::<Meter>()),
        Op::new(
            Method::GET,
            "/api/v1/meters/{id}",
            t,
            "View a meter",
            get(get_meter),
        )
        .data(one::<Meter>()),
        Op::new(
            Method::PUT,
            "/api/v1/meters/{id}",
            t,
            "Edit a meter",
            put(update_meter),
        )
        .body(one::<Meter>())
        .data(one::<Meter>()),
    ]
}

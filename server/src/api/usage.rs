//! Usage: batch ingest (idempotent on the record id, as the stores guarantee) and scoped
//! queries. A batch is checked whole before anything is written: one bad record fails
//! the request naming `records[i].field`, so a client never has to guess what landed.

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackbill_core::quantity::Quantity;
use stackbill_core::scenario::json::UsageText;
use stackbill_core::usage::parse_instant;
use stackbill_store::billing::{SyntheticIds, usage_row_from_text};
use stackbill_store::{UsageBatch, UsageRow};
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, IngestUsage, ReadUsage};
use super::ops::{Op, one, query, query_int, query_required};
use super::wire::{self, ApiError, ApiResult, Body, Params, ok};

/// Most subscriptions named in one store query; larger scopes are filtered while paging.
const IN_LIST_LIMIT: usize = 500;

/// Most records accepted in one request.
const MAX_RECORDS: usize = 50_000;

/// One usage record as Azure Stack reports it (after mapping to a subscription).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Record {
    /// The record id: re-sending an id changes nothing (or replaces the record when
    /// its content changed: the last report wins).
    #[serde(default)]
    id: Option<String>,
    subscription_id: String,
    meter_id: String,
    /// VM size, for meters priced per SKU.
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    /// RFC 3339 start instant.
    start: String,
    /// RFC 3339 end instant.
    end: String,
    /// Exact decimal text (`"0.25"`); whole numbers may be JSON numbers.
    #[schema(value_type = String)]
    quantity: Value,
}

/// A batch to ingest.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IngestIn {
    /// Where the batch came from (a region, a collector run, a file).
    #[serde(default)]
    source: Option<String>,
    pub(crate) records: Vec<Record>,
}

/// What an ingest did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ingested {
    /// Records not seen before.
    new: u64,
    /// Records identical to stored ones (no change).
    duplicate: u64,
    /// Records whose id was stored with other content (the new content wins).
    replaced: u64,
    /// Records the store refused.
    rejected: u64,
}

pub(crate) fn record_row(i: usize, r: Record) -> ApiResult<UsageRow> {
    let at = |f: &str| format!("records[{i}].{f}");
    let text = |field: &str, v: &str, max: usize| -> ApiResult<()> {
        if v.trim().is_empty() || v.len() > max {
            Err(ApiError::field(
                at(field),
                format!("must be 1–{max} characters"),
            ))
        } else {
            Ok(())
        }
    };
    if let Some(id) = &r.id {
        text("id", id, 200)?;
    }
    text("subscriptionId", &r.subscription_id, 200)?;
    text("meterId", &r.meter_id, 200)?;
    let start = parse_instant(r.start.trim())
        .ok_or_else(|| ApiError::field(at("start"), "must be an RFC 3339 instant"))?;
    let end = parse_instant(r.end.trim())
        .ok_or_else(|| ApiError::field(at("end"), "must be an RFC 3339 instant"))?;
    if end <= start {
        return Err(ApiError::field(at("end"), "must be after start"));
    }
    let quantity = match &r.quantity {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(_) => {
            return Err(ApiError::field(
                at("quantity"),
                "send fractional quantities as decimal strings, so they stay exact",
            ));
        }
        _ => return Err(ApiError::field(at("quantity"), "must be a decimal string")),
    };
    if Quantity::parse(&quantity).is_none_or(|q| q.is_negative()) {
        return Err(ApiError::field(
            at("quantity"),
            format!("{quantity:?} is not a non-negative decimal"),
        ));
    }
    Ok(usage_row_from_text(UsageText {
        id: r.id.map(|s| s.trim().to_owned()),
        subscription: Some(r.subscription_id.trim().to_lowercase()),
        meter: Some(r.meter_id.trim().to_owned()),
        sku: r.sku,
        resource: r.resource_id,
        start: Some(r.start.trim().to_owned()),
        end: Some(r.end.trim().to_owned()),
        quantity: Some(quantity),
        malformed: false,
    }))
}

async fn ingest(
    State(state): State<AppState>,
    auth: Allowed<IngestUsage>,
    Body(body): Body<IngestIn>,
) -> ApiResult<wire::Ok<Ingested>> {
    auth.check(&stackbill_core::rbac::NodePath::platform())?;
    if body.records.is_empty() {
        return Err(ApiError::field("records", "must hold at least one record"));
    }
    if body.records.len() > MAX_RECORDS {
        return Err(ApiError::field(
            "records",
            format!("at most {MAX_RECORDS} records per request; split the batch"),
        ));
    }
    let source = body.source.unwrap_or_else(|| "api".into());
    if source.len() > 200 {
        return Err(ApiError::field("source", "must be at most 200 characters"));
    }
    let mut rows = body
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| record_row(i, r))
        .collect::<ApiResult<Vec<_>>>()?;
    SyntheticIds::default().assign(&mut rows);
    let batch = UsageBatch {
        source: source.clone(),
        window: (
            rows.iter().filter_map(|r| r.start_ns).min().unwrap_or(0),
            rows.iter().filter_map(|r| r.end_ns).max().unwrap_or(0),
        ),
    };
    let report = state.store().ingest_usage(&batch, &rows).await?;
    let out = Ingested {
        new: report.new,
        duplicate: report.duplicate,
        replaced: report.replaced,
        rejected: report.rejected,
    };
    state
        .audit(
            &auth.caller.actor(),
            "usage.ingest",
            &source,
            None,
            serde_json::to_value(&out).ok(),
        )
        .await?;
    Ok(ok(out))
}

/// Query parameters of the usage list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsageQuery {
    period: String,
    #[serde(default)]
    subscription_id: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    page_size: Option<u32>,
}

/// A page of stored usage.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsagePage {
    pub(crate) records: Vec<Record>,
    /// Pass as `after` for the next page; absent on the last.
    next: Option<String>,
}

/// Usage of a billing period (UTC month), for the subscriptions the caller may read.
async fn list_usage(
    State(state): State<AppState>,
    auth: Allowed<ReadUsage>,
    Params(q): Params<UsageQuery>,
) -> ApiResult<wire::Ok<UsagePage>> {
    let period = super::billing::parse_period("period", &q.period)?;
    let size = q.page_size.unwrap_or(1000);
    if !(1..=10_000).contains(&size) {
        return Err(ApiError::field("pageSize", "must be between 1 and 10000"));
    }
    let dir = auth.directory();
    let subscriptions: Vec<String> = match &q.subscription_id {
        Some(id) => vec![
            super::subscriptions::find_subscription(&auth, id)?
                .id
                .clone(),
        ],
        None => dir
            .subscription_entries()
            .filter(|(_, path)| auth.allows(path))
            .map(|(s, _)| s.id.clone())
            .collect(),
    };
    if subscriptions.is_empty() {
        return Ok(ok(UsagePage {
            records: Vec::new(),
            next: None,
        }));
    }
    let everything =
        q.subscription_id.is_none() && auth.allows(&stackbill_core::rbac::NodePath::platform());
    let window = period.bounds(chrono_tz::UTC).nanos();
    let (rows, next) = if everything || subscriptions.len() <= IN_LIST_LIMIT {
        let rows = state
            .store()
            .usage_page(
                window,
                (!everything).then_some(subscriptions.as_slice()),
                q.after.as_deref(),
                size,
            )
            .await?;
        let next = (rows.len() == size as usize)
            .then(|| rows.last().map(|r| r.id.clone()))
            .flatten();
        (rows, next)
    } else {
        // A scope too large for one `IN (…)` list: walk the window's pages in id order and
        // keep the caller's rows, so keyset paging stays exact.
        let mine: std::collections::HashSet<&str> =
            subscriptions.iter().map(String::as_str).collect();
        let mut rows = Vec::new();
        let mut after = q.after.clone();
        loop {
            let page = state
                .store()
                .usage_page(window, None, after.as_deref(), size)
                .await?;
            let full = page.len() == size as usize;
            after = page.last().map(|r| r.id.clone());
            for row in page {
                if rows.len() == size as usize {
                    break;
                }
                if row
                    .subscription
                    .as_deref()
                    .is_some_and(|s| mine.contains(s))
                {
                    rows.push(row);
                }
            }
            if rows.len() == size as usize || !full {
                break;
            }
        }
        let next = (rows.len() == size as usize)
            .then(|| rows.last().map(|r| r.id.clone()))
            .flatten();
        (rows, next)
    };
    let records = rows
        .into_iter()
        .map(|r| Record {
            id: (!r.synthetic).then(|| r.id.clone()),
            subscription_id: r.subscription.unwrap_or_default(),
            meter_id: r.meter.unwrap_or_default(),
            sku: r.sku,
            resource_id: r.resource,
            start: r.start.unwrap_or_default(),
            end: r.end.unwrap_or_default(),
            quantity: r.quantity.map_or(Value::Null, |q| json!(q)),
        })
        .collect();
    Ok(ok(UsagePage { records, next }))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Usage";
    vec![
        Op::new(
            Method::POST,
            "/api/v1/usage",
            t,
            "Ingest a batch of usage records (idempotent on id)",
            post(ingest),
        )
        .body(one::<IngestIn>())
        .data(one::<Ingested>()),
        Op::new(
            Method::GET,
            "/api/v1/usage",
            t,
            "Query stored usage of a period",
            get(list_usage),
        )
        .queries(vec![
            query_required("period", "Billing period, YYYY-MM (UTC month)."),
            query("subscriptionId", "Only this subscription."),
            query("after", "The `next` value of the previous page."),
            query_int("pageSize", "Records per page, 1–10000 (default 1000)."),
        ])
        .data(one::<UsagePage>()),
    ]
}

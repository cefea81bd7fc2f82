//! Subscriptions on the stamp: a StackBill subscription created with `provisionOnStamp`
//! is created on its region's Azure Stack Hub (`Microsoft.Subscriptions.Admin`, from its
//! plan's offer, owned by the tenant's initial owner in its Entra tenant); cancelling
//! disables it there, reactivating enables it, deleting deletes it. The stamp is changed
//! first and StackBill after, and a StackBill write that fails afterwards is undone on the
//! stamp, so neither side is left half-applied.

use axum::http::StatusCode;
use serde_json::Value;
use stackbill_collector::provision::{self, StampSubscription, is_guid};
use stackbill_collector::{Arm, CollectError, RegionConfig, RetryPolicy, Stats, resolve_secret};
use stackbill_store::{RegionRow, SubscriptionRow};

use super::AppState;
use super::collection::RegionCollection;
use super::wire::{ApiError, ApiResult};

/// Runs `work` on its own task and waits for it: if the request is dropped (the client
/// went away), the work still finishes, so a stamp change is never left without its
/// StackBill write or its undo.
pub(crate) async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = ApiResult<T>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(work)
        .await
        .map_err(|e| ApiError::internal(format!("a detached task failed: {e}")))?
}

async fn region_of(state: &AppState, row: &SubscriptionRow) -> ApiResult<RegionRow> {
    state
        .store()
        .regions()
        .await?
        .into_iter()
        .find(|r| r.id.eq_ignore_ascii_case(&row.region))
        .ok_or_else(|| ApiError::field("regionId", format!("no region {:?}", row.region)))
}

fn arm(region: &RegionRow) -> Result<Arm, CollectError> {
    let config = RegionConfig::from_row(region)?;
    let secret = resolve_secret(&config.credential_ref)?;
    // A person waits on these calls: a few quick retries, not a collection's patience.
    Arm::new(
        config,
        secret,
        RetryPolicy {
            attempts: 3,
            base: std::time::Duration::from_millis(300),
            max: std::time::Duration::from_secs(3),
        },
    )
}

fn stamp_error(region: &str, e: CollectError) -> ApiError {
    match e {
        CollectError::Config { field, message } => ApiError::field(
            "provisionOnStamp",
            format!("region {region}: setting {field}: {message}"),
        ),
        e => ApiError::Status(
            StatusCode::BAD_GATEWAY,
            "region_failed",
            format!("region {region}: {e}"),
        ),
    }
}

/// The region's stamp client, when the region is collected from (and so has a stamp to
/// talk to); `None` for a region without collection settings.
async fn stamp(state: &AppState, row: &SubscriptionRow) -> ApiResult<Option<(RegionRow, Arm)>> {
    if !is_guid(&row.id) {
        // Only GUID subscriptions can exist on a stamp.
        return Ok(None);
    }
    let region = region_of(state, row).await?;
    if RegionCollection::of(&region).is_none() {
        return Ok(None);
    }
    let arm = arm(&region).map_err(|e| stamp_error(&region.id, e))?;
    Ok(Some((region, arm)))
}

/// What the stamp should hold for `row`, checked before anything is sent.
async fn desired(state: &AppState, row: &SubscriptionRow) -> ApiResult<StampSubscription> {
    let plan = match &row.plan {
        Some(p) => state
            .store()
            .plans()
            .await?
            .into_iter()
            .find(|x| x.id == *p),
        None => None,
    };
    let offer = plan.and_then(|p| p.offer).ok_or_else(|| {
        ApiError::field(
            "planId",
            "provisioning on the stamp needs a plan with an offerId",
        )
    })?;
    let tenant = state
        .store()
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.id == row.tenant)
        .ok_or_else(|| ApiError::field("tenantId", format!("no tenant {:?}", row.tenant)))?;
    let text = |k: &str| {
        tenant
            .details
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let owner = text("initialOwner").ok_or_else(|| {
        ApiError::field(
            "tenantId",
            "provisioning on the stamp needs the tenant's initialOwner",
        )
    })?;
    Ok(StampSubscription {
        subscription_id: row.id.clone(),
        display_name: Some(row.name.clone()),
        owner: Some(owner),
        tenant_id: text("entraTenantId"),
        offer_id: Some(offer),
        external_reference_id: Some(provision::STACKBILL_REFERENCE.to_owned()),
        other: serde_json::Map::new(),
        state: Some(
            if row.status == "cancelled" {
                "Disabled"
            } else {
                "Enabled"
            }
            .to_owned(),
        ),
    })
}

/// Creates `row` on its region's stamp. Refused (400) when the region has no collection
/// settings, the plan no offer or the tenant no initial owner; 502 when the stamp
/// refuses. Returns what to undo if the StackBill write that follows fails.
pub(crate) async fn create(state: &AppState, row: &SubscriptionRow) -> ApiResult<Undo> {
    if !is_guid(&row.id) {
        return Err(ApiError::field(
            "id",
            "a subscription provisioned on a stamp needs a GUID id",
        ));
    }
    let want = desired(state, row).await?;
    let Some((region, arm)) = stamp(state, row).await? else {
        return Err(ApiError::field(
            "provisionOnStamp",
            format!(
                "region {} has no collection settings, so StackBill cannot reach its stamp",
                row.region
            ),
        ));
    };
    let stats = Stats::default();
    // A PUT would take over a subscription the stamp already has: refuse instead.
    if provision::get_subscription(&arm, &row.id, &stats)
        .await
        .map_err(|e| stamp_error(&region.id, e))?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "subscription {} already exists on region {}'s stamp: add it without \
             provisionOnStamp to bill it",
            row.id, region.id
        )));
    }
    provision::put_subscription(&arm, &want, &stats)
        .await
        .map_err(|e| stamp_error(&region.id, e))?;
    Ok(Undo::Delete(arm, row.id.clone()))
}

/// Follows a status change on the stamp: `cancelled` disables the stamp's subscription,
/// `active`/`suspended` from `cancelled` enables it. Subscriptions the stamp does not
/// have, and regions without collection settings, are left alone.
pub(crate) async fn update(
    state: &AppState,
    before: &SubscriptionRow,
    after: &SubscriptionRow,
) -> ApiResult<Undo> {
    let was = before.status == "cancelled";
    let is = after.status == "cancelled";
    if was == is {
        return Ok(Undo::Nothing);
    }
    let Some((region, arm)) = stamp(state, after).await? else {
        return Ok(Undo::Nothing);
    };
    let stats = Stats::default();
    let Some(mut on_stamp) = provision::get_subscription(&arm, &after.id, &stats)
        .await
        .map_err(|e| stamp_error(&region.id, e))?
        .filter(StampSubscription::is_stackbills)
    else {
        // Not on the stamp, or not created by StackBill: the stamp's own to manage.
        return Ok(Undo::Nothing);
    };
    let previous = on_stamp.clone();
    on_stamp.state = Some(if is { "Disabled" } else { "Enabled" }.to_owned());
    provision::put_subscription(&arm, &on_stamp, &stats)
        .await
        .map_err(|e| stamp_error(&region.id, e))?;
    Ok(Undo::Put(arm, Box::new(previous)))
}

/// Deletes `row` on the stamp after StackBill deleted it; when the stamp refuses, the
/// caller puts the StackBill row back.
pub(crate) async fn delete(state: &AppState, row: &SubscriptionRow) -> ApiResult<()> {
    let Some((region, arm)) = stamp(state, row).await? else {
        return Ok(());
    };
    let stats = Stats::default();
    let ours = provision::get_subscription(&arm, &row.id, &stats)
        .await
        .map_err(|e| stamp_error(&region.id, e))?
        .is_some_and(|s| s.is_stackbills());
    if !ours {
        return Ok(());
    }
    provision::delete_subscription(&arm, &row.id, &stats)
        .await
        .map_err(|e| stamp_error(&region.id, e))
}

/// How to take back a change made on the stamp when StackBill's own write fails.
pub(crate) enum Undo {
    /// Nothing was changed.
    Nothing,
    /// Delete the subscription created.
    Delete(Arm, String),
    /// Put the subscription back as it was.
    Put(Arm, Box<StampSubscription>),
}

impl Undo {
    /// Undoes, best effort: the original error is what the caller reports.
    pub(crate) async fn run(self) {
        let stats = Stats::default();
        match self {
            Undo::Nothing => {}
            Undo::Delete(arm, id) => {
                provision::delete_subscription(&arm, &id, &stats).await.ok();
            }
            Undo::Put(arm, s) => {
                provision::put_subscription(&arm, &s, &stats).await.ok();
            }
        }
    }
}

//! Subscriptions (manual: Subscription Management): the unit of consumption, tied to a
//! tenant, a region and optionally a plan; cancelling one stops its billing at `endsOn`.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use stackbill_core::rbac::Level;
use stackbill_store::{NodeKind, SubscriptionRow};
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, CreateChild, DeleteNode, NodeKindIndex, ReadNode, UpdateNode};
use super::fields::valid_name;
use super::hierarchy::{ListQuery, blocked_instead, choose_id, list_queries, parent};
use super::ops::{Op, many, one};
use super::wire::{self, ApiError, ApiResult, Body, Params, created, ok};

/// A subscription as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SubscriptionIn {
    /// The Azure Stack subscription id (generated when absent).
    #[serde(default)]
    id: Option<String>,
    /// The owning tenant.
    tenant_id: String,
    /// The region (stamp) it runs in.
    region_id: String,
    /// Display name.
    name: String,
    /// Linked plan.
    #[serde(default)]
    plan_id: Option<String>,
    /// `active` (default), `suspended` or `cancelled`. A suspended subscription is still
    /// billed (its resources still exist on the stamp); a cancelled one is billed up to
    /// `endsOn`.
    #[serde(default)]
    status: Option<String>,
    /// `YYYY-MM-DD`, the first day not billed: usage from local midnight of that day (the
    /// tenant's zone) on is reported unbilled as `inactive_subscription`. Defaults to
    /// today (UTC) when a subscription is cancelled without one; cleared when it becomes
    /// active or suspended again without one.
    #[serde(default)]
    #[schema(format = Date)]
    ends_on: Option<String>,
    /// On create: also create it on the region's stamp (`Microsoft.Subscriptions.Admin`),
    /// from the plan's `offerId`, owned by the tenant's `initialOwner` in its
    /// `entraTenantId`. Needs a region with collection settings and a GUID id.
    #[serde(default)]
    provision_on_stamp: bool,
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subscription {
    id: String,
    tenant_id: String,
    region_id: String,
    name: String,
    plan_id: Option<String>,
    status: String,
    /// The first day not billed, when cancelled.
    #[schema(format = Date)]
    ends_on: Option<String>,
}

impl From<&SubscriptionRow> for Subscription {
    fn from(r: &SubscriptionRow) -> Self {
        Subscription {
            id: r.id.clone(),
            tenant_id: r.tenant.clone(),
            region_id: r.region.clone(),
            name: r.name.clone(),
            plan_id: r.plan.clone(),
            status: r.status.clone(),
            ends_on: r.ends_on.clone(),
        }
    }
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Relationships";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/subscriptions",
            t,
            "List subscriptions",
            get(list_subscriptions),
        )
        .queries(list_queries())
        .data(many::<Subscription>()),
        Op::new(
            Method::POST,
            "/api/v1/subscriptions",
            t,
            "Create a subscription",
            axum::routing::post(create_subscription),
        )
        .body(one::<SubscriptionIn>())
        .data(one::<Subscription>())
        .reaches_region(),
        Op::new(
            Method::GET,
            "/api/v1/subscriptions/{id}",
            t,
            "View a subscription",
            get(get_subscription),
        )
        .data(one::<Subscription>()),
        Op::new(
            Method::PUT,
            "/api/v1/subscriptions/{id}",
            t,
            "Edit a subscription",
            axum::routing::put(update_subscription),
        )
        .body(one::<SubscriptionIn>())
        .data(one::<Subscription>())
        .reaches_region(),
        Op::new(
            Method::DELETE,
            "/api/v1/subscriptions/{id}",
            t,
            "Delete a subscription",
            axum::routing::delete(delete_subscription),
        )
        .reaches_region(),
    ]
}

type Reply<T> = ApiResult<wire::Ok<T>>;

async fn list_subscriptions(
    auth: Allowed<ReadNode>,
    Params(q): Params<ListQuery>,
) -> Reply<Vec<Subscription>> {
    let mut rows = auth.visible(auth.directory().subscription_entries());
    if !q.include_closed() {
        rows.retain(|s| s.status != "cancelled");
    }
    let page = q.paging().apply(rows)?;
    Ok(ok(page.into_iter().map(Subscription::from).collect()))
}

/// A subscription the caller may do `P` on.
pub(crate) fn find_subscription<'a, P: super::access::Permission>(
    auth: &'a Allowed<P>,
    id: &str,
) -> ApiResult<&'a SubscriptionRow> {
    let dir = auth.directory();
    auth.found("subscription", id, dir.subscription(id), |r| {
        dir.subscription_path(r)
    })
}

async fn get_subscription(auth: Allowed<ReadNode>, Path(id): Path<String>) -> Reply<Subscription> {
    Ok(ok(Subscription::from(find_subscription(&auth, &id)?)))
}

async fn subscription_fields(
    state: &AppState,
    body: SubscriptionIn,
    base: SubscriptionRow,
) -> ApiResult<SubscriptionRow> {
    let status = body
        .status
        .unwrap_or_else(|| "active".into())
        .to_lowercase();
    if !matches!(status.as_str(), "active" | "suspended" | "cancelled") {
        return Err(ApiError::field(
            "status",
            "must be active, suspended or cancelled",
        ));
    }
    let ends_on = match body.ends_on {
        Some(text) => Some(wire::date("endsOn", &text)?.format("%Y-%m-%d").to_string()),
        None if status == "cancelled" => base.ends_on.clone().or_else(|| {
            Some(
                chrono::Utc::now()
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string(),
            )
        }),
        None => None,
    };
    if status != "cancelled" {
        // Billing stops at a closed tenant's closing day whatever its subscriptions say;
        // refusing here keeps what the API shows equal to what is billed.
        let tenants = state.store().tenants().await?;
        let closed = tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(&base.tenant))
            .and_then(|t| t.closed_on.as_deref());
        if let Some(day) = closed {
            return Err(ApiError::Conflict(format!(
                "tenant {:?} is closed from {day}: reopen it first \
                 (POST /api/v1/tenants/{}/reopen)",
                base.tenant, base.tenant
            )));
        }
    }
    let regions = state.store().regions().await?;
    let region = regions
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(&body.region_id))
        .ok_or_else(|| ApiError::field("regionId", format!("no region {:?}", body.region_id)))?;
    let plan = match body.plan_id {
        None => None,
        Some(p) => Some(
            state
                .store()
                .plans()
                .await?
                .into_iter()
                .find(|x| x.id.eq_ignore_ascii_case(&p))
                .map(|x| x.id)
                .ok_or_else(|| ApiError::field("planId", format!("no plan {p:?}")))?,
        ),
    };
    Ok(SubscriptionRow {
        region: region.id.clone(),
        name: valid_name("name", &body.name)?,
        plan,
        status,
        ends_on,
        ..base
    })
}

async fn create_subscription(
    State(state): State<AppState>,
    auth: Allowed<CreateChild>,
    Body(body): Body<SubscriptionIn>,
) -> Reply<Subscription> {
    let parent_path = parent(&auth, Level::Tenant, "tenantId", &body.tenant_id)?;
    // Azure subscription ids are GUIDs; the lower-case form is canonical.
    let id = body.id.as_deref().map(str::to_lowercase);
    let base = SubscriptionRow {
        id: choose_id(auth.directory(), NodeKindIndex::Subscription, id)?,
        tenant: parent_path
            .tenant
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default(),
        region: String::new(),
        name: String::new(),
        plan: None,
        status: String::new(),
        ends_on: None,
    };
    let provision = body.provision_on_stamp;
    let row = subscription_fields(&state, body, base).await?;
    {
        // Detached: a client that goes away mid-way cannot leave the stamp and StackBill
        // disagreeing.
        let (state, row) = (state.clone(), row.clone());
        super::provisioning::detached(async move {
            let undo = if provision {
                super::provisioning::create(&state, &row).await?
            } else {
                super::provisioning::Undo::Nothing
            };
            if let Err(e) = state.store().put_subscription(&row).await {
                undo.run().await;
                return Err(e.into());
            }
            Ok(())
        })
        .await?;
    }
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "subscription.create",
            &row.id,
            None,
            Some(&Subscription::from(&row)),
        )
        .await?;
    Ok(created(Subscription::from(&row)))
}

async fn update_subscription(
    State(state): State<AppState>,
    auth: Allowed<UpdateNode>,
    Path(id): Path<String>,
    Body(body): Body<SubscriptionIn>,
) -> Reply<Subscription> {
    let before = find_subscription(&auth, &id)?.clone();
    if !body.tenant_id.eq_ignore_ascii_case(&before.tenant) {
        return Err(ApiError::field(
            "tenantId",
            "a subscription cannot move to another tenant",
        ));
    }
    let row = subscription_fields(&state, body, before.clone()).await?;
    {
        let (state, before, row) = (state.clone(), before.clone(), row.clone());
        super::provisioning::detached(async move {
            let undo = super::provisioning::update(&state, &before, &row).await?;
            if let Err(e) = state.store().put_subscription(&row).await {
                undo.run().await;
                return Err(e.into());
            }
            Ok(())
        })
        .await?;
    }
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "subscription.update",
            &row.id,
            Some(&Subscription::from(&before)),
            Some(&Subscription::from(&row)),
        )
        .await?;
    Ok(ok(Subscription::from(&row)))
}

async fn delete_subscription(
    State(state): State<AppState>,
    auth: Allowed<DeleteNode>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_subscription(&auth, &id)?.clone();
    state
        .store()
        .delete(NodeKind::Subscription, &row.id)
        .await
        .map_err(|e| {
            blocked_instead(e, || {
                format!(
                    "cancel it instead (PUT /api/v1/subscriptions/{} with status cancelled \
                     and endsOn)",
                    row.id
                )
            })
        })?;
    {
        let (state, row) = (state.clone(), row.clone());
        super::provisioning::detached(async move {
            if let Err(e) = super::provisioning::delete(&state, &row).await {
                // The stamp still has it: StackBill keeps it too.
                state.store().put_subscription(&row).await?;
                state.refresh().await?;
                return Err(e);
            }
            Ok(())
        })
        .await?;
    }
    state.refresh().await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "subscription.delete",
            &row.id,
            Some(&Subscription::from(&row)),
            None::<&Subscription>,
        )
        .await?;
    Ok(ok(()))
}

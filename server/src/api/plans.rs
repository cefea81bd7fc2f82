//! Plans: what a subscription is sold as, with its quotas (names and limits, as the
//! stamp's offer sets them) and, optionally, when its subscriptions are warned that they
//! approach them (manual: Operations → Monitoring & Alerts, Threshold Alerts).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackbill_store::{PlanRow, QuotaAlerts};
use utoipa::ToSchema;

use super::AppState;
use super::access::{ManagePlans, Platform, ReadPlans};
use super::fields::{valid_id, valid_name};
use super::ops::{Op, many, one};
use super::wire::{self, ApiError, ApiResult, Body, created, ok};

type Reply<T> = ApiResult<wire::Ok<T>>;

/// A plan as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PlanIn {
    #[serde(default)]
    id: Option<String>,
    name: String,
    /// Quota name → limit (whole numbers ≥ 0), e.g. `{"cores": 64}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    quotas: Option<Value>,
    /// The Azure Stack Hub offer subscriptions of this plan are created from when they
    /// are provisioned on a stamp (`/delegatedProviders/default/offers/NAME`).
    #[serde(default)]
    offer_id: Option<String>,
    /// When its subscriptions are warned that they approach a quota; none: never.
    #[serde(default)]
    quota_alerts: Option<QuotaAlertsIo>,
}

/// A plan's quota alerts: a subscription's use of a quota is the meter's quantity over
/// the last whole UTC day divided by 24 (the average in use, for meters reported in
/// unit-hours such as virtual core hours); at `percent` of the quota an alert
/// `quota.threshold` is raised for the subscription and quota, and cleared when use
/// falls back under it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct QuotaAlertsIo {
    /// Percent of a quota at which to warn, 1–100.
    #[schema(minimum = 1, maximum = 100)]
    percent: i64,
    /// Quota name (one of the plan's quotas) → id of the meter that measures it.
    meters: BTreeMap<String, String>,
}

/// A plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Plan {
    id: String,
    name: String,
    #[schema(value_type = Object)]
    quotas: Value,
    offer_id: Option<String>,
    quota_alerts: Option<QuotaAlertsIo>,
}

/// Checks quota alerts against the plan's quotas and the catalogue's meters.
fn quota_alerts(
    io: Option<QuotaAlertsIo>,
    quotas: &Value,
    meters: &[String],
) -> ApiResult<Option<QuotaAlerts>> {
    let Some(io) = io else { return Ok(None) };
    let percent = u8::try_from(io.percent)
        .ok()
        .filter(|p| (1..=100).contains(p))
        .ok_or_else(|| ApiError::field("quotaAlerts.percent", "must be from 1 to 100"))?;
    if io.meters.is_empty() {
        return Err(ApiError::field(
            "quotaAlerts.meters",
            "name at least one quota and the meter that measures it",
        ));
    }
    let mut out = BTreeMap::new();
    for (quota, meter) in io.meters {
        let field = format!("quotaAlerts.meters.{quota}");
        if quotas.get(&quota).is_none() {
            return Err(ApiError::field(field, "is not one of the plan's quotas"));
        }
        let Some(known) = meters.iter().find(|m| m.eq_ignore_ascii_case(meter.trim())) else {
            return Err(ApiError::field(
                field,
                format!("no meter {meter:?} in the catalogue"),
            ));
        };
        out.insert(quota, known.clone());
    }
    Ok(Some(QuotaAlerts {
        percent,
        meters: out,
    }))
}

fn plan_row(id: String, body: PlanIn, meters: &[String]) -> ApiResult<PlanRow> {
    let quotas = match body.quotas {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(map)) => {
            for (k, v) in &map {
                if k.is_empty() || k.len() > 100 {
                    return Err(ApiError::field(
                        "quotas",
                        "quota names must be 1–100 characters",
                    ));
                }
                if v.as_u64().is_none_or(|n| n > 1_000_000_000) {
                    return Err(ApiError::field(
                        format!("quotas.{k}"),
                        "must be a whole number from 0 to 1000000000",
                    ));
                }
            }
            Value::Object(map)
        }
        Some(_) => return Err(ApiError::field("quotas", "must be an object")),
    };
    let offer = match body.offer_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) if o.starts_with('/') && o.len() <= 500 && !o.contains(['?', '#', ' ']) => {
            Some(o.to_owned())
        }
        Some(_) => {
            return Err(ApiError::field(
                "offerId",
                "must be an Azure Stack offer id such as /delegatedProviders/default/offers/basic",
            ));
        }
    };
    Ok(PlanRow {
        id,
        name: valid_name("name", &body.name)?,
        quota_alerts: quota_alerts(body.quota_alerts, &quotas, meters)?,
        quotas,
        offer,
    })
}

fn plan_out(r: &PlanRow) -> Plan {
    Plan {
        id: r.id.clone(),
        name: r.name.clone(),
        quotas: r.quotas.clone(),
        offer_id: r.offer.clone(),
        quota_alerts: r.quota_alerts.as_ref().map(|q| QuotaAlertsIo {
            percent: i64::from(q.percent),
            meters: q.meters.clone(),
        }),
    }
}

async fn meter_ids(state: &AppState) -> ApiResult<Vec<String>> {
    Ok(state
        .store()
        .meters()
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}

async fn list_plans(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPlans>,
) -> Reply<Vec<Plan>> {
    Ok(ok(state
        .store()
        .plans()
        .await?
        .iter()
        .map(plan_out)
        .collect()))
}

async fn create_plan(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePlans>,
    Body(body): Body<PlanIn>,
) -> Reply<Plan> {
    let plans = state.store().plans().await?;
    let id = match body.id.clone() {
        Some(id) => {
            valid_id("id", &id)?;
            if plans.iter().any(|p| p.id.eq_ignore_ascii_case(&id)) {
                return Err(ApiError::Conflict(format!("plan {id:?} already exists")));
            }
            id
        }
        None => super::fields::new_id(),
    };
    let row = plan_row(id, body, &meter_ids(&state).await?)?;
    state.store().put_plan(&row).await?;
    let out = plan_out(&row);
    state
        .audit_change(
            &auth.caller.actor(),
            "plan.create",
            &row.id,
            None,
            Some(&out),
        )
        .await?;
    Ok(created(out))
}

/// One plan, found whatever the case of its id.
async fn get_plan(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPlans>,
    Path(id): Path<String>,
) -> Reply<Plan> {
    let plans = state.store().plans().await?;
    plans
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(id.trim()))
        .map(|p| ok(plan_out(p)))
        .ok_or_else(|| ApiError::NotFound(format!("no plan {id:?}")))
}

async fn update_plan(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePlans>,
    Path(id): Path<String>,
    Body(body): Body<PlanIn>,
) -> Reply<Plan> {
    let before = state
        .store()
        .plans()
        .await?
        .into_iter()
        .find(|p| p.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ApiError::NotFound(format!("no plan {id:?}")))?;
    let row = plan_row(before.id.clone(), body, &meter_ids(&state).await?)?;
    state.store().put_plan(&row).await?;
    let out = plan_out(&row);
    state
        .audit(
            &auth.caller.actor(),
            "plan.update",
            &row.id,
            serde_json::to_value(plan_out(&before)).ok(),
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
            "/api/v1/plans",
            t,
            "List plans",
            get(list_plans),
        )
        .data(many::<Plan>()),
        Op::new(
            Method::POST,
            "/api/v1/plans",
            t,
            "Create a plan",
            post(create_plan),
        )
        .body(one::<PlanIn>())
        .data(one::<Plan>()),
        Op::new(
            Method::GET,
            "/api/v1/plans/{id}",
            t,
            "View a plan",
            get(get_plan),
        )
        .data(one::<Plan>()),
        Op::new(
            Method::PUT,
            "/api/v1/plans/{id}",
            t,
            "Edit a plan",
            put(update_plan),
        )
        .body(one::<PlanIn>())
        .data(one::<Plan>()),
    ]
}

//! FX rates, administered: the published rates billing converts with (list, add,
//! withdraw), platform roles only. A month whose rate is missing is fixed by adding it
//! here and billing again.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use stackbill_core::fx::FxRate;
use stackbill_store::FxRateRow;
use utoipa::ToSchema;

use super::AppState;
use super::access::{ManagePricing, Platform, ReadPricing};
use super::contract::camel;
use super::ops::{Op, many, one};
use super::wire::{self, ApiError, ApiResult, Body, created, ok};

type Reply<T> = ApiResult<wire::Ok<T>>;

/// A published FX rate: one unit of `from` is `rate` units of `to` from `asOf` on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Fx {
    /// ISO 4217 code converted from.
    from: String,
    /// ISO 4217 code converted to.
    to: String,
    /// Exact decimal > 0 (a string, or a JSON number read as written).
    #[schema(value_type = String)]
    rate: serde_json::Value,
    /// First day in force, `YYYY-MM-DD`.
    #[schema(format = Date)]
    as_of: String,
}

impl From<&FxRateRow> for Fx {
    fn from(r: &FxRateRow) -> Self {
        Fx {
            from: r.from.clone(),
            to: r.to.clone(),
            rate: serde_json::Value::String(r.rate.clone()),
            as_of: r.as_of.clone(),
        }
    }
}

async fn list_fx(
    State(state): State<AppState>,
    Platform(_auth): Platform<ReadPricing>,
) -> Reply<Vec<Fx>> {
    let rates = state.store().fx_rates().await?;
    Ok(ok(rates.iter().map(Fx::from).collect()))
}

/// The rate's exact text: a JSON string as given, a JSON number as written.
fn rate_text(rate: &serde_json::Value) -> ApiResult<String> {
    match rate {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(ApiError::field(
            "rate",
            "must be a decimal string or number",
        )),
    }
}

async fn add_fx(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Body(body): Body<Fx>,
) -> Reply<Fx> {
    let rate = rate_text(&body.rate)?;
    let parsed = FxRate::parse(&body.from, &body.to, &rate, &body.as_of).map_err(|invalid| {
        ApiError::InvalidFields(
            invalid
                .problems
                .into_iter()
                .map(|p| (camel(&p.path), p.message))
                .collect(),
        )
    })?;
    let row = FxRateRow {
        from: parsed.from.code().to_owned(),
        to: parsed.to.code().to_owned(),
        rate,
        as_of: body.as_of.clone(),
    };
    let taken = state
        .store()
        .fx_rates()
        .await?
        .iter()
        .any(|r| r.from == row.from && r.to == row.to && r.as_of == row.as_of);
    if taken {
        return Err(ApiError::Conflict(format!(
            "a rate from {} to {} as of {} exists; delete it first",
            row.from, row.to, row.as_of
        )));
    }
    state.store().add_fx_rate(&row).await?;
    let out = Fx::from(&row);
    let target = format!("{}/{}/{}", row.from, row.to, row.as_of);
    state
        .audit_change(&auth.caller.actor(), "fx.create", &target, None, Some(&out))
        .await?;
    Ok(created(out))
}

async fn delete_fx(
    State(state): State<AppState>,
    Platform(auth): Platform<ManagePricing>,
    Path((from, to, as_of)): Path<(String, String, String)>,
) -> Reply<()> {
    let (from, to) = (from.to_ascii_uppercase(), to.to_ascii_uppercase());
    let before: Vec<Fx> = state
        .store()
        .fx_rates()
        .await?
        .iter()
        .filter(|r| r.from == from && r.to == to && r.as_of == as_of)
        .map(Fx::from)
        .collect();
    state.store().delete_fx_rate(&from, &to, &as_of).await?;
    state
        .audit_change(
            &auth.caller.actor(),
            "fx.delete",
            &format!("{from}/{to}/{as_of}"),
            Some(&before),
            None,
        )
        .await?;
    Ok(ok(()))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Pricing";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/fx-rates",
            t,
            "List FX rates",
            get(list_fx),
        )
        .data(many::<Fx>()),
        Op::new(
            Method::POST,
            "/api/v1/fx-rates",
            t,
            "Create (publish) an FX rate",
            axum::routing::post(add_fx),
        )
        .body(one::<Fx>())
        .data(one::<Fx>()),
        Op::new(
            Method::DELETE,
            "/api/v1/fx-rates/{from}/{to}/{asOf}",
            t,
            "Withdraw the FX rate of a currency pair as of a date",
            delete(delete_fx),
        ),
    ]
}

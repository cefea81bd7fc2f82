//! Commissions: rates for distributors and partners, summaries generated and viewed by
//! month or year (each with the bands of its plan that produced it), and exports. A
//! platform run covers every party; a distributor's or partner's administrator runs
//! their own branch. The arithmetic (bands, year roll-ups) is the core's.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post, put};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::AppState;
use super::access::{
    Allowed, GenerateCommissions, ManageCommissionRates, Platform, ReadCommissions,
};
use super::billing::{parse_period, period_text};
use super::ops::{Op, many, one, query};
use super::wire::{self, ApiError, ApiResult, Body, Params, ok};

type Reply<T> = ApiResult<wire::Ok<T>>;

/// A distributor's commission rates: its own plan, and the plan its partners inherit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DistributorRates {
    /// `{mode: graduated|volume, bands: [{from, to, percent}]}` or null.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    commission: Option<Value>,
    /// The plan partners without their own inherit.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    partner_commission: Option<Value>,
}

/// A partner's commission rates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PartnerRatesIn {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    commission: Option<Value>,
}

/// A partner's commission rates and what applies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartnerRates {
    #[schema(value_type = Option<Object>)]
    commission: Option<Value>,
    /// The distributor's partner plan, applied when the partner has none.
    #[schema(value_type = Option<Object>)]
    inherited: Option<Value>,
}

fn plan(v: Option<Value>) -> Option<Value> {
    v.filter(|v| !v.is_null())
}

async fn get_distributor_rates(
    auth: Allowed<ReadCommissions>,
    Path(id): Path<String>,
) -> Reply<DistributorRates> {
    let dir = auth.directory();
    let row = auth.found("distributor", &id, dir.distributor(&id), |r| {
        Some(dir.distributor_path(r))
    })?;
    Ok(ok(DistributorRates {
        commission: row.commission.clone(),
        partner_commission: row.partner_commission.clone(),
    }))
}

async fn put_distributor_rates(
    State(state): State<AppState>,
    auth: Allowed<ManageCommissionRates>,
    Path(id): Path<String>,
    Body(body): Body<DistributorRates>,
) -> Reply<DistributorRates> {
    let dir = auth.directory();
    let before = auth
        .found("distributor", &id, dir.distributor(&id), |r| {
            Some(dir.distributor_path(r))
        })?
        .clone();
    let (commission, partner_commission) = (plan(body.commission), plan(body.partner_commission));
    let mut doc = super::contract::skeleton("2026-01", "USD");
    doc["distributors"] = json!([{"id": before.id, "commission": commission,
                                  "partner_commission": partner_commission}]);
    super::contract::check(&doc, "distributors[0].")?;
    let row = stackbill_store::DistributorRow {
        commission: commission.clone(),
        partner_commission: partner_commission.clone(),
        ..before.clone()
    };
    state.store().put_distributor(&row).await?;
    state.refresh().await?;
    state
        .audit(
            &auth.caller.actor(),
            "commission.rates",
            &format!("distributor:{}", row.id),
            Some(json!({"commission": before.commission, "partnerCommission": before.partner_commission})),
            Some(json!({"commission": commission, "partnerCommission": partner_commission})),
        )
        .await?;
    Ok(ok(DistributorRates {
        commission,
        partner_commission,
    }))
}

async fn get_partner_rates(
    auth: Allowed<ReadCommissions>,
    Path(id): Path<String>,
) -> Reply<PartnerRates> {
    let dir = auth.directory();
    let row = auth.found("partner", &id, dir.partner(&id), |r| {
        Some(dir.partner_path(r))
    })?;
    Ok(ok(PartnerRates {
        commission: row.commission.clone(),
        inherited: dir
            .distributor(&row.distributor)
            .and_then(|d| d.partner_commission.clone()),
    }))
}

async fn put_partner_rates(
    State(state): State<AppState>,
    auth: Allowed<ManageCommissionRates>,
    Path(id): Path<String>,
    Body(body): Body<PartnerRatesIn>,
) -> Reply<PartnerRates> {
    let dir = auth.directory();
    let before = auth
        .found("partner", &id, dir.partner(&id), |r| {
            Some(dir.partner_path(r))
        })?
        .clone();
    let commission = plan(body.commission);
    let mut doc = super::contract::skeleton("2026-01", "USD");
    doc["distributors"] = json!([{"id": before.distributor}]);
    doc["partners"] = json!([{"id": before.id, "distributor": before.distributor,
                              "commission": commission}]);
    super::contract::check(&doc, "partners[0].")?;
    let row = stackbill_store::PartnerRow {
        commission: commission.clone(),
        ..before.clone()
    };
    state.store().put_partner(&row).await?;
    let snapshot = state.refresh().await?;
    state
        .audit(
            &auth.caller.actor(),
            "commission.rates",
            &format!("partner:{}", row.id),
            Some(json!({"commission": before.commission})),
            Some(json!({"commission": commission})),
        )
        .await?;
    Ok(ok(PartnerRates {
        commission,
        inherited: snapshot
            .directory
            .distributor(&row.distributor)
            .and_then(|d| d.partner_commission.clone()),
    }))
}

/// A commission summary: one party, one period (or a year).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Commission {
    /// `YYYY-MM`, or `YYYY` for a year's summary.
    period: String,
    /// `distributor` or `partner`.
    party_kind: String,
    party_id: String,
    currency: String,
    /// The consumption the commission is computed on.
    base: String,
    amount: String,
    /// `own`, `inherited` or `none` (for a year: the last month's).
    plan: Option<String>,
    /// Months summed (1 for a month).
    months: u32,
}

/// `period=YYYY-MM` or `year=YYYY`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CommissionQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    year: Option<String>,
    /// Export format (`csv`); only for the export endpoint.
    #[serde(default)]
    format: Option<String>,
}

fn months(q: &CommissionQuery) -> ApiResult<(String, Vec<String>)> {
    match (&q.period, &q.year) {
        (Some(p), None) => {
            let p = period_text(parse_period("period", p)?);
            Ok((p.clone(), vec![p]))
        }
        (None, Some(y)) => {
            let year: i32 = y
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|y| (1970..=9999).contains(y))
                .ok_or_else(|| ApiError::field("year", format!("{y:?} is not a year YYYY")))?;
            Ok((
                year.to_string(),
                (1..=12).map(|m| format!("{year:04}-{m:02}")).collect(),
            ))
        }
        _ => Err(ApiError::field(
            "period",
            "give either period (YYYY-MM) or year (YYYY)",
        )),
    }
}

/// The stored summaries of `periods` the caller may read, summed per party and currency.
async fn summaries<P: super::access::Permission>(
    state: &AppState,
    auth: &Allowed<P>,
    label: &str,
    periods: &[String],
) -> ApiResult<Vec<Commission>> {
    let dir = auth.directory();
    let mut out: BTreeMap<(u8, String, String), Commission> = BTreeMap::new();
    for period in periods {
        for row in state.store().commissions(period).await? {
            let path = match row.party_kind.as_str() {
                "distributor" => dir.distributor(&row.party).map(|d| dir.distributor_path(d)),
                _ => dir.partner(&row.party).map(|p| dir.partner_path(p)),
            };
            if !path.is_some_and(|p| auth.allows(&p)) {
                continue;
            }
            let text = |k: &str| row.document.get(k).and_then(Value::as_str).unwrap_or("0");
            let currency = text("currency").to_owned();
            let number = |k: &str| -> ApiResult<Decimal> {
                text(k)
                    .parse()
                    .map_err(|_| ApiError::internal(format!("commission {k} {:?}", text(k))))
            };
            let (base, amount) = (number("base")?, number("amount")?);
            let order = u8::from(row.party_kind != "distributor");
            let entry = out
                .entry((order, row.party.clone(), currency.clone()))
                .or_insert_with(|| Commission {
                    period: label.to_owned(),
                    party_kind: row.party_kind.clone(),
                    party_id: row.party.clone(),
                    currency,
                    base: "0".into(),
                    amount: "0".into(),
                    plan: None,
                    months: 0,
                });
            let sum = |a: &str, b: Decimal| -> ApiResult<String> {
                a.parse::<Decimal>()
                    .ok()
                    .and_then(|a| a.checked_add(b))
                    .map(|s| s.to_string())
                    .ok_or_else(|| ApiError::internal("commission sums overflow"))
            };
            entry.base = sum(&entry.base, base)?;
            entry.amount = sum(&entry.amount, amount)?;
            entry.plan = row
                .document
                .get("plan")
                .and_then(Value::as_str)
                .map(str::to_owned);
            entry.months += 1;
        }
    }
    Ok(out.into_values().collect())
}

async fn list_commissions(
    State(state): State<AppState>,
    auth: Allowed<ReadCommissions>,
    Params(q): Params<CommissionQuery>,
) -> Reply<Vec<Commission>> {
    if q.format.is_some() {
        return Err(ApiError::field(
            "format",
            "only the export endpoint takes a format",
        ));
    }
    let (label, periods) = months(&q)?;
    Ok(ok(summaries(&state, &auth, &label, &periods).await?))
}

/// An export file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Export {
    file_name: String,
    content_type: String,
    content: String,
}

async fn export_commissions(
    State(state): State<AppState>,
    auth: Allowed<ReadCommissions>,
    Params(q): Params<CommissionQuery>,
) -> Reply<Export> {
    match q.format.as_deref().map(str::to_lowercase).as_deref() {
        None | Some("csv") => {}
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("{other:?}: only csv is supported"),
            ));
        }
    }
    let (label, periods) = months(&q)?;
    let rows = summaries(&state, &auth, &label, &periods).await?;
    let mut csv = String::from("period,party_kind,party_id,currency,base,amount,plan,months\n");
    for r in rows {
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            field(&r.period),
            field(&r.party_kind),
            field(&r.party_id),
            field(&r.currency),
            r.base,
            r.amount,
            field(r.plan.as_deref().unwrap_or("")),
            r.months
        ));
    }
    Ok(ok(Export {
        file_name: format!("commissions-{label}.csv"),
        content_type: "text/csv".into(),
        content: csv,
    }))
}

/// What to generate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GenerateCommissionsIn {
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    period: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}$")]
    year: Option<String>,
}

/// Runs the period's (or each month's of a year) full billing run, which writes preview
/// invoices and the commission summaries, then returns the summaries.
async fn generate_commissions(
    State(state): State<AppState>,
    Platform(auth): Platform<GenerateCommissions>,
    Body(body): Body<GenerateCommissionsIn>,
) -> Reply<Vec<Commission>> {
    let q = CommissionQuery {
        period: body.period,
        year: body.year,
        format: None,
    };
    let (label, periods) = months(&q)?;
    let store = state.store();
    let job = store.start_job("commissions.generate").await?;
    for (i, period) in periods.iter().enumerate() {
        if let Err(e) = stackbill_store::billing::bill(store, period, None).await {
            store
                .update_job(
                    job,
                    "failed",
                    (i * 100 / periods.len()) as i64,
                    &format!("{period}: {e}"),
                )
                .await?;
            return Err(e.into());
        }
        store
            .update_job(
                job,
                "running",
                ((i + 1) * 100 / periods.len()) as i64,
                period,
            )
            .await?;
    }
    store.update_job(job, "succeeded", 100, &label).await?;
    state
        .audit(
            &auth.caller.actor(),
            "commission.generate",
            &label,
            None,
            Some(json!({"jobId": job})),
        )
        .await?;
    Ok(ok(summaries(&state, &auth, &label, &periods).await?))
}

pub(crate) fn ops() -> Vec<Op> {
    let c = "Commissions";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/commissions/rates/distributors/{id}",
            c,
            "View a distributor's commission rates",
            get(get_distributor_rates),
        )
        .data(one::<DistributorRates>()),
        Op::new(
            Method::PUT,
            "/api/v1/commissions/rates/distributors/{id}",
            c,
            "Set a distributor's commission rates",
            put(put_distributor_rates),
        )
        .body(one::<DistributorRates>())
        .data(one::<DistributorRates>()),
        Op::new(
            Method::GET,
            "/api/v1/commissions/rates/partners/{id}",
            c,
            "View a partner's commission rates",
            get(get_partner_rates),
        )
        .data(one::<PartnerRates>()),
        Op::new(
            Method::PUT,
            "/api/v1/commissions/rates/partners/{id}",
            c,
            "Set a partner's commission rates",
            put(put_partner_rates),
        )
        .body(one::<PartnerRatesIn>())
        .data(one::<PartnerRates>()),
        Op::new(
            Method::POST,
            "/api/v1/commissions/generate",
            c,
            "Generate the commission summary of a month or a year",
            post(generate_commissions),
        )
        .body(one::<GenerateCommissionsIn>())
        .data(many::<Commission>()),
        Op::new(
            Method::GET,
            "/api/v1/commissions",
            c,
            "View commission summaries of a month or a year",
            get(list_commissions),
        )
        .queries(vec![
            query("period", "Month YYYY-MM."),
            query("year", "Year YYYY."),
        ])
        .data(many::<Commission>()),
        Op::new(
            Method::GET,
            "/api/v1/commissions/export",
            c,
            "Export commission summaries as CSV",
            get(export_commissions),
        )
        .queries(vec![
            query("period", "Month YYYY-MM."),
            query("year", "Year YYYY."),
            query("format", "csv (default)."),
        ])
        .data(one::<Export>()),
    ]
}

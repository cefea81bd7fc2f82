//! Commissions: rates for distributors and partners, summaries generated and viewed by
//! month or year (each with the bands of its plan that produced it), and exports. A
//! platform run covers every party; a distributor's or partner's administrator runs
//! their own branch. The arithmetic (bands, year roll-ups) is the core's.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackbill_core::commission::roll_up;
use stackbill_core::rbac::NodePath;
use stackbill_core::scenario::json::{commission_to_value, read_commission};
use stackbill_store::billing::Selection;
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, GenerateCommissions, ManageCommissionRates, ReadCommissions};
use super::billing::{parse_period, period_text};
use super::export::{self, Answer};
use super::ops::{Op, many, one, query};
use super::wire::{self, ApiError, ApiResult, Body, Params, ok};
use crate::{jobs, reports};

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
    /// How the plan's tiers produced the amount: each band's share of the base and its
    /// unrounded commission (for a year, summed per band over the months).
    bands: Vec<CommissionBand>,
}

/// One tier of a commission plan as applied.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommissionBand {
    from: String,
    /// `null`: unbounded.
    to: Option<String>,
    percent: String,
    /// The part of the base commissioned in this band.
    base: String,
    /// Unrounded commission of the band.
    amount: String,
}

impl Commission {
    /// The API view of a core roll-up, formatted as the stored contract document is.
    fn new(label: &str, total: &stackbill_core::commission::CommissionTotal) -> Self {
        let doc = commission_to_value(&total.commission);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let c = &total.commission;
        Commission {
            period: label.to_owned(),
            party_kind: c.party.kind().to_owned(),
            party_id: c.party.id().to_owned(),
            currency: text(&doc["currency"]),
            base: text(&doc["base"]),
            amount: text(&doc["amount"]),
            plan: doc["plan"].as_str().map(str::to_owned),
            months: total.periods,
            bands: doc["bands"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| CommissionBand {
                    from: text(&b["from"]),
                    to: b["to"].as_str().map(str::to_owned),
                    percent: text(&b["percent"]),
                    base: text(&b["base"]),
                    amount: text(&b["amount"]),
                })
                .collect(),
        }
    }
}

/// `period=YYYY-MM` or `year=YYYY`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CommissionQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    year: Option<String>,
    /// `json`, `csv` or `xlsx` (the export endpoint: `csv` only).
    #[serde(default)]
    format: Option<String>,
}

impl CommissionQuery {
    /// `YYYY-MM` as a month, anything else as a year (checked by [`months`]).
    pub(crate) fn month_or_year(text: &str) -> Self {
        let text = Some(text.to_owned());
        let (period, year) = if text.as_deref().is_some_and(|t| t.contains('-')) {
            (text, None)
        } else {
            (None, text)
        };
        CommissionQuery {
            period,
            year,
            format: None,
        }
    }
}

pub(crate) fn months(q: &CommissionQuery) -> ApiResult<(String, Vec<String>)> {
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

/// The stored summaries of `periods` for the parties at or below `within` that the
/// caller may read, rolled up per party and currency by the core.
async fn summaries<P: super::access::Permission>(
    state: &AppState,
    auth: &Allowed<P>,
    within: &NodePath,
    label: &str,
    periods: &[String],
) -> ApiResult<Vec<Commission>> {
    summaries_in(
        state.store(),
        auth.directory(),
        &|p| within.contains(p) && auth.allows(p),
        label,
        periods,
    )
    .await
}

/// The summaries of the parties whose node `shown` admits, rolled up over `periods`.
pub(crate) async fn summaries_in(
    store: &dyn stackbill_store::Store,
    dir: &super::access::Directory,
    shown: &(dyn Fn(&NodePath) -> bool + Sync),
    label: &str,
    periods: &[String],
) -> ApiResult<Vec<Commission>> {
    let mut read = Vec::new();
    for period in periods {
        for row in store.commissions(period).await? {
            let path = match row.party_kind.as_str() {
                "distributor" => dir.distributor(&row.party).map(|d| dir.distributor_path(d)),
                _ => dir.partner(&row.party).map(|p| dir.partner_path(p)),
            };
            if !path.is_some_and(|p| shown(&p)) {
                continue;
            }
            let commission = read_commission(&row.document.to_string()).map_err(|e| {
                ApiError::internal(format!(
                    "stored commission of {} {:?} for {period}: {e}",
                    row.party_kind, row.party
                ))
            })?;
            read.push(commission);
        }
    }
    let totals =
        roll_up(read).map_err(|_| ApiError::internal("commission sums exceed exact decimals"))?;
    Ok(totals.iter().map(|t| Commission::new(label, t)).collect())
}

impl Commission {
    fn entry(&self) -> reports::CommissionEntry<'_> {
        reports::CommissionEntry {
            period: &self.period,
            party_kind: &self.party_kind,
            party_id: &self.party_id,
            currency: &self.currency,
            base: &self.base,
            amount: &self.amount,
            plan: self.plan.as_deref(),
            months: self.months,
        }
    }
}

pub(crate) fn table(label: &str, rows: &[Commission]) -> ApiResult<stackbill_export::Table> {
    let entries: Vec<_> = rows.iter().map(Commission::entry).collect();
    reports::commissions(label, &entries).map_err(|e| ApiError::internal(format!("export: {e}")))
}

async fn list_commissions(
    State(state): State<AppState>,
    auth: Allowed<ReadCommissions>,
    headers: HeaderMap,
    Params(q): Params<CommissionQuery>,
) -> ApiResult<Response> {
    let want = export::answer(q.format.as_deref(), &headers)?;
    let (label, periods) = months(&q)?;
    let rows = summaries(&state, &auth, &NodePath::platform(), &label, &periods).await?;
    match want {
        Answer::Json => Ok(ok(rows).into_response()),
        Answer::File(format) => export::file(
            table(&label, &rows)?,
            format,
            &format!("commissions-{label}"),
        ),
    }
}

/// An export file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Export {
    file_name: String,
    content_type: String,
    content: String,
}

/// The CSV inside a JSON envelope, for clients of the first API version; the file itself
/// is `GET /commissions/summary?format=csv|xlsx`.
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
                format!(
                    "{other:?}: this endpoint wraps CSV only; \
                     GET /api/v1/commissions/summary?format=xlsx answers the XLSX file"
                ),
            ));
        }
    }
    let (label, periods) = months(&q)?;
    let rows = summaries(&state, &auth, &NodePath::platform(), &label, &periods).await?;
    let bytes = stackbill_export::write(&table(&label, &rows)?, stackbill_export::Format::Csv)
        .map_err(|e| ApiError::internal(format!("export: {e}")))?;
    let content =
        String::from_utf8(bytes).map_err(|_| ApiError::internal("export: CSV is not UTF-8"))?;
    Ok(ok(Export {
        file_name: format!("commissions-{label}.csv"),
        content_type: "text/csv".into(),
        content,
    }))
}

/// What to generate: a month or a year, for the caller's whole scope or one branch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GenerateCommissionsIn {
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    period: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}$")]
    year: Option<String>,
    /// Only this distributor's branch (it and its partners).
    #[serde(default)]
    distributor_id: Option<String>,
    /// Only this partner.
    #[serde(default)]
    partner_id: Option<String>,
}

/// What a generation runs over (ids as stored).
enum Branch {
    /// The platform's full run.
    Platform,
    Distributor(String),
    Partner(String),
}

impl Branch {
    fn selection(&self) -> Selection<'_> {
        match self {
            Branch::Platform => Selection::All,
            Branch::Distributor(id) => Selection::Distributor(id),
            Branch::Partner(id) => Selection::Partner(id),
        }
    }
}

/// The branch a generation covers and its node: the platform's full run when no party
/// is named, else the named distributor or partner, which the caller must be allowed to
/// generate for (a node it cannot read answers as missing).
fn branch(
    auth: &Allowed<GenerateCommissions>,
    body: &GenerateCommissionsIn,
) -> ApiResult<(NodePath, Branch)> {
    let dir = auth.directory();
    match (&body.distributor_id, &body.partner_id) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "partnerId",
            "give distributorId or partnerId, not both",
        )),
        (Some(id), None) => {
            let missing = || ApiError::NotFound(format!("distributorId: no distributor {id:?}"));
            let row = dir.distributor(id).ok_or_else(missing)?;
            let path = dir.distributor_path(row);
            auth.check_named(&path, missing)?;
            Ok((path, Branch::Distributor(row.id.clone())))
        }
        (None, Some(id)) => {
            let missing = || ApiError::NotFound(format!("partnerId: no partner {id:?}"));
            let row = dir.partner(id).ok_or_else(missing)?;
            let path = dir.partner_path(row);
            auth.check_named(&path, missing)?;
            Ok((path, Branch::Partner(row.id.clone())))
        }
        (None, None) => {
            // The full run is the platform's; a branch's administrator names the branch.
            auth.check(&NodePath::platform())?;
            Ok((NodePath::platform(), Branch::Platform))
        }
    }
}

/// Queues the period's (or each month's of a year) billing run over the branch, which
/// writes the branch's preview invoices and the summaries of the parties inside it; the
/// job's outcome is the branch's summaries.
async fn generate_commissions(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: Allowed<GenerateCommissions>,
    Body(body): Body<GenerateCommissionsIn>,
) -> ApiResult<Response> {
    auth.able_somewhere()?;
    branch(&auth, &body)?;
    let q = CommissionQuery {
        period: body.period.clone(),
        year: body.year.clone(),
        format: None,
    };
    months(&q)?;
    let params = json!({
        "period": body.period,
        "year": body.year,
        "distributorId": body.distributor_id,
        "partnerId": body.partner_id,
    });
    let job = jobs::submit(
        &state,
        "commissions.generate",
        &params,
        None,
        &auth.caller.actor(),
    )
    .await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

/// The `commissions.generate` job, over the branch checked when it was queued.
pub(crate) async fn run_generate(
    state: &AppState,
    job: i64,
    params: &Value,
    actor: &str,
    progress: &jobs::Progress,
) -> ApiResult<jobs::Done> {
    let text = |k: &str| params[k].as_str().map(str::to_owned);
    let body = GenerateCommissionsIn {
        period: text("period"),
        year: text("year"),
        distributor_id: text("distributorId"),
        partner_id: text("partnerId"),
    };
    let snapshot = state.snapshot().await?;
    let dir = &snapshot.directory;
    let (node, branch) = match (&body.distributor_id, &body.partner_id) {
        (Some(id), _) => {
            let row = dir.distributor(id).ok_or_else(|| {
                ApiError::NotFound(format!("distributorId: no distributor {id:?}"))
            })?;
            (
                dir.distributor_path(row),
                Branch::Distributor(row.id.clone()),
            )
        }
        (None, Some(id)) => {
            let row = dir
                .partner(id)
                .ok_or_else(|| ApiError::NotFound(format!("partnerId: no partner {id:?}")))?;
            (dir.partner_path(row), Branch::Partner(row.id.clone()))
        }
        (None, None) => (NodePath::platform(), Branch::Platform),
    };
    let q = CommissionQuery {
        period: body.period.clone(),
        year: body.year.clone(),
        format: None,
    };
    let (label, periods) = months(&q)?;
    // A branch without tenants has nothing to rate: its summaries stay as they are.
    let empty =
        !matches!(branch, Branch::Platform) && !dir.tenant_entries().any(|(_, p)| node.contains(p));
    let store = state.store();
    for (i, period) in periods.iter().enumerate() {
        progress.set(
            i64::try_from(
                i.saturating_mul(100)
                    .checked_div(periods.len())
                    .unwrap_or(0),
            )
            .unwrap_or(0),
            period.clone(),
        );
        if !empty {
            stackbill_store::billing::bill_selection(store, period, branch.selection()).await?;
        }
    }
    state
        .audit(
            actor,
            "commission.generate",
            &label,
            None,
            Some(json!({
                "jobId": job,
                "distributorId": body.distributor_id,
                "partnerId": body.partner_id,
            })),
        )
        .await?;
    let out = summaries_in(state.store(), dir, &|p| node.contains(p), &label, &periods).await?;
    jobs::Done::of(job, format!("{label}: {} summaries", out.len()), &out)
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
        .data(many::<Commission>())
        .job(),
        // The manual's API page names one resource for both: calculate (POST) and
        // retrieve (GET) the summaries of partners and distributors.
        Op::new(
            Method::POST,
            "/api/v1/commissions/summary",
            c,
            "Calculate commission summaries for partners and distributors",
            post(generate_commissions),
        )
        .body(one::<GenerateCommissionsIn>())
        .data(many::<Commission>())
        .job(),
        Op::new(
            Method::GET,
            "/api/v1/commissions/summary",
            c,
            "Retrieve commission summaries for partners and distributors",
            get(list_commissions),
        )
        .queries(vec![
            query("period", "Month YYYY-MM."),
            query("year", "Year YYYY."),
        ])
        .data(many::<Commission>())
        .exports(),
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
        .data(many::<Commission>())
        .exports(),
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

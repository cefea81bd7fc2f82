//! Invoices: generate previews for a period, view, issue, pay, void, delete a preview,
//! summaries. The rating itself is the store's billing run over the core; here is only
//! who may do it. Commissions live in `commissions`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stackbill_core::period::Period;
use stackbill_core::rbac::NodePath;
use stackbill_store::billing::Selection;
use stackbill_store::{InvoiceFilter, InvoiceRow, InvoiceStatus};
use utoipa::ToSchema;

use super::AppState;
use super::access::{Allowed, ManageBilling, ReadBilling};
use super::export::{self, Answer};
use super::ops::{Op, many, one, query, query_required};
use super::wire::{self, ApiError, ApiResult, Body, Params, ok};
use crate::{jobs, reports};

type Reply<T> = ApiResult<wire::Ok<T>>;

/// Reads a billing period `YYYY-MM`.
pub(crate) fn parse_period(field: &str, text: &str) -> ApiResult<Period> {
    let bad = || ApiError::field(field, format!("{text:?} is not a period YYYY-MM"));
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Period::new(y, m).ok_or_else(bad)
}

pub(crate) fn period_text(p: Period) -> String {
    format!("{:04}-{:02}", p.year(), p.month())
}

/// An invoice.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Invoice {
    /// Invoice id (a number, as text).
    id: String,
    period: String,
    tenant_id: String,
    tenant_name: String,
    /// `preview`, `issued`, `delinquent` (issued, unpaid past its due date), `paid` or
    /// `void`.
    status: String,
    /// Gap-free number per platform, set at issue (`INV-2026-000123`).
    number: Option<String>,
    issue_date: Option<String>,
    due_date: Option<String>,
    currency: String,
    subtotal: Option<String>,
    tax: Option<String>,
    total: String,
    /// The invoice as the engine wrote it (§10: lines, subtotal, tax, total).
    #[schema(value_type = Object)]
    document: Value,
}

impl Invoice {
    /// The view of `r` on `today` (which decides whether it is delinquent).
    fn at(r: &InvoiceRow, today: chrono::NaiveDate, dir: &super::access::Directory) -> Self {
        let text = |k: &str| r.document.get(k).and_then(Value::as_str).map(str::to_owned);
        Invoice {
            id: r.id.to_string(),
            period: r.period.clone(),
            tenant_id: r.tenant.clone(),
            tenant_name: dir
                .tenant(&r.tenant)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            status: reports::status_of(r, today).to_owned(),
            number: r.number.clone(),
            issue_date: r.issue_date.clone(),
            due_date: r.due_date.clone(),
            currency: r.currency.clone(),
            subtotal: text("subtotal"),
            tax: text("tax"),
            total: r.total.clone(),
            document: r.document.clone(),
        }
    }
}

/// Query of the invoice list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InvoiceQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    page_size: Option<u32>,
    #[serde(default)]
    format: Option<String>,
}

fn tenant_path<P: super::access::Permission>(auth: &Allowed<P>, tenant: &str) -> Option<NodePath> {
    auth.directory().tenant_path_by_id(tenant)
}

/// The invoices `q` selects that the caller may read, by (period, tenant, id), and the
/// day their status is shown as of.
async fn visible_invoices(
    state: &AppState,
    auth: &Allowed<ReadBilling>,
    q: &InvoiceQuery,
) -> ApiResult<(Vec<InvoiceRow>, chrono::NaiveDate)> {
    let today = today(state.store()).await?;
    let mut filter = InvoiceFilter::default();
    if let Some(p) = &q.period {
        filter.period = Some(period_text(parse_period("period", p)?));
    }
    let mut shown_as = None;
    if let Some(s) = &q.status {
        let name = s.trim().to_lowercase();
        let stored = if name == reports::DELINQUENT {
            Some(InvoiceStatus::Issued)
        } else {
            InvoiceStatus::from_name(&name)
        };
        filter.status = Some(stored.ok_or_else(|| {
            ApiError::field(
                "status",
                "must be preview, issued, delinquent, paid or void",
            )
        })?);
        shown_as = Some(name);
    }
    if let Some(t) = &q.tenant_id {
        let row = auth
            .directory()
            .tenant(t)
            .ok_or_else(|| ApiError::NotFound(format!("tenantId: no tenant {t:?}")))?;
        let missing = || ApiError::NotFound(format!("tenantId: no tenant {t:?}"));
        let path = tenant_path(auth, &row.id).ok_or_else(missing)?;
        auth.check_named(&path, missing)?;
        filter.tenant = Some(row.id.clone());
    }
    let mut rows = state.store().invoices(&filter).await?;
    rows.retain(|r| {
        tenant_path(auth, &r.tenant).is_some_and(|p| auth.allows(&p))
            && shown_as
                .as_deref()
                .is_none_or(|s| reports::status_of(r, today) == s)
    });
    Ok((rows, today))
}

/// The page `q` asks for; a file holds every row unless a page is asked for.
fn page_of<T>(q: &InvoiceQuery, answer: Answer, items: Vec<T>) -> ApiResult<Vec<T>> {
    let paging = wire::Paging {
        page: q.page,
        page_size: q.page_size,
    };
    match answer {
        Answer::File(_) if q.page.is_none() && q.page_size.is_none() => Ok(items),
        _ => paging.apply(items),
    }
}

/// A file name for an export of `what` under the filters of `q`.
fn file_name(what: &str, q: &InvoiceQuery) -> String {
    [
        Some(what),
        q.period.as_deref(),
        q.tenant_id.as_deref(),
        q.status.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("-")
}

fn exported(e: stackbill_export::ExportError) -> ApiError {
    ApiError::internal(format!("export: {e}"))
}

async fn list_invoices(
    State(state): State<AppState>,
    auth: Allowed<ReadBilling>,
    headers: HeaderMap,
    Params(q): Params<InvoiceQuery>,
) -> ApiResult<Response> {
    let want = export::answer(q.format.as_deref(), &headers)?;
    let (rows, today) = visible_invoices(&state, &auth, &q).await?;
    let shown = page_of(&q, want, rows.iter().collect())?;
    match want {
        Answer::Json => Ok(ok(shown
            .into_iter()
            .map(|r| Invoice::at(r, today, auth.directory()))
            .collect::<Vec<_>>())
        .into_response()),
        Answer::File(format) => {
            let table = reports::invoices(&shown, auth.directory(), today).map_err(exported)?;
            export::file(table, format, &file_name("invoices", &q))
        }
    }
}

/// One invoice line as the invoice-lines list shows it (the columns of its export).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvoiceLineRow {
    invoice_id: String,
    number: Option<String>,
    period: String,
    tenant_id: String,
    status: String,
    currency: String,
    /// 1-based position on its invoice.
    line: i64,
    /// `charge`, `credit` or `adjustment`.
    kind: String,
    /// For an adjustment line, the period it corrects (`YYYY-MM`).
    adjusts: Option<String>,
    subscription: Option<String>,
    meter: String,
    sku: Option<String>,
    quantity: Option<String>,
    unit_rate: Option<String>,
    price_list: String,
    fx_rate: Option<String>,
    amount: String,
}

async fn list_invoice_lines(
    State(state): State<AppState>,
    auth: Allowed<ReadBilling>,
    headers: HeaderMap,
    Params(q): Params<InvoiceQuery>,
) -> ApiResult<Response> {
    let want = export::answer(q.format.as_deref(), &headers)?;
    let (rows, today) = visible_invoices(&state, &auth, &q).await?;
    let all: Vec<&InvoiceRow> = rows.iter().collect();
    let table = reports::invoice_lines(&all, today).map_err(exported)?;
    match want {
        Answer::Json => Ok(ok(page_of(&q, want, export::json_rows(&table))?).into_response()),
        Answer::File(format) => {
            let mut shown = stackbill_export::Table::new(table.title(), reports::LINE_COLUMNS);
            for row in page_of(&q, want, table.rows().to_vec())? {
                shown.push(row).map_err(exported)?;
            }
            export::file(shown, format, &file_name("invoice-lines", &q))
        }
    }
}

/// The invoice `id` if the caller may do `P` on its tenant.
pub(crate) async fn find_invoice<P: super::access::Permission>(
    state: &AppState,
    auth: &Allowed<P>,
    id: &str,
) -> ApiResult<InvoiceRow> {
    let missing = || ApiError::NotFound(format!("no invoice {id:?}"));
    let number: i64 = id.trim().parse().map_err(|_| missing())?;
    let row = match state.store().invoice(number).await {
        Ok(row) => row,
        Err(stackbill_store::StoreError::NotFound { .. }) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let path = tenant_path(auth, &row.tenant).ok_or_else(missing)?;
    auth.check(&path).map_err(|e| match e {
        ApiError::NotFound(_) => missing(),
        other => other,
    })?;
    Ok(row)
}

async fn get_invoice(
    State(state): State<AppState>,
    auth: Allowed<ReadBilling>,
    Path(id): Path<String>,
) -> Reply<Invoice> {
    let row = find_invoice(&state, &auth, &id).await?;
    Ok(ok(Invoice::at(
        &row,
        today(state.store()).await?,
        auth.directory(),
    )))
}

/// Issue options.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IssueIn {
    /// Issue date `YYYY-MM-DD` (default: today in the platform's time zone).
    #[serde(default)]
    #[schema(format = Date)]
    issue_date: Option<String>,
}

/// Today in the platform's time zone.
pub(crate) async fn today(store: &dyn stackbill_store::Store) -> ApiResult<chrono::NaiveDate> {
    let zone = store
        .platform()
        .await?
        .and_then(|p| p.time_zone.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    Ok(chrono::Utc::now().with_timezone(&zone).date_naive())
}

async fn issue_invoice(
    State(state): State<AppState>,
    auth: Allowed<ManageBilling>,
    Path(id): Path<String>,
    Body(body): Body<IssueIn>,
) -> Reply<Invoice> {
    let row = find_invoice(&state, &auth, &id).await?;
    let today = today(state.store()).await?;
    let date = match body.issue_date {
        Some(d) => wire::date("issueDate", &d)?,
        None => today,
    };
    // The number series is per year of issue: a date far from now would open a stray one.
    let first = parse_period("period", &row.period)?.first_day();
    if date < first || date > today.succ_opt().unwrap_or(today) {
        return Err(ApiError::field(
            "issueDate",
            format!("must be between the period's first day ({first}) and today ({today})"),
        ));
    }
    let date = date.format("%Y-%m-%d").to_string();
    let issued = state.store().issue_invoice(row.id, &date).await?;
    crate::documents::keep_or_log(state.store(), &issued).await;
    if let Err(why) = crate::jobs::notices::invoice_issued(&state, &issued).await {
        tracing::warn!(invoice = issued.id, %why, "the issued invoice was not e-mailed");
    }
    let out = Invoice::at(&issued, today, auth.directory());
    state
        .audit(
            &auth.caller.actor(),
            "invoice.issue",
            &issued.id.to_string(),
            Some(json!({"status": row.status.name()})),
            Some(
                json!({"status": "issued", "number": issued.number, "issueDate": issued.issue_date,
                        "dueDate": issued.due_date, "total": issued.total}),
            ),
        )
        .await?;
    Ok(ok(out))
}

async fn settle(
    state: &AppState,
    auth: &Allowed<ManageBilling>,
    id: &str,
    status: InvoiceStatus,
) -> Reply<Invoice> {
    let row = find_invoice(state, auth, id).await?;
    let settled = state.store().settle_invoice(row.id, status).await?;
    state
        .audit(
            &auth.caller.actor(),
            &format!("invoice.{}", status.name()),
            &row.id.to_string(),
            Some(json!({"status": row.status.name()})),
            Some(json!({"status": settled.status.name()})),
        )
        .await?;
    Ok(ok(Invoice::at(
        &settled,
        today(state.store()).await?,
        auth.directory(),
    )))
}

async fn void_invoice(
    State(state): State<AppState>,
    auth: Allowed<ManageBilling>,
    Path(id): Path<String>,
) -> Reply<Invoice> {
    settle(&state, &auth, &id, InvoiceStatus::Void).await
}

async fn pay_invoice(
    State(state): State<AppState>,
    auth: Allowed<ManageBilling>,
    Path(id): Path<String>,
) -> Reply<Invoice> {
    settle(&state, &auth, &id, InvoiceStatus::Paid).await
}

async fn delete_invoice(
    State(state): State<AppState>,
    auth: Allowed<ManageBilling>,
    Path(id): Path<String>,
) -> Reply<()> {
    let row = find_invoice(&state, &auth, &id).await?;
    if row.status != InvoiceStatus::Preview {
        return Err(ApiError::Conflict(format!(
            "invoice {} is {}: only previews can be deleted (void an issued invoice instead)",
            row.id,
            row.status.name()
        )));
    }
    state.store().delete_preview(row.id).await?;
    state
        .audit(
            &auth.caller.actor(),
            "invoice.delete_preview",
            &row.id.to_string(),
            Some(json!({"tenant": row.tenant, "period": row.period, "total": row.total})),
            None,
        )
        .await?;
    Ok(ok(()))
}

/// A generation request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GenerateIn {
    /// Billing period `YYYY-MM`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    period: String,
    /// Only these tenants (default: every tenant the caller may bill; a platform caller's
    /// full run also writes the period's commission summaries).
    #[serde(default)]
    tenant_ids: Option<Vec<String>>,
}

/// What a generation run did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Generated {
    job_id: i64,
    period: String,
    /// Preview invoices written.
    previews: usize,
    /// Tenants whose invoice for the period is already issued (kept as it is).
    kept_issued: Vec<String>,
    /// Usage not billed, with reasons (never dropped silently).
    #[schema(value_type = Vec<Object>)]
    unbilled: Vec<Value>,
}

/// Queues a billing run for the period over the tenants the caller names (or every
/// tenant the caller may bill): `202 Accepted` with the job, or, under `Prefer: wait`,
/// the run's outcome.
pub(crate) async fn generate(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth: Allowed<ManageBilling>,
    Body(body): Body<GenerateIn>,
) -> ApiResult<Response> {
    auth.able_somewhere()?;
    let period = period_text(parse_period("period", &body.period)?);
    let dir = auth.directory();
    let tenants: Option<Vec<String>> = match &body.tenant_ids {
        Some(ids) => {
            if ids.is_empty() {
                return Err(ApiError::field(
                    "tenantIds",
                    "must name at least one tenant",
                ));
            }
            let mut out = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let row = dir.tenant(id).ok_or_else(|| {
                    ApiError::NotFound(format!("tenantIds[{i}]: no tenant {id:?}"))
                })?;
                let missing = || ApiError::NotFound(format!("tenantIds[{i}]: no tenant {id:?}"));
                let path = dir.tenant_path(row).ok_or_else(missing)?;
                auth.check_named(&path, missing)?;
                out.push(row.id.clone());
            }
            out.sort();
            out.dedup();
            Some(out)
        }
        None if auth.allows(&NodePath::platform()) => None,
        None => Some(
            dir.tenant_entries()
                .filter(|(_, p)| auth.allows(p))
                .map(|(t, _)| t.id.clone())
                .collect(),
        ),
    };
    let params = json!({"period": period, "tenants": tenants});
    let job = jobs::submit(
        &state,
        "billing.generate",
        &params,
        None,
        &auth.caller.actor(),
    )
    .await?;
    Ok(jobs::accepted(&state, job, &headers).await)
}

/// The `billing.generate` job: one run for the whole selection (the store narrows it to
/// those tenants, their own price lists and the shared region lists, and reads the
/// period's usage once).
pub(crate) async fn run_generate(
    state: &AppState,
    job: i64,
    params: &Value,
    actor: &str,
    progress: &jobs::Progress,
) -> ApiResult<jobs::Done> {
    let period = params["period"].as_str().unwrap_or_default().to_owned();
    let tenants: Option<Vec<String>> = serde_json::from_value(params["tenants"].clone())
        .map_err(|e| ApiError::internal(format!("job {job}: tenants: {e}")))?;
    let selection = match &tenants {
        None => Selection::All,
        Some(list) => Selection::Tenants(list),
    };
    progress.set(0, format!("{period}: rating"));
    let report =
        stackbill_store::billing::bill_selection(state.store(), &period, selection).await?;
    let out = Generated {
        job_id: job,
        period: period.clone(),
        previews: report.previews,
        kept_issued: report.kept_issued,
        unbilled: report.document["unbilled"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    };
    state
        .audit(
            actor,
            "billing.generate",
            &period,
            None,
            Some(json!({"tenants": tenants, "previews": out.previews, "jobId": job})),
        )
        .await?;
    jobs::Done::of(job, format!("{period}: {} preview(s)", out.previews), &out)
}

/// Query with a period.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeriodQuery {
    period: String,
    #[serde(default)]
    format: Option<String>,
}

/// One tenant's line of the billing summary.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SummaryLine {
    tenant_id: String,
    tenant_name: String,
    partner_id: String,
    distributor_id: String,
    invoice_id: String,
    /// As on the invoice (`delinquent` when issued and unpaid past its due date).
    status: String,
    number: Option<String>,
    currency: String,
    total: String,
}

/// The billing summary of a period for the caller's scope.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    period: String,
    tenants: Vec<SummaryLine>,
    /// Currency → sum of totals (voided invoices excluded).
    totals: BTreeMap<String, String>,
    /// Currency → sum of the totals of delinquent invoices (issued, unpaid past their due
    /// date).
    delinquent: BTreeMap<String, String>,
}

async fn summary(
    State(state): State<AppState>,
    auth: Allowed<ReadBilling>,
    headers: HeaderMap,
    Params(q): Params<PeriodQuery>,
) -> ApiResult<Response> {
    let want = export::answer(q.format.as_deref(), &headers)?;
    let period = period_text(parse_period("period", &q.period)?);
    let rows = state
        .store()
        .invoices(&InvoiceFilter {
            period: Some(period.clone()),
            ..InvoiceFilter::default()
        })
        .await?;
    let dir = auth.directory();
    let visible: Vec<&InvoiceRow> = rows
        .iter()
        .filter(|r| tenant_path(&auth, &r.tenant).is_some_and(|p| auth.allows(&p)))
        .collect();
    let today = today(state.store()).await?;
    if let Answer::File(format) = want {
        let table = reports::summary(&period, &visible, dir, today).map_err(exported)?;
        return export::file(table, format, &format!("billing-summary-{period}"));
    }
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut delinquent: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut tenants = Vec::new();
    for r in visible {
        let Some(path) = dir.tenant_path_by_id(&r.tenant) else {
            continue;
        };
        if r.status != InvoiceStatus::Void {
            let total: Decimal = r
                .total
                .parse()
                .map_err(|_| ApiError::internal(format!("invoice {} total {:?}", r.id, r.total)))?;
            let status = reports::status_of(r, today);
            for (sums, counts) in [
                (&mut totals, true),
                (&mut delinquent, status == reports::DELINQUENT),
            ] {
                if counts {
                    let sum = sums.entry(r.currency.clone()).or_default();
                    *sum = sum
                        .checked_add(total)
                        .ok_or_else(|| ApiError::internal("invoice totals overflow"))?;
                }
            }
        }
        let tenant = dir.tenant(&r.tenant);
        tenants.push(SummaryLine {
            tenant_id: r.tenant.clone(),
            tenant_name: tenant.map(|t| t.name.clone()).unwrap_or_default(),
            partner_id: path
                .partner
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            distributor_id: path
                .distributor
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            invoice_id: r.id.to_string(),
            status: reports::status_of(r, today).to_owned(),
            number: r.number.clone(),
            currency: r.currency.clone(),
            total: r.total.clone(),
        });
    }
    Ok(ok(Summary {
        period,
        tenants,
        totals: totals
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
        delinquent: delinquent
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
    })
    .into_response())
}

pub(crate) fn ops() -> Vec<Op> {
    let b = "Billing";
    let paging = super::ops::paging;
    vec![
        Op::new(
            Method::POST,
            "/api/v1/billing/generate",
            b,
            "Generate preview invoices for a period",
            post(generate),
        )
        .body(one::<GenerateIn>())
        .data(one::<Generated>())
        .job(),
        Op::new(
            Method::GET,
            "/api/v1/billing/summary",
            b,
            "Billing summary of a period",
            get(summary),
        )
        .queries(vec![query_required("period", "Billing period YYYY-MM.")])
        .data(one::<Summary>())
        .exports(),
        Op::new(
            Method::GET,
            "/api/v1/billing/invoices",
            b,
            "List invoices",
            get(list_invoices),
        )
        .queries(vec![
            query("period", "Billing period YYYY-MM."),
            query("tenantId", "Only this tenant."),
            query("status", "preview, issued, delinquent, paid or void."),
        ])
        .queries(paging())
        .data(many::<Invoice>())
        .exports(),
        Op::new(
            Method::GET,
            "/api/v1/billing/invoice-lines",
            b,
            "List the lines of invoices",
            get(list_invoice_lines),
        )
        .queries(vec![
            query("period", "Billing period YYYY-MM."),
            query("tenantId", "Only this tenant's invoices."),
            query("status", "preview, issued, delinquent, paid or void."),
        ])
        .queries(paging())
        .data(many::<InvoiceLineRow>())
        .exports(),
        Op::new(
            Method::GET,
            "/api/v1/billing/invoices/{id}",
            b,
            "View an invoice",
            get(get_invoice),
        )
        .data(one::<Invoice>()),
        Op::new(
            Method::DELETE,
            "/api/v1/billing/invoices/{id}",
            b,
            "Delete a preview invoice",
            delete(delete_invoice),
        ),
        Op::new(
            Method::POST,
            "/api/v1/billing/invoices/{id}/issue",
            b,
            "Issue a preview invoice (numbered, immutable)",
            post(issue_invoice),
        )
        .body(one::<IssueIn>())
        .data(one::<Invoice>()),
        Op::new(
            Method::POST,
            "/api/v1/billing/invoices/{id}/void",
            b,
            "Void an issued invoice",
            post(void_invoice),
        )
        .data(one::<Invoice>()),
        Op::new(
            Method::POST,
            "/api/v1/billing/invoices/{id}/pay",
            b,
            "Mark an issued invoice paid",
            post(pay_invoice),
        )
        .data(one::<Invoice>()),
    ]
}

//! Billing → Invoices: the invoices the visitor may read (filtered by period and status,
//! paged), one invoice's facts and lines, and its document (the kept PDF or HTML of an
//! issued invoice, a preview rendered now). The columns are the API's exports', from
//! [`crate::reports`], so the portal, the CSV and the JSON show the same cells.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stackbill_core::rbac::Action;
use stackbill_export::Table;
use stackbill_store::{InvoiceFilter, InvoiceStatus};

use super::session::Visitor;
use super::{Chrome, not_yours, refused};
use crate::api::AppState;
use crate::api::access::{Allowed, ReadBilling};
use crate::api::billing::{find_invoice, today};
use crate::documents::{self, Format};
use crate::reports;

/// Rows per page.
const PAGE: usize = 50;

/// The status filter, as (query value, label); `delinquent` is issued and overdue.
const STATUSES: &[(&str, &str)] = &[
    ("", "Any"),
    ("preview", "Preview"),
    ("issued", "Issued"),
    ("delinquent", "Delinquent"),
    ("paid", "Paid"),
    ("void", "Void"),
];

/// Columns shown right-aligned.
const NUMBERS: &[&str] = &[
    "subtotal", "tax", "total", "quantity", "unitRate", "fxRate", "amount", "line",
];

struct Filter {
    period: String,
    period_error: Option<String>,
    status: String,
    statuses: &'static [(&'static str, &'static str)],
}

struct Cell {
    text: String,
    href: Option<String>,
    num: bool,
}

#[derive(Template)]
#[template(path = "portal/invoices.html")]
struct Invoices {
    chrome: Chrome,
    heading: String,
    filter: Option<Filter>,
    facts: Vec<(&'static str, String)>,
    links: Vec<(&'static str, String)>,
    summary: String,
    /// What the last action did, from `?done=`.
    notice: Option<String>,
    headers: Vec<(String, bool)>,
    rows: Vec<Vec<Cell>>,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Params {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    done: Option<String>,
}

/// The notice for `?done=` after an action redirected here.
fn notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "generated" => "The invoices were generated.",
            "recalculated" => "The previews were recalculated with the prices in force now.",
            "issue" => "The invoice was issued.",
            "pay" => "The invoice was marked as paid.",
            "void" => "The invoice was voided.",
            "email" => {
                "The invoice was queued for e-mail to the tenant's billing contact; Jobs shows when it is sent."
            }
            "deleted" => "The preview was deleted.",
            _ => return None,
        }
        .to_owned(),
    )
}

fn allowed(visitor: &Visitor) -> Option<Allowed<ReadBilling>> {
    visitor
        .caller
        .can_somewhere(Action::ReadBilling)
        .then(|| Allowed::new(visitor.caller.clone()))
}

/// `table`'s headers and cells, the `id` column (if any) linking to the invoice.
fn cells(table: &Table, id_column: &str) -> (Vec<(String, bool)>, Vec<Vec<Cell>>) {
    let headers: Vec<(String, bool)> = table
        .headers()
        .iter()
        .map(|h| (h.clone(), NUMBERS.contains(&h.as_str())))
        .collect();
    let rows = table
        .rows()
        .iter()
        .map(|row| {
            row.iter()
                .zip(&headers)
                .map(|(cell, (h, num))| {
                    let text = cell.csv_text();
                    Cell {
                        href: (h == id_column).then(|| format!("/invoices/{text}")),
                        text,
                        num: *num,
                    }
                })
                .collect()
        })
        .collect();
    (headers, rows)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(p): Query<Params>,
) -> Response {
    let Some(auth) = allowed(&visitor) else {
        return not_yours();
    };
    let period = p.period.unwrap_or_default().trim().to_owned();
    let status = p
        .status
        .filter(|s| STATUSES.iter().any(|(v, _)| v == s))
        .unwrap_or_default();
    let mut filter = InvoiceFilter::default();
    let mut period_error = None;
    if !period.is_empty() {
        match period.parse::<stackbill_core::period::Period>() {
            Ok(_) => filter.period = Some(period.clone()),
            Err(_) => period_error = Some("Must be a month as YYYY-MM, e.g. 2026-10.".to_owned()),
        }
    }
    let (rows, today) = match (
        state.store().invoice_summaries(&filter).await,
        today(state.store()).await,
    ) {
        (Ok(rows), Ok(today)) => (rows, today),
        _ => {
            return refused(
                "The invoices could not be read from the database. Try again in a moment.",
            );
        }
    };
    let dir = auth.directory();
    let mut shown: Vec<_> = rows
        .iter()
        .filter(|r| {
            dir.tenant_path_by_id(&r.tenant)
                .is_some_and(|p| auth.allows(&p))
        })
        .filter(|r| status.is_empty() || reports::status_of(r, today) == status)
        .filter(|_| period_error.is_none())
        .collect();
    shown.sort_by(|a, b| {
        b.period
            .cmp(&a.period)
            .then(a.tenant.cmp(&b.tenant))
            .then(a.id.cmp(&b.id))
    });
    let total = shown.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page_no = p.page.unwrap_or(1).clamp(1, pages);
    // The page's invoices in full (subtotal and tax are in their documents); only the
    // summaries of the rest were read.
    let mut page_rows = Vec::with_capacity(PAGE);
    for summary in shown
        .into_iter()
        .skip(page_no.saturating_sub(1).saturating_mul(PAGE))
        .take(PAGE)
    {
        match state.store().invoice(summary.id).await {
            Ok(full) => page_rows.push(full),
            Err(_) => {
                return refused(
                    "The invoices could not be read from the database. Try again in a moment.",
                );
            }
        }
    }
    let page_refs: Vec<_> = page_rows.iter().collect();
    let Ok(table) = reports::invoices(&page_refs, dir, today) else {
        return refused("An invoice could not be read. The error is in the server's log.");
    };
    let (headers, rows) = cells(&table, "id");
    let link = |n: usize| {
        let q = serde_urlencoded::to_string([
            ("period", period.as_str()),
            ("status", status.as_str()),
            ("page", &n.to_string()),
        ])
        .unwrap_or_default();
        format!("/invoices?{q}")
    };
    let template = Invoices {
        chrome: Chrome::signed_in(&state, &visitor, "/invoices"),
        heading: "Invoices".into(),
        summary: format!("{total} invoice(s); page {page_no} of {pages}."),
        previous: (page_no > 1).then(|| link(page_no.saturating_sub(1))),
        next: (page_no < pages).then(|| link(page_no.saturating_add(1))),
        filter: Some(Filter {
            period,
            period_error,
            status,
            statuses: STATUSES,
        }),
        facts: Vec::new(),
        links: if auth.caller.can_somewhere(Action::ManageBilling) {
            vec![("Generate invoices", "/invoices/generate".to_owned())]
        } else {
            Vec::new()
        },
        notice: notice(p.done.as_deref()),
        headers,
        rows,
    };
    super::page(&state, Some(&visitor), &template)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
}

pub(crate) async fn view(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    let Some(auth) = allowed(&visitor) else {
        return not_yours();
    };
    let (row, today) = match (
        find_invoice(&state, &auth, &id).await,
        today(state.store()).await,
    ) {
        (Ok(row), Ok(today)) => (row, today),
        _ => return missing(),
    };
    let Ok(table) = reports::invoice_lines(&[&row], today) else {
        return refused("This invoice could not be read. The error is in the server's log.");
    };
    let tenant = auth
        .directory()
        .tenant(&row.tenant)
        .map_or_else(|| row.tenant.clone(), |t| t.name.clone());
    let mut facts = vec![
        ("Tenant", tenant),
        ("Period", row.period.clone()),
        ("Status", reports::status_of(&row, today).to_owned()),
        ("Total", format!("{} {}", row.total, row.currency)),
    ];
    if let Some(n) = &row.number {
        facts.insert(0, ("Number", n.clone()));
    }
    if let Some(d) = &row.due_date {
        facts.push(("Due", d.clone()));
    }
    let (headers, rows) = cells(&table, "");
    let count = rows.len();
    let mut links = vec![
        (
            "Download PDF",
            format!("/invoices/{}/document?format=pdf", row.id),
        ),
        (
            "Open as HTML",
            format!("/invoices/{}/document?format=html", row.id),
        ),
    ];
    let manages = auth
        .directory()
        .tenant_path_by_id(&row.tenant)
        .is_some_and(|p| auth.caller.can(Action::ManageBilling, &p));
    if manages {
        let actions: &[(&str, &str)] = match row.status {
            InvoiceStatus::Preview => &[("Issue", "issue"), ("Delete", "delete")],
            InvoiceStatus::Issued => &[
                ("Email invoice", "email"),
                ("Mark paid", "pay"),
                ("Void", "void"),
            ],
            InvoiceStatus::Paid => &[("Email invoice", "email")],
            InvoiceStatus::Void => &[],
        };
        links.extend(
            actions
                .iter()
                .map(|(label, a)| (*label, format!("/invoices/{}/{a}", row.id))),
        );
    }
    let title = match (&row.number, row.status) {
        (Some(n), _) => format!("Invoice {n}"),
        (None, InvoiceStatus::Preview) => format!("Preview invoice {}", row.id),
        (None, _) => format!("Invoice {}", row.id),
    };
    let template = Invoices {
        chrome: Chrome::signed_in(&state, &visitor, "/invoices"),
        heading: title,
        filter: None,
        facts,
        links,
        notice: notice(q.done.as_deref()),
        summary: format!("{count} line(s)."),
        headers,
        rows,
        previous: None,
        next: None,
    };
    super::page(&state, Some(&visitor), &template)
}

fn missing() -> Response {
    let mut response = refused("There is no such invoice, or it is not yours to read.");
    *response.status_mut() = axum::http::StatusCode::NOT_FOUND;
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct DocumentParams {
    #[serde(default)]
    format: Option<String>,
}

pub(crate) async fn document(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<DocumentParams>,
) -> Response {
    let Some(auth) = allowed(&visitor) else {
        return not_yours();
    };
    let Ok(row) = find_invoice(&state, &auth, &id).await else {
        return missing();
    };
    let format = if q.format.as_deref() == Some("html") {
        Format::Html
    } else {
        Format::Pdf
    };
    let bytes = match documents::document(state.store(), &row, format).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(invoice = row.id, error = %e, "a portal document failed");
            return refused(&format!("The document could not be produced: {e}"));
        }
    };
    let name = row
        .number
        .clone()
        .unwrap_or_else(|| format!("invoice-{}-{}-preview", row.tenant, row.period));
    let disposition = format!(
        "{}; filename=\"{}.{}\"",
        if format == Format::Pdf {
            "attachment"
        } else {
            "inline"
        },
        crate::api::portal_api::safe_file_name(&name),
        format.name()
    );
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // The invoice's own HTML carries its styles inline; nothing else may load or run.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    );
    response
}

//! Billing data as tables — invoices, invoice lines, the billing summary and commission
//! summaries — for exports (CSV and XLSX through `stackbill-export`). The REST API and the
//! command line build the same tables here, so a file holds what the API's JSON holds:
//! each column is named after the JSON field it repeats.
//!
//! Callers pass only rows the reader may see; nothing here checks scope.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use stackbill_core::money::Currency;
use stackbill_core::scenario::json::read_document_lines;
use stackbill_export::{Cell, ExportError, Table};
use stackbill_store::{InvoiceRow, InvoiceStatus};

use crate::api::access::Directory;

/// Columns of [`invoices`]: the scalar fields of the API's invoice.
pub(crate) const INVOICE_COLUMNS: &[&str] = &[
    "id",
    "number",
    "period",
    "tenantId",
    "tenantName",
    "status",
    "issueDate",
    "dueDate",
    "currency",
    "subtotal",
    "tax",
    "total",
];

/// Columns of [`invoice_lines`].
pub(crate) const LINE_COLUMNS: &[&str] = &[
    "invoiceId",
    "number",
    "period",
    "tenantId",
    "status",
    "currency",
    "line",
    "kind",
    "adjusts",
    "subscription",
    "meter",
    "sku",
    "quantity",
    "unitRate",
    "priceList",
    "fxRate",
    "amount",
];

/// Columns of [`summary`]: the fields of one tenant's line of the API's billing summary.
pub(crate) const SUMMARY_COLUMNS: &[&str] = &[
    "tenantId",
    "tenantName",
    "partnerId",
    "distributorId",
    "invoiceId",
    "status",
    "number",
    "currency",
    "total",
];

/// Columns of [`commissions`]: the scalar fields of the API's commission summary.
pub(crate) const COMMISSION_COLUMNS: &[&str] = &[
    "period",
    "partyKind",
    "partyId",
    "currency",
    "base",
    "amount",
    "plan",
    "months",
];

/// One row of a commission summary as the API shows it (see `api::commissions`).
#[derive(Debug)]
pub(crate) struct CommissionEntry<'a> {
    pub period: &'a str,
    pub party_kind: &'a str,
    pub party_id: &'a str,
    pub currency: &'a str,
    pub base: &'a str,
    pub amount: &'a str,
    pub plan: Option<&'a str>,
    pub months: u32,
}

/// The status a reader sees: `delinquent` for an issued invoice still unpaid after its
/// due date (`today` in the platform's time zone), else the stored status.
pub(crate) fn status_of(row: &InvoiceRow, today: NaiveDate) -> &'static str {
    let overdue = row
        .due_date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_some_and(|due| today > due);
    if row.status == InvoiceStatus::Issued && overdue {
        DELINQUENT
    } else {
        row.status.name()
    }
}

/// The status name of an issued invoice unpaid past its due date.
pub(crate) const DELINQUENT: &str = "delinquent";

fn bad(what: String) -> ExportError {
    ExportError::Unwritable(what)
}

/// Minor-unit digits of a stored currency code.
fn decimals(invoice: i64, code: &str) -> Result<u32, ExportError> {
    Currency::from_code(code)
        .map(|c| c.minor_unit())
        .map_err(|e| bad(format!("invoice {invoice}: {e}")))
}

fn money(text: &str, decimals: u32, what: &str) -> Result<Cell, ExportError> {
    let amount: Decimal = text
        .parse()
        .map_err(|_| bad(format!("{what}: {text:?} is not a decimal")))?;
    Ok(Cell::Money { amount, decimals })
}

fn stated_money(row: &InvoiceRow, field: &str, decimals: u32) -> Result<Cell, ExportError> {
    match row.document.get(field).and_then(|v| v.as_str()) {
        Some(text) => money(text, decimals, &format!("invoice {} {field}", row.id)),
        None => Ok(Cell::Empty),
    }
}

fn date(text: Option<&str>, what: &str) -> Result<Cell, ExportError> {
    text.map(|t| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Cell::Date)
            .map_err(|_| bad(format!("{what}: {t:?} is not a date YYYY-MM-DD")))
    })
    .transpose()
    .map(|c| c.unwrap_or(Cell::Empty))
}

/// The invoices, one row each, in the order given.
pub(crate) fn invoices(
    rows: &[&InvoiceRow],
    dir: &Directory,
    today: NaiveDate,
) -> Result<Table, ExportError> {
    let mut table = Table::new("Invoices", INVOICE_COLUMNS);
    for r in rows {
        let d = decimals(r.id, &r.currency)?;
        let name = dir.tenant(&r.tenant).map(|t| t.name.clone());
        table.push(vec![
            Cell::text(r.id.to_string()),
            Cell::text_or_empty(r.number.clone()),
            Cell::text(r.period.clone()),
            Cell::text(r.tenant.clone()),
            Cell::text(name.unwrap_or_default()),
            Cell::text(status_of(r, today)),
            date(
                r.issue_date.as_deref(),
                &format!("invoice {} issue date", r.id),
            )?,
            date(r.due_date.as_deref(), &format!("invoice {} due date", r.id))?,
            Cell::text(r.currency.clone()),
            stated_money(r, "subtotal", d)?,
            stated_money(r, "tax", d)?,
            money(&r.total, d, &format!("invoice {} total", r.id))?,
        ])?;
    }
    Ok(table)
}

/// Every line of the invoices, in invoice order then document order (adjustment lines
/// last, naming the period they correct); `line` counts from 1 within each invoice.
pub(crate) fn invoice_lines(rows: &[&InvoiceRow], today: NaiveDate) -> Result<Table, ExportError> {
    let mut table = Table::new("Invoice lines", LINE_COLUMNS);
    for r in rows {
        let d = decimals(r.id, &r.currency)?;
        let lines = read_document_lines(&r.document.to_string())
            .map_err(|e| bad(format!("invoice {}: {e}", r.id)))?;
        for (n, l) in (1_i64..).zip(lines) {
            let b = l.billed;
            let kind = if b.adjusts.is_some() {
                "adjustment".to_owned()
            } else {
                b.kind.name().to_owned()
            };
            table.push(vec![
                Cell::text(r.id.to_string()),
                Cell::text_or_empty(r.number.clone()),
                Cell::text(r.period.clone()),
                Cell::text(r.tenant.clone()),
                Cell::text(status_of(r, today)),
                Cell::text(r.currency.clone()),
                Cell::Integer(n),
                Cell::text(kind),
                Cell::text_or_empty(b.adjusts.map(|p| p.to_string())),
                Cell::text_or_empty(b.subscription.map(|s| s.to_string())),
                Cell::text(b.meter.to_string()),
                Cell::text_or_empty(b.sku),
                Cell::number_or_empty(b.quantity),
                Cell::number_or_empty(l.unit_rate),
                Cell::text(b.price_list.to_string()),
                Cell::number_or_empty(l.fx_rate),
                Cell::Money {
                    amount: b.amount,
                    decimals: d,
                },
            ])?;
        }
    }
    Ok(table)
}

/// The billing summary of `period`: one row per invoice of the tenants given.
pub(crate) fn summary(
    period: &str,
    rows: &[&InvoiceRow],
    dir: &Directory,
    today: NaiveDate,
) -> Result<Table, ExportError> {
    let mut table = Table::new(format!("Billing summary {period}"), SUMMARY_COLUMNS);
    for r in rows {
        let d = decimals(r.id, &r.currency)?;
        let path = dir.tenant_path_by_id(&r.tenant);
        let partner = path.as_ref().and_then(|p| p.partner.as_ref());
        let distributor = path.as_ref().and_then(|p| p.distributor.as_ref());
        table.push(vec![
            Cell::text(r.tenant.clone()),
            Cell::text(
                dir.tenant(&r.tenant)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
            ),
            Cell::text(partner.map(ToString::to_string).unwrap_or_default()),
            Cell::text(distributor.map(ToString::to_string).unwrap_or_default()),
            Cell::text(r.id.to_string()),
            Cell::text(status_of(r, today)),
            Cell::text_or_empty(r.number.clone()),
            Cell::text(r.currency.clone()),
            money(&r.total, d, &format!("invoice {} total", r.id))?,
        ])?;
    }
    Ok(table)
}

/// Commission summaries, one row per party and currency.
pub(crate) fn commissions(
    label: &str,
    entries: &[CommissionEntry<'_>],
) -> Result<Table, ExportError> {
    let mut table = Table::new(format!("Commissions {label}"), COMMISSION_COLUMNS);
    for e in entries {
        let d = Currency::from_code(e.currency)
            .map(|c| c.minor_unit())
            .map_err(|err| {
                bad(format!(
                    "commission of {} {}: {err}",
                    e.party_kind, e.party_id
                ))
            })?;
        let what = format!("commission of {} {}", e.party_kind, e.party_id);
        table.push(vec![
            Cell::text(e.period),
            Cell::text(e.party_kind),
            Cell::text(e.party_id),
            Cell::text(e.currency),
            money(e.base, d, &what)?,
            money(e.amount, d, &what)?,
            Cell::text_or_empty(e.plan),
            Cell::Integer(i64::from(e.months)),
        ])?;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(status: InvoiceStatus, due: Option<&str>) -> InvoiceRow {
        InvoiceRow {
            id: 1,
            period: "2026-10".into(),
            tenant: "t".into(),
            status,
            number: None,
            issue_date: None,
            due_date: due.map(str::to_owned),
            currency: "USD".into(),
            total: "1.00".into(),
            usage_seq: 0,
            document: json!({}),
        }
    }

    #[test]
    fn an_issued_invoice_is_delinquent_only_after_its_due_date() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
        let issued = row(InvoiceStatus::Issued, Some("2026-11-30"));
        assert_eq!(status_of(&issued, day("2026-11-30")), "issued");
        assert_eq!(status_of(&issued, day("2026-12-01")), DELINQUENT);
        let paid = row(InvoiceStatus::Paid, Some("2026-11-30"));
        assert_eq!(status_of(&paid, day("2027-01-01")), "paid");
        let void = row(InvoiceStatus::Void, Some("2026-11-30"));
        assert_eq!(status_of(&void, day("2027-01-01")), "void");
        let preview = row(InvoiceStatus::Preview, None);
        assert_eq!(status_of(&preview, day("2027-01-01")), "preview");
    }
}

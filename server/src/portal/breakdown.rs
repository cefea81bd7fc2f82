//! The dashboard's comparison: the latest invoiced month against the one before, by
//! region, distributor, partner or tenant, over the invoices the visitor may read. Cost
//! is each invoice's total (a region's share is the sum of its subscriptions' lines),
//! never added across currencies.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use stackbill_core::rbac::Action;
use stackbill_core::scenario::json::read_document_lines;
use stackbill_store::{InvoiceFilter, InvoiceRow, InvoiceStatus, Store};

use crate::api::access::{Caller, Directory};

/// The ways to group, as (query value, tab label).
pub(crate) const BY: &[(&str, &str)] = &[
    ("region", "Region"),
    ("distributor", "Distributor"),
    ("partner", "Partner"),
    ("tenant", "Tenant"),
];

/// Rows shown; the rest are counted.
const ROWS: usize = 20;

/// One group's cost in one currency in both months.
pub(crate) struct Row {
    pub name: String,
    pub currency: String,
    pub latest: String,
    pub previous: String,
    /// The difference, with its percentage when the previous month had cost.
    pub change: String,
}

/// The comparison as the dashboard shows it.
pub(crate) struct Breakdown {
    pub by: &'static str,
    /// What the amounts are.
    pub measure: &'static str,
    pub latest: String,
    pub previous: String,
    pub rows: Vec<Row>,
    /// Groups beyond [`ROWS`], not listed.
    pub more: usize,
}

/// The month before `period` (`YYYY-MM`).
fn month_before(period: &str) -> Option<String> {
    let (y, m) = period.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    Some(if m <= 1 {
        format!("{:04}-12", y.checked_sub(1)?)
    } else {
        format!("{y:04}-{:02}", m.checked_sub(1)?)
    })
}

fn change(latest: Decimal, previous: Decimal) -> String {
    let diff = latest.checked_sub(previous).unwrap_or_default();
    let sign = if diff > Decimal::ZERO { "+" } else { "" };
    match diff
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|d| d.checked_div(previous))
    {
        Some(percent) if !previous.is_zero() => {
            format!(
                "{sign}{} ({sign}{}%)",
                diff.round_dp(2),
                percent.round_dp(1)
            )
        }
        _ => format!("{sign}{}", diff.round_dp(2)),
    }
}

/// The group (id, shown name) of tenant `tenant` when grouping `by` (not regions).
fn group_of(dir: &Directory, by: &str, tenant: &str) -> Option<(String, String)> {
    let path = dir.tenant_path_by_id(tenant)?;
    match by {
        "distributor" => {
            let id = path.distributor.as_ref()?.as_str().to_owned();
            let name = dir.distributor(&id).map(|d| d.name.clone())?;
            Some((id, name))
        }
        "partner" => {
            let id = path.partner.as_ref()?.as_str().to_owned();
            let name = dir.partner(&id).map(|p| p.name.clone())?;
            Some((id, name))
        }
        _ => {
            let t = dir.tenant(tenant)?;
            Some((t.id.clone(), t.name.clone()))
        }
    }
}

/// Sums per (group, currency) → (latest, previous).
type Sums = BTreeMap<(String, String), (Decimal, Decimal)>;

fn add(sums: &mut Sums, key: (String, String), latest: bool, amount: Decimal) {
    let slot = sums.entry(key).or_default();
    let sum = if latest { &mut slot.0 } else { &mut slot.1 };
    *sum = sum.checked_add(amount).unwrap_or(*sum);
}

/// The comparison grouped `by` (one of [`BY`]) over `summaries` (every invoice, without
/// documents); `None` when the visitor may read no invoice.
pub(crate) async fn of(
    store: &dyn Store,
    caller: &Caller,
    dir: &Directory,
    by: &'static str,
    summaries: &[InvoiceRow],
) -> Result<Option<Breakdown>, String> {
    let readable = |r: &InvoiceRow| {
        r.status != InvoiceStatus::Void
            && dir
                .tenant_path_by_id(&r.tenant)
                .is_some_and(|p| caller.can(Action::ReadBilling, &p))
    };
    let Some(latest) = summaries
        .iter()
        .filter(|r| readable(r))
        .map(|r| r.period.clone())
        .max()
    else {
        return Ok(None);
    };
    let previous = month_before(&latest).unwrap_or_default();
    let mut sums = Sums::new();
    if by == "region" {
        // A region's share is in the lines: read the two months' documents.
        let subscriptions: BTreeMap<String, String> = dir
            .subscriptions
            .iter()
            .map(|s| (s.id.to_ascii_lowercase(), s.region.clone()))
            .collect();
        for period in [&latest, &previous] {
            let invoices = store
                .invoices(&InvoiceFilter {
                    period: Some(period.clone()),
                    ..InvoiceFilter::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            for r in invoices.iter().filter(|r| readable(r)) {
                let lines = read_document_lines(&r.document.to_string())
                    .map_err(|e| format!("invoice {}: {e}", r.id))?;
                for line in lines {
                    let region = line
                        .billed
                        .subscription
                        .as_ref()
                        .and_then(|s| subscriptions.get(&s.to_string().to_ascii_lowercase()))
                        .cloned()
                        .unwrap_or_else(|| "(no subscription)".to_owned());
                    let key = (region, r.currency.clone());
                    add(&mut sums, key, period == &latest, line.billed.amount);
                }
            }
        }
    } else {
        for r in summaries.iter().filter(|r| readable(r)) {
            let is_latest = r.period == latest;
            if !is_latest && r.period != previous {
                continue;
            }
            let (Some((_, name)), Ok(total)) = (group_of(dir, by, &r.tenant), r.total.parse())
            else {
                continue;
            };
            add(&mut sums, (name, r.currency.clone()), is_latest, total);
        }
    }
    let mut rows: Vec<((String, String), (Decimal, Decimal))> = sums.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let more = rows.len().saturating_sub(ROWS);
    let rows = rows
        .into_iter()
        .take(ROWS)
        .map(|((name, currency), (l, p))| Row {
            name,
            currency,
            latest: l.round_dp(2).to_string(),
            previous: p.round_dp(2).to_string(),
            change: change(l, p),
        })
        .collect();
    Ok(Some(Breakdown {
        by,
        measure: if by == "region" {
            "Invoice lines before tax: an invoice's tax is not split by region."
        } else {
            "Invoice totals, tax included, of every invoice not void (previews too)."
        },
        latest,
        previous,
        rows,
        more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_before_and_the_change() {
        assert_eq!(month_before("2026-10").as_deref(), Some("2026-09"));
        assert_eq!(month_before("2027-01").as_deref(), Some("2026-12"));
        assert_eq!(month_before("nonsense"), None);
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(change(d("150"), d("100")), "+50 (+50%)");
        assert_eq!(change(d("75.5"), d("100")), "-24.5 (-24.5%)");
        assert_eq!(change(d("20"), d("0")), "+20");
    }
}

//! The dashboard's comparison: the latest invoiced month against the one before, by
//! region, distributor, partner or tenant, over the invoices the visitor may read. Cost
//! is each invoice's total, never added across currencies; a tenant with subscriptions
//! in several regions is split by its lines (only its invoices' documents are read).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use stackbill_core::rbac::Action;
use stackbill_core::scenario::json::read_document_lines;
use stackbill_store::{InvoiceRow, InvoiceStatus, Store};

use crate::api::access::{Caller, Directory};

/// The ways to group, as (query value, tab label).
pub(crate) const BY: &[(&str, &str)] = &[
    ("region", "Region"),
    ("distributor", "Distributor"),
    ("partner", "Partner"),
    ("tenant", "Tenant"),
];

/// Where the part of an invoice no one region owns goes (the tax of a tenant in several
/// regions, lines of no subscription, a tenant without subscriptions).
const SHARED: &str = "(tax and lines of no single region)";

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
    // A tenant whose subscriptions are all in one region has its whole invoice there;
    // only the invoices of tenants in several regions are read line by line.
    let mut regions_of: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut region_of_subscription: BTreeMap<String, &str> = BTreeMap::new();
    if by == "region" {
        for s in &dir.subscriptions {
            regions_of
                .entry(s.tenant.to_ascii_lowercase())
                .or_default()
                .insert(s.region.as_str());
            region_of_subscription.insert(s.id.to_ascii_lowercase(), s.region.as_str());
        }
    }
    for r in summaries.iter().filter(|r| readable(r)) {
        let is_latest = r.period == latest;
        if !is_latest && r.period != previous {
            continue;
        }
        let Ok(total) = r.total.parse::<Decimal>() else {
            continue;
        };
        if by != "region" {
            if let Some((_, name)) = group_of(dir, by, &r.tenant) {
                add(&mut sums, (name, r.currency.clone()), is_latest, total);
            }
            continue;
        }
        let regions = regions_of.get(&r.tenant.to_ascii_lowercase());
        match regions.map(|set| set.iter().collect::<Vec<_>>()).as_deref() {
            Some([only]) => add(
                &mut sums,
                ((**only).to_owned(), r.currency.clone()),
                is_latest,
                total,
            ),
            Some(_) => {
                let full = store.invoice(r.id).await.map_err(|e| e.to_string())?;
                let lines = read_document_lines(&full.document.to_string())
                    .map_err(|e| format!("invoice {}: {e}", r.id))?;
                let mut rest = total;
                for line in lines {
                    let Some(region) = line.billed.subscription.as_ref().and_then(|s| {
                        region_of_subscription.get(&s.to_string().to_ascii_lowercase())
                    }) else {
                        continue;
                    };
                    rest = rest.checked_sub(line.billed.amount).unwrap_or(rest);
                    let key = ((*region).to_owned(), r.currency.clone());
                    add(&mut sums, key, is_latest, line.billed.amount);
                }
                if !rest.is_zero() {
                    let key = (SHARED.to_owned(), r.currency.clone());
                    add(&mut sums, key, is_latest, rest);
                }
            }
            None => add(
                &mut sums,
                (SHARED.to_owned(), r.currency.clone()),
                is_latest,
                total,
            ),
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
            "Invoice totals, tax included, of every invoice not void (previews too); a tenant in several regions is split by its lines, its tax and tenant-wide lines shown apart."
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

//! Late usage for an already-issued period.
//!
//! An issued invoice is a document and never changes. When usage for its period arrives
//! after it was rated, the tenant's next invoice carries adjustment lines: the period as
//! it rates now minus what has been billed for it so far (the issued invoice's lines plus
//! adjustment lines for that period already issued), one line per (kind, subscription,
//! meter, sku, price list) that changed, each naming the period it corrects.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::hierarchy::{PriceListId, SubscriptionId};
use crate::invoice::{Invoice, InvoiceLine, LineKind, Totals};
use crate::meter::MeterId;
use crate::money::{Currency, RoundingMode};
use crate::period::Period;

/// A line of an invoice already billed, as read back from its stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    /// The kind of charge: for an adjustment line, the kind it adjusts.
    pub kind: LineKind,
    /// For an adjustment line, the period it corrects; `None` for the invoice's own lines.
    pub adjusts: Option<Period>,
    /// The subscription; `None` for a tenant-level credit.
    pub subscription: Option<SubscriptionId>,
    /// Canonical meter.
    pub meter: MeterId,
    /// SKU.
    pub sku: Option<String>,
    /// The price list that priced it.
    pub price_list: PriceListId,
    /// Quantity (`None` for credits).
    pub quantity: Option<Decimal>,
    /// Amount in the invoice currency.
    pub amount: Decimal,
}

/// One adjustment line: the change in what a corrected period costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// The period corrected.
    pub adjusts: Period,
    /// Charge or credit.
    pub of_kind: LineKind,
    /// The subscription; `None` for a tenant-level credit.
    pub subscription: Option<SubscriptionId>,
    /// Canonical meter.
    pub meter: MeterId,
    /// SKU.
    pub sku: Option<String>,
    /// The price list of the line adjusted.
    pub price_list: PriceListId,
    /// Quantity re-rated minus quantity billed (`None` for credits).
    pub quantity: Option<Decimal>,
    /// Amount re-rated minus amount billed, in the invoice currency.
    pub amount: Decimal,
}

/// What identifies a line across re-ratings.
type Key = (
    LineKind,
    Option<SubscriptionId>,
    MeterId,
    Option<String>,
    PriceListId,
);

fn overflow(context: &str) -> Error {
    Error::Overflow {
        context: context.to_owned(),
    }
}

fn add(sum: &mut (Decimal, Decimal), amount: Decimal, quantity: Option<Decimal>) -> Result<()> {
    let context = "adjustment amounts";
    sum.0 = sum.0.checked_add(amount).ok_or_else(|| overflow(context))?;
    if let Some(q) = quantity {
        sum.1 = sum.1.checked_add(q).ok_or_else(|| overflow(context))?;
    }
    Ok(())
}

/// The adjustment lines for `period`: `now` (the period's lines as it rates today) minus
/// `billed` (every line billed for it: the issued invoice's own lines and adjustment
/// lines naming `period`; other lines are ignored). Lines that did not change give none.
pub fn adjustments(
    period: Period,
    billed: &[BilledLine],
    now: &[InvoiceLine],
) -> Result<Vec<Adjustment>> {
    let mut was: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
    for line in billed {
        let own = line.adjusts.is_none() || line.adjusts == Some(period);
        if !own {
            continue;
        }
        let key = (
            line.kind,
            line.subscription.clone(),
            line.meter.clone(),
            line.sku.clone(),
            line.price_list.clone(),
        );
        add(was.entry(key).or_default(), line.amount, line.quantity)?;
    }
    let mut is: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
    for line in now {
        let key = (
            line.kind,
            line.subscription.clone(),
            line.meter.clone(),
            line.sku.clone(),
            line.price_list.clone(),
        );
        add(is.entry(key).or_default(), line.amount, line.quantity)?;
    }
    let keys: BTreeSet<&Key> = was.keys().chain(is.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (was_amount, was_quantity) = was.get(key).copied().unwrap_or_default();
        let (is_amount, is_quantity) = is.get(key).copied().unwrap_or_default();
        let amount = is_amount
            .checked_sub(was_amount)
            .ok_or_else(|| overflow("adjustment amounts"))?;
        if amount.is_zero() {
            continue;
        }
        let quantity = is_quantity
            .checked_sub(was_quantity)
            .ok_or_else(|| overflow("adjustment quantities"))?
            .normalize();
        let (kind, subscription, meter, sku, price_list) = key.clone();
        out.push(Adjustment {
            adjusts: period,
            of_kind: kind,
            subscription,
            meter,
            sku,
            price_list,
            quantity: (kind == LineKind::Charge).then_some(quantity),
            amount,
        });
    }
    Ok(out)
}

/// An invoice with the adjustment lines it carries, and totals over both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustedInvoice {
    /// The period's own invoice, as rated.
    pub invoice: Invoice,
    /// Adjustments of earlier periods, in the order they were added.
    pub adjustments: Vec<Adjustment>,
    /// Σ line amounts, adjustments included.
    pub subtotal: Decimal,
    /// round(subtotal × tax% / 100).
    pub tax: Decimal,
    /// subtotal + tax.
    pub total: Decimal,
}

impl AdjustedInvoice {
    /// `invoice` carrying `adjustments`, with totals recomputed over every line by the
    /// invoice rule (billing-semantics §7): the identities hold by construction.
    pub fn new(
        invoice: Invoice,
        adjustments: Vec<Adjustment>,
        tax_percent: Decimal,
        rounding: RoundingMode,
    ) -> Result<AdjustedInvoice> {
        let currency: Currency = invoice.currency;
        let amounts = invoice
            .lines
            .iter()
            .map(|l| l.amount)
            .chain(adjustments.iter().map(|a| a.amount));
        let totals = Totals::of(amounts, tax_percent, rounding, currency).ok_or_else(|| {
            overflow(&format!(
                "the invoice of tenant {}",
                invoice.tenant.as_str()
            ))
        })?;
        Ok(AdjustedInvoice {
            invoice,
            adjustments,
            subtotal: totals.subtotal,
            tax: totals.tax,
            total: totals.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(s: &str) -> Period {
        s.parse().unwrap_or(Period::PLACEHOLDER)
    }

    fn billed(amount: i64, quantity: i64, adjusts: Option<&str>) -> BilledLine {
        BilledLine {
            kind: LineKind::Charge,
            adjusts: adjusts.map(period),
            subscription: Some(SubscriptionId::new("s1")),
            meter: MeterId::new("m"),
            sku: None,
            price_list: PriceListId::new("pl"),
            quantity: Some(Decimal::from(quantity)),
            amount: Decimal::new(amount, 2),
        }
    }

    fn now(amount: i64, quantity: i64) -> InvoiceLine {
        InvoiceLine {
            kind: LineKind::Charge,
            subscription: Some(SubscriptionId::new("s1")),
            meter: MeterId::new("m"),
            sku: None,
            quantity: Some(Decimal::from(quantity)),
            price_list: PriceListId::new("pl"),
            unit_rate: None,
            fx_rate: None,
            amount: Decimal::new(amount, 2),
        }
    }

    #[test]
    fn only_the_difference_is_adjusted_and_earlier_adjustments_count() {
        let p = period("2026-10");
        let lines = [billed(1000, 10, None), billed(200, 2, Some("2026-10"))];
        let a = adjustments(p, &lines, &[now(1500, 15)]).unwrap_or_default();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].amount, Decimal::new(300, 2));
        assert_eq!(a[0].quantity, Some(Decimal::from(3)));
        assert_eq!(a[0].adjusts, p);
        // Adjustments of another period are not what was billed for this one.
        let other = [billed(1000, 10, None), billed(500, 5, Some("2026-09"))];
        let a = adjustments(p, &other, &[now(1000, 10)]).unwrap_or_default();
        assert!(a.is_empty());
    }

    #[test]
    fn a_line_that_disappeared_is_reversed() {
        let a = adjustments(period("2026-10"), &[billed(700, 7, None)], &[]).unwrap_or_default();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].amount, Decimal::new(-700, 2));
    }
}

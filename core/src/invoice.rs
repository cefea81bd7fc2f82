//! Invoices: lines, their order, and the subtotal / tax / total identities.

use chrono::DateTime;
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::hierarchy::{PriceListId, SubscriptionId, TenantId};
use crate::meter::MeterId;
use crate::money::{Currency, RoundingMode};

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    /// Usage rated with a price.
    Charge,
    /// A credit offsetting charges (negative).
    Credit,
}

impl LineKind {
    /// The contract spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Charge => "charge",
            Self::Credit => "credit",
        }
    }
}

/// One invoice line, in the invoice's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// Charge or credit.
    pub kind: LineKind,
    /// The subscription; `None` for a tenant-level credit.
    pub subscription: Option<SubscriptionId>,
    /// Canonical meter (for a credit, the meter of the item it comes from).
    pub meter: MeterId,
    /// SKU (for a credit, the sku of the item it comes from).
    pub sku: Option<String>,
    /// Aggregate quantity; `None` for credits.
    pub quantity: Option<Decimal>,
    /// The price list that priced it.
    pub price_list: PriceListId,
    /// The flat unit rate charged (derived for `per: month`); `None` for tiers and credits.
    pub unit_rate: Option<Decimal>,
    /// The FX rate applied; `None` when the list is in the invoice currency.
    pub fx_rate: Option<Decimal>,
    /// Amount rounded to the invoice currency.
    pub amount: Decimal,
}

impl InvoiceLine {
    /// The §7 order: subscription (tenant-level last), meter, charges before credits, sku
    /// (none first), price list.
    fn sort_key(&self) -> (bool, Option<&str>, &str, LineKind, Option<&str>, &str) {
        (
            self.subscription.is_none(),
            self.subscription.as_ref().map(SubscriptionId::as_str),
            self.meter.as_str(),
            self.kind,
            self.sku.as_deref(),
            self.price_list.as_str(),
        )
    }
}

/// A tenant's invoice for one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// The tenant invoiced.
    pub tenant: TenantId,
    /// Invoice currency.
    pub currency: Currency,
    /// Local midnight on the 1st.
    pub period_start: DateTime<Tz>,
    /// Local midnight on the 1st of the next month.
    pub period_end: DateTime<Tz>,
    /// Lines in §7 order.
    pub lines: Vec<InvoiceLine>,
    /// Σ line amounts.
    pub subtotal: Decimal,
    /// round(subtotal × tax% / 100).
    pub tax: Decimal,
    /// subtotal + tax.
    pub total: Decimal,
}

impl Invoice {
    /// Orders `lines` and computes the totals so the identities hold by construction.
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        tenant: TenantId,
        currency: Currency,
        period_start: DateTime<Tz>,
        period_end: DateTime<Tz>,
        mut lines: Vec<InvoiceLine>,
        tax_percent: Decimal,
        rounding: RoundingMode,
    ) -> Option<Invoice> {
        lines.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let Totals {
            subtotal,
            tax,
            total,
        } = Totals::of(
            lines.iter().map(|l| l.amount),
            tax_percent,
            rounding,
            currency,
        )?;
        Some(Invoice {
            tenant,
            currency,
            period_start,
            period_end,
            lines,
            subtotal,
            tax,
            total,
        })
    }
}

/// An invoice's subtotal, tax and total, computed from its rounded line amounts so that
/// the identities of billing-semantics §7 hold exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Σ line amounts.
    pub subtotal: Decimal,
    /// round(subtotal × tax% / 100) in the invoice currency.
    pub tax: Decimal,
    /// subtotal + tax.
    pub total: Decimal,
}

impl Totals {
    /// The totals of `amounts`; `None` only on decimal overflow.
    pub fn of(
        amounts: impl IntoIterator<Item = Decimal>,
        tax_percent: Decimal,
        rounding: RoundingMode,
        currency: Currency,
    ) -> Option<Totals> {
        let mut subtotal = Decimal::ZERO;
        for amount in amounts {
            subtotal = subtotal.checked_add(amount)?;
        }
        let tax = rounding.round_money(
            subtotal
                .checked_mul(tax_percent)?
                .checked_div(Decimal::ONE_HUNDRED)?,
            currency,
        );
        let total = subtotal.checked_add(tax)?;
        Some(Totals {
            subtotal,
            tax,
            total,
        })
    }
}

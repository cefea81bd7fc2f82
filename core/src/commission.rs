//! Commissions for partners and distributors on the subtotals of their tenants' invoices.

use rust_decimal::Decimal;

use crate::error::Overflow;
use crate::hierarchy::{DistributorId, PartnerId};
use crate::money::Currency;
use crate::tiers::Tiers;

/// A commission schedule: bands over a money base whose values are percentages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionPlan(pub Tiers);

impl CommissionPlan {
    /// Unrounded commission on `base`: graduated Σ percent/100 × band part, volume
    /// base × percent/100.
    pub fn apply(&self, base: Decimal) -> Result<Decimal, Overflow> {
        self.0
            .apply(base)?
            .checked_div(Decimal::ONE_HUNDRED)
            .ok_or(Overflow)
    }
}

/// Where a party's plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// Its own `commission`.
    Own,
    /// Its distributor's `partner_commission`.
    Inherited,
    /// No plan: amount 0.
    None,
}

impl PlanSource {
    /// The contract spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Inherited => "inherited",
            Self::None => "none",
        }
    }
}

/// Who earns a commission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommissionParty {
    /// A distributor, on all tenants of all its partners.
    Distributor(DistributorId),
    /// A partner, on its tenants.
    Partner(PartnerId),
}

/// One party's commission for the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    /// Who.
    pub party: CommissionParty,
    /// Currency of base and amount.
    pub currency: Currency,
    /// Rounded sum of converted tenant subtotals.
    pub base: Decimal,
    /// Rounded commission.
    pub amount: Decimal,
    /// Plan origin.
    pub plan: PlanSource,
}

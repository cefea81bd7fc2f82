//! Commissions for partners and distributors on the subtotals of their tenants' invoices,
//! each with the bands that produced it, and their roll-up over several months (a year's
//! summary).

use std::collections::BTreeMap;

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

    /// How [`apply`](CommissionPlan::apply) reached its result, band by band; the band
    /// amounts sum exactly to it.
    pub fn bands(&self, base: Decimal) -> Result<Vec<CommissionBand>, Overflow> {
        let bands = self.0.bands();
        self.0
            .shares(base)?
            .into_iter()
            .map(|s| {
                let band = &bands[s.band];
                Ok(CommissionBand {
                    from: band.from,
                    to: band.to,
                    percent: band.value,
                    base: s.part,
                    amount: s.charge.checked_div(Decimal::ONE_HUNDRED).ok_or(Overflow)?,
                })
            })
            .collect()
    }
}

/// One band of a plan as applied to a base: the part of the base inside it and the
/// commission it earned. This is the "tier application" a summary shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionBand {
    /// The band's lower bound.
    pub from: Decimal,
    /// Its upper bound (`None`: unbounded).
    pub to: Option<Decimal>,
    /// Its percentage.
    pub percent: Decimal,
    /// The part of the base commissioned in this band (all of it for a volume plan).
    pub base: Decimal,
    /// Unrounded commission of the band.
    pub amount: Decimal,
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
    /// The bands applied, in plan order (empty without a plan or on a zero base).
    pub bands: Vec<CommissionBand>,
}

impl CommissionParty {
    /// `distributor` or `partner`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Distributor(_) => "distributor",
            Self::Partner(_) => "partner",
        }
    }

    /// The party's id.
    pub fn id(&self) -> &str {
        match self {
            Self::Distributor(d) => d.as_str(),
            Self::Partner(p) => p.as_str(),
        }
    }
}

/// A party's commissions summed over several periods (a year's summary): bases and
/// amounts add up, and bands with the same bounds and percentage merge, so a plan that
/// changed mid-year shows both schedules' bands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionTotal {
    /// Who, with the currency, base, amount and bands summed; `plan` is the last period's.
    pub commission: Commission,
    /// Number of periods summed.
    pub periods: u32,
}

/// Sums commissions per (party, currency), in the order [`crate::rating::Outcome`] lists
/// them (distributors, then partners, each by id). Give the periods oldest first: the
/// last one's plan origin is reported.
pub fn roll_up(
    commissions: impl IntoIterator<Item = Commission>,
) -> Result<Vec<CommissionTotal>, Overflow> {
    let mut out: BTreeMap<(u8, String, String), CommissionTotal> = BTreeMap::new();
    for c in commissions {
        let order = u8::from(matches!(c.party, CommissionParty::Partner(_)));
        let key = (order, c.party.id().to_owned(), c.currency.code().to_owned());
        match out.get_mut(&key) {
            None => {
                out.insert(
                    key,
                    CommissionTotal {
                        commission: c,
                        periods: 1,
                    },
                );
            }
            Some(total) => {
                let sum = &mut total.commission;
                sum.base = sum.base.checked_add(c.base).ok_or(Overflow)?;
                sum.amount = sum.amount.checked_add(c.amount).ok_or(Overflow)?;
                sum.plan = c.plan;
                for band in c.bands {
                    let same = sum.bands.iter_mut().find(|b| {
                        b.from == band.from && b.to == band.to && b.percent == band.percent
                    });
                    match same {
                        Some(b) => {
                            b.base = b.base.checked_add(band.base).ok_or(Overflow)?;
                            b.amount = b.amount.checked_add(band.amount).ok_or(Overflow)?;
                        }
                        None => sum.bands.push(band),
                    }
                }
                total.periods = total.periods.saturating_add(1);
            }
        }
    }
    Ok(out.into_values().collect())
}

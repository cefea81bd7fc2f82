//! Rating: from aggregates to invoices, commissions and the unbilled report.
//!
//! [`Rater`] is the engine's main entry point. Feed it usage records one at a time (from a
//! file, a database cursor, a binding's iterator), then [`Rater::finish`] rates the
//! aggregates. Memory is bounded by aggregates and distinct ids, not by rows.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::aggregate::{Aggregate, Aggregator, Partial, Rollup, Unbilled, UnbilledReason};
use crate::commission::{Commission, CommissionBand, CommissionParty, CommissionPlan, PlanSource};
use crate::error::{Error, Result};
use crate::fx::Conversion;
use crate::hierarchy::SubscriptionId;
use crate::invoice::{Invoice, InvoiceLine, LineKind};
use crate::meter::MeterId;
use crate::period::Period;
use crate::pricing::{Per, PriceRef, PriceScope, Rate};
use crate::scenario::Scenario;
use crate::usage::UsageRecord;

/// Decimal places of a unit rate derived from a monthly price.
const DERIVED_RATE_DP: u32 = 12;

/// Everything a period's rating produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The period rated.
    pub period: Period,
    /// One invoice per tenant, ordered by tenant id.
    pub invoices: Vec<Invoice>,
    /// Distributors then partners, each by id.
    pub commissions: Vec<Commission>,
    /// Everything not billed, by (reason, subscription, meter, sku).
    pub unbilled: Vec<Unbilled>,
}

/// Streams usage into a scenario and rates it.
#[derive(Debug)]
pub struct Rater<'s> {
    scenario: &'s Scenario,
    aggregator: Aggregator<'s>,
}

impl<'s> Rater<'s> {
    /// A rater for `scenario` with no usage yet.
    pub fn new(scenario: &'s Scenario) -> Self {
        Self {
            scenario,
            aggregator: Aggregator::new(scenario),
        }
    }

    /// Adds one record (in input order: with duplicate ids the last one wins).
    pub fn push(&mut self, record: &UsageRecord<'_>) -> Result<()> {
        self.aggregator.push(record)
    }

    /// Adds usage summed ahead of time, or returns `false` when its records must be
    /// pushed one by one (see [`Partial::push_rollup`]).
    pub fn push_rollup(&mut self, rollup: &Rollup<'_>) -> Result<bool> {
        self.aggregator.push_rollup(rollup)
    }

    /// Number of records pushed so far.
    pub fn records(&self) -> u64 {
        self.aggregator.records()
    }

    /// Rates everything pushed.
    pub fn finish(self) -> Result<Outcome> {
        let (aggregates, unbilled) = self.aggregator.finish()?;
        rate(self.scenario, aggregates, unbilled)
    }

    /// The aggregation so far, for callers that merge in parts aggregated elsewhere
    /// (see [`rate_partial`]).
    pub fn into_partial(self) -> Partial<'s> {
        self.aggregator.into_partial()
    }
}

fn overflow(context: impl Into<String>) -> Error {
    Error::Overflow {
        context: context.into(),
    }
}

/// Charges rated with one credit-bearing item for one holder.
#[derive(Debug)]
struct CreditPot {
    /// Unrounded charges, in the list's currency.
    charges: Decimal,
    /// Σ rounded charge lines covered, in the invoice currency.
    rounded: Decimal,
    conversion: Conversion,
}

/// The holder of a credit: a tenant (tenant-scoped list) or a subscription.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Subscription(usize),
    Tenant,
}

/// Rates a (merged) aggregation.
pub fn rate_partial(scenario: &Scenario, partial: Partial<'_>) -> Result<Outcome> {
    let (aggregates, unbilled) = partial.finish()?;
    rate(scenario, aggregates, unbilled)
}

/// Rates aggregates into an [`Outcome`]. `unbilled` carries the record-level entries
/// (invalid, unknown, outside the period) and receives the aggregate-level ones.
pub fn rate(
    scenario: &Scenario,
    aggregates: Vec<Aggregate>,
    mut unbilled: Vec<Unbilled>,
) -> Result<Outcome> {
    let h = &scenario.hierarchy;
    let rounding = scenario.platform.rounding;
    let fx_date = scenario.fx_date();
    let mut lines: Vec<Vec<InvoiceLine>> = vec![Vec::new(); h.tenants.len()];
    // (tenant, price ref, holder) → pot; a BTreeMap keeps credit lines deterministic.
    let mut pots: BTreeMap<(usize, usize, usize, Holder), CreditPot> = BTreeMap::new();

    for agg in aggregates {
        let tenant = h.tenant_of(agg.subscription);
        let terms = &scenario.tenant_terms[tenant];
        let meter = MeterId::new(&agg.meter);
        let [s, t, r] = &scenario.sub_scopes[agg.subscription];
        let Some(price) = scenario.book.resolve([s, t, r], &meter, agg.sku.as_deref()) else {
            unbilled.push(aggregate_unbilled(scenario, UnbilledReason::NoPrice, agg));
            continue;
        };
        let list = scenario.book.list(price);
        let item = scenario.book.item(price);
        let Some(conversion) = scenario
            .fx
            .conversion(list.currency, terms.currency, fx_date)
        else {
            unbilled.push(aggregate_unbilled(scenario, UnbilledReason::NoFxRate, agg));
            continue;
        };
        let context = || {
            format!(
                "the charge of {}/{}",
                h.subscriptions[agg.subscription].id, agg.meter
            )
        };
        let derive = |rate: Decimal| -> Result<Decimal> {
            match item.per {
                Per::Unit => Ok(rate),
                Per::Month => Ok(rate
                    .checked_div(terms.month_hours)
                    .ok_or_else(|| overflow(context()))?
                    .round_dp_with_strategy(
                        DERIVED_RATE_DP,
                        RoundingStrategy::MidpointNearestEven,
                    )),
            }
        };
        let (unit_rate, amount) = match &item.rate {
            Rate::Flat(rate) => {
                let unit = derive(*rate)?;
                let amount = agg
                    .quantity
                    .checked_mul(unit)
                    .ok_or_else(|| overflow(context()))?;
                (Some(unit), amount)
            }
            Rate::Tiered(tiers) => {
                let mut failed = None;
                let derived = tiers.map_values(|v| {
                    derive(v).unwrap_or_else(|e| {
                        failed = Some(e);
                        Decimal::ZERO
                    })
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                let amount = derived
                    .apply(agg.quantity)
                    .map_err(|_| overflow(context()))?;
                (None, amount)
            }
        };
        let converted = conversion
            .apply(amount)
            .ok_or_else(|| overflow(context()))?;
        let rounded = rounding.round_money(converted, terms.currency);
        if item.credit.is_some() {
            let holder = match list.scope {
                PriceScope::Tenant(_) => Holder::Tenant,
                _ => Holder::Subscription(agg.subscription),
            };
            let pot = pots
                .entry((tenant, price.list, price.item, holder))
                .or_insert(CreditPot {
                    charges: Decimal::ZERO,
                    rounded: Decimal::ZERO,
                    conversion,
                });
            pot.charges = pot
                .charges
                .checked_add(amount)
                .ok_or_else(|| overflow(context()))?;
            pot.rounded = pot
                .rounded
                .checked_add(rounded)
                .ok_or_else(|| overflow(context()))?;
        }
        lines[tenant].push(InvoiceLine {
            kind: LineKind::Charge,
            subscription: Some(h.subscriptions[agg.subscription].id.clone()),
            meter,
            sku: agg.sku,
            quantity: Some(agg.quantity),
            price_list: list.id.clone(),
            unit_rate,
            fx_rate: conversion.shown(),
            amount: rounded,
        });
    }

    for ((tenant, list, item, holder), pot) in pots {
        let price = PriceRef { list, item };
        let list = scenario.book.list(price);
        let item = scenario.book.item(price);
        let currency = scenario.tenant_terms[tenant].currency;
        // Only items with a credit were given a pot.
        let credit = item.credit.unwrap_or(Decimal::ZERO).min(pot.charges);
        let converted = pot
            .conversion
            .apply(credit)
            .ok_or_else(|| overflow("a credit"))?;
        let amount = rounding.round_money(converted, currency).min(pot.rounded);
        if amount <= Decimal::ZERO {
            continue;
        }
        #[expect(
            clippy::arithmetic_side_effects,
            reason = "negating a Decimal flips its sign: it cannot overflow"
        )]
        let negative = -amount;
        lines[tenant].push(InvoiceLine {
            kind: LineKind::Credit,
            subscription: match holder {
                Holder::Subscription(s) => Some(h.subscriptions[s].id.clone()),
                Holder::Tenant => None,
            },
            meter: item.meter.clone(),
            sku: item.sku.clone(),
            quantity: None,
            price_list: list.id.clone(),
            unit_rate: None,
            fx_rate: pot.conversion.shown(),
            amount: negative,
        });
    }

    let mut invoices = Vec::with_capacity(h.tenants.len());
    for (ti, tenant_lines) in lines.into_iter().enumerate() {
        let tenant = &h.tenants[ti];
        let terms = &scenario.tenant_terms[ti];
        let invoice = Invoice::assemble(
            tenant.id.clone(),
            terms.currency,
            terms.bounds.start,
            terms.bounds.end,
            tenant_lines,
            tenant.tax_percent,
            rounding,
        )
        .ok_or_else(|| overflow(format!("the invoice of tenant {}", tenant.id)))?;
        invoices.push(invoice);
    }
    let commissions = commissions(scenario, &invoices)?;
    invoices.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    unbilled.sort_by(|a, b| {
        (a.reason, &a.subscription, &a.meter, &a.sku).cmp(&(
            b.reason,
            &b.subscription,
            &b.meter,
            &b.sku,
        ))
    });
    Ok(Outcome {
        period: scenario.period,
        invoices,
        commissions,
        unbilled,
    })
}

fn aggregate_unbilled(scenario: &Scenario, reason: UnbilledReason, agg: Aggregate) -> Unbilled {
    let id: &SubscriptionId = &scenario.hierarchy.subscriptions[agg.subscription].id;
    Unbilled {
        reason,
        subscription: Some(id.as_str().to_owned()),
        meter: Some(agg.meter),
        sku: agg.sku,
        quantity: agg.quantity,
        records: agg.records,
    }
}

/// Partner and distributor commissions (billing-semantics §8). `invoices` are in tenant
/// input order.
fn commissions(scenario: &Scenario, invoices: &[Invoice]) -> Result<Vec<Commission>> {
    let h = &scenario.hierarchy;
    let rounding = scenario.platform.rounding;
    let on = scenario.fx_date();
    let mut partner_base = vec![Decimal::ZERO; h.partners.len()];
    let mut distributor_base = vec![Decimal::ZERO; h.distributors.len()];
    let convert = |amount: Decimal, from, to, party: &str| -> Result<Decimal> {
        // Scenario::new verified that every needed rate exists.
        scenario
            .fx
            .conversion(from, to, on)
            .and_then(|c| c.apply(amount))
            .ok_or_else(|| overflow(format!("the commission base of {party}")))
    };
    for (ti, invoice) in invoices.iter().enumerate() {
        let pi = h.partner_of(ti);
        let di = h.distributor_of(pi);
        let partner = &h.partners[pi];
        let distributor = &h.distributors[di];
        let pc = scenario.partner_currency[pi];
        let dc = scenario.distributor_currency[di];
        let to_partner = convert(invoice.subtotal, invoice.currency, pc, partner.id.as_str())?;
        let to_distributor = convert(
            invoice.subtotal,
            invoice.currency,
            dc,
            distributor.id.as_str(),
        )?;
        partner_base[pi] = partner_base[pi]
            .checked_add(to_partner)
            .ok_or_else(|| overflow(format!("the commission base of {}", partner.id)))?;
        distributor_base[di] = distributor_base[di]
            .checked_add(to_distributor)
            .ok_or_else(|| overflow(format!("the commission base of {}", distributor.id)))?;
    }
    let mut out = Vec::with_capacity(h.partners.len().saturating_add(h.distributors.len()));
    let mut distributors: Vec<usize> = (0..h.distributors.len()).collect();
    distributors.sort_by(|&a, &b| h.distributors[a].id.cmp(&h.distributors[b].id));
    for di in distributors {
        let d = &h.distributors[di];
        let currency = scenario.distributor_currency[di];
        let base = rounding.round_money(distributor_base[di], currency);
        let (plan, source) = match &d.commission {
            Some(p) => (Some(p), PlanSource::Own),
            None => (None, PlanSource::None),
        };
        let (amount, bands) = applied(plan, base, d.id.as_str())?;
        out.push(Commission {
            party: CommissionParty::Distributor(d.id.clone()),
            currency,
            base,
            amount: rounding.round_money(amount, currency),
            plan: source,
            bands,
        });
    }
    let mut partners: Vec<usize> = (0..h.partners.len()).collect();
    partners.sort_by(|&a, &b| h.partners[a].id.cmp(&h.partners[b].id));
    for pi in partners {
        let p = &h.partners[pi];
        let d = &h.distributors[h.distributor_of(pi)];
        let currency = scenario.partner_currency[pi];
        let base = rounding.round_money(partner_base[pi], currency);
        let (plan, source) = match (&p.commission, &d.partner_commission) {
            (Some(own), _) => (Some(own), PlanSource::Own),
            (None, Some(inherited)) => (Some(inherited), PlanSource::Inherited),
            (None, None) => (None, PlanSource::None),
        };
        let (amount, bands) = applied(plan, base, p.id.as_str())?;
        out.push(Commission {
            party: CommissionParty::Partner(p.id.clone()),
            currency,
            base,
            amount: rounding.round_money(amount, currency),
            plan: source,
            bands,
        });
    }
    Ok(out)
}

/// A plan (if any) applied to a rounded base: the unrounded commission and its bands.
fn applied(
    plan: Option<&CommissionPlan>,
    base: Decimal,
    party: &str,
) -> Result<(Decimal, Vec<CommissionBand>)> {
    let Some(plan) = plan else {
        return Ok((Decimal::ZERO, Vec::new()));
    };
    let failed = |_| overflow(format!("the commission of {party}"));
    Ok((
        plan.apply(base).map_err(failed)?,
        plan.bands(base).map_err(failed)?,
    ))
}

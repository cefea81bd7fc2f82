//! A validated billing scenario: everything needed to rate one period except the usage,
//! which is streamed (see [`crate::rating::Rater`]).
//!
//! [`Scenario::new`] checks every structural rule of billing-semantics.md and reports all
//! problems at once, with the scenario-contract path of each, so that whoever feeds the
//! engine (the JSON reader, a store, a binding) gets one complete list to fix.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::error::{InvalidScenario, Problem};
use crate::fx::{FxRate, FxTable};
use crate::hierarchy::{Distributor, Hierarchy, Partner, Platform, Subscription, Tenant};
use crate::money::Currency;
use crate::period::{Period, PeriodBounds};
use crate::pricing::{PriceBook, PriceList, PriceScope, Rate};

#[cfg(feature = "serde")]
pub mod json;
mod narrow;

/// Unvalidated parts of a scenario, already typed.
#[derive(Debug, Clone)]
pub struct ScenarioInput {
    /// The month to bill.
    pub period: Period,
    /// Platform defaults.
    pub platform: Platform,
    /// Distributors.
    pub distributors: Vec<Distributor>,
    /// Partners.
    pub partners: Vec<Partner>,
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// Price lists at every scope.
    pub price_lists: Vec<PriceList>,
    /// Published FX rates.
    pub fx_rates: Vec<FxRate>,
}

/// Per-tenant facts derived once: currency, zone, period bounds and hours.
#[derive(Debug, Clone)]
pub struct TenantTerms {
    /// Invoice currency.
    pub currency: Currency,
    /// Time zone the period is cut in.
    pub time_zone: Tz,
    /// Period bounds in that zone.
    pub bounds: PeriodBounds,
    /// The same bounds in Unix nanoseconds, for the per-record check.
    pub nanos: (i64, i64),
    /// Divisor for `per: month` prices: the real hours, or 730.
    pub month_hours: Decimal,
}

/// A scenario that has passed every structural check and can be rated.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) period: Period,
    pub(crate) platform: Platform,
    pub(crate) hierarchy: Hierarchy,
    pub(crate) book: PriceBook,
    pub(crate) fx: FxTable,
    pub(crate) fx_rates: Vec<FxRate>,
    pub(crate) tenant_terms: Vec<TenantTerms>,
    /// For each subscription, its price scopes in precedence order.
    pub(crate) sub_scopes: Vec<[PriceScope; 3]>,
    pub(crate) partner_currency: Vec<Currency>,
    pub(crate) distributor_currency: Vec<Currency>,
    /// For each subscription, the Unix nanosecond from which it is not billed
    /// (`i64::MAX` while it has no end).
    pub(crate) subscription_end: Vec<i64>,
}

/// Hours in a month when monthly variable pricing is off.
const STANDARD_MONTH_HOURS: i64 = 730;

fn index_unique<K: std::hash::Hash + Eq + Clone>(
    kind: &str,
    ids: impl Iterator<Item = K>,
    problems: &mut Vec<Problem>,
) -> HashMap<K, usize> {
    let mut map = HashMap::new();
    for (i, id) in ids.enumerate() {
        if let std::collections::hash_map::Entry::Vacant(slot) = map.entry(id) {
            slot.insert(i);
        } else {
            problems.push(Problem::new(
                format!("{kind}[{i}].id"),
                "duplicate id: ids must be unique within their kind",
            ));
        }
    }
    map
}

fn non_negative(value: Decimal, path: impl FnOnce() -> String, problems: &mut Vec<Problem>) {
    if value.is_sign_negative() && !value.is_zero() {
        problems.push(Problem::new(path(), "must be ≥ 0"));
    }
}

impl Scenario {
    /// Validates `input`, reporting every problem with its path.
    pub fn new(input: ScenarioInput) -> Result<Self, InvalidScenario> {
        let mut problems = Vec::new();
        let ScenarioInput {
            period,
            platform,
            distributors,
            partners,
            tenants,
            subscriptions,
            price_lists,
            fx_rates,
        } = input;

        let distributor_index = index_unique(
            "distributors",
            distributors.iter().map(|d| d.id.clone()),
            &mut problems,
        );
        let partner_index = index_unique(
            "partners",
            partners.iter().map(|p| p.id.clone()),
            &mut problems,
        );
        let tenant_index = index_unique(
            "tenants",
            tenants.iter().map(|t| t.id.clone()),
            &mut problems,
        );
        let subscription_index = index_unique(
            "subscriptions",
            subscriptions.iter().map(|s| s.id.clone()),
            &mut problems,
        );

        let mut partner_parent = Vec::with_capacity(partners.len());
        for (i, p) in partners.iter().enumerate() {
            match distributor_index.get(&p.distributor) {
                Some(&d) => partner_parent.push(d),
                None => {
                    problems.push(Problem::new(
                        format!("partners[{i}].distributor"),
                        format!("unknown distributor {:?}", p.distributor.as_str()),
                    ));
                    partner_parent.push(usize::MAX);
                }
            }
        }
        let mut tenant_parent = Vec::with_capacity(tenants.len());
        for (i, t) in tenants.iter().enumerate() {
            match partner_index.get(&t.partner) {
                Some(&p) => tenant_parent.push(p),
                None => {
                    problems.push(Problem::new(
                        format!("tenants[{i}].partner"),
                        format!("unknown partner {:?}", t.partner.as_str()),
                    ));
                    tenant_parent.push(usize::MAX);
                }
            }
            non_negative(
                t.tax_percent,
                || format!("tenants[{i}].tax_percent"),
                &mut problems,
            );
        }
        let mut subscription_parent = Vec::with_capacity(subscriptions.len());
        for (i, s) in subscriptions.iter().enumerate() {
            match tenant_index.get(&s.tenant) {
                Some(&t) => subscription_parent.push(t),
                None => {
                    problems.push(Problem::new(
                        format!("subscriptions[{i}].tenant"),
                        format!("unknown tenant {:?}", s.tenant.as_str()),
                    ));
                    subscription_parent.push(usize::MAX);
                }
            }
        }

        for (li, list) in price_lists.iter().enumerate() {
            let known = match &list.scope {
                PriceScope::Region(_) => true,
                PriceScope::Tenant(t) => tenant_index.contains_key(t),
                PriceScope::Subscription(s) => subscription_index.contains_key(s),
            };
            if !known {
                problems.push(Problem::new(
                    format!("price_lists[{li}].scope.{}", list.scope.kind()),
                    format!("unknown {} {:?}", list.scope.kind(), list.scope.id()),
                ));
            }
            if let Some(to) = list.effective_to
                && to <= list.effective_from
            {
                problems.push(Problem::new(
                    format!("price_lists[{li}].effective_to"),
                    "must be after effective_from",
                ));
            }
            for (ii, item) in list.items.iter().enumerate() {
                match &item.rate {
                    Rate::Flat(r) => non_negative(
                        *r,
                        || format!("price_lists[{li}].items[{ii}].rate"),
                        &mut problems,
                    ),
                    Rate::Tiered(_) => {} // bands were validated when built
                }
                if let Some(c) = item.credit {
                    non_negative(
                        c,
                        || format!("price_lists[{li}].items[{ii}].credit"),
                        &mut problems,
                    );
                }
            }
        }
        for (i, r) in fx_rates.iter().enumerate() {
            if r.rate <= Decimal::ZERO {
                problems.push(Problem::new(format!("fx_rates[{i}].rate"), "must be > 0"));
            }
        }

        let book = match PriceBook::new(price_lists, period.first_day()) {
            Ok(book) => Some(book),
            Err(e) => {
                for a in e.ambiguous {
                    for &li in &a.lists {
                        problems.push(Problem::new(
                            format!("price_lists[{li}].effective_from"),
                            format!(
                                "ambiguous: {} price lists for {} {:?} are in force at the period start with the same effective_from",
                                a.lists.len(),
                                a.scope.kind(),
                                a.scope.id()
                            ),
                        ));
                    }
                }
                for d in e.duplicates {
                    problems.push(Problem::new(
                        format!("price_lists[{}].items[{}].meter", d.list, d.item),
                        "a list may price each (meter, sku) only once",
                    ));
                }
                None
            }
        };

        let fx = FxTable::new(fx_rates.iter().cloned());
        let on = period.last_day();
        let distributor_currency: Vec<Currency> = distributors
            .iter()
            .map(|d| d.currency.unwrap_or(platform.currency))
            .collect();
        let partner_currency: Vec<Currency> = partners
            .iter()
            .zip(&partner_parent)
            .map(|(p, &d)| {
                p.currency
                    .or_else(|| distributor_currency.get(d).copied())
                    .unwrap_or(platform.currency)
            })
            .collect();
        let tenant_terms: Vec<TenantTerms> = tenants
            .iter()
            .map(|t| {
                let time_zone = t.time_zone.unwrap_or(platform.time_zone);
                let bounds = period.bounds(time_zone);
                TenantTerms {
                    currency: t.currency.unwrap_or(platform.currency),
                    time_zone,
                    bounds,
                    nanos: bounds.nanos(),
                    month_hours: if platform.monthly_variable_pricing {
                        bounds.hours()
                    } else {
                        Decimal::from(STANDARD_MONTH_HOURS)
                    },
                }
            })
            .collect();

        // Commissions convert every tenant's subtotal; a missing rate fails the run even
        // for a zero subtotal (billing-semantics §8), so check it here, up front.
        let mut reported: std::collections::HashSet<String> = Default::default();
        let mut require_fx = |path: String, from: Currency, to: Currency| {
            if !reported.contains(&path) && fx.conversion(from, to, on).is_none() {
                problems.push(Problem::new(
                    path.clone(),
                    format!("no FX rate from {from} to {to} in force on {on} for commissions"),
                ));
                reported.insert(path);
            }
        };
        for (ti, &pi) in tenant_parent.iter().enumerate() {
            let Some(&pc) = partner_currency.get(pi) else {
                continue;
            };
            let tc = tenant_terms[ti].currency;
            require_fx(format!("partners[{pi}].currency"), tc, pc);
            let Some(&dc) = partner_parent
                .get(pi)
                .and_then(|&di| distributor_currency.get(di))
            else {
                continue;
            };
            let di = partner_parent[pi];
            require_fx(format!("distributors[{di}].currency"), tc, dc);
        }

        if !problems.is_empty() {
            return Err(InvalidScenario { problems });
        }
        let book = book.unwrap_or_default();
        let subscription_end = subscriptions
            .iter()
            .zip(&subscription_parent)
            .map(|(s, &t)| match s.ends_on {
                None => i64::MAX,
                Some(day) => {
                    let zone = tenant_terms
                        .get(t)
                        .map_or(platform.time_zone, |t| t.time_zone);
                    crate::period::local_midnight(zone, day)
                        .timestamp_nanos_opt()
                        .unwrap_or(i64::MAX)
                }
            })
            .collect();
        let sub_scopes = subscriptions
            .iter()
            .map(|s| {
                [
                    PriceScope::Subscription(s.id.clone()),
                    PriceScope::Tenant(s.tenant.clone()),
                    PriceScope::Region(s.region.clone()),
                ]
            })
            .collect();
        Ok(Scenario {
            period,
            platform,
            hierarchy: Hierarchy {
                distributors,
                partners,
                tenants,
                subscriptions,
                distributor_index,
                partner_index,
                tenant_index,
                subscription_index,
                partner_parent,
                tenant_parent,
                subscription_parent,
            },
            book,
            fx,
            fx_rates,
            tenant_terms,
            sub_scopes,
            partner_currency,
            distributor_currency,
            subscription_end,
        })
    }

    /// The period being billed.
    pub fn period(&self) -> Period {
        self.period
    }
    /// Platform defaults.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }
    /// The hierarchy.
    pub fn hierarchy(&self) -> &Hierarchy {
        &self.hierarchy
    }
    /// The price book.
    pub fn price_book(&self) -> &PriceBook {
        &self.book
    }
    /// The FX rates as given.
    pub fn fx_rates(&self) -> &[FxRate] {
        &self.fx_rates
    }
    /// The FX table.
    pub fn fx(&self) -> &FxTable {
        &self.fx
    }
    /// Terms of tenant `index`.
    pub fn tenant_terms(&self, index: usize) -> &TenantTerms {
        &self.tenant_terms[index]
    }
    /// The date FX rates are read on: the period's last calendar day.
    pub fn fx_date(&self) -> NaiveDate {
        self.period.last_day()
    }
}

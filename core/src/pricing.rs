//! Price lists and the precedence that picks the price for an aggregate.
//!
//! Scopes are searched subscription → tenant → region; within a scope the list in force at
//! the period start wins; within a list an item for (meter, sku) beats a meter-wide item.
//! A missing price is never a zero price: resolution returns `None` and the aggregate is
//! reported unbilled.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::hierarchy::{PriceListId, RegionId, SubscriptionId, TenantId};
use crate::meter::MeterId;
use crate::money::Currency;
use crate::tiers::Tiers;

/// Where a price list applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PriceScope {
    /// The region's default prices.
    Region(RegionId),
    /// A tenant's bespoke prices, over all its subscriptions.
    Tenant(TenantId),
    /// One subscription's prices.
    Subscription(SubscriptionId),
}

impl PriceScope {
    /// The scenario key (`region`, `tenant`, `subscription`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Region(_) => "region",
            Self::Tenant(_) => "tenant",
            Self::Subscription(_) => "subscription",
        }
    }

    /// The id of the scope's node.
    pub fn id(&self) -> &str {
        match self {
            Self::Region(id) => id.as_str(),
            Self::Tenant(id) => id.as_str(),
            Self::Subscription(id) => id.as_str(),
        }
    }
}

/// The unit a rate is quoted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Per {
    /// Per unit of the meter's quantity.
    #[default]
    Unit,
    /// Per month, for hourly meters: divided by the month's hours (or 730) to get a unit rate.
    Month,
}

impl Per {
    /// Parses the scenario spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "unit" => Some(Self::Unit),
            "month" => Some(Self::Month),
            _ => None,
        }
    }

    /// The scenario spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::Month => "month",
        }
    }
}

/// How an item charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rate {
    /// One rate for every unit.
    Flat(Decimal),
    /// Graduated or volume bands.
    Tiered(Tiers),
}

/// A priced (meter, sku) in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceItem {
    /// The meter it prices.
    pub meter: MeterId,
    /// The VM size it is limited to; `None` prices every sku of the meter.
    pub sku: Option<String>,
    /// The rate or tiers.
    pub rate: Rate,
    /// What the rate is quoted per.
    pub per: Per,
    /// Credit per period in the list's currency, offsetting charges rated with this item.
    pub credit: Option<Decimal>,
}

/// A price list at one scope, in force over a date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceList {
    /// Its id.
    pub id: PriceListId,
    /// Where it applies.
    pub scope: PriceScope,
    /// The currency of its rates and credits.
    pub currency: Currency,
    /// First day in force (local midnight in the tenant's zone).
    pub effective_from: NaiveDate,
    /// First day no longer in force.
    pub effective_to: Option<NaiveDate>,
    /// Its items.
    pub items: Vec<PriceItem>,
}

impl PriceList {
    /// Whether the list is in force on `day` (the period's first day; both are local
    /// midnights in the same zone, so comparing dates is exact).
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|to| to > day)
    }
}

/// A resolved price: which list and which item of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PriceRef {
    /// Index into the book's lists.
    pub list: usize,
    /// Index into that list's items.
    pub item: usize,
}

/// All price lists, indexed for resolution on one day.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    lists: Vec<PriceList>,
    /// For each scope, the single list in force on the book's day.
    in_force: HashMap<PriceScope, usize>,
    /// For each list in force, (meter, sku) → item index.
    items: Vec<HashMap<(MeterId, Option<String>), usize>>,
}

/// Two lists of one scope are in force on the same day with the same `effective_from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmbiguousLists {
    /// The scope.
    pub scope: PriceScope,
    /// Indexes of the tied lists, in input order.
    pub lists: Vec<usize>,
}

/// A list with two items for the same (meter, sku).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateItem {
    /// Index of the list.
    pub list: usize,
    /// Index of the repeated item.
    pub item: usize,
}

/// Why a price book cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookProblems {
    /// Scopes whose list in force is ambiguous.
    pub ambiguous: Vec<AmbiguousLists>,
    /// Repeated items.
    pub duplicates: Vec<DuplicateItem>,
}

impl PriceBook {
    /// Indexes `lists` for rating a period that starts on `day`.
    pub fn new(lists: Vec<PriceList>, day: NaiveDate) -> Result<Self, BookProblems> {
        let mut problems = BookProblems::default();
        let mut items = Vec::with_capacity(lists.len());
        for (li, list) in lists.iter().enumerate() {
            let mut map = HashMap::with_capacity(list.items.len());
            for (ii, item) in list.items.iter().enumerate() {
                if map
                    .insert((item.meter.clone(), item.sku.clone()), ii)
                    .is_some()
                {
                    problems
                        .duplicates
                        .push(DuplicateItem { list: li, item: ii });
                }
            }
            items.push(map);
        }
        let mut best: HashMap<&PriceScope, Vec<usize>> = HashMap::new();
        for (li, list) in lists.iter().enumerate() {
            if !list.in_force(day) {
                continue;
            }
            let entry = best.entry(&list.scope).or_default();
            match entry.first().map(|&b| lists[b].effective_from) {
                Some(from) if from > list.effective_from => {}
                Some(from) if from == list.effective_from => entry.push(li),
                _ => *entry = vec![li],
            }
        }
        let mut in_force = HashMap::with_capacity(best.len());
        let mut ambiguous: Vec<AmbiguousLists> = Vec::new();
        for (scope, winners) in best {
            if winners.len() > 1 {
                ambiguous.push(AmbiguousLists {
                    scope: scope.clone(),
                    lists: winners,
                });
            } else {
                in_force.insert(scope.clone(), winners[0]);
            }
        }
        ambiguous.sort_by_key(|a| a.lists[0]);
        problems.ambiguous = ambiguous;
        if problems.ambiguous.is_empty() && problems.duplicates.is_empty() {
            Ok(Self {
                lists,
                in_force,
                items,
            })
        } else {
            Err(problems)
        }
    }

    /// The lists, in input order.
    pub fn lists(&self) -> &[PriceList] {
        &self.lists
    }

    /// A list by index.
    pub fn list(&self, r: PriceRef) -> &PriceList {
        &self.lists[r.list]
    }

    /// The item a reference points to.
    pub fn item(&self, r: PriceRef) -> &PriceItem {
        &self.lists[r.list].items[r.item]
    }

    /// The list in force at `scope`, if any.
    pub fn in_force(&self, scope: &PriceScope) -> Option<usize> {
        self.in_force.get(scope).copied()
    }

    /// Resolves the price of (meter, sku) for a subscription by precedence. `scopes` are
    /// the subscription's, tenant's and region's scopes, in that order.
    pub fn resolve(
        &self,
        scopes: [&PriceScope; 3],
        meter: &MeterId,
        sku: Option<&str>,
    ) -> Option<PriceRef> {
        for scope in scopes {
            let Some(list) = self.in_force(scope) else {
                continue;
            };
            let items = &self.items[list];
            if let Some(sku) = sku
                && let Some(&item) = items.get(&(meter.clone(), Some(sku.to_owned())))
            {
                return Some(PriceRef { list, item });
            }
            if let Some(&item) = items.get(&(meter.clone(), None)) {
                return Some(PriceRef { list, item });
            }
        }
        None
    }
}

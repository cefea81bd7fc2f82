//! Streaming aggregation of usage: dedup by id, classification, and per-(subscription,
//! meter, sku) sums.
//!
//! Memory grows with the number of distinct aggregates and distinct record ids, never with
//! the number of rows: a record is folded into its bucket as it arrives. To honour "the
//! last record with an id wins" without keeping rows, the aggregator remembers, per id,
//! which bucket the id's current record went to and with what quantity, and moves that
//! contribution when a later record with the same id arrives.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::meter::canonical_meter;
use crate::scenario::Scenario;
use crate::usage::UsageRecord;

/// Why usage is not billed (billing-semantics §9). The order of the variants is the
/// order of their names, which is the output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnbilledReason {
    /// A record with a negative quantity, `end` ≤ `start`, or a malformed field.
    InvalidUsage,
    /// The aggregate's price list currency has no FX rate to the tenant's currency.
    NoFxRate,
    /// No price list in any scope prices the aggregate.
    NoPrice,
    /// The record starts outside the tenant's period.
    OutsidePeriod,
    /// The record's subscription is not in the hierarchy.
    UnknownSubscription,
}

impl UnbilledReason {
    /// The contract spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidUsage => "invalid_usage",
            Self::NoFxRate => "no_fx_rate",
            Self::NoPrice => "no_price",
            Self::OutsidePeriod => "outside_period",
            Self::UnknownSubscription => "unknown_subscription",
        }
    }
}

/// A string table: each distinct string is stored once and named by a dense index.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    index: HashMap<Box<str>, u32>,
    strings: Vec<Box<str>>,
}

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.strings.push(Box::from(s));
        self.index.insert(Box::from(s), i);
        i
    }

    pub(crate) fn get(&self, i: u32) -> &str {
        &self.strings[i as usize]
    }
}

/// Absent optional string, in interned form.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket {
    Billable(u32),
    Unbilled(u32),
}

#[derive(Debug, Clone, Copy)]
struct Contribution {
    bucket: Bucket,
    quantity: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct UnbilledKey {
    reason: UnbilledReason,
    subscription: u32,
    meter: u32,
    sku: u32,
}

#[derive(Debug, Clone, Copy)]
struct Sum {
    quantity: Decimal,
    records: u64,
}

impl Sum {
    const ZERO: Sum = Sum {
        quantity: Decimal::ZERO,
        records: 0,
    };
}

/// One billable aggregate: usage of a known subscription in its period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// Index of the subscription in the hierarchy.
    pub subscription: usize,
    /// Canonical meter id.
    pub meter: String,
    /// SKU, if any.
    pub sku: Option<String>,
    /// Summed quantity.
    pub quantity: Decimal,
    /// Number of records summed.
    pub records: u64,
}

/// Usage that will not be billed, summed per (reason, subscription, meter, sku).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unbilled {
    /// Why.
    pub reason: UnbilledReason,
    /// Subscription id as reported, if any.
    pub subscription: Option<String>,
    /// Canonical meter id, if any.
    pub meter: Option<String>,
    /// SKU, if any.
    pub sku: Option<String>,
    /// Sum of the quantities that could be read.
    pub quantity: Decimal,
    /// Number of records.
    pub records: u64,
}

/// Folds usage records into aggregates as they stream past.
#[derive(Debug)]
pub struct Aggregator<'s> {
    scenario: &'s Scenario,
    subscriptions: Interner,
    /// For each interned subscription, its hierarchy index if known.
    known: Vec<Option<usize>>,
    meters: Interner,
    /// Raw meter spelling → interned canonical meter.
    meter_spelling: HashMap<Box<str>, u32>,
    skus: Interner,
    billable_index: HashMap<(u32, u32, u32), u32>,
    billable: Vec<((u32, u32, u32), Sum)>,
    unbilled_index: HashMap<UnbilledKey, u32>,
    unbilled: Vec<(UnbilledKey, Sum)>,
    seen: HashMap<Box<str>, Contribution>,
    records: u64,
}

fn overflow(what: &str) -> Error {
    Error::Overflow {
        context: format!("the usage sum of {what}"),
    }
}

impl<'s> Aggregator<'s> {
    /// An empty aggregator for `scenario`'s period and hierarchy.
    pub fn new(scenario: &'s Scenario) -> Self {
        Self {
            scenario,
            subscriptions: Interner::default(),
            known: Vec::new(),
            meters: Interner::default(),
            meter_spelling: HashMap::new(),
            skus: Interner::default(),
            billable_index: HashMap::new(),
            billable: Vec::new(),
            unbilled_index: HashMap::new(),
            unbilled: Vec::new(),
            seen: HashMap::new(),
            records: 0,
        }
    }

    /// Number of records pushed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn meter(&mut self, raw: &str) -> u32 {
        if let Some(&m) = self.meter_spelling.get(raw) {
            return m;
        }
        let m = self.meters.intern(&canonical_meter(raw));
        self.meter_spelling.insert(Box::from(raw), m);
        m
    }

    fn subscription(&mut self, raw: &str) -> u32 {
        let s = self.subscriptions.intern(raw);
        if s as usize == self.known.len() {
            self.known
                .push(self.scenario.hierarchy.subscription_index(raw));
        }
        s
    }

    /// Adds one record. Fails only if a sum overflows the decimal range.
    pub fn push(&mut self, record: &UsageRecord<'_>) -> Result<()> {
        self.records += 1;
        let sub = record.subscription.map_or(NONE, |s| self.subscription(s));
        let meter = record.meter.map_or(NONE, |m| self.meter(m));
        let sku = record.sku.map_or(NONE, |s| self.skus.intern(s));
        let quantity = record.quantity.unwrap_or(Decimal::ZERO);

        let reason = if record.is_invalid() {
            Some(UnbilledReason::InvalidUsage)
        } else {
            match self.known[sub as usize] {
                None => Some(UnbilledReason::UnknownSubscription),
                Some(si) => {
                    let tenant = self.scenario.hierarchy.tenant_of(si);
                    let bounds = &self.scenario.tenant_terms[tenant].bounds;
                    // `is_invalid` is false, so `start` is present.
                    let start = record.start.unwrap_or(i64::MIN);
                    (!bounds.contains_nanos(start)).then_some(UnbilledReason::OutsidePeriod)
                }
            }
        };
        let bucket = match reason {
            Some(reason) => {
                let key = UnbilledKey {
                    reason,
                    subscription: sub,
                    meter,
                    sku,
                };
                let next = u32::try_from(self.unbilled.len()).unwrap_or(u32::MAX);
                let i = *self.unbilled_index.entry(key).or_insert(next);
                if i == next {
                    self.unbilled.push((key, Sum::ZERO));
                }
                Bucket::Unbilled(i)
            }
            None => {
                let key = (sub, meter, sku);
                let next = u32::try_from(self.billable.len()).unwrap_or(u32::MAX);
                let i = *self.billable_index.entry(key).or_insert(next);
                if i == next {
                    self.billable.push((key, Sum::ZERO));
                }
                Bucket::Billable(i)
            }
        };
        self.add(bucket, quantity, 1)?;
        if let Some(id) = record.id {
            let contribution = Contribution { bucket, quantity };
            let previous = match self.seen.get_mut(id) {
                Some(slot) => Some(std::mem::replace(slot, contribution)),
                None => {
                    self.seen.insert(Box::from(id), contribution);
                    None
                }
            };
            if let Some(prev) = previous {
                self.add(prev.bucket, -prev.quantity, -1)?;
            }
        }
        Ok(())
    }

    fn add(&mut self, bucket: Bucket, quantity: Decimal, records: i64) -> Result<()> {
        let sum = match bucket {
            Bucket::Billable(i) => &mut self.billable[i as usize].1,
            Bucket::Unbilled(i) => &mut self.unbilled[i as usize].1,
        };
        sum.quantity = sum
            .quantity
            .checked_add(quantity)
            .ok_or_else(|| overflow("an aggregate"))?;
        sum.records = sum.records.wrapping_add_signed(records);
        Ok(())
    }

    /// The billable aggregates and the record-level unbilled entries, each in first-seen
    /// order. Buckets whose every record was superseded by a later duplicate vanish.
    pub fn finish(self) -> (Vec<Aggregate>, Vec<Unbilled>) {
        let opt = |interner: &Interner, i: u32| (i != NONE).then(|| interner.get(i).to_owned());
        let aggregates = self
            .billable
            .iter()
            .filter(|(_, s)| s.records > 0)
            .map(|&((sub, meter, sku), s)| Aggregate {
                subscription: self.known[sub as usize].unwrap_or(usize::MAX),
                meter: self.meters.get(meter).to_owned(),
                sku: opt(&self.skus, sku),
                quantity: s.quantity,
                records: s.records,
            })
            .collect();
        let unbilled = self
            .unbilled
            .iter()
            .filter(|(_, s)| s.records > 0)
            .map(|&(k, s)| Unbilled {
                reason: k.reason,
                subscription: opt(&self.subscriptions, k.subscription),
                meter: opt(&self.meters, k.meter),
                sku: opt(&self.skus, k.sku),
                quantity: s.quantity,
                records: s.records,
            })
            .collect();
        (aggregates, unbilled)
    }
}

//! Streaming aggregation of usage: dedup by id, classification, and per-(subscription,
//! meter, sku) sums.
//!
//! Memory grows with the number of distinct aggregates, never with the number of rows: a
//! record is folded into its bucket as it arrives. [`Partial`] is the mergeable core used
//! by parallel readers; [`Aggregator`] adds in-memory dedup, remembering per id which bucket
//! the id's current record went to and with what quantity, and moving that contribution
//! when a later record with the same id arrives.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::quantity::Quantity;

use crate::error::{Error, Result};
use crate::meter::canonical_meter;
use crate::scenario::Scenario;
use crate::usage::UsageRecord;

/// Why usage is not billed (billing-semantics §9). The order of the variants is the
/// order of their names, which is the output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnbilledReason {
    /// The record starts on or after its subscription's `ends_on` (cancelled or closed).
    InactiveSubscription,
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
            Self::InactiveSubscription => "inactive_subscription",
            Self::InvalidUsage => "invalid_usage",
            Self::NoFxRate => "no_fx_rate",
            Self::NoPrice => "no_price",
            Self::OutsidePeriod => "outside_period",
            Self::UnknownSubscription => "unknown_subscription",
        }
    }
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A string table: each distinct string is stored once and named by a dense index.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    index: Map<Box<str>, u32>,
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

    fn len(&self) -> usize {
        self.strings.len()
    }
}

/// Absent optional string, in interned form.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket {
    Billable(u32),
    Unbilled(u32),
}

/// Where one record went and with what quantity, so that it can be taken back when a
/// later record with the same id supersedes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    bucket: Bucket,
    quantity: Quantity,
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
    quantity: Quantity,
    records: i64,
}

impl Sum {
    const ZERO: Sum = Sum {
        quantity: Quantity::ZERO,
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

/// Usage summed ahead of time (by a store, at ingest): `records` records of one reported
/// (subscription, meter, sku) whose starts all lie in `starts` (`[from, to)`, Unix
/// nanoseconds), either all valid or all invalid, with their quantities summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollup<'a> {
    /// Subscription id as reported.
    pub subscription: Option<&'a str>,
    /// Meter id as reported (canonicalised here, as for a record).
    pub meter: Option<&'a str>,
    /// SKU.
    pub sku: Option<&'a str>,
    /// A span holding every record's start.
    pub starts: (i64, i64),
    /// Whether the records are invalid (`invalid_usage`, whatever their start).
    pub invalid: bool,
    /// The sum of their quantities (invalid records: of those that could be read).
    pub quantity: Quantity,
    /// How many records.
    pub records: u64,
}

/// Aggregation state for any part of the usage, without id dedup.
///
/// Parts built on different threads [`merge`](Partial::merge) into one; because sums are
/// exact integers ([`Quantity`]), the merged result does not depend on how the usage was
/// split or in which order parts are merged. [`Aggregator`] adds in-memory dedup on top.
#[derive(Debug)]
pub struct Partial<'s> {
    scenario: &'s Scenario,
    subscriptions: Interner,
    /// For each interned subscription, its hierarchy index if known.
    known: Vec<Option<usize>>,
    meters: Interner,
    /// Raw meter spelling → interned canonical meter.
    meter_spelling: Map<Box<str>, u32>,
    /// A direct-mapped cache in front of `meter_spelling`, indexed by a cheap hash of the
    /// spelling's ends: a region reports a few dozen meter spellings, millions of times.
    meter_cache: Vec<(Box<str>, u32)>,
    skus: Interner,
    billable_index: Map<(u32, u32, u32), u32>,
    billable: Vec<((u32, u32, u32), Sum)>,
    /// Per subscription and meter, the last (sku, bucket) used: a direct index that
    /// spares the hash look-up for almost every row.
    recent: Vec<Vec<(u32, u32)>>,
    unbilled_index: Map<UnbilledKey, u32>,
    unbilled: Vec<(UnbilledKey, Sum)>,
    records: u64,
    /// The previous record's subscription: consecutive usage rows mostly share it, and
    /// comparing is cheaper than hashing. The buffer is reused, never reallocated per row.
    last_subscription: (String, u32),
}

fn overflow() -> Error {
    Error::Overflow {
        context: "a usage sum".to_owned(),
    }
}

impl<'s> Partial<'s> {
    /// An empty part for `scenario`'s period and hierarchy.
    pub fn new(scenario: &'s Scenario) -> Self {
        Self {
            scenario,
            subscriptions: Interner::default(),
            known: Vec::new(),
            meters: Interner::default(),
            meter_spelling: Map::default(),
            meter_cache: Vec::new(),
            skus: Interner::default(),
            billable_index: Map::default(),
            billable: Vec::new(),
            recent: Vec::new(),
            unbilled_index: Map::default(),
            unbilled: Vec::new(),
            records: 0,
            last_subscription: (String::new(), NONE),
        }
    }

    /// Number of records pushed (net of retractions).
    pub fn records(&self) -> u64 {
        self.records
    }

    fn meter(&mut self, raw: &str) -> u32 {
        const SLOTS: usize = 256;
        let b = raw.as_bytes();
        let mut key = b.len() as u64;
        if b.len() >= 8 {
            let head = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            let t = &b[b.len().saturating_sub(8)..];
            let tail = u64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
            key ^= head ^ tail.rotate_left(29);
        }
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % SLOTS;
        if let Some((spelling, m)) = self.meter_cache.get(slot)
            && **spelling == *raw
            && *m != NONE
        {
            return *m;
        }
        let m = match self.meter_spelling.get(raw) {
            Some(&m) => m,
            None => {
                let m = self.meters.intern(&canonical_meter(raw));
                self.meter_spelling.insert(Box::from(raw), m);
                m
            }
        };
        if self.meter_cache.is_empty() {
            self.meter_cache = vec![(Box::from(""), NONE); SLOTS];
        }
        self.meter_cache[slot] = (Box::from(raw), m);
        m
    }

    fn subscription(&mut self, raw: &str) -> u32 {
        if self.last_subscription.1 != NONE && self.last_subscription.0 == raw {
            return self.last_subscription.1;
        }
        let s = self.intern_subscription(raw);
        self.last_subscription.0.clear();
        self.last_subscription.0.push_str(raw);
        self.last_subscription.1 = s;
        s
    }

    fn intern_subscription(&mut self, raw: &str) -> u32 {
        let s = self.subscriptions.intern(raw);
        if s as usize == self.known.len() {
            self.known
                .push(self.scenario.hierarchy.subscription_index(raw));
        }
        s
    }

    /// Why a valid record of interned subscription `sub` starting at `start` is not
    /// billed, if it is not.
    fn reason(&self, sub: u32, start: i64) -> Option<UnbilledReason> {
        let si = self.known.get(sub as usize).copied().flatten();
        let Some(si) = si else {
            return Some(UnbilledReason::UnknownSubscription);
        };
        let tenant = self.scenario.hierarchy.tenant_of(si);
        let (from, to) = self.scenario.tenant_terms[tenant].nanos;
        if start < from || start >= to {
            Some(UnbilledReason::OutsidePeriod)
        } else {
            (start >= self.scenario.subscription_end[si])
                .then_some(UnbilledReason::InactiveSubscription)
        }
    }

    /// The instants at which the classification of a valid record of `sub` changes with
    /// its start: its tenant's period bounds and its subscription's end.
    fn boundaries(&self, sub: u32) -> Option<[i64; 3]> {
        let si = self.known.get(sub as usize).copied().flatten()?;
        let tenant = self.scenario.hierarchy.tenant_of(si);
        let (from, to) = self.scenario.tenant_terms[tenant].nanos;
        Some([from, to, self.scenario.subscription_end[si]])
    }

    /// Where `record` belongs (billable aggregate or unbilled reason) and its quantity.
    fn classify(&mut self, record: &UsageRecord<'_>) -> Contribution {
        let sub = record.subscription.map_or(NONE, |s| self.subscription(s));
        let meter = record.meter.map_or(NONE, |m| self.meter(m));
        let sku = record.sku.map_or(NONE, |s| self.skus.intern(s));
        let quantity = record.quantity.unwrap_or(Quantity::ZERO);
        let reason = if record.is_invalid() {
            Some(UnbilledReason::InvalidUsage)
        } else {
            // A valid record has a start.
            self.reason(sub, record.start.unwrap_or(i64::MIN))
        };
        let bucket = self.bucket(reason, sub, meter, sku);
        Contribution { bucket, quantity }
    }

    fn bucket(&mut self, reason: Option<UnbilledReason>, sub: u32, meter: u32, sku: u32) -> Bucket {
        match reason {
            Some(reason) => Bucket::Unbilled(self.unbilled_bucket(UnbilledKey {
                reason,
                subscription: sub,
                meter,
                sku,
            })),
            None => Bucket::Billable(self.recent_bucket(sub, meter, sku)),
        }
    }

    /// Adds usage a store summed ahead of time, if its records all classify alike.
    ///
    /// Returns `false`, adding nothing, when a classification boundary (the tenant's
    /// period bounds or the subscription's end) falls strictly inside `rollup.starts`:
    /// the caller then pushes those records one by one. Because a roll-up's records
    /// share everything classification reads but their starts, a roll-up added here
    /// lands exactly where each of its records would have.
    pub fn push_rollup(&mut self, rollup: &Rollup<'_>) -> Result<bool> {
        let sub = rollup.subscription.map_or(NONE, |s| self.subscription(s));
        let (lo, hi) = rollup.starts;
        let reason = if rollup.invalid {
            Some(UnbilledReason::InvalidUsage)
        } else {
            if let Some(cuts) = self.boundaries(sub)
                && cuts.iter().any(|&c| lo < c && c < hi)
            {
                return Ok(false);
            }
            self.reason(sub, lo)
        };
        let meter = rollup.meter.map_or(NONE, |m| self.meter(m));
        let sku = rollup.sku.map_or(NONE, |s| self.skus.intern(s));
        let records = i64::try_from(rollup.records).map_err(|_| overflow())?;
        let bucket = self.bucket(reason, sub, meter, sku);
        self.add(bucket, rollup.quantity, records)?;
        self.records = self
            .records
            .checked_add(rollup.records)
            .ok_or_else(overflow)?;
        Ok(true)
    }

    fn unbilled_bucket(&mut self, key: UnbilledKey) -> u32 {
        let next = u32::try_from(self.unbilled.len()).unwrap_or(u32::MAX);
        let i = *self.unbilled_index.entry(key).or_insert(next);
        if i == next {
            self.unbilled.push((key, Sum::ZERO));
        }
        i
    }

    fn recent_bucket(&mut self, sub: u32, meter: u32, sku: u32) -> u32 {
        let (s, m) = (sub as usize, meter as usize);
        if let Some(&(k, b)) = self.recent.get(s).and_then(|row| row.get(m))
            && k == sku
            && b != NONE
        {
            return b;
        }
        let b = self.billable_bucket((sub, meter, sku));
        if self.recent.len() <= s {
            self.recent.resize_with(s.saturating_add(1), Vec::new);
        }
        let row = &mut self.recent[s];
        if row.len() <= m {
            row.resize(m.saturating_add(1), (NONE, NONE));
        }
        row[m] = (sku, b);
        b
    }

    fn billable_bucket(&mut self, key: (u32, u32, u32)) -> u32 {
        let next = u32::try_from(self.billable.len()).unwrap_or(u32::MAX);
        let i = *self.billable_index.entry(key).or_insert(next);
        if i == next {
            self.billable.push((key, Sum::ZERO));
        }
        i
    }

    fn add(&mut self, bucket: Bucket, quantity: Quantity, records: i64) -> Result<()> {
        let sum = match bucket {
            Bucket::Billable(i) => &mut self.billable[i as usize].1,
            Bucket::Unbilled(i) => &mut self.unbilled[i as usize].1,
        };
        sum.quantity = sum.quantity.checked_add(quantity).ok_or_else(overflow)?;
        sum.records = sum.records.checked_add(records).ok_or_else(overflow)?;
        Ok(())
    }

    /// Adds one record and says where it went.
    pub fn push(&mut self, record: &UsageRecord<'_>) -> Result<Contribution> {
        let c = self.classify(record);
        self.add(c.bucket, c.quantity, 1)?;
        self.records = self.records.saturating_add(1);
        Ok(c)
    }

    /// Takes back a contribution returned by [`push`](Partial::push) on this part.
    pub fn undo(&mut self, c: Contribution) -> Result<()> {
        self.add(c.bucket, c.quantity.checked_neg().ok_or_else(overflow)?, -1)?;
        self.records = self.records.saturating_sub(1);
        Ok(())
    }

    /// Takes back a record pushed into this part or any part merged into it: the record
    /// is classified again (classification is a pure function of the record) and its
    /// quantity subtracted.
    pub fn retract(&mut self, record: &UsageRecord<'_>) -> Result<()> {
        let c = self.classify(record);
        self.undo(c)
    }

    /// Folds `other` into this part.
    pub fn merge(&mut self, other: Partial<'s>) -> Result<()> {
        let subs: Vec<u32> = (0..other.subscriptions.len() as u32)
            .map(|i| self.intern_subscription(other.subscriptions.get(i)))
            .collect();
        let meters: Vec<u32> = (0..other.meters.len() as u32)
            .map(|i| self.meters.intern(other.meters.get(i)))
            .collect();
        let skus: Vec<u32> = (0..other.skus.len() as u32)
            .map(|i| self.skus.intern(other.skus.get(i)))
            .collect();
        let map = |table: &[u32], i: u32| if i == NONE { NONE } else { table[i as usize] };
        for ((s, m, k), sum) in other.billable {
            let b = self.billable_bucket((map(&subs, s), map(&meters, m), map(&skus, k)));
            self.add(Bucket::Billable(b), sum.quantity, sum.records)?;
        }
        for (key, sum) in other.unbilled {
            let b = self.unbilled_bucket(UnbilledKey {
                reason: key.reason,
                subscription: map(&subs, key.subscription),
                meter: map(&meters, key.meter),
                sku: map(&skus, key.sku),
            });
            self.add(Bucket::Unbilled(b), sum.quantity, sum.records)?;
        }
        for (spelling, m) in other.meter_spelling {
            self.meter_spelling
                .entry(spelling)
                .or_insert(meters[m as usize]);
        }
        self.records = self.records.saturating_add(other.records);
        Ok(())
    }

    /// The billable aggregates and the record-level unbilled entries, each in first-seen
    /// order. Buckets whose every record was superseded by a later duplicate vanish.
    pub fn finish(self) -> Result<(Vec<Aggregate>, Vec<Unbilled>)> {
        let opt = |interner: &Interner, i: u32| (i != NONE).then(|| interner.get(i).to_owned());
        let mut aggregates = Vec::with_capacity(self.billable.len());
        for &((sub, meter, sku), s) in &self.billable {
            if s.records <= 0 {
                continue;
            }
            aggregates.push(Aggregate {
                subscription: self.known[sub as usize].unwrap_or(usize::MAX),
                meter: self.meters.get(meter).to_owned(),
                sku: opt(&self.skus, sku),
                quantity: s.quantity.to_decimal().ok_or_else(overflow)?,
                records: s.records as u64,
            });
        }
        let mut unbilled = Vec::with_capacity(self.unbilled.len());
        for &(k, s) in &self.unbilled {
            if s.records <= 0 {
                continue;
            }
            unbilled.push(Unbilled {
                reason: k.reason,
                subscription: opt(&self.subscriptions, k.subscription),
                meter: opt(&self.meters, k.meter),
                sku: opt(&self.skus, k.sku),
                quantity: s.quantity.to_decimal().ok_or_else(overflow)?,
                records: s.records as u64,
            });
        }
        Ok((aggregates, unbilled))
    }
}

/// Folds usage records into aggregates as they stream past, honouring "the last record
/// with an id wins" with an in-memory map from id to contribution.
#[derive(Debug)]
pub struct Aggregator<'s> {
    partial: Partial<'s>,
    seen: Map<Box<str>, Contribution>,
    pushed: u64,
}

impl<'s> Aggregator<'s> {
    /// An empty aggregator for `scenario`'s period and hierarchy.
    pub fn new(scenario: &'s Scenario) -> Self {
        Self {
            partial: Partial::new(scenario),
            seen: Map::default(),
            pushed: 0,
        }
    }

    /// Number of records pushed so far, superseded duplicates included.
    pub fn records(&self) -> u64 {
        self.pushed
    }

    /// Adds one record. Fails only if a sum overflows.
    pub fn push(&mut self, record: &UsageRecord<'_>) -> Result<()> {
        self.pushed = self.pushed.saturating_add(1);
        let c = self.partial.push(record)?;
        if let Some(id) = record.id {
            let previous = match self.seen.get_mut(id) {
                Some(slot) => Some(std::mem::replace(slot, c)),
                None => {
                    self.seen.insert(Box::from(id), c);
                    None
                }
            };
            if let Some(prev) = previous {
                self.partial.undo(prev)?;
            }
        }
        Ok(())
    }

    /// See [`Partial::push_rollup`]. Roll-ups carry no ids: the store that summed them
    /// already kept only the last record of each id.
    pub fn push_rollup(&mut self, rollup: &Rollup<'_>) -> Result<bool> {
        let added = self.partial.push_rollup(rollup)?;
        if added {
            self.pushed = self.pushed.saturating_add(rollup.records);
        }
        Ok(added)
    }

    /// The aggregation so far, for callers that merge in more parts.
    pub fn into_partial(self) -> Partial<'s> {
        self.partial
    }

    /// See [`Partial::finish`].
    pub fn finish(self) -> Result<(Vec<Aggregate>, Vec<Unbilled>)> {
        self.partial.finish()
    }
}

//! Roll-ups against the rows they sum, after a batch ingest and after a streamed import:
//! for a seeded mix of new rows, corrections (new quantity, start or key), exact repeats,
//! rows without a readable start and invalid rows, every (day, key, invalid) roll-up
//! equals the exact sum and count of the last row of each id, and re-importing changes
//! nothing.

use std::collections::{BTreeMap, HashMap};

use stackbill_core::quantity::Quantity;
use stackbill_store::billing::usage_record;
use stackbill_store::{DAY_NS, Result, Store, UsageRow};
use stackbill_store_sql::{SqlStore, UsageChunk};

use super::{check, fail, generated_rows, october};

/// A small deterministic generator (no dependency, same sequence everywhere).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// `count` rows in arrival order: mostly new, with corrections and repeats of earlier
/// ids, rows without a readable start, and invalid ones.
fn mixed_rows(seed: u64, count: usize) -> Vec<UsageRow> {
    let mut rng = Lcg(seed);
    let base = generated_rows(count, 0);
    let mut sent: Vec<UsageRow> = Vec::with_capacity(count);
    let mut next = 0;
    while sent.len() < count {
        let pick = rng.below(10);
        let earlier =
            (!sent.is_empty()).then(|| sent[rng.below(sent.len() as u64) as usize].clone());
        let row = match (pick, earlier) {
            (0, Some(r)) => r,
            (1, Some(mut r)) => {
                r.quantity = Some(format!("{}.{}", rng.below(90), rng.below(1000)));
                r
            }
            (2, Some(mut r)) => {
                let moved = format!("2026-10-{:02}T05:00:00Z", 1 + rng.below(28));
                r.start_ns = stackbill_core::usage::parse_instant(&moved);
                r.start = Some(moved);
                r
            }
            (3, Some(mut r)) => {
                // Now and then a key whose text needs quoting wherever it is packed or
                // escaped (the key read packs a row into one JSON array).
                r.resource = Some(match rng.below(4) {
                    0 => "vm \"q\" \\ ' , \t ü 東 \u{7}".to_owned(),
                    1 => "[null]".to_owned(),
                    _ => format!("vm-moved-{}", rng.below(3)),
                });
                r
            }
            (4, _) => {
                let mut r = base[next].clone();
                next += 1;
                r.start = Some("not a time".into());
                r.start_ns = None;
                r
            }
            (5, _) => {
                let mut r = base[next].clone();
                next += 1;
                r.quantity = Some(if rng.below(2) == 0 { "-1.5" } else { "abc" }.into());
                r
            }
            _ => {
                let r = base[next].clone();
                next += 1;
                r
            }
        };
        sent.push(row);
    }
    sent
}

/// The last row of each id.
fn last_rows(rows: &[UsageRow]) -> BTreeMap<&str, &UsageRow> {
    rows.iter().map(|r| (r.id.as_str(), r)).collect()
}

type Sums = BTreeMap<(i64, [Option<String>; 4], bool), (Quantity, i64)>;

/// What the roll-ups must hold for `rows` (the final rows).
fn expected_sums<'a>(rows: impl Iterator<Item = &'a UsageRow>) -> Result<Sums> {
    let mut sums = Sums::new();
    for r in rows {
        let record = usage_record(r);
        let Some(start) = record.start else { continue };
        let key = [
            r.subscription.clone(),
            r.meter.clone(),
            r.sku.clone(),
            r.resource.clone(),
        ];
        let e = sums
            .entry((start.div_euclid(DAY_NS), key, record.is_invalid()))
            .or_insert((Quantity::ZERO, 0));
        e.0 =
            e.0.checked_add(record.quantity.unwrap_or(Quantity::ZERO))
                .ok_or_else(|| fail("sum overflow".into()))?;
        e.1 += 1;
    }
    Ok(sums)
}

/// What the store's roll-ups hold over September to November 2026 (zero roll-ups, left
/// behind when every row moved away, are skipped as billing skips them).
async fn stored_sums(store: &dyn Store) -> Result<Sums> {
    let keys: HashMap<i64, [Option<String>; 4]> = store
        .usage_keys()
        .await?
        .into_iter()
        .map(|k| (k.id, [k.subscription, k.meter, k.sku, k.resource]))
        .collect();
    let mut sums = Sums::new();
    let first = 1_788_220_800_000_000_000 / DAY_NS; // 2026-09-01
    for day in first..first + 91 {
        for r in store.usage_rollups(day).await? {
            let q = Quantity::parse_exact(&r.quantity)
                .ok_or_else(|| fail(format!("roll-up quantity {:?}", r.quantity)))?;
            if r.records == 0 && q.is_zero() {
                continue;
            }
            let key = keys
                .get(&r.key)
                .ok_or_else(|| fail(format!("roll-up of unknown key {}", r.key)))?;
            sums.insert((day, key.clone(), r.invalid), (q, r.records));
        }
    }
    Ok(sums)
}

async fn sums_match(store: &dyn Store, rows: &[UsageRow], when: &str) -> Result<()> {
    let last = last_rows(rows);
    let want = expected_sums(last.values().copied())?;
    let got = stored_sums(store).await?;
    check(got == want, || {
        let differ = want
            .iter()
            .find(|(k, v)| got.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k:?}: want {v:?}, got {:?}", got.get(k)));
        format!(
            "{when}: roll-ups differ from the rows ({} expected, {} stored); first difference {differ:?}",
            want.len(),
            got.len()
        )
    })?;
    check(store.usage_count().await? == last.len() as u64, || {
        format!("{when}: stored rows are not one per id")
    })
}

/// Batches through [`Store::ingest_usage`], then the same again.
pub async fn batch_rollups_equal_rows(store: &dyn Store) -> Result<()> {
    // Both seeds send the same ids: the second corrects what the first stored.
    let mut sent = Vec::new();
    for seed in [1, 2] {
        let rows = mixed_rows(seed, 2500);
        for round in 0..2 {
            for part in rows.chunks(600) {
                store.ingest_usage(&october(), part).await?;
            }
            sent.extend_from_slice(&rows);
            sums_match(
                store,
                &sent,
                &format!("seed {seed}, batches, round {round}"),
            )
            .await?;
        }
    }
    Ok(())
}

/// A streamed import in chunks of 97 rows and transactions of 500, then the same again
/// (all duplicates) with transactions bounded by time alone (zero: one per chunk); its
/// report accounts for every row.
pub async fn streamed_import_rollups_equal_rows(store: &SqlStore) -> Result<()> {
    let rows = mixed_rows(3, 3000);
    let distinct = last_rows(&rows).len() as u64;
    for round in 0..2 {
        let import = store.usage_import("conformance").await?;
        let mut import = if round == 0 {
            import.rows_per_transaction(500)
        } else {
            import
                .rows_per_transaction(usize::MAX)
                .transaction_time(std::time::Duration::ZERO)
        };
        let before = store.usage_seq().await?;
        for part in rows.chunks(97) {
            import.push(&UsageChunk::new(part.to_vec())).await?;
        }
        let report = import.finish().await?;
        let committed = store.usage_seq().await? - before;
        let expected = if round == 0 {
            rows.len().div_ceil(97 * 6) as i64
        } else {
            rows.len().div_ceil(97) as i64
        };
        check(committed == expected, || {
            format!("round {round}: {committed} transactions, not {expected}")
        })?;
        let total = report.new + report.duplicate + report.replaced;
        check(total == rows.len() as u64, || {
            format!(
                "round {round}: {report:?} does not account for {} rows",
                rows.len()
            )
        })?;
        if round == 0 {
            check(report.new == distinct, || {
                format!("{report:?}: {distinct} ids")
            })?;
        } else {
            // Earlier versions of a corrected id replace the stored row and are replaced
            // again by the last one: nothing is new, and the sums below are unchanged.
            check(report.new == 0, || format!("round {round}: {report:?}"))?;
        }
        sums_match(store, &rows, &format!("streamed, round {round}")).await?;
    }
    Ok(())
}

/// [`Store::usage_rollups_of`] gives, for some subscriptions (named in another case),
/// exactly the roll-ups the day-by-day read gives for their keys, each with its key.
pub async fn rollups_of_subscriptions_are_theirs(store: &dyn Store) -> Result<()> {
    let rows = mixed_rows(4, 1500);
    for part in rows.chunks(600) {
        store.ingest_usage(&october(), part).await?;
    }
    let keys: HashMap<i64, Option<String>> = store
        .usage_keys()
        .await?
        .into_iter()
        .map(|k| (k.id, k.subscription))
        .collect();
    let mut all: Vec<String> = keys.values().flatten().cloned().collect();
    all.sort();
    all.dedup();
    check(all.len() >= 3, || format!("{} subscriptions", all.len()))?;
    let chosen: Vec<String> = all
        .iter()
        .step_by(2)
        .map(|s| s.to_ascii_uppercase())
        .collect();
    let ours = |s: &Option<String>| {
        s.as_deref()
            .is_some_and(|s| chosen.iter().any(|c| c.eq_ignore_ascii_case(s)))
    };
    let first = 1_788_220_800_000_000_000 / DAY_NS; // 2026-09-01
    let last = first + 90;
    let mut want = Vec::new();
    for day in first..=last {
        for r in store.usage_rollups(day).await? {
            if keys.get(&r.key).is_some_and(ours) {
                want.push((day, r.key, r.invalid, r.quantity, r.records));
            }
        }
    }
    let mut got = Vec::new();
    for (key, r) in store.usage_rollups_of((first, last), &chosen).await? {
        check(key.id == r.key && ours(&key.subscription), || {
            format!("roll-up of key {} came with key {key:?}", r.key)
        })?;
        got.push((r.day, r.key, r.invalid, r.quantity, r.records));
    }
    want.sort();
    got.sort();
    check(!want.is_empty() && got == want, || {
        format!("{} roll-ups expected, {} given", want.len(), got.len())
    })
}

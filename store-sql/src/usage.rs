//! Usage: compact rows, keys and the per-day roll-ups billing reads.
//!
//! Each distinct reported (subscription, meter, sku, resource) is stored once in
//! `usage_keys`; a row keeps its id, key, parsed start and end, the quantity as reported,
//! flags, and the start/end text only when it is not the canonical spelling of the parsed
//! instant. In the same transaction as the rows, `usage_rollups` keeps per (UTC day of
//! start, key, invalid) the exact sum of the quantities and the row count; a replaced row
//! is subtracted from its old roll-up and added to its new one. Billing then reads one
//! roll-up per key and day, and rows only where a roll-up straddles a boundary of its run.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use stackbill_core::usage::parse_instant;
use stackbill_store::billing::usage_record_parsed;
use stackbill_store::{DAY_NS, KeyedUsageRow, UsageKey, UsageRollup};

use super::*;

/// Flag bits of `usage_rows.flags`.
const SYNTHETIC: i64 = 1;
pub(crate) const MALFORMED: i64 = 2;
pub(crate) const INVALID: i64 = 4;

/// Keys and roll-ups per statement (bounded IN lists and VALUES lists).
const KEYS_PER_STATEMENT: usize = 400;

/// The canonical RFC 3339 spelling of an instant (UTC, `Z`, fraction only when needed):
/// a row's start text is stored only when it differs from this.
pub(crate) fn canonical_instant(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The text of an instant column: the stored text, else the canonical spelling.
fn instant_text(text: Option<String>, ns: Option<i64>) -> Option<String> {
    text.or_else(|| ns.map(canonical_instant))
}

/// The digest naming a key in `usage_keys`: SHA-256 over the four fields, each
/// length-prefixed and NULL distinct from the empty string (stored in hex). Computed for
/// every row as it is prepared, on the reader's thread: the writer looks keys up by it.
fn key_digest(r: &UsageRow) -> KeyDigest {
    let mut h = Sha256::new();
    for f in [&r.subscription, &r.meter, &r.sku, &r.resource] {
        match f {
            None => h.update(b"N"),
            Some(s) => {
                h.update(b"S");
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    h.finalize().into()
}

/// A key's digest as stored (`usage_keys.digest`): lower-case hex.
fn digest_hex(digest: &KeyDigest) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The SHA-256 digest naming a usage key (see [`key_digest`]).
pub(crate) type KeyDigest = [u8; 32];

/// Hash maps on the write path (digests, roll-up cells): keys are small and made here,
/// not by a client, and the default hasher cost more than the look-ups' other work.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A row ready to write: what is derived from it once, without the database.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) row: UsageRow,
    /// The key's digest, made here (off the writer's thread) so that the writer only
    /// looks it up.
    pub(crate) key: KeyDigest,
    pub(crate) start_ns: Option<i64>,
    pub(crate) end_ns: Option<i64>,
    /// The parsed quantity; none (summed as zero) when absent or unreadable.
    pub(crate) quantity: Option<Quantity>,
    /// Stored only when not canonical.
    pub(crate) start_text: Option<String>,
    pub(crate) end_text: Option<String>,
    pub(crate) flags: i64,
}

impl Prepared {
    /// Where the row counts in the roll-ups.
    pub(crate) fn contribution(&self) -> Option<(i64, bool, Quantity)> {
        contribution(self.start_ns, self.flags, self.quantity)
    }
}

/// Where a row counts in the roll-ups: (day, invalid) and its quantity, or nothing when
/// it has no start.
pub(crate) fn contribution(
    start_ns: Option<i64>,
    flags: i64,
    quantity: Option<Quantity>,
) -> Option<(i64, bool, Quantity)> {
    let start = start_ns?;
    Some((
        start.div_euclid(DAY_NS),
        flags & INVALID != 0,
        quantity.unwrap_or(Quantity::ZERO),
    ))
}

/// Canonical spellings already made, by instant: a batch has few distinct instants.
type Spellings = HashMap<i64, String>;

fn prepare(row: UsageRow, spellings: &mut Spellings) -> Prepared {
    // The parsed instants are derived from the text here, exactly as billing derives
    // them, so the two can never disagree.
    let start_ns = row.start.as_deref().and_then(parse_instant);
    let end_ns = row.end.as_deref().and_then(parse_instant);
    let quantity = row.quantity.as_deref().and_then(Quantity::parse);
    let mut keep = |text: &Option<String>, ns: Option<i64>| match (text, ns) {
        (Some(t), Some(ns))
            if *t == *spellings.entry(ns).or_insert_with(|| canonical_instant(ns)) =>
        {
            None
        }
        (t, _) => t.clone(),
    };
    let mut flags = 0;
    if row.synthetic {
        flags |= SYNTHETIC;
    }
    if row.malformed {
        flags |= MALFORMED;
    }
    if usage_record_parsed(&row, start_ns, end_ns, quantity).is_invalid() {
        flags |= INVALID;
    }
    Prepared {
        key: key_digest(&row),
        start_text: keep(&row.start, start_ns),
        end_text: keep(&row.end, end_ns),
        row,
        start_ns,
        end_ns,
        quantity,
        flags,
    }
}

/// Prepares `rows`, each once.
pub(crate) fn prepare_all(rows: impl IntoIterator<Item = UsageRow>) -> Vec<Prepared> {
    let mut spellings = Spellings::new();
    rows.into_iter()
        .map(|r| prepare(r, &mut spellings))
        .collect()
}

/// A stored row as read for comparison and correction.
pub(crate) struct Stored {
    pub(crate) seq: i64,
    pub(crate) key: i64,
    pub(crate) start: Option<String>,
    pub(crate) end: Option<String>,
    pub(crate) start_ns: Option<i64>,
    pub(crate) quantity: Option<String>,
    pub(crate) flags: i64,
}

/// Roll-up changes of one transaction: (day, key, invalid) → (quantity, records).
pub(crate) type Deltas = FastMap<(i64, i64, bool), (Quantity, i64)>;

pub(crate) fn add_delta(
    deltas: &mut Deltas,
    key: i64,
    c: Option<(i64, bool, Quantity)>,
    sign: i64,
) -> Result<()> {
    let Some((day, invalid, q)) = c else {
        return Ok(());
    };
    let e = deltas
        .entry((day, key, invalid))
        .or_insert((Quantity::ZERO, 0));
    let q = if sign < 0 {
        q.checked_neg()
            .ok_or_else(|| StoreError::InvalidState("usage roll-up overflow".into()))?
    } else {
        q
    };
    e.0 =
        e.0.checked_add(q)
            .ok_or_else(|| StoreError::InvalidState("usage roll-up overflow".into()))?;
    e.1 = e.1.saturating_add(sign);
    Ok(())
}

/// Adds the roll-up changes of rows just inserted.
pub(crate) fn add_inserted(deltas: &mut Deltas, rows: &[(&Prepared, i64)]) -> Result<()> {
    for (p, key) in rows {
        add_delta(deltas, *key, p.contribution(), 1)?;
    }
    Ok(())
}

const ROW_COLUMNS: &str = "r.seq, r.id, r.key_id, r.start_ns, r.end_ns, r.quantity, r.start_text, r.end_text, r.flags, k.subscription, k.meter, k.sku, k.resource";

fn keyed_row(r: &AnyRow) -> Result<KeyedUsageRow> {
    let flags = get_i(r, "flags")?;
    let start_ns = get_oi(r, "start_ns")?;
    let end_ns = get_oi(r, "end_ns")?;
    Ok(KeyedUsageRow {
        seq: get_i(r, "seq")?,
        key: get_i(r, "key_id")?,
        invalid: flags & INVALID != 0,
        row: UsageRow {
            id: get_s(r, "id")?,
            synthetic: flags & SYNTHETIC != 0,
            subscription: get_os(r, "subscription")?,
            meter: get_os(r, "meter")?,
            sku: get_os(r, "sku")?,
            resource: get_os(r, "resource")?,
            start: instant_text(get_os(r, "start_text")?, start_ns),
            end: instant_text(get_os(r, "end_text")?, end_ns),
            quantity: get_os(r, "quantity")?,
            start_ns,
            end_ns,
            malformed: flags & MALFORMED != 0,
        },
    })
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl SqlStore {
    /// The key id of every row (in order), creating missing keys. Keys read or created
    /// here are added to `pending`, the transaction's own keys, consulted before the
    /// database and remembered store-wide once the transaction commits (ids of committed
    /// keys never change; an uncommitted one might roll back).
    pub(crate) async fn key_ids(
        &self,
        tx: &mut Tx,
        prepared: &[Prepared],
        pending: &mut FastMap<KeyDigest, i64>,
    ) -> Attempt<Vec<i64>> {
        let e = |e: sqlx::Error| self.attempt_err(e);
        let mut ids = vec![0; prepared.len()];
        // Rows whose key is not known yet, by digest: the rows' indexes.
        let mut wanted: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        {
            let known = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            let mut by_digest: FastMap<&KeyDigest, String> = FastMap::default();
            for (i, p) in prepared.iter().enumerate() {
                if let Some(&id) = known.get(&p.key).or_else(|| pending.get(&p.key)) {
                    ids[i] = id;
                    continue;
                }
                let hex = by_digest
                    .entry(&p.key)
                    .or_insert_with(|| digest_hex(&p.key));
                wanted.entry(hex.clone()).or_default().push(i);
            }
        }
        let wanted: Vec<(String, Vec<usize>)> = wanted.into_iter().collect();
        for chunk in wanted.chunks(KEYS_PER_STATEMENT) {
            let mut found = select_keys(tx, chunk.iter().map(|(d, _)| d.as_str()))
                .await
                .map_err(e)?;
            let missing: Vec<&(String, Vec<usize>)> = chunk
                .iter()
                .filter(|(d, _)| !found.contains_key(d))
                .collect();
            if !missing.is_empty() {
                let sql = format!(
                    "INSERT INTO usage_keys (digest, subscription, meter, sku, resource) VALUES {}",
                    vec!["(?, ?, ?, ?, ?)"; missing.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for (d, rows) in &missing {
                    let r = &prepared[rows[0]].row;
                    q = q
                        .bind(d.clone())
                        .bind(r.subscription.clone())
                        .bind(r.meter.clone())
                        .bind(r.sku.clone())
                        .bind(r.resource.clone());
                }
                // A concurrent insert of the same key is retried (and then found).
                q.execute(&mut **tx).await.map_err(|x| {
                    let unique = matches!(&x, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation);
                    let (err, again) = self.attempt_err(x);
                    (err, again || unique)
                })?;
                found.extend(
                    select_keys(tx, missing.iter().map(|(d, _)| d.as_str()))
                        .await
                        .map_err(e)?,
                );
            }
            for (digest, rows) in chunk {
                let id = *found.get(digest).ok_or_else(|| {
                    (
                        StoreError::InvalidState(format!("usage key {digest} was not stored")),
                        false,
                    )
                })?;
                pending.insert(prepared[rows[0]].key, id);
                for &i in rows {
                    ids[i] = id;
                }
            }
        }
        Ok(ids)
    }

    /// Remembers a committed transaction's keys (see [`Self::key_ids`]).
    pub(crate) fn remember_keys(&self, ids: FastMap<KeyDigest, i64>) {
        if ids.is_empty() {
            return;
        }
        let mut known = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a store that sees millions of resources re-reads keys instead.
        if known.len().saturating_add(ids.len()) > 1_000_000 {
            known.clear();
        }
        known.extend(ids);
    }

    /// Adds `deltas` to the stored roll-ups. Rows of the touched keys are read (locked
    /// where the dialect can), summed exactly in Rust and written back.
    pub(crate) async fn apply_rollups(&self, tx: &mut Tx, deltas: Deltas) -> Attempt<()> {
        let e = |e: sqlx::Error| self.attempt_err(e);
        let mut by_day: BTreeMap<i64, BTreeMap<i64, [(Quantity, i64); 2]>> = BTreeMap::new();
        for ((day, key, invalid), d) in deltas {
            let slot = &mut by_day
                .entry(day)
                .or_default()
                .entry(key)
                .or_insert([(Quantity::ZERO, 0); 2])[usize::from(invalid)];
            *slot = d;
        }
        let overflow = || {
            (
                StoreError::InvalidState("usage roll-up overflow".into()),
                false,
            )
        };
        for (day, keys) in by_day {
            let keys: Vec<(i64, [(Quantity, i64); 2])> = keys.into_iter().collect();
            for chunk in keys.chunks(KEYS_PER_STATEMENT) {
                // A key range (the chunk is sorted), not an IN list: MariaDB turns a long
                // IN list under FOR UPDATE into a scan of the whole day. Rows of keys in
                // the range but not in the chunk are locked too, and left alone.
                let (lo, hi) = (chunk[0].0, chunk[chunk.len().saturating_sub(1)].0);
                let sql = format!(
                    "SELECT key_id, invalid, quantity, records FROM usage_rollups WHERE day = ? AND key_id >= ? AND key_id <= ?{}",
                    self.dialect.lock_rows
                );
                let q = sqlx::query(&sql).bind(day).bind(lo).bind(hi);
                let wanted: std::collections::HashSet<i64> =
                    chunk.iter().map(|(k, _)| *k).collect();
                let mut totals: BTreeMap<(i64, bool), (Quantity, i64)> = BTreeMap::new();
                for r in q.fetch_all(&mut **tx).await.map_err(e)? {
                    let text = get_s(&r, "quantity").map_err(|x| (x, false))?;
                    let q = Quantity::parse_exact(&text).ok_or_else(|| {
                        (
                            StoreError::InvalidState(format!("stored roll-up quantity {text:?}")),
                            false,
                        )
                    })?;
                    let key = get_i(&r, "key_id").map_err(|x| (x, false))?;
                    if !wanted.contains(&key) {
                        continue;
                    }
                    let invalid = get_i(&r, "invalid").map_err(|x| (x, false))? != 0;
                    totals.insert(
                        (key, invalid),
                        (q, get_i(&r, "records").map_err(|x| (x, false))?),
                    );
                }
                for (key, classes) in chunk {
                    for (invalid, (q, n)) in [(false, classes[0]), (true, classes[1])] {
                        if n == 0 && q.is_zero() {
                            continue;
                        }
                        let t = totals.entry((*key, invalid)).or_insert((Quantity::ZERO, 0));
                        t.0 = t.0.checked_add(q).ok_or_else(overflow)?;
                        t.1 = t.1.saturating_add(n);
                    }
                }
                // Emptied roll-ups stay as zero rows (billing skips them): an upsert is one
                // statement, where a delete and an insert would be two.
                let kept: Vec<_> = totals.into_iter().collect();
                if kept.is_empty() {
                    continue;
                }
                let sql = format!(
                    "INSERT INTO usage_rollups (day, key_id, invalid, quantity, records) VALUES {} {}",
                    vec!["(?, ?, ?, ?, ?)"; kept.len()].join(", "),
                    self.dialect.upsert_rollup
                );
                let mut q = sqlx::query(&sql);
                for ((key, invalid), (sum, n)) in kept {
                    q = q
                        .bind(day)
                        .bind(key)
                        .bind(i64::from(invalid))
                        .bind(sum.to_string())
                        .bind(n);
                }
                q.execute(&mut **tx).await.map_err(e)?;
            }
        }
        Ok(())
    }

    // The two reads below run on every billing run over every key and every roll-up of
    // the window (1.5M roll-ups for a month of 2,000 tenants). Each row comes back as one
    // packed text value: the SQLite driver copies each column value separately (a copy,
    // an allocation and a reference count per value), which made these reads a quarter
    // of `stackbill bill`.

    pub(crate) async fn read_usage_keys(&self) -> Result<Vec<UsageKey>> {
        let rows = sqlx::query(
            "SELECT JSON_ARRAY(id, subscription, meter, sku, resource) AS k \
             FROM usage_keys ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|r| packed_key(&get_s(r, "k")?)).collect()
    }

    pub(crate) async fn read_usage_rollups(&self, day: i64) -> Result<Vec<UsageRollup>> {
        let rows = sqlx::query(
            "SELECT CONCAT(key_id, ' ', invalid, ' ', quantity, ' ', records) AS r \
             FROM usage_rollups WHERE day = ?",
        )
        .bind(day)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| packed_rollup(day, &get_s(r, "r")?))
            .collect()
    }

    /// See [`Store::usage_rollups_of`]: the subscriptions' keys first (the key table is
    /// small), then each day's roll-ups of those keys by primary key, in chunks.
    pub(crate) async fn read_usage_rollups_of(
        &self,
        (first, last): (i64, i64),
        subscriptions: &[String],
    ) -> Result<Vec<(UsageKey, UsageRollup)>> {
        const CHUNK: usize = 400;
        let wanted: std::collections::HashSet<String> = subscriptions
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let mut keys = std::collections::HashMap::new();
        for part in subscriptions.chunks(CHUNK) {
            let marks = vec!["?"; part.len()].join(", ");
            let sql = format!(
                "SELECT JSON_ARRAY(id, subscription, meter, sku, resource) AS k \
                 FROM usage_keys WHERE LOWER(subscription) IN ({marks})"
            );
            let mut q = sqlx::query(&sql);
            for s in part {
                q = q.bind(s.to_ascii_lowercase());
            }
            for r in q.fetch_all(&self.pool).await.map_err(db)? {
                let key = packed_key(&get_s(&r, "k")?)?;
                if key
                    .subscription
                    .as_deref()
                    .is_some_and(|s| wanted.contains(&s.to_ascii_lowercase()))
                {
                    keys.insert(key.id, key);
                }
            }
        }
        let ids: Vec<i64> = keys.keys().copied().collect();
        let mut out = Vec::new();
        if ids.is_empty() {
            return Ok(out);
        }
        for day in first..=last {
            for part in ids.chunks(CHUNK) {
                let marks = vec!["?"; part.len()].join(", ");
                let sql = format!(
                    "SELECT CONCAT(key_id, ' ', invalid, ' ', quantity, ' ', records) AS r \
                     FROM usage_rollups WHERE day = ? AND key_id IN ({marks})"
                );
                let mut q = sqlx::query(&sql).bind(day);
                for id in part {
                    q = q.bind(id);
                }
                for r in q.fetch_all(&self.pool).await.map_err(db)? {
                    let rollup = packed_rollup(day, &get_s(&r, "r")?)?;
                    if let Some(key) = keys.get(&rollup.key) {
                        out.push((key.clone(), rollup));
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn read_usage_rows_starting(
        &self,
        (from, to): (i64, i64),
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<KeyedUsageRow>> {
        let mut sql = format!(
            "SELECT {ROW_COLUMNS} FROM usage_rows r JOIN usage_keys k ON k.id = r.key_id WHERE r.start_ns >= ? AND r.start_ns < ?"
        );
        if after.is_some() {
            sql.push_str(" AND (r.start_ns > ? OR (r.start_ns = ? AND r.seq > ?))");
        }
        sql.push_str(" ORDER BY r.start_ns, r.seq LIMIT ?");
        let mut q = sqlx::query(&sql).bind(from).bind(to);
        if let Some((start, seq)) = after {
            q = q.bind(start).bind(start).bind(seq);
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(keyed_row).collect()
    }

    pub(crate) async fn read_usage_rows_beside(
        &self,
        (from, to): (i64, i64),
        after: i64,
        limit: u32,
    ) -> Result<Vec<KeyedUsageRow>> {
        // Only batches that can hold such rows are walked, each over its own seq span.
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM usage_batches b \
             JOIN usage_rows r ON r.seq >= b.first_seq AND r.seq <= b.last_seq AND r.batch_id = b.id \
             JOIN usage_keys k ON k.id = r.key_id \
             WHERE b.window_start < ? AND b.window_end > ? \
             AND (b.unstarted_rows > 0 OR b.min_start_ns < ? OR b.max_start_ns >= ?) \
             AND (r.start_ns IS NULL OR r.start_ns < ? OR r.start_ns >= ?) AND r.seq > ? \
             ORDER BY r.seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(to)
            .bind(from)
            .bind(from)
            .bind(to)
            .bind(from)
            .bind(to)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(keyed_row).collect()
    }

    pub(crate) async fn read_usage_page(
        &self,
        window: (i64, i64),
        subscriptions: Option<&[String]>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UsageRow>> {
        let mut sql = format!(
            "SELECT {ROW_COLUMNS} FROM usage_rows r JOIN usage_keys k ON k.id = r.key_id \
             WHERE ((r.start_ns >= ? AND r.start_ns < ?) \
             OR r.batch_id IN (SELECT id FROM usage_batches WHERE window_start < ? AND window_end > ?))"
        );
        if after.is_some() {
            sql.push_str(" AND r.id > ?");
        }
        if let Some(subs) = subscriptions {
            if subs.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(
                " AND k.subscription IN ({})",
                placeholders(subs.len())
            ));
        }
        sql.push_str(" ORDER BY r.id LIMIT ?");
        let mut q = sqlx::query(&sql)
            .bind(window.0)
            .bind(window.1)
            .bind(window.1)
            .bind(window.0);
        if let Some(a) = after {
            q = q.bind(a.to_owned());
        }
        for s in subscriptions.into_iter().flatten() {
            q = q.bind(s.clone());
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(|r| keyed_row(r).map(|k| k.row)).collect()
    }

    pub(crate) async fn any_batch_usage_of(
        &self,
        batches: &[i64],
        subscriptions: &[String],
    ) -> Result<bool> {
        for b in batches {
            let span = sqlx::query("SELECT first_seq, last_seq FROM usage_batches WHERE id = ?")
                .bind(*b)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
            let Some(span) = span else { continue };
            let (Some(lo), Some(hi)) = (get_oi(&span, "first_seq")?, get_oi(&span, "last_seq")?)
            else {
                continue;
            };
            for s in subscriptions.chunks(500) {
                let sql = format!(
                    "SELECT 1 FROM usage_rows r JOIN usage_keys k ON k.id = r.key_id \
                     WHERE r.seq >= ? AND r.seq <= ? AND r.batch_id = ? AND k.subscription IN ({}) LIMIT 1",
                    placeholders(s.len())
                );
                let mut q = sqlx::query(&sql).bind(lo).bind(hi).bind(*b);
                for id in s {
                    q = q.bind(id.clone());
                }
                if q.fetch_optional(&self.pool).await.map_err(db)?.is_some() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Moves rows of the table used before roll-ups (`usage_legacy`) into the current
    /// layout, in one transaction: run by `migrate`, a no-op once it is empty.
    pub async fn convert_legacy_usage(&self) -> Result<u64> {
        const PAGE: i64 = 5_000;
        let mut tx = self.begin().await?;
        let mut moved = 0u64;
        let mut spans: HashMap<i64, (i64, i64)> = HashMap::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, batch_id, synthetic, subscription, meter, sku, resource, start_text, end_text, quantity_text, malformed \
                 FROM usage_legacy ORDER BY id LIMIT ?",
            )
            .bind(PAGE)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            if rows.is_empty() {
                break;
            }
            let mut by_batch: BTreeMap<i64, Vec<UsageRow>> = BTreeMap::new();
            let mut ids = Vec::new();
            for r in &rows {
                let row = UsageRow {
                    id: get_s(r, "id")?,
                    synthetic: get_i(r, "synthetic")? != 0,
                    subscription: get_os(r, "subscription")?,
                    meter: get_os(r, "meter")?,
                    sku: get_os(r, "sku")?,
                    resource: get_os(r, "resource")?,
                    start: get_os(r, "start_text")?,
                    end: get_os(r, "end_text")?,
                    quantity: get_os(r, "quantity_text")?,
                    start_ns: None,
                    end_ns: None,
                    malformed: get_i(r, "malformed")? != 0,
                };
                ids.push(row.id.clone());
                by_batch.entry(get_i(r, "batch_id")?).or_default().push(row);
            }
            // Not remembered: this transaction may still roll back.
            let mut keys_here = FastMap::default();
            for (batch, rows) in by_batch {
                let prepared = prepare_all(rows);
                let keys = self
                    .key_ids(&mut tx, &prepared, &mut keys_here)
                    .await
                    .map_err(|(e, _)| e)?;
                let lo = max_seq(&mut tx).await.map_err(db)?.saturating_add(1);
                let refs: Vec<(&Prepared, i64)> = prepared.iter().zip(keys).collect();
                let mut deltas = Deltas::default();
                for part in refs.chunks(INSERT_ROWS) {
                    insert_rows(&mut tx, batch, part).await.map_err(db)?;
                }
                add_inserted(&mut deltas, &refs)?;
                self.apply_rollups(&mut tx, deltas)
                    .await
                    .map_err(|(e, _)| e)?;
                let hi = max_seq(&mut tx).await.map_err(db)?;
                let span = spans.entry(batch).or_insert((lo, hi));
                *span = (span.0.min(lo), span.1.max(hi));
                moved = moved.saturating_add(prepared.len() as u64);
            }
            let sql = format!(
                "DELETE FROM usage_legacy WHERE id IN ({})",
                placeholders(ids.len())
            );
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        for (batch, (lo, hi)) in spans {
            sqlx::query("UPDATE usage_batches SET first_seq = ?, last_seq = ?, unstarted_rows = (SELECT COUNT(*) FROM usage_rows WHERE batch_id = ? AND start_ns IS NULL) WHERE id = ?")
                .bind(lo)
                .bind(hi)
                .bind(batch)
                .bind(batch)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(moved)
    }
}

pub(crate) async fn max_seq(tx: &mut Tx) -> std::result::Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT MAX(seq) FROM usage_rows")
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
}

async fn select_keys<'d>(
    tx: &mut Tx,
    digests: impl Iterator<Item = &'d str>,
) -> std::result::Result<HashMap<String, i64>, sqlx::Error> {
    let digests: Vec<&str> = digests.collect();
    if digests.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, digest FROM usage_keys WHERE digest IN ({})",
        placeholders(digests.len())
    );
    let mut q = sqlx::query(&sql);
    for d in digests {
        q = q.bind(d.to_owned());
    }
    let rows = q.fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("digest")?,
                r.try_get::<i64, _>("id")?,
            ))
        })
        .collect()
}

pub(crate) async fn stored_rows(
    tx: &mut Tx,
    chunk: &[(&Prepared, i64)],
) -> std::result::Result<HashMap<String, Stored>, sqlx::Error> {
    let sql = format!(
        "SELECT seq, id, key_id, start_ns, end_ns, quantity, start_text, end_text, flags FROM usage_rows WHERE id IN ({})",
        placeholders(chunk.len())
    );
    let mut q = sqlx::query(&sql);
    for (p, _) in chunk {
        q = q.bind(p.row.id.clone());
    }
    let mut out = HashMap::new();
    for r in q.fetch_all(&mut **tx).await? {
        let start_ns: Option<i64> = r.try_get("start_ns")?;
        let end_ns: Option<i64> = r.try_get("end_ns")?;
        out.insert(
            r.try_get::<String, _>("id")?,
            Stored {
                seq: r.try_get("seq")?,
                key: r.try_get("key_id")?,
                start: instant_text(r.try_get("start_text")?, start_ns),
                end: instant_text(r.try_get("end_text")?, end_ns),
                start_ns,
                quantity: r.try_get("quantity")?,
                flags: r.try_get("flags")?,
            },
        );
    }
    Ok(out)
}

/// One multi-row INSERT of usage rows.
pub(crate) async fn insert_rows(
    tx: &mut Tx,
    batch_id: i64,
    rows: &[(&Prepared, i64)],
) -> std::result::Result<(), sqlx::Error> {
    let sql = insert_sql(rows.len());
    insert_query(&sql, batch_id, rows)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The statement inserting `rows` usage rows (bound by [`insert_query`]).
pub(crate) fn insert_sql(rows: usize) -> String {
    format!(
        "INSERT INTO usage_rows (id, batch_id, key_id, start_ns, end_ns, quantity, start_text, end_text, flags) VALUES {}",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?)"; rows].join(", ")
    )
}

/// `sql` (from [`insert_sql`] for `rows.len()`) with `rows` bound, owned, so that it can
/// be built while the previous statement runs.
pub(crate) fn insert_query<'q>(
    sql: &'q str,
    batch_id: i64,
    rows: &[(&Prepared, i64)],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for (p, key) in rows {
        q = q
            .bind(p.row.id.clone())
            .bind(batch_id)
            .bind(*key)
            .bind(p.start_ns)
            .bind(p.end_ns)
            .bind(p.row.quantity.clone())
            .bind(p.start_text.clone())
            .bind(p.end_text.clone())
            .bind(p.flags);
    }
    q
}

/// Runs `work` while `statement` is with the database: the statement is polled once
/// (which hands it to the driver: SQLite's worker thread, or MariaDB's socket), `work`
/// runs on this thread, then the statement is awaited. Writing a file's rows alternates
/// between building a statement and waiting for one; this overlaps the two.
pub(crate) async fn alongside<F: std::future::Future, T>(
    statement: F,
    work: impl FnOnce() -> T,
) -> (F::Output, T) {
    let mut statement = std::pin::pin!(statement);
    let first =
        std::future::poll_fn(|cx| std::task::Poll::Ready(statement.as_mut().poll(cx))).await;
    let done = work();
    let output = match first {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => statement.await,
    };
    (output, done)
}

/// A usage key read as the packed `JSON_ARRAY(id, subscription, meter, sku, resource)`.
fn packed_key(text: &str) -> Result<UsageKey> {
    type Packed = (
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let (id, subscription, meter, sku, resource): Packed = serde_json::from_str(text)
        .map_err(|e| StoreError::Database(format!("usage key {text:?} unreadable: {e}")))?;
    Ok(UsageKey {
        id,
        subscription,
        meter,
        sku,
        resource,
    })
}

/// A roll-up of `day` read as the packed `key invalid quantity records`.
fn packed_rollup(day: i64, text: &str) -> Result<UsageRollup> {
    let unreadable = || StoreError::Database(format!("usage roll-up {text:?} unreadable"));
    let mut fields = text.split(' ');
    let mut next = || fields.next().ok_or_else(unreadable);
    let int = |f: &str| f.parse::<i64>().map_err(|_| unreadable());
    let key = int(next()?)?;
    let invalid = int(next()?)? != 0;
    let quantity = next()?.to_owned();
    let records = int(next()?)?;
    Ok(UsageRollup {
        day,
        key,
        invalid,
        quantity,
        records,
    })
}

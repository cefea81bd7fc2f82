//! Writing usage: one batch in one transaction (`Store::ingest_usage`, retried whole on a
//! lock conflict), or a file streamed through [`UsageImport`], many chunks per
//! transaction.
//!
//! Both take the same steps per chunk of rows: prepare each row once, resolve its key,
//! insert optimistically (a first ingest stores no id twice), and on a duplicate id
//! compare with the stored row to count it as a duplicate or replace it. Roll-up changes
//! are summed in memory and written once per transaction, so their cost follows the
//! distinct (day, key) pairs of a transaction, not its rows.

use super::usage::{
    Deltas, FastMap, KeyDigest, MALFORMED, Prepared, add_delta, add_inserted, alongside,
    contribution, insert_query, insert_rows, insert_sql, max_seq, prepare_all, stored_rows,
};
use super::*;

/// Rows per transaction of a streamed import at most: large enough that a roll-up is
/// written once for many rows (an hour-major file touches every key of a day each hour).
pub const IMPORT_ROWS_PER_TRANSACTION: usize = 1_000_000;

/// How long a streamed import keeps one transaction open at most: SQLite's write lock
/// (and MariaDB's row locks) are held meanwhile, and other writers wait for them up to
/// their busy timeout (5 s), so the bound is time, whatever the machine's speed.
pub const IMPORT_TRANSACTION_TIME: std::time::Duration = std::time::Duration::from_secs(3);

/// The rows of `rows` that count: the last of each id (earlier ones are superseded, and
/// counted as replaced), sorted by id so that concurrent batches lock in one order.
fn last_of_each_id(rows: Vec<UsageRow>) -> (Vec<UsageRow>, u64) {
    let mut keep = vec![false; rows.len()];
    {
        let mut last: FastMap<&str, usize> = FastMap::default();
        last.reserve(rows.len());
        for (i, r) in rows.iter().enumerate() {
            last.insert(r.id.as_str(), i);
        }
        for i in last.into_values() {
            keep[i] = true;
        }
    }
    let total = rows.len();
    let mut unique: Vec<UsageRow> = rows
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect();
    unique.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let superseded = total.saturating_sub(unique.len()) as u64;
    (unique, superseded)
}

/// Usage rows prepared for writing: the last row of each id, each with its parsed
/// instants and quantity, flags and key name, derived once and without the database, so
/// that an import prepares the next chunk on another thread while one is written.
#[derive(Debug)]
pub struct UsageChunk {
    rows: Vec<Prepared>,
    superseded: u64,
    received: usize,
}

impl UsageChunk {
    /// Prepares `rows` (in arrival order: a later row of an id replaces an earlier one).
    pub fn new(rows: Vec<UsageRow>) -> Self {
        let received = rows.len();
        let (unique, superseded) = last_of_each_id(rows);
        Self {
            rows: prepare_all(unique),
            superseded,
            received,
        }
    }

    /// The rows received, superseded ones included.
    pub fn len(&self) -> usize {
        self.received
    }

    /// Whether no row was received.
    pub fn is_empty(&self) -> bool {
        self.received == 0
    }
}

/// One transaction's batch while rows are written into it.
struct Batch {
    id: i64,
    first_seq: i64,
    deltas: Deltas,
    report: IngestReport,
    /// Earliest start and latest end seen, for the batch's window when none is given.
    starts: Option<(i64, i64)>,
    last_end: Option<i64>,
    unstarted: i64,
    /// Keys this transaction created or read: looked up before the database by its
    /// later chunks, remembered store-wide after it commits.
    new_keys: FastMap<KeyDigest, i64>,
}

impl SqlStore {
    /// Opens a batch in `tx`: its row in `usage_batches`, window filled in at the end.
    async fn open_batch(&self, tx: &mut Tx, source: &str) -> Attempt<Batch> {
        let e = |e: sqlx::Error| self.attempt_err(e);
        // A client-made token names the new batch portably (no last-insert-id dialects).
        let token = attempts::batch_token();
        sqlx::query("INSERT INTO usage_batches (token, source, window_start, window_end) VALUES (?, ?, 0, 0)")
            .bind(token.clone())
            .bind(source.to_owned())
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        let id: i64 = sqlx::query("SELECT id FROM usage_batches WHERE token = ?")
            .bind(token)
            .fetch_one(&mut **tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(e)?;
        // Every seq this batch writes lies above the largest one visible now.
        let first_seq = max_seq(tx).await.map_err(e)?.saturating_add(1);
        Ok(Batch {
            id,
            first_seq,
            deltas: Deltas::default(),
            report: IngestReport::default(),
            starts: None,
            last_end: None,
            unstarted: 0,
            new_keys: FastMap::default(),
        })
    }

    /// Writes a chunk into the open batch.
    async fn write_rows(&self, tx: &mut Tx, batch: &mut Batch, chunk: &UsageChunk) -> Attempt<()> {
        let e = |e: sqlx::Error| self.attempt_err(e);
        let prepared = &chunk.rows;
        let keys = self.key_ids(tx, prepared, &mut batch.new_keys).await?;
        batch.report.replaced = batch.report.replaced.saturating_add(chunk.superseded);
        for p in prepared {
            match p.start_ns {
                Some(s) => {
                    batch.starts = Some(
                        batch
                            .starts
                            .map_or((s, s), |(lo, hi)| (lo.min(s), hi.max(s))),
                    );
                }
                None => batch.unstarted = batch.unstarted.saturating_add(1),
            }
            if let Some(end) = p.end_ns {
                batch.last_end = Some(batch.last_end.map_or(end, |x| x.max(end)));
            }
        }
        let overflow = |x: StoreError| (x, false);
        let rows: Vec<(&Prepared, i64)> = prepared.iter().zip(keys).collect();
        let parts: Vec<&[(&Prepared, i64)]> = rows.chunks(INSERT_ROWS).collect();
        let full_sql = insert_sql(INSERT_ROWS);
        let last_sql = parts
            .last()
            .filter(|p| p.len() != INSERT_ROWS)
            .map(|p| insert_sql(p.len()));
        let sql_for = |part: &[(&Prepared, i64)]| match &last_sql {
            Some(sql) if part.len() != INSERT_ROWS => sql.as_str(),
            _ => full_sql.as_str(),
        };
        let mut next = parts
            .first()
            .map(|part| insert_query(sql_for(part), batch.id, part));
        // A part inserted whose roll-up changes are not summed yet: summed while the next
        // statement runs.
        let mut inserted: Option<&[(&Prepared, i64)]> = None;
        for (i, &chunk) in parts.iter().enumerate() {
            let Some(query) = next.take() else { break };
            let deltas = &mut batch.deltas;
            // Optimistic first: on a first ingest no id is stored yet, so insert at once;
            // a duplicate key (the statement alone is rolled back) sends the chunk
            // through the look-up below. The next statement is bound meanwhile.
            let (result, summed) = alongside(query.execute(&mut **tx), || {
                next = parts
                    .get(i.saturating_add(1))
                    .map(|part| insert_query(sql_for(part), batch.id, part));
                inserted
                    .take()
                    .map_or(Ok(()), |part| add_inserted(deltas, part))
            })
            .await;
            summed.map_err(overflow)?;
            match result {
                Ok(_) => {
                    inserted = Some(chunk);
                    batch.report.new = batch.report.new.saturating_add(chunk.len() as u64);
                    continue;
                }
                Err(sqlx::Error::Database(d))
                    if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {}
                Err(x) => return Err(e(x)),
            }
            let stored = stored_rows(tx, chunk).await.map_err(e)?;
            let mut fresh = Vec::new();
            for &(p, key) in chunk {
                let Some(s) = stored.get(&p.row.id) else {
                    fresh.push((p, key));
                    batch.report.new = batch.report.new.saturating_add(1);
                    continue;
                };
                let r = &p.row;
                let same = s.key == key
                    && s.start == r.start
                    && s.end == r.end
                    && s.quantity == r.quantity
                    && (s.flags & MALFORMED != 0) == r.malformed;
                if same {
                    batch.report.duplicate = batch.report.duplicate.saturating_add(1);
                    continue;
                }
                sqlx::query("DELETE FROM usage_rows WHERE seq = ?")
                    .bind(s.seq)
                    .execute(&mut **tx)
                    .await
                    .map_err(e)?;
                let old = contribution(
                    s.start_ns,
                    s.flags,
                    s.quantity.as_deref().and_then(Quantity::parse),
                );
                add_delta(&mut batch.deltas, s.key, old, -1).map_err(overflow)?;
                fresh.push((p, key));
                batch.report.replaced = batch.report.replaced.saturating_add(1);
            }
            if fresh.is_empty() {
                continue;
            }
            insert_rows(tx, batch.id, &fresh).await.map_err(e)?;
            add_inserted(&mut batch.deltas, &fresh).map_err(overflow)?;
        }
        if let Some(part) = inserted {
            add_inserted(&mut batch.deltas, part).map_err(overflow)?;
        }
        Ok(())
    }

    /// Writes the batch's roll-ups and figures and takes its commit sequence; `window`
    /// is the reported window, else the rows' earliest start to latest end.
    async fn close_batch(
        &self,
        tx: &mut Tx,
        mut batch: Batch,
        window: Option<(i64, i64)>,
    ) -> Attempt<(IngestReport, FastMap<KeyDigest, i64>)> {
        let e = |e: sqlx::Error| self.attempt_err(e);
        self.apply_rollups(tx, std::mem::take(&mut batch.deltas))
            .await?;
        let last_seq = max_seq(tx).await.map_err(e)?;
        let window = window.unwrap_or((
            batch.starts.map_or(0, |(lo, _)| lo),
            batch.last_end.unwrap_or(0),
        ));
        // Last, the commit sequence: the counter row stays locked until commit, so batches
        // take sequences in commit order and a reader of the counter has seen every batch
        // at or below it.
        sqlx::query("UPDATE usage_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        let seq: i64 = sqlx::query("SELECT value FROM usage_counter WHERE id = 1")
            .fetch_one(&mut **tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(e)?;
        let r = &batch.report;
        sqlx::query("UPDATE usage_batches SET window_start = ?, window_end = ?, new_rows = ?, duplicate_rows = ?, replaced_rows = ?, seq = ?, min_start_ns = ?, max_start_ns = ?, first_seq = ?, last_seq = ?, unstarted_rows = ? WHERE id = ?")
            .bind(window.0)
            .bind(window.1)
            .bind(r.new as i64)
            .bind(r.duplicate as i64)
            .bind(r.replaced as i64)
            .bind(seq)
            .bind(batch.starts.map(|(lo, _)| lo))
            .bind(batch.starts.map(|(_, hi)| hi))
            .bind(batch.first_seq)
            .bind(last_seq)
            .bind(batch.unstarted)
            .bind(batch.id)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        Ok((batch.report, batch.new_keys))
    }

    /// One attempt at ingesting a chunk as one batch.
    pub(crate) async fn ingest_once(
        &self,
        batch: &UsageBatch,
        rows: &UsageChunk,
    ) -> Attempt<IngestReport> {
        let e = |e: sqlx::Error| self.attempt_err(e);
        let mut tx = self.pool.begin().await.map_err(e)?;
        let mut open = self.open_batch(&mut tx, &batch.source).await?;
        self.write_rows(&mut tx, &mut open, rows).await?;
        let (report, new_keys) = self.close_batch(&mut tx, open, Some(batch.window)).await?;
        tx.commit().await.map_err(e)?;
        self.remember_keys(new_keys);
        Ok(report)
    }

    /// Starts a streamed import of usage from `source` (a file name, say): rows pushed
    /// in chunks, committed as one batch each every [`IMPORT_ROWS_PER_TRANSACTION`] rows
    /// or [`IMPORT_TRANSACTION_TIME`], whichever comes first.
    pub async fn usage_import(&self, source: &str) -> Result<UsageImport<'_>> {
        Ok(UsageImport {
            store: self,
            source: source.to_owned(),
            open: None,
            done: IngestReport::default(),
            per_transaction: IMPORT_ROWS_PER_TRANSACTION,
            transaction_time: IMPORT_TRANSACTION_TIME,
        })
    }
}

/// A usage import in progress: see [`SqlStore::usage_import`].
///
/// Within the import, as everywhere, the last row of an id wins (rows pushed later are
/// later). A failure rolls back only the open transaction; the batches committed before
/// it stay, and re-running the import is safe (re-ingesting changes nothing).
pub struct UsageImport<'s> {
    store: &'s SqlStore,
    source: String,
    /// The open transaction, its batch, its rows so far and when it began.
    open: Option<(Tx, Batch, usize, std::time::Instant)>,
    done: IngestReport,
    per_transaction: usize,
    transaction_time: std::time::Duration,
}

impl std::fmt::Debug for UsageImport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageImport")
            .field("source", &self.source)
            .field("open_rows", &self.open.as_ref().map(|(_, _, n, _)| *n))
            .field("committed", &self.done)
            .finish()
    }
}

impl UsageImport<'_> {
    /// Commits after `rows` rows (at least one) instead of
    /// [`IMPORT_ROWS_PER_TRANSACTION`]: fewer rows hold a lock for less time, more write
    /// each roll-up fewer times.
    pub fn rows_per_transaction(mut self, rows: usize) -> Self {
        self.per_transaction = rows.max(1);
        self
    }

    /// Commits once a transaction has been open for `time` instead of
    /// [`IMPORT_TRANSACTION_TIME`] (checked after each chunk; zero commits every chunk).
    pub fn transaction_time(mut self, time: std::time::Duration) -> Self {
        self.transaction_time = time;
        self
    }

    /// Writes a chunk into the open transaction, committing it once it holds enough
    /// rows or has been open long enough.
    pub async fn push(&mut self, chunk: &UsageChunk) -> Result<()> {
        let store = self.store;
        let (tx, batch, count, began) = match &mut self.open {
            Some(open) => open,
            None => {
                // Only the first statements of a transaction may meet a lock conflict
                // worth retrying; later, the transaction holds what it writes.
                let source = self.source.clone();
                let opened = store
                    .retrying(|| async {
                        let mut tx = store.pool.begin().await.map_err(|e| store.attempt_err(e))?;
                        let batch = store.open_batch(&mut tx, &source).await?;
                        Ok((tx, batch))
                    })
                    .await?;
                self.open
                    .insert((opened.0, opened.1, 0, std::time::Instant::now()))
            }
        };
        store
            .write_rows(tx, batch, chunk)
            .await
            .map_err(|(e, _)| e)?;
        *count = count.saturating_add(chunk.len());
        if *count >= self.per_transaction || began.elapsed() >= self.transaction_time {
            self.commit().await?;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        let Some((mut tx, batch, _, _)) = self.open.take() else {
            return Ok(());
        };
        let store = self.store;
        let (report, new_keys) = store
            .close_batch(&mut tx, batch, None)
            .await
            .map_err(|(e, _)| e)?;
        tx.commit().await.map_err(|e| store.attempt_err(e).0)?;
        store.remember_keys(new_keys);
        std::ops::AddAssign::add_assign(&mut self.done, report);
        Ok(())
    }

    /// Commits what is open and returns what the whole import did.
    pub async fn finish(mut self) -> Result<IngestReport> {
        self.commit().await?;
        if let Some(sql) = self.store.dialect.after_import {
            // Best effort: a reader holding the log open only delays the truncation.
            sqlx::query(sql).execute(&self.store.pool).await.ok();
        }
        Ok(self.done)
    }
}

//! The write transactions that are retried as a whole: usage ingest (optimistic insert,
//! content comparison, the commit sequence), preview replacement and invoice issue. Each
//! `*_once` is one attempt; `SqlStore::retrying` runs it again on lock conflicts.

use super::*;

/// A token unique across processes and calls: time, process id and a counter.
pub(crate) fn batch_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// An attempt's failure and whether running it again may succeed.
pub(crate) type Attempt<T> = std::result::Result<T, (StoreError, bool)>;

impl SqlStore {
    pub(crate) fn attempt_err(&self, e: sqlx::Error) -> (StoreError, bool) {
        let again = (self.dialect.retryable)(&e);
        (db(e), again)
    }

    /// One attempt at ingesting `rows` (unique ids, sorted).
    pub(crate) async fn ingest_once(
        &self,
        batch: &UsageBatch,
        rows: &[&UsageRow],
    ) -> Attempt<IngestReport> {
        let mut tx = self.pool.begin().await.map_err(|e| self.attempt_err(e))?;
        // A client-made token names the new batch portably (no last-insert-id dialects).
        let token = batch_token();
        sqlx::query("INSERT INTO usage_batches (token, source, window_start, window_end) VALUES (?, ?, ?, ?)")
            .bind(token.clone())
            .bind(batch.source.clone())
            .bind(batch.window.0)
            .bind(batch.window.1)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.attempt_err(e))?;
        let batch_id: i64 = sqlx::query("SELECT id FROM usage_batches WHERE token = ?")
            .bind(token)
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| self.attempt_err(e))?;
        let mut report = IngestReport::default();
        for chunk in rows.chunks(INSERT_ROWS) {
            // Optimistic first: on a first ingest no id is stored yet, so insert at once;
            // a duplicate key (the statement alone is rolled back) sends the chunk
            // through the look-up below.
            match Self::insert_rows(&mut tx, batch_id, chunk).await {
                Ok(()) => {
                    report.new += chunk.len() as u64;
                    continue;
                }
                Err(sqlx::Error::Database(d))
                    if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {}
                Err(e) => return Err(self.attempt_err(e)),
            }
            // What is stored already, with its content fingerprint.
            let sql = format!(
                "SELECT id, quantity_text, start_text, end_text, subscription, meter, sku, resource, malformed FROM usage_records WHERE id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(r.id.clone());
            }
            let existing = q
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.attempt_err(e))?;
            let mut stored: std::collections::HashMap<String, UsageRow> =
                std::collections::HashMap::new();
            for e in &existing {
                let get = |c: &str| get_os(e, c).ok().flatten();
                let id: String = get_s(e, "id").map_err(|e| (e, false))?;
                stored.insert(
                    id.clone(),
                    UsageRow {
                        id,
                        synthetic: false,
                        subscription: get("subscription"),
                        meter: get("meter"),
                        sku: get("sku"),
                        resource: get("resource"),
                        start: get("start_text"),
                        end: get("end_text"),
                        quantity: get("quantity_text"),
                        start_ns: None,
                        end_ns: None,
                        malformed: e
                            .try_get::<i64, _>("malformed")
                            .map_err(|e| self.attempt_err(e))?
                            != 0,
                    },
                );
            }
            let same = |a: &UsageRow, b: &UsageRow| {
                a.subscription == b.subscription
                    && a.meter == b.meter
                    && a.sku == b.sku
                    && a.resource == b.resource
                    && a.start == b.start
                    && a.end == b.end
                    && a.quantity == b.quantity
                    && a.malformed == b.malformed
            };
            let mut fresh = Vec::new();
            for r in chunk {
                match stored.get(&r.id) {
                    None => fresh.push(*r),
                    Some(s) if same(s, r) => report.duplicate += 1,
                    Some(_) => {
                        sqlx::query("UPDATE usage_records SET batch_id = ?, subscription = ?, meter = ?, sku = ?, resource = ?, start_text = ?, end_text = ?, quantity_text = ?, quantity = ?, start_ns = ?, end_ns = ?, malformed = ? WHERE id = ?")
                            .bind(batch_id)
                            .bind(r.subscription.clone())
                            .bind(r.meter.clone())
                            .bind(r.sku.clone())
                            .bind(r.resource.clone())
                            .bind(r.start.clone())
                            .bind(r.end.clone())
                            .bind(r.quantity.clone())
                            .bind(decimal_column(r.quantity.as_deref()))
                            .bind(r.start_ns)
                            .bind(r.end_ns)
                            .bind(i64::from(r.malformed))
                            .bind(r.id.clone())
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| self.attempt_err(e))?;
                        report.replaced += 1;
                    }
                }
            }
            if fresh.is_empty() {
                continue;
            }
            Self::insert_rows(&mut tx, batch_id, &fresh)
                .await
                .map_err(|e| self.attempt_err(e))?;
            report.new += fresh.len() as u64;
        }
        // Last, the commit sequence: the counter row stays locked until commit, so batches
        // take sequences in commit order and a reader of the counter has seen every batch
        // at or below it.
        let starts = rows.iter().filter_map(|r| r.start_ns);
        let lo = starts.clone().min();
        let hi = starts.max();
        sqlx::query("UPDATE usage_counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.attempt_err(e))?;
        let seq: i64 = sqlx::query("SELECT value FROM usage_counter WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| self.attempt_err(e))?;
        sqlx::query("UPDATE usage_batches SET new_rows = ?, duplicate_rows = ?, replaced_rows = ?, seq = ?, min_start_ns = ?, max_start_ns = ? WHERE id = ?")
            .bind(report.new as i64)
            .bind(report.duplicate as i64)
            .bind(report.replaced as i64)
            .bind(seq)
            .bind(lo)
            .bind(hi)
            .bind(batch_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.attempt_err(e))?;
        tx.commit().await.map_err(|e| self.attempt_err(e))?;
        Ok(report)
    }

    /// One multi-row INSERT of usage rows.
    pub(crate) async fn insert_rows(
        tx: &mut Transaction<'static, Any>,
        batch_id: i64,
        rows: &[&UsageRow],
    ) -> std::result::Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO usage_records (id, batch_id, synthetic, subscription, meter, sku, resource, start_text, end_text, quantity_text, quantity, start_ns, end_ns, malformed) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; rows.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in rows {
            q = q
                .bind(r.id.clone())
                .bind(batch_id)
                .bind(i64::from(r.synthetic))
                .bind(r.subscription.clone())
                .bind(r.meter.clone())
                .bind(r.sku.clone())
                .bind(r.resource.clone())
                .bind(r.start.clone())
                .bind(r.end.clone())
                .bind(r.quantity.clone())
                .bind(decimal_column(r.quantity.as_deref()))
                .bind(r.start_ns)
                .bind(r.end_ns)
                .bind(i64::from(r.malformed));
        }
        q.execute(&mut **tx).await.map(|_| ())
    }

    /// One attempt at replacing previews. Previews go first (taking the write locks), then
    /// the tenants with an issued invoice are read, so an invoice issued concurrently is
    /// either seen here or blocked until this commits; the unique index on live invoices
    /// turns any other interleaving into a retry.
    pub(crate) async fn replace_previews_once(
        &self,
        period: &str,
        tenants: Option<&[String]>,
        invoices: &[InvoiceRow],
        commissions: Option<&[CommissionRow]>,
    ) -> Attempt<Vec<String>> {
        let mut tx = self.pool.begin().await.map_err(|e| self.attempt_err(e))?;
        let err = |e: sqlx::Error| {
            let unique = matches!(&e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation);
            let (error, again) = self.attempt_err(e);
            (error, again || unique)
        };
        match tenants {
            Some(ids) => {
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "DELETE FROM invoices WHERE billing_period = ? AND status = 'preview' AND tenant_id IN ({})",
                        vec!["?"; chunk.len()].join(", ")
                    );
                    let mut q = sqlx::query(&sql).bind(period.to_owned());
                    for t in chunk {
                        q = q.bind(t.clone());
                    }
                    q.execute(&mut *tx).await.map_err(err)?;
                }
            }
            None => {
                sqlx::query("DELETE FROM invoices WHERE billing_period = ? AND status = 'preview'")
                    .bind(period.to_owned())
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
        }
        let kept: std::collections::HashSet<String> = sqlx::query(
            "SELECT tenant_id FROM invoices WHERE billing_period = ? AND status IN ('issued', 'paid')",
        )
        .bind(period.to_owned())
        .fetch_all(&mut *tx)
        .await
        .map_err(err)?
        .iter()
        .map(|r| get_s(r, "tenant_id"))
        .collect::<Result<_>>()
        .map_err(|e| (e, false))?;
        let mut skipped = Vec::new();
        for inv in invoices {
            if kept.contains(&inv.tenant) {
                skipped.push(inv.tenant.clone());
                continue;
            }
            sqlx::query("INSERT INTO invoices (billing_period, tenant_id, status, currency, total_text, total, usage_seq, document) VALUES (?, ?, 'preview', ?, ?, ?, ?, ?)")
                .bind(period.to_owned())
                .bind(inv.tenant.clone())
                .bind(inv.currency.clone())
                .bind(inv.total.clone())
                .bind(decimal_column(Some(&inv.total)))
                .bind(inv.usage_seq)
                .bind(json_text(&inv.document))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        if let Some(commissions) = commissions {
            if tenants.is_none() {
                sqlx::query("DELETE FROM commissions WHERE billing_period = ?")
                    .bind(period.to_owned())
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            for c in commissions {
                if tenants.is_some() {
                    sqlx::query("DELETE FROM commissions WHERE billing_period = ? AND party_kind = ? AND party_id = ?")
                        .bind(period.to_owned())
                        .bind(c.party_kind.clone())
                        .bind(c.party.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
                sqlx::query("INSERT INTO commissions (billing_period, party_kind, party_id, document) VALUES (?, ?, ?, ?)")
                    .bind(period.to_owned())
                    .bind(c.party_kind.clone())
                    .bind(c.party.clone())
                    .bind(json_text(&c.document))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(skipped)
    }

    /// One attempt at issuing: takes the next number of the issue year under the row lock
    /// of its counter, in the same transaction as the status change, so numbers have no
    /// gaps and no duplicates.
    pub(crate) async fn issue_once(
        &self,
        id: i64,
        date: NaiveDate,
        issue_date: &str,
    ) -> Attempt<()> {
        let mut tx = self.pool.begin().await.map_err(|e| self.attempt_err(e))?;
        let row = sqlx::query("SELECT i.status, COALESCE(t.payment_terms_days, p.payment_terms_days, 30) AS terms FROM invoices i LEFT JOIN tenants t ON t.id = i.tenant_id LEFT JOIN platform_settings p ON p.id = 1 WHERE i.id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.attempt_err(e))?
            .ok_or((StoreError::NotFound { kind: "invoice", id: id.to_string() }, false))?;
        let status: String = row.try_get("status").map_err(|e| self.attempt_err(e))?;
        if status != "preview" {
            return Err((
                StoreError::InvalidState(format!(
                    "invoice {id} is {status}; only a preview can be issued"
                )),
                false,
            ));
        }
        let terms: i64 = row.try_get("terms").map_err(|e| self.attempt_err(e))?;
        let due = date
            .checked_add_days(Days::new(terms.max(0) as u64))
            .unwrap_or(date)
            .format("%Y-%m-%d")
            .to_string();
        let year = i64::from(chrono::Datelike::year(&date));
        let bumped = sqlx::query(
            "UPDATE invoice_counters SET next_number = next_number + 1 WHERE invoice_year = ?",
        )
        .bind(year)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.attempt_err(e))?;
        if bumped.rows_affected() == 0 {
            sqlx::query("INSERT INTO invoice_counters (invoice_year, next_number) VALUES (?, 2)")
                .bind(year)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.attempt_err(e))?;
        }
        let next: i64 =
            sqlx::query("SELECT next_number FROM invoice_counters WHERE invoice_year = ?")
                .bind(year)
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| self.attempt_err(e))?;
        let number = format!("INV-{year}-{:06}", next - 1);
        let issued = sqlx::query("UPDATE invoices SET status = 'issued', number = ?, issue_date = ?, due_date = ? WHERE id = ? AND status = 'preview'")
            .bind(number)
            .bind(issue_date.to_owned())
            .bind(due)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.attempt_err(e))?;
        if issued.rows_affected() != 1 {
            // A concurrent billing run replaced this preview (or another request issued
            // it): dropping the transaction gives the number back, so the series keeps no
            // gap.
            return Err((
                StoreError::InvalidState(format!(
                    "invoice {id} is no longer a preview; it changed while being issued"
                )),
                false,
            ));
        }
        tx.commit().await.map_err(|e| self.attempt_err(e))?;
        Ok(())
    }
}

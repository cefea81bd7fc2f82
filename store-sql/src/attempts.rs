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
        let number = format!("INV-{year}-{:06}", next.saturating_sub(1));
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

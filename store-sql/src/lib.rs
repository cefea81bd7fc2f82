//! One implementation of [`Store`] over sqlx's `Any` driver, used by both the MySQL /
//! MariaDB store and the SQLite store. Both dialects accept the same `?`-parameter SQL for
//! everything here; where they differ (schema, triggers, error codes) the store crates
//! supply a [`Dialect`]. Upserts are written as look-up-then-write inside a transaction so
//! that no dialect-specific `ON CONFLICT` syntax is needed.
// Every operator that could overflow on input is checked, saturating, or says why not.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod checks;

mod alerts;
mod attempts;
mod catalogue;
mod collection;
mod directory;
mod documents;
mod imports;
mod jobs;
mod people;
mod pricing;
mod system;
mod usage;
mod usage_write;

pub use usage_write::{
    IMPORT_ROWS_PER_TRANSACTION, IMPORT_TRANSACTION_TIME, UsageChunk, UsageImport,
};

use std::time::Duration;

use attempts::Attempt;

use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use serde_json::Value;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use stackbill_core::quantity::Quantity;
use stackbill_store::{
    AlertEvent, AlertRow, AuditEntry, BatchSpan, ClaimedJob, CommissionRow, DistributorRow,
    Enqueued, FxRateRow, Import, IngestReport, InvoiceFilter, InvoiceRow, InvoiceStatus, JobEnd,
    JobRow, KeyedUsageRow, MeterRow, NewAlert, NewJob, NodeKind, PartnerRow, PlanRow, PlatformRow,
    PriceListRow, RefreshTokenRow, RefreshUse, RegionRow, RejectedUsageRow, Renewal, Result,
    RoleAssignmentRow, Store, StoreError, SubscriptionRow, TenantRow, UnforwardedAlert, UsageBatch,
    UsageKey, UsageRollup, UsageRow, UserRow,
};

/// What differs between the databases: how their errors are classified.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// A name for messages.
    pub name: &'static str,
    /// Whether an error means "run the transaction again" (deadlock, lock wait, busy, or
    /// a concurrent insert of the same key that the retry will see as a duplicate).
    pub retryable: fn(&sqlx::Error) -> bool,
    /// Whether an error comes from the immutability triggers.
    pub immutable: fn(&sqlx::Error) -> bool,
    /// Appended to a SELECT whose rows the transaction rewrites from what it read
    /// (`" FOR UPDATE"`; empty where writers are serialised anyway, as in SQLite).
    pub lock_rows: &'static str,
    /// Appended to the multi-row INSERT of usage roll-ups so that an existing roll-up
    /// takes the new `quantity` and `records` (the upsert syntax differs).
    pub upsert_rollup: &'static str,
    /// Run once after a streamed import (SQLite folds its write-ahead log back into the
    /// database and truncates it, so a large import does not leave tens of MiB of log
    /// beside the file); `None` where there is nothing to do.
    pub after_import: Option<&'static str>,
}

/// A write transaction.
type Tx = Transaction<'static, Any>;

/// A store on a pool of connections.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// Usage key ids by the key's digest: committed keys never change,
    /// so any process may remember them (filled only after a commit).
    keys: std::sync::Arc<std::sync::Mutex<usage::FastMap<usage::KeyDigest, i64>>>,
}

/// Usage rows per INSERT statement (9 parameters each: well within both databases'
/// limits). On SQLite's 1M-row import, 250 and 2,000 were not faster.
const INSERT_ROWS: usize = 500;

fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

fn parse_json(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// Text columns: MySQL reports long text as BLOB through the `Any` driver, so bytes are
/// accepted too (and must be UTF-8).
fn get_os(row: &AnyRow, col: &str) -> Result<Option<String>> {
    match row.try_get::<Option<String>, _>(col) {
        Ok(v) => Ok(v),
        Err(text_error) => match row.try_get::<Option<Vec<u8>>, _>(col) {
            Ok(bytes) => bytes
                .map(|b| {
                    String::from_utf8(b)
                        .map_err(|_| StoreError::Database(format!("column {col} is not UTF-8")))
                })
                .transpose(),
            Err(_) => Err(db(text_error)),
        },
    }
}

fn get_s(row: &AnyRow, col: &str) -> Result<String> {
    get_os(row, col)?.ok_or_else(|| StoreError::Database(format!("column {col} is NULL")))
}

fn get_i(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col).map_err(db)
}

fn get_oi(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(db)
}

/// The exact decimal as plain text for a DECIMAL column, or `None` when the text is not
/// a decimal (the text column keeps what was reported).
fn decimal_column(text: Option<&str>) -> Option<String> {
    text.and_then(Quantity::parse)
        .and_then(Quantity::to_decimal)
        .map(|d| d.to_string())
}

impl SqlStore {
    /// Wraps a pool whose database has been migrated.
    pub fn new(pool: AnyPool, dialect: Dialect) -> Self {
        Self {
            pool,
            dialect,
            keys: Default::default(),
        }
    }

    /// The pool, for store-specific operations (migrations, maintenance).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn classify(&self, e: sqlx::Error) -> StoreError {
        if (self.dialect.immutable)(&e) {
            return StoreError::InvalidState(
                "issued invoices are immutable (refused by the database)".into(),
            );
        }
        db(e)
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        self.pool.begin().await.map_err(db)
    }

    async fn exists(tx: &mut Transaction<'static, Any>, sql: &str, id: &str) -> Result<bool> {
        Ok(sqlx::query(sql)
            .bind(id.to_owned())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?
            .is_some())
    }

    async fn require(
        tx: &mut Transaction<'static, Any>,
        sql: &str,
        kind: &'static str,
        id: &str,
        target: &'static str,
        target_id: &str,
    ) -> Result<()> {
        if Self::exists(tx, sql, target_id).await? {
            Ok(())
        } else {
            Err(StoreError::MissingReference {
                kind,
                id: id.to_owned(),
                target,
                target_id: target_id.to_owned(),
            })
        }
    }

    /// Runs a write transaction, retrying on deadlocks and busy databases.
    async fn retrying<T, Fut>(&self, mut attempt: impl FnMut() -> Fut) -> Result<T>
    where
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let mut delay = Duration::from_millis(5);
        for _ in 0..40 {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err((_, true)) => {
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2).min(Duration::from_millis(200));
                }
                Err((e, _)) => return Err(e),
            }
        }
        Err(StoreError::Database(format!(
            "{}: gave up after repeated lock conflicts",
            self.dialect.name
        )))
    }

    fn invoice(row: &AnyRow) -> Result<InvoiceRow> {
        let status = get_s(row, "status")?;
        Ok(InvoiceRow {
            id: get_i(row, "id")?,
            period: get_s(row, "billing_period")?,
            tenant: get_s(row, "tenant_id")?,
            status: InvoiceStatus::from_name(&status)
                .ok_or_else(|| StoreError::Database(format!("unknown invoice status {status}")))?,
            number: get_os(row, "number")?,
            issue_date: get_os(row, "issue_date")?,
            due_date: get_os(row, "due_date")?,
            currency: get_s(row, "currency")?,
            total: get_s(row, "total_text")?,
            usage_seq: get_i(row, "usage_seq")?,
            document: parse_json(Some(get_s(row, "document")?)).unwrap_or(Value::Null),
        })
    }

    /// Runs a parameterless query and maps every row.
    async fn list<T>(&self, sql: &str, map: impl Fn(&AnyRow) -> Result<T>) -> Result<Vec<T>> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(map).collect()
    }

    async fn invoice_by_id(&self, id: i64) -> Result<InvoiceRow> {
        let row = sqlx::query(INVOICE_SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::NotFound {
                kind: "invoice",
                id: id.to_string(),
            })?;
        Self::invoice(&row)
    }
}

/// A bound value of an upsert.
enum Param {
    Text(Option<String>),
    Int(Option<i64>),
}

impl Param {
    fn text(s: &str) -> Param {
        Param::Text(Some(s.to_owned()))
    }
}

/// Create-or-update of one hierarchy row whose key is `id`: the parent must exist; the
/// row is updated when present and inserted otherwise, in one transaction.
struct Upsert<'a> {
    table: &'static str,
    /// The kind, for errors.
    kind: &'static str,
    /// The column (other than the id) with a unique index, for errors.
    unique: &'static str,
    id: &'a str,
    /// (this kind, parent table, parent kind, parent id).
    parent: Option<(&'static str, &'static str, &'static str, &'a str)>,
    columns: &'static [&'static str],
    values: Vec<Param>,
}

impl SqlStore {
    /// Runs an upsert, again when the database reports a lock conflict (SQLite answers
    /// "busy" at once when a reading transaction tries to write after another commit).
    async fn upsert(&self, u: Upsert<'_>) -> Result<()> {
        self.retrying(|| self.upsert_once(&u)).await
    }

    async fn upsert_once(&self, u: &Upsert<'_>) -> Attempt<()> {
        let mut tx = self.begin().await.map_err(|e| (e, false))?;
        self.upsert_in(&mut tx, u).await?;
        tx.commit().await.map_err(|e| self.attempt_err(e))
    }

    /// An upsert inside the caller's transaction (an import writes many in one).
    async fn upsert_in(&self, tx: &mut Tx, u: &Upsert<'_>) -> Attempt<()> {
        if let Some((kind, table, target, target_id)) = u.parent {
            let sql = format!("SELECT 1 FROM {table} WHERE id = ?");
            Self::require(tx, &sql, kind, u.id, target, target_id)
                .await
                .map_err(|e| (e, false))?;
        }
        let exists_sql = format!("SELECT 1 FROM {} WHERE id = ?", u.table);
        let exists = Self::exists(tx, &exists_sql, u.id)
            .await
            .map_err(|e| (e, false))?;
        let sql = if exists {
            let set: Vec<String> = u.columns.iter().map(|c| format!("{c} = ?")).collect();
            format!("UPDATE {} SET {} WHERE id = ?", u.table, set.join(", "))
        } else {
            format!(
                "INSERT INTO {} ({}, id) VALUES ({}?)",
                u.table,
                u.columns.join(", "),
                "?, ".repeat(u.columns.len())
            )
        };
        let mut q = sqlx::query(&sql);
        for v in &u.values {
            q = match v {
                Param::Text(t) => q.bind(t.clone()),
                Param::Int(i) => q.bind(*i),
            };
        }
        q.bind(u.id.to_owned())
            .execute(&mut **tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                    (
                        StoreError::Conflict {
                            kind: u.kind,
                            id: u.id.to_owned(),
                            field: u.unique,
                        },
                        false,
                    )
                }
                _ => self.attempt_err(e),
            })?;
        Ok(())
    }
}

const INVOICE_COLUMNS: &str = "id, billing_period, tenant_id, status, number, issue_date, due_date, currency, total_text, usage_seq, document";
const INVOICE_SUMMARY_COLUMNS: &str = "id, billing_period, tenant_id, status, number, issue_date, due_date, currency, total_text, usage_seq, 'null' AS document";
const INVOICE_SELECT_BY_ID: &str = "SELECT id, billing_period, tenant_id, status, number, issue_date, due_date, currency, total_text, usage_seq, document FROM invoices WHERE id = ?";

impl SqlStore {
    /// Invoices matching `filter`, selecting `columns` (the full row, or the row with a
    /// `null` document).
    async fn invoices_with(
        &self,
        columns: &str,
        filter: &InvoiceFilter,
    ) -> Result<Vec<InvoiceRow>> {
        let mut sql = format!("SELECT {columns} FROM invoices WHERE 1 = 1");
        if filter.period.is_some() {
            sql.push_str(" AND billing_period = ?");
        }
        if filter.tenant.is_some() {
            sql.push_str(" AND tenant_id = ?");
        }
        if filter.status.is_some() {
            sql.push_str(" AND status = ?");
        }
        sql.push_str(" ORDER BY billing_period, tenant_id, id");
        let mut q = sqlx::query(&sql);
        if let Some(p) = &filter.period {
            q = q.bind(p.clone());
        }
        if let Some(t) = &filter.tenant {
            q = q.bind(t.clone());
        }
        if let Some(s) = filter.status {
            q = q.bind(s.name().to_owned());
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(Self::invoice).collect()
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn platform(&self) -> Result<Option<PlatformRow>> {
        directory::platform(self).await
    }

    async fn put_platform(&self, p: &PlatformRow) -> Result<()> {
        directory::put_platform(self, p).await
    }

    async fn put_distributor(&self, d: &DistributorRow) -> Result<()> {
        directory::put_distributor(self, d).await
    }

    async fn put_partner(&self, p: &PartnerRow) -> Result<()> {
        directory::put_partner(self, p).await
    }

    async fn put_tenant(&self, t: &TenantRow) -> Result<()> {
        directory::put_tenant(self, t).await
    }

    async fn put_subscription(&self, s: &SubscriptionRow) -> Result<()> {
        directory::put_subscription(self, s).await
    }

    async fn distributors(&self) -> Result<Vec<DistributorRow>> {
        directory::distributors(self).await
    }

    async fn partners(&self) -> Result<Vec<PartnerRow>> {
        directory::partners(self).await
    }

    async fn tenants(&self) -> Result<Vec<TenantRow>> {
        directory::tenants(self).await
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        directory::subscriptions(self).await
    }

    async fn import(&self, import: &Import) -> Result<()> {
        imports::import(self, import).await
    }

    async fn close_tenant(&self, id: &str, closed_on: Option<&str>) -> Result<()> {
        directory::close_tenant(self, id, closed_on).await
    }

    async fn delete(&self, kind: NodeKind, id: &str) -> Result<()> {
        directory::delete(self, kind, id).await
    }

    async fn put_price_list(&self, l: &PriceListRow) -> Result<()> {
        pricing::put_price_list(self, l).await
    }

    async fn price_lists(&self) -> Result<Vec<PriceListRow>> {
        pricing::price_lists(self).await
    }

    async fn delete_price_list(&self, id: &str) -> Result<()> {
        pricing::delete_price_list(self, id).await
    }

    async fn add_fx_rate(&self, r: &FxRateRow) -> Result<()> {
        pricing::add_fx_rate(self, r).await
    }

    async fn delete_fx_rate(&self, from: &str, to: &str, as_of: &str) -> Result<()> {
        pricing::delete_fx_rate(self, from, to, as_of).await
    }

    async fn fx_rates(&self) -> Result<Vec<FxRateRow>> {
        pricing::fx_rates(self).await
    }

    async fn ingest_usage(&self, batch: &UsageBatch, rows: &[UsageRow]) -> Result<IngestReport> {
        // Within one batch the last row of an id wins; earlier ones count as replaced.
        let chunk = UsageChunk::new(rows.to_vec());
        self.retrying(|| self.ingest_once(batch, &chunk)).await
    }

    async fn usage_page(
        &self,
        window: (i64, i64),
        subscriptions: Option<&[String]>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UsageRow>> {
        self.read_usage_page(window, subscriptions, after, limit)
            .await
    }

    async fn usage_keys(&self) -> Result<Vec<UsageKey>> {
        self.read_usage_keys().await
    }

    async fn usage_rollups(&self, day: i64) -> Result<Vec<UsageRollup>> {
        self.read_usage_rollups(day).await
    }

    async fn usage_rollups_of(
        &self,
        days: (i64, i64),
        subscriptions: &[String],
    ) -> Result<Vec<(UsageKey, UsageRollup)>> {
        self.read_usage_rollups_of(days, subscriptions).await
    }

    async fn usage_rows_starting(
        &self,
        span: (i64, i64),
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<KeyedUsageRow>> {
        self.read_usage_rows_starting(span, after, limit).await
    }

    async fn usage_rows_beside(
        &self,
        window: (i64, i64),
        after: i64,
        limit: u32,
    ) -> Result<Vec<KeyedUsageRow>> {
        self.read_usage_rows_beside(window, after, limit).await
    }

    async fn usage_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT value FROM usage_counter WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match row {
            Some(r) => r.try_get::<i64, _>(0).map_err(db),
            None => Ok(0),
        }
    }

    async fn batches_after(&self, after: i64) -> Result<Vec<BatchSpan>> {
        let rows = sqlx::query("SELECT id, seq, window_start, window_end, min_start_ns, max_start_ns FROM usage_batches WHERE seq > ? ORDER BY seq")
            .bind(after)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let starts = match (get_oi(r, "min_start_ns")?, get_oi(r, "max_start_ns")?) {
                    (Some(lo), Some(hi)) => Some((lo, hi)),
                    _ => None,
                };
                Ok(BatchSpan {
                    id: get_i(r, "id")?,
                    seq: get_i(r, "seq")?,
                    window: (get_i(r, "window_start")?, get_i(r, "window_end")?),
                    starts,
                })
            })
            .collect()
    }

    async fn batches_have_usage_of(
        &self,
        batches: &[i64],
        subscriptions: &[String],
    ) -> Result<bool> {
        self.any_batch_usage_of(batches, subscriptions).await
    }

    async fn count_sign_in_failure(&self, minute: i64) -> Result<()> {
        people::count_failure_minute(self, minute).await
    }

    async fn sign_in_failures_since(&self, minute: i64) -> Result<i64> {
        people::failures_since(self, minute).await
    }

    async fn cache_version(&self) -> Result<i64> {
        sqlx::query_scalar::<_, i64>("SELECT version FROM cache_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn bump_cache_version(&self) -> Result<()> {
        sqlx::query("UPDATE cache_version SET version = version + 1 WHERE id = 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(drop)
            .map_err(db)
    }

    async fn job_counts(&self) -> Result<Vec<(String, String, i64)>> {
        jobs::counts(self).await
    }

    async fn usage_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) FROM usage_rows")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.try_get::<i64, _>(0).map_err(db)? as u64)
    }

    async fn replace_previews(
        &self,
        period: &str,
        tenants: Option<&[String]>,
        invoices: &[InvoiceRow],
        commissions: Option<&[CommissionRow]>,
    ) -> Result<Vec<String>> {
        self.retrying(|| self.replace_previews_once(period, tenants, invoices, commissions))
            .await
    }

    async fn invoices(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRow>> {
        self.invoices_with(INVOICE_COLUMNS, filter).await
    }

    async fn invoice_summaries(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRow>> {
        self.invoices_with(INVOICE_SUMMARY_COLUMNS, filter).await
    }

    async fn invoice(&self, id: i64) -> Result<InvoiceRow> {
        self.invoice_by_id(id).await
    }

    async fn issue_invoice(&self, id: i64, issue_date: &str) -> Result<InvoiceRow> {
        let date = NaiveDate::parse_from_str(issue_date, "%Y-%m-%d").map_err(|_| {
            StoreError::InvalidState(format!("{issue_date:?} is not a date YYYY-MM-DD"))
        })?;
        self.retrying(|| self.issue_once(id, date, issue_date))
            .await?;
        self.invoice_by_id(id).await
    }

    async fn keep_invoice_document(
        &self,
        id: i64,
        format: &str,
        content: &[u8],
    ) -> Result<Vec<u8>> {
        documents::keep_invoice_document(self, id, format, content).await
    }

    async fn invoice_document(&self, id: i64, format: &str) -> Result<Option<Vec<u8>>> {
        documents::invoice_document(self, id, format).await
    }

    async fn invoice_documents_to_archive(&self, format: &str) -> Result<Vec<i64>> {
        documents::invoice_documents_to_archive(self, format).await
    }

    async fn mark_invoice_document_archived(&self, id: i64, format: &str, at: &str) -> Result<()> {
        documents::mark_invoice_document_archived(self, id, format, at).await
    }

    async fn settle_invoice(&self, id: i64, status: InvoiceStatus) -> Result<InvoiceRow> {
        let current = self.invoice_by_id(id).await?;
        if !matches!(status, InvoiceStatus::Paid | InvoiceStatus::Void) {
            return Err(StoreError::InvalidState(format!(
                "an invoice can only be settled as paid or void, not {}",
                status.name()
            )));
        }
        if current.status != InvoiceStatus::Issued {
            return Err(StoreError::InvalidState(format!(
                "invoice {id} is {}, only an issued invoice can become {}",
                current.status.name(),
                status.name()
            )));
        }
        let done = sqlx::query("UPDATE invoices SET status = ? WHERE id = ? AND status = 'issued'")
            .bind(status.name().to_owned())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::InvalidState(format!(
                "invoice {id} changed concurrently"
            )));
        }
        self.invoice_by_id(id).await
    }

    async fn delete_preview(&self, id: i64) -> Result<()> {
        let current = self.invoice_by_id(id).await?;
        if current.status != InvoiceStatus::Preview {
            return Err(StoreError::InvalidState(format!(
                "invoice {id} is {}; only previews can be deleted",
                current.status.name()
            )));
        }
        sqlx::query("DELETE FROM invoices WHERE id = ? AND status = 'preview'")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(())
    }

    async fn commissions(&self, period: &str) -> Result<Vec<CommissionRow>> {
        let rows = sqlx::query("SELECT billing_period, party_kind, party_id, document FROM commissions WHERE billing_period = ? ORDER BY CASE party_kind WHEN 'distributor' THEN 0 ELSE 1 END, party_id")
            .bind(period.to_owned())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(CommissionRow {
                    period: get_s(r, "billing_period")?,
                    party_kind: get_s(r, "party_kind")?,
                    party: get_s(r, "party_id")?,
                    document: parse_json(get_os(r, "document")?).unwrap_or(Value::Null),
                })
            })
            .collect()
    }

    async fn put_region(&self, r: &RegionRow) -> Result<()> {
        catalogue::put_region(self, r).await
    }

    async fn regions(&self) -> Result<Vec<RegionRow>> {
        catalogue::regions(self).await
    }

    async fn delete_region(&self, id: &str) -> Result<()> {
        catalogue::delete_region(self, id).await
    }

    async fn collection_state(&self, region: &str) -> Result<Option<serde_json::Value>> {
        collection::collection_state(self, region).await
    }

    async fn put_collection_state(&self, region: &str, state: &serde_json::Value) -> Result<()> {
        collection::put_collection_state(self, region, state).await
    }

    async fn raise_alert(&self, alert: &NewAlert, now: &str) -> Result<bool> {
        alerts::raise(self, alert, now).await
    }

    async fn clear_alert(&self, key: &str, now: &str) -> Result<bool> {
        alerts::clear(self, key, now).await
    }

    async fn alerts(&self, open_only: bool) -> Result<Vec<AlertRow>> {
        alerts::list(self, open_only).await
    }

    async fn acknowledge_alert(&self, id: i64, by: &str, now: &str) -> Result<AlertRow> {
        alerts::acknowledge(self, id, by, now).await
    }

    async fn unforwarded_alerts(&self, limit: u32) -> Result<Vec<UnforwardedAlert>> {
        alerts::unforwarded(self, limit).await
    }

    async fn mark_alert_forwarded(&self, id: i64, event: AlertEvent) -> Result<()> {
        alerts::mark_forwarded(self, id, event).await
    }

    async fn try_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool> {
        collection::try_lease(self, name, owner, now, until).await
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        collection::release_lease(self, name, owner).await
    }

    async fn add_rejected_usage(&self, rows: &[RejectedUsageRow]) -> Result<u64> {
        collection::add_rejected_usage(self, rows).await
    }

    async fn rejected_usage(
        &self,
        region: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RejectedUsageRow>> {
        collection::rejected_usage(self, region, limit).await
    }

    async fn put_meter(&self, m: &MeterRow) -> Result<()> {
        catalogue::put_meter(self, m).await
    }

    async fn meters(&self) -> Result<Vec<MeterRow>> {
        catalogue::meters(self).await
    }

    async fn put_plan(&self, p: &PlanRow) -> Result<()> {
        catalogue::put_plan(self, p).await
    }

    async fn plans(&self) -> Result<Vec<PlanRow>> {
        catalogue::plans(self).await
    }

    async fn put_user(&self, u: &UserRow) -> Result<()> {
        people::put_user(self, u).await
    }

    async fn users(&self) -> Result<Vec<UserRow>> {
        people::users(self).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        people::user_by_email(self, email).await
    }

    async fn user(&self, id: &str) -> Result<Option<UserRow>> {
        people::user(self, id).await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        people::delete_user(self, id).await
    }

    async fn grant_role(&self, a: &RoleAssignmentRow) -> Result<()> {
        people::grant_role(self, a).await
    }

    async fn revoke_role(&self, a: &RoleAssignmentRow) -> Result<()> {
        people::revoke_role(self, a).await
    }

    async fn role_assignments(&self, user: &str) -> Result<Vec<RoleAssignmentRow>> {
        people::role_assignments(self, user).await
    }

    async fn all_role_assignments(&self) -> Result<Vec<RoleAssignmentRow>> {
        people::all_role_assignments(self).await
    }

    async fn put_settings(&self, group: &str, value: &Value) -> Result<()> {
        system::put_settings(self, group, value).await
    }

    async fn settings(&self) -> Result<std::collections::BTreeMap<String, Value>> {
        system::settings(self).await
    }

    async fn start_job(&self, kind: &str) -> Result<i64> {
        jobs::start_job(self, kind).await
    }

    async fn update_job(&self, id: i64, status: &str, progress: i64, message: &str) -> Result<()> {
        jobs::update_job(self, id, status, progress, message).await
    }

    async fn jobs(&self) -> Result<Vec<JobRow>> {
        jobs::jobs(self).await
    }

    async fn job(&self, id: i64) -> Result<Option<JobRow>> {
        jobs::job(self, id).await
    }

    async fn enqueue_job(&self, job: &NewJob) -> Result<Enqueued> {
        jobs::enqueue(self, job).await
    }

    async fn claim_job(&self, owner: &str, now: i64, lease_ms: i64) -> Result<Option<ClaimedJob>> {
        jobs::claim(self, owner, now, lease_ms).await
    }

    async fn renew_job(
        &self,
        id: i64,
        fence: i64,
        now: i64,
        lease_ms: i64,
        progress: i64,
        message: &str,
    ) -> Result<Renewal> {
        jobs::renew(self, id, fence, now, lease_ms, progress, message).await
    }

    async fn finish_job(
        &self,
        id: i64,
        fence: i64,
        end: JobEnd,
        message: &str,
        result: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        jobs::finish(self, id, fence, end, message, result, now).await
    }

    async fn cancel_job(&self, id: i64, now: i64) -> Result<JobRow> {
        jobs::cancel(self, id, now).await
    }

    async fn expire_jobs(&self, now: i64, max_runtime_ms: i64) -> Result<Vec<i64>> {
        jobs::expire(self, now, max_runtime_ms).await
    }

    async fn schedule_mark(&self, name: &str) -> Result<Option<i64>> {
        jobs::schedule_mark(self, name).await
    }

    async fn advance_schedule(&self, name: &str, seen: Option<i64>, slot: i64) -> Result<bool> {
        jobs::advance_schedule(self, name, seen, slot).await
    }

    async fn record_login_failure(&self, user: &str) -> Result<()> {
        people::record_login_failure(self, user).await
    }

    async fn record_login_success(&self, user: &str) -> Result<()> {
        people::record_login_success(self, user).await
    }

    async fn record_sign_in_failure(
        &self,
        key: &str,
        now: i64,
        delay: &(dyn Fn(i64) -> i64 + Send + Sync),
    ) -> Result<i64> {
        people::record_sign_in_failure(self, key, now, delay).await
    }

    async fn sign_in_blocked_until(&self, key: &str, now: i64) -> Result<Option<i64>> {
        people::sign_in_blocked_until(self, key, now).await
    }

    async fn clear_sign_in_failures(&self, key: &str) -> Result<()> {
        people::clear_sign_in_failures(self, key).await
    }

    async fn claim_totp_step(&self, user: &str, step: i64) -> Result<bool> {
        people::claim_totp_step(self, user, step).await
    }

    async fn put_refresh_token(&self, row: &RefreshTokenRow) -> Result<()> {
        people::put_refresh_token(self, row).await
    }

    async fn rotate_refresh_token(
        &self,
        hash: &str,
        now: i64,
        successor: &str,
        idle: i64,
    ) -> Result<RefreshUse> {
        people::rotate_refresh_token(self, hash, now, successor, idle).await
    }

    async fn end_sessions(&self, user: &str) -> Result<()> {
        people::end_sessions(self, user).await
    }

    async fn link_federated_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: &str,
        at: &str,
    ) -> Result<String> {
        people::link_federated_identity(self, issuer, subject, user, at).await
    }

    async fn federated_identity(&self, issuer: &str, subject: &str) -> Result<Option<String>> {
        people::federated_identity(self, issuer, subject).await
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        system::append_audit(self, e).await
    }

    async fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        system::audit_log(self).await
    }
}

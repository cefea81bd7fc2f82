//! One implementation of [`Store`] over sqlx's `Any` driver, used by both the MySQL /
//! MariaDB store and the SQLite store. Both dialects accept the same `?`-parameter SQL for
//! everything here; where they differ (schema, triggers, error codes) the store crates
//! supply a [`Dialect`]. Upserts are written as look-up-then-write inside a transaction so
//! that no dialect-specific `ON CONFLICT` syntax is needed.

pub mod checks;

mod attempts;

use std::time::Duration;

use attempts::{Attempt, batch_token};

use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use serde_json::Value;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use stackbill_core::quantity::Quantity;
use stackbill_store::{
    AuditEntry, BatchSpan, CommissionRow, DistributorRow, FxRateRow, IngestReport, InvoiceFilter,
    InvoiceRow, InvoiceStatus, JobRow, MeterRow, NodeKind, PartnerRow, PlanRow, PlatformRow,
    PriceListRow, RefreshTokenRow, RefreshUse, RegionRow, Result, RoleAssignmentRow, Store,
    StoreError, SubscriptionRow, TenantRow, UsageBatch, UsageRow, UserRow,
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
}

/// A store on a pool of connections.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

/// Usage rows per INSERT statement (14 parameters each: well within both databases'
/// limits).
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
        Self { pool, dialect }
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
                    delay = (delay * 2).min(Duration::from_millis(200));
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
        if let Some((kind, table, target, target_id)) = u.parent {
            let sql = format!("SELECT 1 FROM {table} WHERE id = ?");
            Self::require(&mut tx, &sql, kind, u.id, target, target_id)
                .await
                .map_err(|e| (e, false))?;
        }
        let exists_sql = format!("SELECT 1 FROM {} WHERE id = ?", u.table);
        let exists = Self::exists(&mut tx, &exists_sql, u.id)
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
            .execute(&mut *tx)
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
        tx.commit().await.map_err(|e| self.attempt_err(e))
    }
}

const USER_SELECT_ALL: &str = "SELECT id, email, first_name, last_name, phone, password_hash, mfa_secret_sealed, mfa_required, federated_only, disabled, locked_out, activated, failed_logins, must_change_password, activation_code_hash FROM users ORDER BY id";
const USER_SELECT_BY_EMAIL: &str = "SELECT id, email, first_name, last_name, phone, password_hash, mfa_secret_sealed, mfa_required, federated_only, disabled, locked_out, activated, failed_logins, must_change_password, activation_code_hash FROM users WHERE email_key = ?";

/// A role assignment's node as a fixed-length key: two independent 64-bit FNV-1a hashes of
/// its (distributor, partner, tenant) ids.
fn node_key(a: &RoleAssignmentRow) -> String {
    let parts = [&a.distributor, &a.partner, &a.tenant];
    let hash = |seed: u64| {
        parts.iter().fold(seed, |h, part| {
            part.as_deref()
                .unwrap_or("")
                .bytes()
                .chain([0x1f])
                .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
        })
    };
    format!(
        "{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x8422_2325_cbf2_9ce4)
    )
}

fn user(r: &AnyRow) -> Result<UserRow> {
    let flag = |c: &str| -> Result<bool> { Ok(get_i(r, c)? != 0) };
    Ok(UserRow {
        id: get_s(r, "id")?,
        email: get_s(r, "email")?,
        first_name: get_s(r, "first_name")?,
        last_name: get_s(r, "last_name")?,
        phone: get_os(r, "phone")?,
        password_hash: get_os(r, "password_hash")?,
        mfa_secret_sealed: get_os(r, "mfa_secret_sealed")?,
        mfa_required: flag("mfa_required")?,
        federated_only: flag("federated_only")?,
        disabled: flag("disabled")?,
        locked_out: flag("locked_out")?,
        activated: flag("activated")?,
        failed_logins: get_i(r, "failed_logins")?,
        must_change_password: flag("must_change_password")?,
        activation_code_hash: get_os(r, "activation_code_hash")?,
    })
}

const INVOICE_COLUMNS: &str = "id, billing_period, tenant_id, status, number, issue_date, due_date, currency, total_text, usage_seq, document";
const INVOICE_SELECT_BY_ID: &str = "SELECT id, billing_period, tenant_id, status, number, issue_date, due_date, currency, total_text, usage_seq, document FROM invoices WHERE id = ?";

/// Splits `blockers` into a human list, or `None` when there are none.
fn blockers(parts: Vec<(usize, &str, Vec<String>)>) -> Option<String> {
    let text: Vec<String> = parts
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, what, ids)| {
            if ids.is_empty() {
                format!("{n} {what}")
            } else {
                format!("{n} {what} ({})", ids.join(", "))
            }
        })
        .collect();
    (!text.is_empty()).then(|| text.join(", "))
}

#[async_trait]
impl Store for SqlStore {
    async fn platform(&self) -> Result<Option<PlatformRow>> {
        let row = sqlx::query("SELECT currency, time_zone, monthly_variable_pricing, rounding, payment_terms_days FROM platform_settings WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(PlatformRow {
                currency: get_s(&r, "currency")?,
                time_zone: get_s(&r, "time_zone")?,
                monthly_variable_pricing: get_i(&r, "monthly_variable_pricing")? != 0,
                rounding: get_s(&r, "rounding")?,
                payment_terms_days: get_i(&r, "payment_terms_days")?,
            })
        })
        .transpose()
    }

    async fn put_platform(&self, p: &PlatformRow) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM platform_settings WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("INSERT INTO platform_settings (id, currency, time_zone, monthly_variable_pricing, rounding, payment_terms_days) VALUES (1, ?, ?, ?, ?, ?)")
            .bind(p.currency.clone())
            .bind(p.time_zone.clone())
            .bind(i64::from(p.monthly_variable_pricing))
            .bind(p.rounding.clone())
            .bind(p.payment_terms_days)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn put_distributor(&self, d: &DistributorRow) -> Result<()> {
        self.upsert(Upsert {
            table: "distributors",
            kind: "distributor",
            unique: "id",
            id: &d.id,
            parent: None,
            columns: &[
                "name",
                "currency",
                "commission",
                "partner_commission",
                "details",
            ],
            values: vec![
                Param::text(&d.name),
                Param::Text(d.currency.clone()),
                Param::Text(d.commission.as_ref().map(json_text)),
                Param::Text(d.partner_commission.as_ref().map(json_text)),
                Param::Text(Some(json_text(&d.details))),
            ],
        })
        .await
    }

    async fn put_partner(&self, p: &PartnerRow) -> Result<()> {
        self.upsert(Upsert {
            table: "partners",
            kind: "partner",
            unique: "id",
            id: &p.id,
            parent: Some(("partner", "distributors", "distributor", &p.distributor)),
            columns: &[
                "distributor_id",
                "name",
                "currency",
                "commission",
                "details",
            ],
            values: vec![
                Param::text(&p.distributor),
                Param::text(&p.name),
                Param::Text(p.currency.clone()),
                Param::Text(p.commission.as_ref().map(json_text)),
                Param::Text(Some(json_text(&p.details))),
            ],
        })
        .await
    }

    async fn put_tenant(&self, t: &TenantRow) -> Result<()> {
        self.upsert(Upsert {
            table: "tenants",
            kind: "tenant",
            unique: "id",
            id: &t.id,
            parent: Some(("tenant", "partners", "partner", &t.partner)),
            columns: &[
                "partner_id",
                "name",
                "currency",
                "time_zone",
                "tax_percent",
                "payment_terms_days",
                "details",
            ],
            values: vec![
                Param::text(&t.partner),
                Param::text(&t.name),
                Param::Text(t.currency.clone()),
                Param::Text(t.time_zone.clone()),
                Param::Text(t.tax_percent.clone()),
                Param::Int(t.payment_terms_days),
                Param::Text(Some(json_text(&t.details))),
            ],
        })
        .await
    }

    async fn put_subscription(&self, s: &SubscriptionRow) -> Result<()> {
        self.upsert(Upsert {
            table: "subscriptions",
            kind: "subscription",
            unique: "id",
            id: &s.id,
            parent: Some(("subscription", "tenants", "tenant", &s.tenant)),
            columns: &[
                "tenant_id",
                "region_id",
                "name",
                "plan_id",
                "status",
                "ends_on",
            ],
            values: vec![
                Param::text(&s.tenant),
                Param::text(&s.region),
                Param::text(&s.name),
                Param::Text(s.plan.clone()),
                Param::text(&s.status),
                Param::Text(s.ends_on.clone()),
            ],
        })
        .await
    }

    async fn distributors(&self) -> Result<Vec<DistributorRow>> {
        self.list("SELECT id, name, currency, commission, partner_commission, details FROM distributors ORDER BY id", |r| {
                Ok(DistributorRow {
                    id: get_s(r, "id")?,
                    name: get_s(r, "name")?,
                    currency: get_os(r, "currency")?,
                    commission: parse_json(get_os(r, "commission")?),
                    partner_commission: parse_json(get_os(r, "partner_commission")?),
                    details: parse_json(get_os(r, "details")?).unwrap_or(Value::Null),
                })
        })
        .await
    }

    async fn partners(&self) -> Result<Vec<PartnerRow>> {
        self.list("SELECT id, distributor_id, name, currency, commission, details FROM partners ORDER BY id", |r| {
                Ok(PartnerRow {
                    id: get_s(r, "id")?,
                    distributor: get_s(r, "distributor_id")?,
                    name: get_s(r, "name")?,
                    currency: get_os(r, "currency")?,
                    commission: parse_json(get_os(r, "commission")?),
                    details: parse_json(get_os(r, "details")?).unwrap_or(Value::Null),
                })
        })
        .await
    }

    async fn tenants(&self) -> Result<Vec<TenantRow>> {
        self.list("SELECT id, partner_id, name, currency, time_zone, tax_percent, payment_terms_days, details FROM tenants ORDER BY id", |r| {
                Ok(TenantRow {
                    id: get_s(r, "id")?,
                    partner: get_s(r, "partner_id")?,
                    name: get_s(r, "name")?,
                    currency: get_os(r, "currency")?,
                    time_zone: get_os(r, "time_zone")?,
                    tax_percent: get_os(r, "tax_percent")?,
                    payment_terms_days: get_oi(r, "payment_terms_days")?,
                    details: parse_json(get_os(r, "details")?).unwrap_or(Value::Null),
                })
        })
        .await
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        self.list(
            "SELECT id, tenant_id, region_id, name, plan_id, status, ends_on FROM subscriptions ORDER BY id",
            |r| {
                Ok(SubscriptionRow {
                    id: get_s(r, "id")?,
                    tenant: get_s(r, "tenant_id")?,
                    region: get_s(r, "region_id")?,
                    name: get_s(r, "name")?,
                    plan: get_os(r, "plan_id")?,
                    status: get_s(r, "status")?,
                    ends_on: get_os(r, "ends_on")?,
                })
            },
        )
        .await
    }

    async fn delete(&self, kind: NodeKind, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let (exists_sql, delete_sql) = match kind {
            NodeKind::Distributor => (
                "SELECT 1 FROM distributors WHERE id = ?",
                "DELETE FROM distributors WHERE id = ?",
            ),
            NodeKind::Partner => (
                "SELECT 1 FROM partners WHERE id = ?",
                "DELETE FROM partners WHERE id = ?",
            ),
            NodeKind::Tenant => (
                "SELECT 1 FROM tenants WHERE id = ?",
                "DELETE FROM tenants WHERE id = ?",
            ),
            NodeKind::Subscription => (
                "SELECT 1 FROM subscriptions WHERE id = ?",
                "DELETE FROM subscriptions WHERE id = ?",
            ),
        };
        if !Self::exists(&mut tx, exists_sql, id).await? {
            return Err(StoreError::NotFound {
                kind: kind.name(),
                id: id.to_owned(),
            });
        }
        let ids = |sql: &'static str| {
            let id = id.to_owned();
            async move {
                sqlx::query(sql)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)
            }
        };
        let names = |rows: Vec<AnyRow>| -> Vec<String> {
            rows.iter()
                .filter_map(|r| r.try_get::<String, _>(0).ok())
                .take(10)
                .collect()
        };
        let count = |sql: &'static str| {
            let id = id.to_owned();
            async move {
                sqlx::query(sql)
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await
                    .and_then(|r| r.try_get::<i64, _>(0))
                    .map_err(db)
            }
        };
        let blocked = match kind {
            NodeKind::Distributor => {
                let partners = names(
                    ids("SELECT id FROM partners WHERE distributor_id = ? ORDER BY id").await?,
                );
                blockers(vec![(partners.len(), "partners", partners)])
            }
            NodeKind::Partner => {
                let tenants =
                    names(ids("SELECT id FROM tenants WHERE partner_id = ? ORDER BY id").await?);
                let commissions = count("SELECT COUNT(*) FROM commissions WHERE party_kind = 'partner' AND party_id = ?").await?;
                blockers(vec![
                    (tenants.len(), "tenants", tenants),
                    (commissions as usize, "commission summaries", vec![]),
                ])
            }
            NodeKind::Tenant => {
                let subs = names(
                    ids("SELECT id FROM subscriptions WHERE tenant_id = ? ORDER BY id").await?,
                );
                let invoices = count("SELECT COUNT(*) FROM invoices WHERE tenant_id = ?").await?;
                let lists = names(ids("SELECT id FROM price_lists WHERE scope_kind = 'tenant' AND scope_id = ? ORDER BY id").await?);
                blockers(vec![
                    (subs.len(), "subscriptions", subs),
                    (invoices as usize, "invoices", vec![]),
                    (lists.len(), "price lists", lists),
                ])
            }
            NodeKind::Subscription => {
                let usage =
                    count("SELECT COUNT(*) FROM usage_records WHERE subscription = ?").await?;
                let lists = names(ids("SELECT id FROM price_lists WHERE scope_kind = 'subscription' AND scope_id = ? ORDER BY id").await?);
                blockers(vec![
                    (usage as usize, "usage records", vec![]),
                    (lists.len(), "price lists", lists),
                ])
            }
        };
        if let Some(blockers) = blocked {
            return Err(StoreError::Blocked {
                kind: kind.name(),
                id: id.to_owned(),
                blockers,
            });
        }
        sqlx::query(delete_sql)
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn put_price_list(&self, l: &PriceListRow) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM price_lists WHERE id = ?")
            .bind(l.id.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("INSERT INTO price_lists (id, scope_kind, scope_id, currency, effective_from, effective_to, items, name, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(l.id.clone())
            .bind(l.scope_kind.clone())
            .bind(l.scope_id.clone())
            .bind(l.currency.clone())
            .bind(l.effective_from.clone())
            .bind(l.effective_to.clone())
            .bind(json_text(&l.items))
            .bind(l.name.clone())
            .bind(l.description.clone())
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                    StoreError::Conflict {
                        kind: "price list",
                        id: l.id.clone(),
                        // The other unique key is the id in another case.
                        field: if d.message().contains("ux_price_list_start") {
                            "effective_from (for its scope)"
                        } else {
                            "id"
                        },
                    }
                }
                _ => db(e),
            })?;
        tx.commit().await.map_err(db)
    }

    async fn price_lists(&self) -> Result<Vec<PriceListRow>> {
        self.list("SELECT id, scope_kind, scope_id, currency, effective_from, effective_to, items, name, description FROM price_lists ORDER BY id", |r| {
                Ok(PriceListRow {
                    id: get_s(r, "id")?,
                    scope_kind: get_s(r, "scope_kind")?,
                    scope_id: get_s(r, "scope_id")?,
                    currency: get_s(r, "currency")?,
                    effective_from: get_s(r, "effective_from")?,
                    effective_to: get_os(r, "effective_to")?,
                    items: parse_json(get_os(r, "items")?).unwrap_or(Value::Array(vec![])),
                    name: get_os(r, "name")?,
                    description: get_os(r, "description")?,
                })
        })
        .await
    }

    async fn delete_price_list(&self, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM price_lists WHERE id = ?")
            .bind(id.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "price list",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    async fn add_fx_rate(&self, r: &FxRateRow) -> Result<()> {
        sqlx::query("INSERT INTO fx_rates (from_ccy, to_ccy, rate_text, rate, as_of) VALUES (?, ?, ?, ?, ?)")
            .bind(r.from.clone())
            .bind(r.to.clone())
            .bind(r.rate.clone())
            .bind(decimal_column(Some(&r.rate)))
            .bind(r.as_of.clone())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_fx_rate(&self, from: &str, to: &str, as_of: &str) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM fx_rates WHERE from_ccy = ? AND to_ccy = ? AND as_of = ?")
                .bind(from.to_owned())
                .bind(to.to_owned())
                .bind(as_of.to_owned())
                .execute(&self.pool)
                .await
                .map_err(|e| self.classify(e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "fx rate",
                id: format!("{from}/{to}/{as_of}"),
            });
        }
        Ok(())
    }

    async fn fx_rates(&self) -> Result<Vec<FxRateRow>> {
        self.list(
            "SELECT from_ccy, to_ccy, rate_text, as_of FROM fx_rates ORDER BY seq",
            |r| {
                Ok(FxRateRow {
                    from: get_s(r, "from_ccy")?,
                    to: get_s(r, "to_ccy")?,
                    rate: get_s(r, "rate_text")?,
                    as_of: get_s(r, "as_of")?,
                })
            },
        )
        .await
    }

    async fn ingest_usage(&self, batch: &UsageBatch, rows: &[UsageRow]) -> Result<IngestReport> {
        // Within one batch the last row of an id wins; earlier ones count as replaced.
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            last.insert(r.id.as_str(), i);
        }
        let mut unique: Vec<&UsageRow> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| last.get(r.id.as_str()) == Some(i))
            .map(|(_, r)| r)
            .collect();
        // A stable order keeps concurrent batches from locking in opposite orders.
        unique.sort_by(|a, b| a.id.cmp(&b.id));
        let superseded = (rows.len() - unique.len()) as u64;
        let unique = &unique;
        let mut report = self.retrying(|| self.ingest_once(batch, unique)).await?;
        report.replaced += superseded;
        Ok(report)
    }

    async fn usage_page(
        &self,
        window: (i64, i64),
        subscriptions: Option<&[String]>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UsageRow>> {
        let mut sql = String::from(
            "SELECT id, synthetic, subscription, meter, sku, resource, start_text, end_text, quantity_text, start_ns, end_ns, malformed \
             FROM usage_records WHERE ((start_ns >= ? AND start_ns < ?) \
             OR batch_id IN (SELECT id FROM usage_batches WHERE window_start < ? AND window_end > ?))",
        );
        if after.is_some() {
            sql.push_str(" AND id > ?");
        }
        if let Some(subs) = subscriptions {
            if subs.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" AND subscription IN (");
            sql.push_str(&vec!["?"; subs.len()].join(", "));
            sql.push(')');
        }
        sql.push_str(" ORDER BY id LIMIT ?");
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
        rows.iter()
            .map(|r| {
                Ok(UsageRow {
                    id: get_s(r, "id")?,
                    synthetic: get_i(r, "synthetic")? != 0,
                    subscription: get_os(r, "subscription")?,
                    meter: get_os(r, "meter")?,
                    sku: get_os(r, "sku")?,
                    resource: get_os(r, "resource")?,
                    start: get_os(r, "start_text")?,
                    end: get_os(r, "end_text")?,
                    quantity: get_os(r, "quantity_text")?,
                    start_ns: get_oi(r, "start_ns")?,
                    end_ns: get_oi(r, "end_ns")?,
                    malformed: get_i(r, "malformed")? != 0,
                })
            })
            .collect()
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
        // Bounded IN lists: both sides are paged so no statement exceeds SQLite's limit.
        for b in batches.chunks(200) {
            for s in subscriptions.chunks(500) {
                let sql = format!(
                    "SELECT 1 FROM usage_records WHERE batch_id IN ({}) AND subscription IN ({}) LIMIT 1",
                    vec!["?"; b.len()].join(", "),
                    vec!["?"; s.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for id in b {
                    q = q.bind(*id);
                }
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

    async fn usage_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) FROM usage_records")
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
        let mut sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE 1 = 1");
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
        if let Some(reference) = &r.credential_ref {
            let is_reference = ["env:", "file:", "vault:"]
                .iter()
                .any(|p| reference.starts_with(p) && reference.len() > p.len());
            if !is_reference {
                return Err(StoreError::Rejected {
                    kind: "region",
                    id: r.id.clone(),
                    message: "credential must be a reference (env:NAME, file:/path or vault:path), never a secret".into(),
                });
            }
        }
        self.upsert(Upsert {
            table: "regions",
            kind: "region",
            unique: "id",
            id: &r.id,
            parent: None,
            columns: &[
                "name",
                "time_zone",
                "admin_endpoint",
                "collection_window_hours",
                "credential_ref",
                "details",
            ],
            values: vec![
                Param::text(&r.name),
                Param::text(&r.time_zone),
                Param::text(&r.admin_endpoint),
                Param::Int(Some(r.collection_window_hours)),
                Param::Text(r.credential_ref.clone()),
                Param::Text(Some(json_text(&r.details))),
            ],
        })
        .await
    }

    async fn regions(&self) -> Result<Vec<RegionRow>> {
        self.list("SELECT id, name, time_zone, admin_endpoint, collection_window_hours, credential_ref, details FROM regions ORDER BY id", |r| {
            Ok(RegionRow {
                id: get_s(r, "id")?,
                name: get_s(r, "name")?,
                time_zone: get_s(r, "time_zone")?,
                admin_endpoint: get_s(r, "admin_endpoint")?,
                collection_window_hours: get_i(r, "collection_window_hours")?,
                credential_ref: get_os(r, "credential_ref")?,
                details: parse_json(get_os(r, "details")?).unwrap_or(Value::Null),
            })
        })
        .await
    }

    async fn delete_region(&self, id: &str) -> Result<()> {
        let count = |sql: &'static str| async move {
            sqlx::query(sql)
                .bind(id.to_owned())
                .fetch_one(&self.pool)
                .await
                .and_then(|r| r.try_get::<i64, _>(0))
                .map_err(db)
        };
        if count("SELECT COUNT(*) FROM regions WHERE id = ?").await? == 0 {
            return Err(StoreError::NotFound {
                kind: "region",
                id: id.to_owned(),
            });
        }
        let subs = count("SELECT COUNT(*) FROM subscriptions WHERE region_id = ?").await?;
        let lists =
            count("SELECT COUNT(*) FROM price_lists WHERE scope_kind = 'region' AND scope_id = ?")
                .await?;
        if let Some(blockers) = blockers(vec![
            (subs as usize, "subscriptions", vec![]),
            (lists as usize, "price lists", vec![]),
        ]) {
            return Err(StoreError::Blocked {
                kind: "region",
                id: id.to_owned(),
                blockers,
            });
        }
        sqlx::query("DELETE FROM regions WHERE id = ?")
            .bind(id.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn put_meter(&self, m: &MeterRow) -> Result<()> {
        self.upsert(Upsert {
            table: "meters",
            kind: "meter",
            unique: "id",
            id: &m.id,
            parent: None,
            columns: &["name", "unit"],
            values: vec![Param::text(&m.name), Param::text(&m.unit)],
        })
        .await
    }

    async fn meters(&self) -> Result<Vec<MeterRow>> {
        self.list("SELECT id, name, unit FROM meters ORDER BY id", |r| {
            Ok(MeterRow {
                id: get_s(r, "id")?,
                name: get_s(r, "name")?,
                unit: get_s(r, "unit")?,
            })
        })
        .await
    }

    async fn put_plan(&self, p: &PlanRow) -> Result<()> {
        self.upsert(Upsert {
            table: "plans",
            kind: "plan",
            unique: "id",
            id: &p.id,
            parent: None,
            columns: &["name", "quotas"],
            values: vec![
                Param::text(&p.name),
                Param::Text(Some(json_text(&p.quotas))),
            ],
        })
        .await
    }

    async fn plans(&self) -> Result<Vec<PlanRow>> {
        self.list("SELECT id, name, quotas FROM plans ORDER BY id", |r| {
            Ok(PlanRow {
                id: get_s(r, "id")?,
                name: get_s(r, "name")?,
                quotas: parse_json(get_os(r, "quotas")?).unwrap_or(Value::Null),
            })
        })
        .await
    }

    async fn put_user(&self, u: &UserRow) -> Result<()> {
        let flag = |b: bool| Param::Int(Some(i64::from(b)));
        self.upsert(Upsert {
            table: "users",
            kind: "user",
            unique: "email",
            id: &u.id,
            parent: None,
            columns: &[
                "email",
                "email_key",
                "first_name",
                "last_name",
                "phone",
                "password_hash",
                "mfa_secret_sealed",
                "mfa_required",
                "federated_only",
                "disabled",
                "locked_out",
                "activated",
                "failed_logins",
                "must_change_password",
                "activation_code_hash",
            ],
            values: vec![
                Param::text(&u.email),
                Param::text(&u.email.to_lowercase()),
                Param::text(&u.first_name),
                Param::text(&u.last_name),
                Param::Text(u.phone.clone()),
                Param::Text(u.password_hash.clone()),
                Param::Text(u.mfa_secret_sealed.clone()),
                flag(u.mfa_required),
                flag(u.federated_only),
                flag(u.disabled),
                flag(u.locked_out),
                flag(u.activated),
                Param::Int(Some(u.failed_logins)),
                flag(u.must_change_password),
                Param::Text(u.activation_code_hash.clone()),
            ],
        })
        .await
    }

    async fn users(&self) -> Result<Vec<UserRow>> {
        self.list(USER_SELECT_ALL, user).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(USER_SELECT_BY_EMAIL)
            .bind(email.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(user).transpose()
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM role_assignments WHERE user_id = ?")
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "user",
                id: id.to_owned(),
            });
        }
        tx.commit().await.map_err(db)
    }

    async fn grant_role(&self, a: &RoleAssignmentRow) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::require(
            &mut tx,
            "SELECT 1 FROM users WHERE id = ?",
            "role assignment",
            &a.role,
            "user",
            &a.user,
        )
        .await?;
        let exists = sqlx::query(
            "SELECT 1 FROM role_assignments WHERE user_id = ? AND role = ? AND node_key = ?",
        )
        .bind(a.user.clone())
        .bind(a.role.clone())
        .bind(node_key(a))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .is_some();
        if !exists {
            sqlx::query("INSERT INTO role_assignments (user_id, role, distributor_id, partner_id, tenant_id, node_key) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(a.user.clone())
                .bind(a.role.clone())
                .bind(a.distributor.clone().unwrap_or_default())
                .bind(a.partner.clone().unwrap_or_default())
                .bind(a.tenant.clone().unwrap_or_default())
                .bind(node_key(a))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn revoke_role(&self, a: &RoleAssignmentRow) -> Result<()> {
        sqlx::query("DELETE FROM role_assignments WHERE user_id = ? AND role = ? AND node_key = ?")
            .bind(a.user.clone())
            .bind(a.role.clone())
            .bind(node_key(a))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn role_assignments(&self, user: &str) -> Result<Vec<RoleAssignmentRow>> {
        let rows = sqlx::query("SELECT user_id, role, distributor_id, partner_id, tenant_id FROM role_assignments WHERE user_id = ? ORDER BY role, distributor_id, partner_id, tenant_id")
            .bind(user.to_owned())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(assignment).collect()
    }

    async fn all_role_assignments(&self) -> Result<Vec<RoleAssignmentRow>> {
        let rows = sqlx::query("SELECT user_id, role, distributor_id, partner_id, tenant_id FROM role_assignments ORDER BY user_id, role, distributor_id, partner_id, tenant_id")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(assignment).collect()
    }

    async fn put_settings(&self, group: &str, value: &Value) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM settings WHERE settings_group = ?")
            .bind(group.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("INSERT INTO settings (settings_group, value) VALUES (?, ?)")
            .bind(group.to_owned())
            .bind(json_text(value))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn settings(&self) -> Result<std::collections::BTreeMap<String, Value>> {
        let pairs = self
            .list("SELECT settings_group, value FROM settings", |r| {
                Ok((
                    get_s(r, "settings_group")?,
                    parse_json(get_os(r, "value")?).unwrap_or(Value::Null),
                ))
            })
            .await?;
        Ok(pairs.into_iter().collect())
    }

    async fn start_job(&self, kind: &str) -> Result<i64> {
        let token = batch_token();
        sqlx::query("INSERT INTO jobs (token, kind, status) VALUES (?, ?, 'running')")
            .bind(token.clone())
            .bind(kind.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query("SELECT id FROM jobs WHERE token = ?")
            .bind(token)
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get::<i64, _>(0))
            .map_err(db)
    }

    async fn update_job(&self, id: i64, status: &str, progress: i64, message: &str) -> Result<()> {
        let done =
            sqlx::query("UPDATE jobs SET status = ?, progress = ?, message = ? WHERE id = ?")
                .bind(status.to_owned())
                .bind(progress)
                .bind(message.to_owned())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "job",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    async fn jobs(&self) -> Result<Vec<JobRow>> {
        self.list(
            "SELECT id, kind, status, progress, message FROM jobs ORDER BY id DESC",
            |r| {
                Ok(JobRow {
                    id: get_i(r, "id")?,
                    kind: get_s(r, "kind")?,
                    status: get_s(r, "status")?,
                    progress: get_i(r, "progress")?,
                    message: get_s(r, "message")?,
                })
            },
        )
        .await
    }

    async fn record_login_failure(&self, user: &str, threshold: i64) -> Result<bool> {
        // `locked_out` is assigned first: MySQL evaluates SET left to right with updated
        // values, SQLite with old ones; this order reads the old count in both.
        sqlx::query("UPDATE users SET locked_out = CASE WHEN failed_logins + 1 >= ? THEN 1 ELSE locked_out END, failed_logins = failed_logins + 1 WHERE id = ?")
            .bind(threshold)
            .bind(user.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let locked = sqlx::query("SELECT locked_out FROM users WHERE id = ?")
            .bind(user.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match locked {
            Some(row) => Ok(get_i(&row, "locked_out")? != 0),
            None => Err(StoreError::NotFound {
                kind: "user",
                id: user.to_owned(),
            }),
        }
    }

    async fn record_login_success(&self, user: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = ?")
            .bind(user.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn claim_totp_step(&self, user: &str, step: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET mfa_last_step = ? WHERE id = ? AND (mfa_last_step IS NULL OR mfa_last_step < ?)")
            .bind(step)
            .bind(user.to_owned())
            .bind(step)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_refresh_token(&self, t: &RefreshTokenRow) -> Result<()> {
        sqlx::query("INSERT INTO refresh_tokens (token_hash, family, user_id, expires_at, state) VALUES (?, ?, ?, ?, 'active')")
            .bind(t.hash.clone())
            .bind(t.family.clone())
            .bind(t.user.clone())
            .bind(t.expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(())
    }

    async fn use_refresh_token(&self, hash: &str, now: i64) -> Result<RefreshUse> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT token_hash, family, user_id, expires_at, state FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(hash.to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(RefreshUse::Unknown);
        };
        let token = RefreshTokenRow {
            hash: get_s(&row, "token_hash")?,
            family: get_s(&row, "family")?,
            user: get_s(&row, "user_id")?,
            expires_at: get_i(&row, "expires_at")?,
        };
        // The conditional update is the arbiter: of two concurrent uses, one rotates and
        // the other finds the token used and revokes the family.
        let rotated = sqlx::query(
            "UPDATE refresh_tokens SET state = 'used' WHERE token_hash = ? AND state = 'active'",
        )
        .bind(hash.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
            == 1;
        let outcome = if !rotated {
            sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE family = ?")
                .bind(token.family.clone())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            RefreshUse::Replayed {
                user: token.user.clone(),
            }
        } else if token.expires_at <= now {
            RefreshUse::Expired
        } else {
            RefreshUse::Rotated(token)
        };
        tx.commit().await.map_err(db)?;
        Ok(outcome)
    }

    async fn revoke_refresh_tokens(&self, user: &str) -> Result<()> {
        sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE user_id = ?")
            .bind(user.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (at_time, actor, action, target, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(e.at.clone())
            .bind(e.actor.clone())
            .bind(e.action.clone())
            .bind(e.target.clone())
            .bind(e.before.as_ref().map(json_text))
            .bind(e.after.as_ref().map(json_text))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.list("SELECT at_time, actor, action, target, before_json, after_json FROM audit_log ORDER BY seq", |r| {
                Ok(AuditEntry {
                    at: get_s(r, "at_time")?,
                    actor: get_s(r, "actor")?,
                    action: get_s(r, "action")?,
                    target: get_s(r, "target")?,
                    before: parse_json(get_os(r, "before_json")?),
                    after: parse_json(get_os(r, "after_json")?),
                })
        })
        .await
    }
}

/// A role assignment row (empty node columns mean "not at that level").
fn assignment(r: &AnyRow) -> Result<RoleAssignmentRow> {
    let node = |c: &str| -> Result<Option<String>> { Ok(get_os(r, c)?.filter(|v| !v.is_empty())) };
    Ok(RoleAssignmentRow {
        user: get_s(r, "user_id")?,
        role: get_s(r, "role")?,
        distributor: node("distributor_id")?,
        partner: node("partner_id")?,
        tenant: node("tenant_id")?,
    })
}

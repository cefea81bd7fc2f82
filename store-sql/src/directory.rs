//! The platform row and the hierarchy (distributors, partners, tenants, subscriptions),
//! with guarded deletes: the `Store` methods of the directory repository.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;
use stackbill_store::{
    DistributorRow, NodeKind, PartnerRow, PlatformRow, Result, StoreError, SubscriptionRow,
    TenantRow,
};

use crate::attempts::Attempt;
use crate::{Param, SqlStore, Tx, Upsert, db, get_i, get_oi, get_os, get_s, json_text, parse_json};

pub(crate) async fn platform(store: &SqlStore) -> Result<Option<PlatformRow>> {
    let row = sqlx::query("SELECT currency, time_zone, monthly_variable_pricing, rounding, payment_terms_days FROM platform_settings WHERE id = 1")
        .fetch_optional(&store.pool)
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

pub(crate) async fn put_platform(store: &SqlStore, p: &PlatformRow) -> Result<()> {
    store
        .retrying(|| async {
            let mut tx = store.begin().await.map_err(|e| (e, false))?;
            write_platform(store, &mut tx, p).await?;
            tx.commit().await.map_err(|e| store.attempt_err(e))
        })
        .await
}

/// Replaces the platform row inside the caller's transaction.
pub(crate) async fn write_platform(store: &SqlStore, tx: &mut Tx, p: &PlatformRow) -> Attempt<()> {
    sqlx::query("DELETE FROM platform_settings WHERE id = 1")
        .execute(&mut **tx)
        .await
        .map_err(|e| store.attempt_err(e))?;
    sqlx::query("INSERT INTO platform_settings (id, currency, time_zone, monthly_variable_pricing, rounding, payment_terms_days) VALUES (1, ?, ?, ?, ?, ?)")
        .bind(p.currency.clone())
        .bind(p.time_zone.clone())
        .bind(i64::from(p.monthly_variable_pricing))
        .bind(p.rounding.clone())
        .bind(p.payment_terms_days)
        .execute(&mut **tx)
        .await
        .map_err(|e| store.attempt_err(e))?;
    Ok(())
}

pub(crate) async fn put_distributor(store: &SqlStore, d: &DistributorRow) -> Result<()> {
    store.upsert(distributor_upsert(d)).await
}

/// The upsert that writes a distributor row.
pub(crate) fn distributor_upsert(d: &DistributorRow) -> Upsert<'_> {
    Upsert {
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
    }
}

pub(crate) async fn put_partner(store: &SqlStore, p: &PartnerRow) -> Result<()> {
    store.upsert(partner_upsert(p)).await
}

/// The upsert that writes a partner row.
pub(crate) fn partner_upsert(p: &PartnerRow) -> Upsert<'_> {
    Upsert {
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
    }
}

pub(crate) async fn put_tenant(store: &SqlStore, t: &TenantRow) -> Result<()> {
    store.upsert(tenant_upsert(t)).await
}

/// The upsert that writes a tenant row.
pub(crate) fn tenant_upsert(t: &TenantRow) -> Upsert<'_> {
    Upsert {
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
    }
}

pub(crate) async fn put_subscription(store: &SqlStore, s: &SubscriptionRow) -> Result<()> {
    store.upsert(subscription_upsert(s)).await
}

/// The upsert that writes a subscription row.
pub(crate) fn subscription_upsert(s: &SubscriptionRow) -> Upsert<'_> {
    Upsert {
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
    }
}

pub(crate) async fn distributors(store: &SqlStore) -> Result<Vec<DistributorRow>> {
    store.list("SELECT id, name, currency, commission, partner_commission, details FROM distributors ORDER BY id", |r| {
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

pub(crate) async fn partners(store: &SqlStore) -> Result<Vec<PartnerRow>> {
    store.list("SELECT id, distributor_id, name, currency, commission, details FROM partners ORDER BY id", |r| {
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

pub(crate) async fn tenants(store: &SqlStore) -> Result<Vec<TenantRow>> {
    store.list("SELECT id, partner_id, name, currency, time_zone, tax_percent, payment_terms_days, details, closed_on FROM tenants ORDER BY id", |r| {
            Ok(TenantRow {
                id: get_s(r, "id")?,
                partner: get_s(r, "partner_id")?,
                name: get_s(r, "name")?,
                currency: get_os(r, "currency")?,
                time_zone: get_os(r, "time_zone")?,
                tax_percent: get_os(r, "tax_percent")?,
                payment_terms_days: get_oi(r, "payment_terms_days")?,
                details: parse_json(get_os(r, "details")?).unwrap_or(Value::Null),
                closed_on: get_os(r, "closed_on")?,
            })
    })
    .await
}

pub(crate) async fn close_tenant(
    store: &SqlStore,
    id: &str,
    closed_on: Option<&str>,
) -> Result<()> {
    let mut tx = store.begin().await?;
    if !SqlStore::exists(&mut tx, "SELECT id FROM tenants WHERE id = ?", id).await? {
        return Err(StoreError::NotFound {
            kind: "tenant",
            id: id.to_owned(),
        });
    }
    sqlx::query("UPDATE tenants SET closed_on = ? WHERE id = ?")
        .bind(closed_on.map(str::to_owned))
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    if let Some(day) = closed_on {
        // Dates are YYYY-MM-DD text, so text order is date order.
        sqlx::query(
            "UPDATE subscriptions SET status = 'cancelled', ends_on = ? \
             WHERE tenant_id = ? AND (ends_on IS NULL OR ends_on > ?)",
        )
        .bind(day.to_owned())
        .bind(id.to_owned())
        .bind(day.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

pub(crate) async fn subscriptions(store: &SqlStore) -> Result<Vec<SubscriptionRow>> {
    store.list(
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

pub(crate) async fn delete(store: &SqlStore, kind: NodeKind, id: &str) -> Result<()> {
    let mut tx = store.begin().await?;
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
    if !SqlStore::exists(&mut tx, exists_sql, id).await? {
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
                .fetch_all(&store.pool)
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
                .fetch_one(&store.pool)
                .await
                .and_then(|r| r.try_get::<i64, _>(0))
                .map_err(db)
        }
    };
    let blocked = match kind {
        NodeKind::Distributor => {
            let partners =
                names(ids("SELECT id FROM partners WHERE distributor_id = ? ORDER BY id").await?);
            blockers(vec![(partners.len(), "partners", partners)])
        }
        NodeKind::Partner => {
            let tenants =
                names(ids("SELECT id FROM tenants WHERE partner_id = ? ORDER BY id").await?);
            let commissions = count(
                "SELECT COUNT(*) FROM commissions WHERE party_kind = 'partner' AND party_id = ?",
            )
            .await?;
            blockers(vec![
                (tenants.len(), "tenants", tenants),
                (commissions as usize, "commission summaries", vec![]),
            ])
        }
        NodeKind::Tenant => {
            let subs =
                names(ids("SELECT id FROM subscriptions WHERE tenant_id = ? ORDER BY id").await?);
            let invoices = count("SELECT COUNT(*) FROM invoices WHERE tenant_id = ?").await?;
            let lists = names(ids("SELECT id FROM price_lists WHERE scope_kind = 'tenant' AND scope_id = ? ORDER BY id").await?);
            blockers(vec![
                (subs.len(), "subscriptions", subs),
                (invoices as usize, "invoices", vec![]),
                (lists.len(), "price lists", lists),
            ])
        }
        NodeKind::Subscription => {
            // Rows with a start are counted by their roll-ups; the rest one by one.
            // Rows with a start are counted by their roll-ups (summed here: SUM's type
            // differs between the databases); the rest one by one.
            let rolled: i64 = ids("SELECT u.records FROM usage_rollups u JOIN usage_keys k ON k.id = u.key_id WHERE k.subscription = ?")
                .await?
                .iter()
                .filter_map(|r| r.try_get::<i64, _>(0).ok())
                .sum();
            let usage = rolled.saturating_add(count("SELECT COUNT(*) FROM usage_rows r JOIN usage_keys k ON k.id = r.key_id WHERE r.start_ns IS NULL AND k.subscription = ?").await?);
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

/// Splits `blockers` into a human list, or `None` when there are none.
pub(crate) fn blockers(parts: Vec<(usize, &str, Vec<String>)>) -> Option<String> {
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

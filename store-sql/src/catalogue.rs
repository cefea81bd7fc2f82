//! Regions, meters and plans: the `Store` methods of the catalogue repository.

use serde_json::Value;
use sqlx::Row;
use stackbill_store::{MeterRow, PlanRow, QuotaAlerts, RegionRow, Result, StoreError};

use crate::directory::blockers;
use crate::{Param, SqlStore, Upsert, db, get_i, get_os, get_s, json_text, parse_json};

pub(crate) async fn put_region(store: &SqlStore, r: &RegionRow) -> Result<()> {
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
    store
        .upsert(Upsert {
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

pub(crate) async fn regions(store: &SqlStore) -> Result<Vec<RegionRow>> {
    store.list("SELECT id, name, time_zone, admin_endpoint, collection_window_hours, credential_ref, details FROM regions ORDER BY id", |r| {
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

pub(crate) async fn delete_region(store: &SqlStore, id: &str) -> Result<()> {
    let count = |sql: &'static str| async move {
        sqlx::query(sql)
            .bind(id.to_owned())
            .fetch_one(&store.pool)
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
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn put_meter(store: &SqlStore, m: &MeterRow) -> Result<()> {
    store
        .upsert(Upsert {
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

pub(crate) async fn meters(store: &SqlStore) -> Result<Vec<MeterRow>> {
    store
        .list("SELECT id, name, unit FROM meters ORDER BY id", |r| {
            Ok(MeterRow {
                id: get_s(r, "id")?,
                name: get_s(r, "name")?,
                unit: get_s(r, "unit")?,
            })
        })
        .await
}

pub(crate) async fn put_plan(store: &SqlStore, p: &PlanRow) -> Result<()> {
    store
        .upsert(Upsert {
            table: "plans",
            kind: "plan",
            unique: "id",
            id: &p.id,
            parent: None,
            columns: &["name", "quotas", "offer_id", "quota_alerts"],
            values: vec![
                Param::text(&p.name),
                Param::Text(Some(json_text(&p.quotas))),
                Param::Text(p.offer.clone()),
                Param::Text(p.quota_alerts.as_ref().map(|q| {
                    json_text(&serde_json::json!({"percent": q.percent, "meters": q.meters}))
                })),
            ],
        })
        .await
}

pub(crate) async fn plans(store: &SqlStore) -> Result<Vec<PlanRow>> {
    store
        .list(
            "SELECT id, name, quotas, offer_id, quota_alerts FROM plans ORDER BY id",
            |r| {
                Ok(PlanRow {
                    id: get_s(r, "id")?,
                    name: get_s(r, "name")?,
                    quotas: parse_json(get_os(r, "quotas")?).unwrap_or(Value::Null),
                    offer: get_os(r, "offer_id")?,
                    quota_alerts: parse_json(get_os(r, "quota_alerts")?)
                        .map(|v| quota_alerts(&v))
                        .transpose()?,
                })
            },
        )
        .await
}

/// A plan's stored quota alerts; a document that does not read is an error, not a plan
/// silently without alerts.
fn quota_alerts(v: &Value) -> Result<QuotaAlerts> {
    let bad = || StoreError::InvalidState(format!("plans.quota_alerts does not read: {v}"));
    let percent = v["percent"]
        .as_u64()
        .and_then(|p| u8::try_from(p).ok())
        .ok_or_else(bad)?;
    let meters = v["meters"]
        .as_object()
        .ok_or_else(bad)?
        .iter()
        .map(|(k, m)| Some((k.clone(), m.as_str()?.to_owned())))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    Ok(QuotaAlerts { percent, meters })
}

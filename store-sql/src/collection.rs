//! Usage collection: where each region's run stands, and the rows a region sent that
//! could not be read.

use serde_json::Value;
use stackbill_store::{RejectedUsageRow, Result};

use crate::{SqlStore, db, get_i, get_os, get_s, json_text, parse_json};

pub(crate) async fn collection_state(store: &SqlStore, region: &str) -> Result<Option<Value>> {
    let rows = sqlx::query("SELECT document FROM collection_state WHERE region_id = ?")
        .bind(region.to_owned())
        .fetch_all(&store.pool)
        .await
        .map_err(db)?;
    match rows.first() {
        None => Ok(None),
        Some(r) => Ok(parse_json(get_os(r, "document")?)),
    }
}

pub(crate) async fn put_collection_state(
    store: &SqlStore,
    region: &str,
    state: &Value,
) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM collection_state WHERE region_id = ?")
        .bind(region.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("INSERT INTO collection_state (region_id, document) VALUES (?, ?)")
        .bind(region.to_owned())
        .bind(json_text(state))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)
}

pub(crate) async fn add_rejected_usage(store: &SqlStore, rows: &[RejectedUsageRow]) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let mut added = 0u64;
    for r in rows {
        let known = sqlx::query("SELECT 1 FROM rejected_usage WHERE id = ?")
            .bind(r.id.clone())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if known.is_some() {
            continue;
        }
        sqlx::query("INSERT INTO rejected_usage (id, region_id, window_start, window_end, reason, raw) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(r.id.clone())
            .bind(r.region.clone())
            .bind(r.window.0)
            .bind(r.window.1)
            .bind(r.reason.clone())
            .bind(r.raw.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        added = added.saturating_add(1);
    }
    tx.commit().await.map_err(db)?;
    Ok(added)
}

pub(crate) async fn rejected_usage(
    store: &SqlStore,
    region: Option<&str>,
    limit: u32,
) -> Result<Vec<RejectedUsageRow>> {
    let sql = format!(
        "SELECT id, region_id, window_start, window_end, reason, raw FROM rejected_usage {} ORDER BY window_start, id LIMIT {limit}",
        if region.is_some() {
            "WHERE region_id = ?"
        } else {
            ""
        }
    );
    let mut q = sqlx::query(&sql);
    if let Some(region) = region {
        q = q.bind(region.to_owned());
    }
    let rows = q.fetch_all(&store.pool).await.map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(RejectedUsageRow {
                id: get_s(r, "id")?,
                region: get_s(r, "region_id")?,
                window: (get_i(r, "window_start")?, get_i(r, "window_end")?),
                reason: get_s(r, "reason")?,
                raw: get_s(r, "raw")?,
            })
        })
        .collect()
}

pub(crate) async fn try_lease(
    store: &SqlStore,
    name: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool> {
    // The row is created once (a concurrent creator's insert fails on the key and falls
    // through); the claim itself is the conditional update, whose row count says who won.
    let created = sqlx::query("INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)")
        .bind(name.to_owned())
        .bind(owner.to_owned())
        .bind(until)
        .execute(&store.pool)
        .await;
    match created {
        Ok(_) => return Ok(true),
        Err(sqlx::Error::Database(d)) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {}
        Err(e) => return Err(db(e)),
    }
    let claimed = sqlx::query(
        "UPDATE leases SET owner = ?, expires_at = ? WHERE name = ? AND (expires_at <= ? OR owner = ?)",
    )
    .bind(owner.to_owned())
    .bind(until)
    .bind(name.to_owned())
    .bind(now)
    .bind(owner.to_owned())
    .execute(&store.pool)
    .await
    .map_err(db)?;
    Ok(claimed.rows_affected() == 1)
}

pub(crate) async fn release_lease(store: &SqlStore, name: &str, owner: &str) -> Result<()> {
    sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = ? AND owner = ?")
        .bind(name.to_owned())
        .bind(owner.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

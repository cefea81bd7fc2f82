//! Alerts: raised once per condition while it holds (the open alert's key is unique),
//! cleared when it clears, acknowledged by a person.

use stackbill_store::{AlertEvent, AlertRow, NewAlert, Result, StoreError, UnforwardedAlert};

use crate::{SqlStore, db, get_i, get_os, get_s};

const COLUMNS: &str = "id, condition_key, kind, subject, severity, message, raised_at, last_seen_at, occurrences, cleared_at, acknowledged_by, acknowledged_at";

fn row(r: &sqlx::any::AnyRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: get_i(r, "id")?,
        key: get_s(r, "condition_key")?,
        kind: get_s(r, "kind")?,
        subject: get_s(r, "subject")?,
        severity: get_s(r, "severity")?,
        message: get_s(r, "message")?,
        raised_at: get_s(r, "raised_at")?,
        last_seen_at: get_s(r, "last_seen_at")?,
        occurrences: get_i(r, "occurrences")?,
        cleared_at: get_os(r, "cleared_at")?,
        acknowledged_by: get_os(r, "acknowledged_by")?,
        acknowledged_at: get_os(r, "acknowledged_at")?,
    })
}

async fn seen_again(store: &SqlStore, alert: &NewAlert, now: &str) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE alerts SET last_seen_at = ?, message = ?, severity = ?, occurrences = occurrences + 1 WHERE open_key = ?",
    )
    .bind(now.to_owned())
    .bind(alert.message.clone())
    .bind(alert.severity.clone())
    .bind(alert.key.clone())
    .execute(&store.pool)
    .await
    .map_err(db)?;
    Ok(updated.rows_affected() > 0)
}

pub(crate) async fn raise(store: &SqlStore, alert: &NewAlert, now: &str) -> Result<bool> {
    if seen_again(store, alert, now).await? {
        return Ok(false);
    }
    let inserted = sqlx::query(
        "INSERT INTO alerts (condition_key, open_key, kind, subject, severity, message, raised_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(alert.key.clone())
    .bind(alert.key.clone())
    .bind(alert.kind.clone())
    .bind(alert.subject.clone())
    .bind(alert.severity.clone())
    .bind(alert.message.clone())
    .bind(now.to_owned())
    .bind(now.to_owned())
    .execute(&store.pool)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        // Another process raised it between the update and the insert.
        Err(sqlx::Error::Database(d)) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            seen_again(store, alert, now).await.map(|_| false)
        }
        Err(e) => Err(db(e)),
    }
}

pub(crate) async fn clear(store: &SqlStore, key: &str, now: &str) -> Result<bool> {
    let cleared =
        sqlx::query("UPDATE alerts SET cleared_at = ?, open_key = NULL WHERE open_key = ?")
            .bind(now.to_owned())
            .bind(key.to_owned())
            .execute(&store.pool)
            .await
            .map_err(db)?;
    Ok(cleared.rows_affected() > 0)
}

pub(crate) async fn list(store: &SqlStore, open_only: bool) -> Result<Vec<AlertRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts {} ORDER BY id DESC",
        if open_only {
            "WHERE open_key IS NOT NULL"
        } else {
            ""
        }
    );
    let rows = sqlx::query(&sql).fetch_all(&store.pool).await.map_err(db)?;
    rows.iter().map(row).collect()
}

pub(crate) async fn acknowledge(
    store: &SqlStore,
    id: i64,
    by: &str,
    now: &str,
) -> Result<AlertRow> {
    sqlx::query("UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?")
        .bind(by.to_owned())
        .bind(now.to_owned())
        .bind(id)
        .execute(&store.pool)
        .await
        .map_err(db)?;
    let found = sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await
        .map_err(db)?;
    match found {
        Some(r) => row(&r),
        None => Err(StoreError::NotFound {
            kind: "alert",
            id: id.to_string(),
        }),
    }
}

pub(crate) async fn unforwarded(store: &SqlStore, limit: u32) -> Result<Vec<UnforwardedAlert>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, forwarded_raise, forwarded_clear FROM alerts \
         WHERE forwarded_raise = 0 OR (cleared_at IS NOT NULL AND forwarded_clear = 0) \
         ORDER BY id LIMIT ?"
    ))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            let alert = row(r)?;
            let mut events = Vec::new();
            if get_i(r, "forwarded_raise")? == 0 {
                events.push(AlertEvent::Raised);
            }
            if alert.cleared_at.is_some() && get_i(r, "forwarded_clear")? == 0 {
                events.push(AlertEvent::Cleared);
            }
            Ok(UnforwardedAlert { alert, events })
        })
        .collect()
}

pub(crate) async fn mark_forwarded(store: &SqlStore, id: i64, event: AlertEvent) -> Result<()> {
    let column = match event {
        AlertEvent::Raised => "forwarded_raise",
        AlertEvent::Cleared => "forwarded_clear",
    };
    sqlx::query(&format!("UPDATE alerts SET {column} = 1 WHERE id = ?"))
        .bind(id)
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

//! System Settings and the audit log: the `Store` methods of the system repository.

use serde_json::Value;
use stackbill_store::{AuditEntry, Result};

use crate::{SqlStore, db, get_os, get_s, json_text, parse_json};

pub(crate) async fn put_settings(store: &SqlStore, group: &str, value: &Value) -> Result<()> {
    let mut tx = store.begin().await?;
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

pub(crate) async fn settings(
    store: &SqlStore,
) -> Result<std::collections::BTreeMap<String, Value>> {
    let pairs = store
        .list("SELECT settings_group, value FROM settings", |r| {
            Ok((
                get_s(r, "settings_group")?,
                parse_json(get_os(r, "value")?).unwrap_or(Value::Null),
            ))
        })
        .await?;
    Ok(pairs.into_iter().collect())
}

pub(crate) async fn append_audit(store: &SqlStore, e: &AuditEntry) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (at_time, actor, action, target, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(e.at.clone())
        .bind(e.actor.clone())
        .bind(e.action.clone())
        .bind(e.target.clone())
        .bind(e.before.as_ref().map(json_text))
        .bind(e.after.as_ref().map(json_text))
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn audit_log(store: &SqlStore) -> Result<Vec<AuditEntry>> {
    store.list("SELECT at_time, actor, action, target, before_json, after_json FROM audit_log ORDER BY seq", |r| {
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

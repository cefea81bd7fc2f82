//! Users, role assignments and sign-in state (failed logins, TOTP steps, refresh
//! tokens): the `Store` methods of the people repository.

use sqlx::any::AnyRow;
use stackbill_store::{
    RefreshTokenRow, RefreshUse, Result, RoleAssignmentRow, StoreError, UserRow,
};

use sqlx::Row;

use crate::{Param, SqlStore, Upsert, db, get_i, get_os, get_s};

pub(crate) async fn put_user(store: &SqlStore, u: &UserRow) -> Result<()> {
    let flag = |b: bool| Param::Int(Some(i64::from(b)));
    store
        .upsert(Upsert {
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

pub(crate) async fn users(store: &SqlStore) -> Result<Vec<UserRow>> {
    store.list(USER_SELECT_ALL, user_row).await
}

pub(crate) async fn user_by_email(store: &SqlStore, email: &str) -> Result<Option<UserRow>> {
    let row = sqlx::query(USER_SELECT_BY_EMAIL)
        .bind(email.to_lowercase())
        .fetch_optional(&store.pool)
        .await
        .map_err(db)?;
    row.as_ref().map(user_row).transpose()
}

pub(crate) async fn user(store: &SqlStore, id: &str) -> Result<Option<UserRow>> {
    let row = sqlx::query(USER_SELECT_BY_ID)
        .bind(id.to_owned())
        .fetch_optional(&store.pool)
        .await
        .map_err(db)?;
    row.as_ref().map(user_row).transpose()
}

pub(crate) async fn delete_user(store: &SqlStore, id: &str) -> Result<()> {
    let mut tx = store.begin().await?;
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

pub(crate) async fn grant_role(store: &SqlStore, a: &RoleAssignmentRow) -> Result<()> {
    let mut tx = store.begin().await?;
    SqlStore::require(
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

pub(crate) async fn revoke_role(store: &SqlStore, a: &RoleAssignmentRow) -> Result<()> {
    sqlx::query("DELETE FROM role_assignments WHERE user_id = ? AND role = ? AND node_key = ?")
        .bind(a.user.clone())
        .bind(a.role.clone())
        .bind(node_key(a))
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn role_assignments(
    store: &SqlStore,
    user: &str,
) -> Result<Vec<RoleAssignmentRow>> {
    let rows = sqlx::query("SELECT user_id, role, distributor_id, partner_id, tenant_id FROM role_assignments WHERE user_id = ? ORDER BY role, distributor_id, partner_id, tenant_id")
        .bind(user.to_owned())
        .fetch_all(&store.pool)
        .await
        .map_err(db)?;
    rows.iter().map(assignment).collect()
}

pub(crate) async fn all_role_assignments(store: &SqlStore) -> Result<Vec<RoleAssignmentRow>> {
    let rows = sqlx::query("SELECT user_id, role, distributor_id, partner_id, tenant_id FROM role_assignments ORDER BY user_id, role, distributor_id, partner_id, tenant_id")
        .fetch_all(&store.pool)
        .await
        .map_err(db)?;
    rows.iter().map(assignment).collect()
}

pub(crate) async fn record_login_failure(store: &SqlStore, user: &str) -> Result<()> {
    sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?")
        .bind(user.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn record_login_success(store: &SqlStore, user: &str) -> Result<()> {
    sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = ?")
        .bind(user.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

/// Failures older than this many seconds are forgotten: a key starts afresh a day after
/// its last failure.
const FAILURE_MEMORY: i64 = 24 * 3600;

pub(crate) async fn record_sign_in_failure(
    store: &SqlStore,
    key: &str,
    now: i64,
    delay: &(dyn Fn(i64) -> i64 + Send + Sync),
) -> Result<i64> {
    store
        .retrying(|| async move {
            let mut tx = store.pool.begin().await.map_err(|e| store.attempt_err(e))?;
            // The update comes first, so the transaction holds the write lock before it
            // reads (SQLite cannot upgrade a read to a write once another commit landed).
            let bumped = sqlx::query("UPDATE sign_in_failures SET failures = CASE WHEN last_failure < ? THEN 1 ELSE failures + 1 END, last_failure = ? WHERE throttle_key = ?")
                .bind(now.saturating_sub(FAILURE_MEMORY))
                .bind(now)
                .bind(key.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(|e| store.attempt_err(e))?;
            if bumped.rows_affected() == 0 {
                // Two first failures at once: one insert wins, the other retries as an update.
                sqlx::query("INSERT INTO sign_in_failures (throttle_key, failures, last_failure, blocked_until) VALUES (?, 1, ?, 0)")
                    .bind(key.to_owned())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        let unique = matches!(&e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation);
                        let (error, again) = store.attempt_err(e);
                        (error, again || unique)
                    })?;
            }
            let failures: i64 = sqlx::query("SELECT failures FROM sign_in_failures WHERE throttle_key = ?")
                .bind(key.to_owned())
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| store.attempt_err(e))?;
            let until = now.saturating_add(delay(failures).max(0));
            sqlx::query("UPDATE sign_in_failures SET blocked_until = ? WHERE throttle_key = ?")
                .bind(until)
                .bind(key.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(|e| store.attempt_err(e))?;
            tx.commit().await.map_err(|e| store.attempt_err(e))?;
            Ok(until)
        })
        .await
}

pub(crate) async fn sign_in_blocked_until(
    store: &SqlStore,
    key: &str,
    now: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT blocked_until FROM sign_in_failures WHERE throttle_key = ? AND blocked_until > ?",
    )
    .bind(key.to_owned())
    .bind(now)
    .fetch_optional(&store.pool)
    .await
    .map_err(db)?;
    row.map(|r| get_i(&r, "blocked_until")).transpose()
}

pub(crate) async fn clear_sign_in_failures(store: &SqlStore, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE throttle_key = ?")
        .bind(key.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn claim_totp_step(store: &SqlStore, user: &str, step: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE users SET mfa_last_step = ? WHERE id = ? AND (mfa_last_step IS NULL OR mfa_last_step < ?)")
        .bind(step)
        .bind(user.to_owned())
        .bind(step)
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn put_refresh_token(store: &SqlStore, t: &RefreshTokenRow) -> Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, family, user_id, expires_at, family_expires_at, state) VALUES (?, ?, ?, ?, ?, 'active')")
        .bind(t.hash.clone())
        .bind(t.family.clone())
        .bind(t.user.clone())
        .bind(t.expires_at)
        .bind(t.family_expires_at)
        .execute(&store.pool)
        .await
        .map_err(|e| store.classify(e))?;
    Ok(())
}

pub(crate) async fn rotate_refresh_token(
    store: &SqlStore,
    hash: &str,
    now: i64,
    successor: &str,
    idle: i64,
) -> Result<RefreshUse> {
    store
        .retrying(|| async move {
            let err = |e| store.attempt_err(e);
            let mut tx = store.pool.begin().await.map_err(err)?;
            // The conditional update is the arbiter and comes first (it takes the write
            // lock): of concurrent uses exactly one finds the token active; every other
            // use, now or later, finds it used and revokes the family, successor included.
            let rotated = sqlx::query("UPDATE refresh_tokens SET state = 'used' WHERE token_hash = ? AND state = 'active' AND expires_at > ?")
                .bind(hash.to_owned())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected()
                == 1;
            let row = sqlx::query("SELECT token_hash, family, user_id, expires_at, family_expires_at, state FROM refresh_tokens WHERE token_hash = ?")
                .bind(hash.to_owned())
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
            let Some(row) = row else {
                return Ok(RefreshUse::Unknown);
            };
            let token = refresh_row(&row).map_err(|e| (e, false))?;
            let outcome = if rotated {
                let next = RefreshTokenRow {
                    hash: successor.to_owned(),
                    expires_at: now.saturating_add(idle).min(token.family_expires_at),
                    ..token
                };
                sqlx::query("INSERT INTO refresh_tokens (token_hash, family, user_id, expires_at, family_expires_at, state) VALUES (?, ?, ?, ?, ?, 'active')")
                    .bind(next.hash.clone())
                    .bind(next.family.clone())
                    .bind(next.user.clone())
                    .bind(next.expires_at)
                    .bind(next.family_expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                RefreshUse::Rotated(next)
            } else if get_s(&row, "state").map_err(|e| (e, false))? == "active" {
                RefreshUse::Expired
            } else {
                sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE family = ?")
                    .bind(token.family.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                RefreshUse::Replayed { user: token.user }
            };
            tx.commit().await.map_err(err)?;
            Ok(outcome)
        })
        .await
}

fn refresh_row(row: &AnyRow) -> Result<RefreshTokenRow> {
    let expires_at = get_i(row, "expires_at")?;
    let family_expires_at = get_i(row, "family_expires_at")?;
    Ok(RefreshTokenRow {
        hash: get_s(row, "token_hash")?,
        family: get_s(row, "family")?,
        user: get_s(row, "user_id")?,
        expires_at,
        // Tokens issued before families had an absolute end live at most to their own.
        family_expires_at: if family_expires_at == 0 {
            expires_at
        } else {
            family_expires_at
        },
    })
}

pub(crate) async fn end_sessions(store: &SqlStore, user: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?")
        .bind(user.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE user_id = ?")
        .bind(user.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)
}

pub(crate) async fn link_federated_identity(
    store: &SqlStore,
    issuer: &str,
    subject: &str,
    user: &str,
    at: &str,
) -> Result<String> {
    // The first link wins: a concurrent link of the same identity fails the primary key,
    // and both callers then read the one binding that stands.
    let inserted = sqlx::query(
        "INSERT INTO federated_identities (issuer, subject, user_id, linked_at) VALUES (?, ?, ?, ?)",
    )
    .bind(issuer.to_owned())
    .bind(subject.to_owned())
    .bind(user.to_owned())
    .bind(at.to_owned())
    .execute(&store.pool)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(d)) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {}
        Err(e) => return Err(db(e)),
    }
    federated_identity(store, issuer, subject)
        .await?
        .ok_or_else(|| StoreError::Database("a federated link vanished after its insert".into()))
}

pub(crate) async fn federated_identity(
    store: &SqlStore,
    issuer: &str,
    subject: &str,
) -> Result<Option<String>> {
    let row =
        sqlx::query("SELECT user_id FROM federated_identities WHERE issuer = ? AND subject = ?")
            .bind(issuer.to_owned())
            .bind(subject.to_owned())
            .fetch_optional(&store.pool)
            .await
            .map_err(db)?;
    row.map(|r| get_s(&r, "user_id")).transpose()
}

const USER_SELECT_ALL: &str = "SELECT id, email, first_name, last_name, phone, password_hash, mfa_secret_sealed, mfa_required, federated_only, disabled, locked_out, activated, failed_logins, must_change_password, activation_code_hash, session_epoch FROM users ORDER BY id";
const USER_SELECT_BY_ID: &str = "SELECT id, email, first_name, last_name, phone, password_hash, mfa_secret_sealed, mfa_required, federated_only, disabled, locked_out, activated, failed_logins, must_change_password, activation_code_hash, session_epoch FROM users WHERE id = ?";
const USER_SELECT_BY_EMAIL: &str = "SELECT id, email, first_name, last_name, phone, password_hash, mfa_secret_sealed, mfa_required, federated_only, disabled, locked_out, activated, failed_logins, must_change_password, activation_code_hash, session_epoch FROM users WHERE email_key = ?";

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

fn user_row(r: &AnyRow) -> Result<UserRow> {
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
        session_epoch: get_i(r, "session_epoch")?,
    })
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

pub(crate) async fn count_failure_minute(store: &SqlStore, minute: i64) -> Result<()> {
    for _ in 0..3 {
        let bumped = sqlx::query(
            "UPDATE sign_in_failure_minutes SET failures = failures + 1 WHERE minute = ?",
        )
        .bind(minute)
        .execute(&store.pool)
        .await
        .map_err(db)?;
        if bumped.rows_affected() > 0 {
            return Ok(());
        }
        let created =
            sqlx::query("INSERT INTO sign_in_failure_minutes (minute, failures) VALUES (?, 1)")
                .bind(minute)
                .execute(&store.pool)
                .await;
        match created {
            Ok(_) => return Ok(()),
            // Another process created the minute first: count in it.
            Err(sqlx::Error::Database(d))
                if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {}
            Err(e) => return Err(db(e)),
        }
    }
    Ok(())
}

pub(crate) async fn failures_since(store: &SqlStore, minute: i64) -> Result<i64> {
    // A day of minutes is kept; older ones are no use to any alert.
    sqlx::query("DELETE FROM sign_in_failure_minutes WHERE minute < ?")
        .bind(minute.saturating_sub(24 * 60))
        .execute(&store.pool)
        .await
        .map_err(db)?;
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(failures) AS SIGNED) FROM sign_in_failure_minutes WHERE minute >= ?",
    )
    .bind(minute)
    .fetch_one(&store.pool)
    .await
    .map_err(db)?;
    Ok(total.unwrap_or(0))
}

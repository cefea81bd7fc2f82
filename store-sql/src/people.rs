//! Users, role assignments and sign-in state (failed logins, TOTP steps, refresh
//! tokens): the `Store` methods of the people repository.

use sqlx::any::AnyRow;
use stackbill_store::{
    RefreshTokenRow, RefreshUse, Result, RoleAssignmentRow, StoreError, UserRow,
};

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
    store.list(USER_SELECT_ALL, user).await
}

pub(crate) async fn user_by_email(store: &SqlStore, email: &str) -> Result<Option<UserRow>> {
    let row = sqlx::query(USER_SELECT_BY_EMAIL)
        .bind(email.to_lowercase())
        .fetch_optional(&store.pool)
        .await
        .map_err(db)?;
    row.as_ref().map(user).transpose()
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

pub(crate) async fn record_login_failure(
    store: &SqlStore,
    user: &str,
    threshold: i64,
) -> Result<bool> {
    // `locked_out` is assigned first: MySQL evaluates SET left to right with updated
    // values, SQLite with old ones; this order reads the old count in both.
    sqlx::query("UPDATE users SET locked_out = CASE WHEN failed_logins + 1 >= ? THEN 1 ELSE locked_out END, failed_logins = failed_logins + 1 WHERE id = ?")
        .bind(threshold)
        .bind(user.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    let locked = sqlx::query("SELECT locked_out FROM users WHERE id = ?")
        .bind(user.to_owned())
        .fetch_optional(&store.pool)
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

pub(crate) async fn record_login_success(store: &SqlStore, user: &str) -> Result<()> {
    sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = ?")
        .bind(user.to_owned())
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
    sqlx::query("INSERT INTO refresh_tokens (token_hash, family, user_id, expires_at, state) VALUES (?, ?, ?, ?, 'active')")
        .bind(t.hash.clone())
        .bind(t.family.clone())
        .bind(t.user.clone())
        .bind(t.expires_at)
        .execute(&store.pool)
        .await
        .map_err(|e| store.classify(e))?;
    Ok(())
}

pub(crate) async fn use_refresh_token(
    store: &SqlStore,
    hash: &str,
    now: i64,
) -> Result<RefreshUse> {
    let mut tx = store.begin().await?;
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

pub(crate) async fn revoke_refresh_tokens(store: &SqlStore, user: &str) -> Result<()> {
    sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE user_id = ?")
        .bind(user.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    Ok(())
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

//! Account recovery from the command line (`stackbill users unlock | reset-password |
//! reset-mfa EMAIL`), for the day the only administrator is locked out, forgot the
//! password or lost the authenticator: whoever can run the binary against the database
//! and read the key file already holds the keys to everything, so nothing is weakened.
//! Every recovery ends the account's sessions and is written to the audit log.

use stackbill_store::{AuditEntry, Store, UserRow};

use super::secrets::{self, Keys};

/// Who the audit log names as the actor.
const ACTOR: &str = "stackbill-cli";

async fn find(store: &dyn Store, email: &str) -> Result<UserRow, String> {
    store
        .user_by_email(&super::email::key(email))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user has the e-mail address {email:?}"))
}

async fn finish(store: &dyn Store, user: &UserRow, action: &str) -> Result<(), String> {
    store.put_user(user).await.map_err(|e| e.to_string())?;
    store
        .end_sessions(&user.id)
        .await
        .map_err(|e| e.to_string())?;
    store
        .append_audit(&AuditEntry {
            at: super::now_rfc3339(),
            actor: ACTOR.into(),
            action: action.into(),
            target: user.id.clone(),
            before: None,
            after: None,
        })
        .await
        .map_err(|e| e.to_string())
}

/// Clears an administrator's lock and the account's failed sign-ins.
pub(crate) async fn unlock(store: &dyn Store, keys: &Keys, email: &str) -> Result<(), String> {
    let mut user = find(store, email).await?;
    user.locked_out = false;
    user.failed_logins = 0;
    store
        .clear_sign_in_failures(&super::throttle::account_key(keys, &user.email))
        .await
        .map_err(|e| e.to_string())?;
    finish(store, &user, "user.unlocked").await
}

/// Sets a generated temporary password that must be changed at the next sign-in;
/// returns it (shown once).
pub(crate) async fn reset_password(store: &dyn Store, email: &str) -> Result<String, String> {
    let mut user = find(store, email).await?;
    if user.federated_only {
        return Err(format!(
            "{email} signs in only through its identity provider: it has no password"
        ));
    }
    let password = secrets::random_token(18);
    user.password_hash = Some(secrets::hash_password(&password)?);
    user.must_change_password = true;
    user.locked_out = false;
    finish(store, &user, "user.password_reset").await?;
    Ok(password)
}

/// Removes the enrolled second factor: the account enrols again at its next sign-in
/// when MFA is required.
pub(crate) async fn reset_mfa(store: &dyn Store, email: &str) -> Result<(), String> {
    let mut user = find(store, email).await?;
    user.mfa_secret_sealed = None;
    finish(store, &user, "user.mfa_reset").await
}

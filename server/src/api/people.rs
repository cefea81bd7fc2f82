//! Users (with the manual's security toggles: MFA required, federated only, disabled,
//! locked out) and role assignments. A user is placed where their roles are: a caller
//! sees a user when it may read users at any of those nodes, and changes one only when
//! it may manage users at all of them, so no one edits an account that also holds power
//! outside their branch. Roles are granted only where the core's `can_grant` allows.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::json;
use stackbill_core::rbac::{Action, Level, NodePath, Role, Scope};
use stackbill_store::{RoleAssignmentRow, UserRow};
use utoipa::ToSchema;

use super::AppState;
use super::access::{
    Allowed, AssignRoles, CreateUser, Directory, ManageUsers, Permission, ReadUsers,
    assignment_path,
};
use super::ops::{Op, many, one, paging};
use super::secrets;
use super::wire::{self, ApiError, ApiResult, Body, Paging, Params, created, ok};

type Reply<T> = ApiResult<wire::Ok<T>>;

/// A role assignment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Assignment {
    role: String,
    distributor_id: Option<String>,
    partner_id: Option<String>,
    tenant_id: Option<String>,
}

impl From<&RoleAssignmentRow> for Assignment {
    fn from(a: &RoleAssignmentRow) -> Self {
        Assignment {
            role: a.role.clone(),
            distributor_id: a.distributor.clone(),
            partner_id: a.partner.clone(),
            tenant_id: a.tenant.clone(),
        }
    }
}

/// A user (never the password hash or MFA secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    id: String,
    email_address: String,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    mfa_required: bool,
    mfa_enrolled: bool,
    federated_only: bool,
    disabled: bool,
    locked_out: bool,
    activated: bool,
    roles: Vec<Assignment>,
    /// The one-time activation code, only in the response that created the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_code: Option<String>,
}

fn user_out(u: &UserRow, roles: &[RoleAssignmentRow]) -> User {
    User {
        id: u.id.clone(),
        email_address: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        phone: u.phone.clone(),
        mfa_required: u.mfa_required,
        mfa_enrolled: u.mfa_secret_sealed.is_some(),
        federated_only: u.federated_only,
        disabled: u.disabled,
        locked_out: u.locked_out,
        activated: u.activated,
        roles: roles.iter().map(Assignment::from).collect(),
        activation_code: None,
    }
}

/// The assignments the caller may see: those at nodes it can read (a tenant administrator
/// does not learn what else a user holds elsewhere).
fn visible_roles<P: Permission>(
    auth: &Allowed<P>,
    roles: &[RoleAssignmentRow],
) -> Vec<RoleAssignmentRow> {
    roles
        .iter()
        .filter(|a| {
            assignment_path(a, auth.directory()).is_some_and(|p| auth.caller.can(Action::Read, &p))
        })
        .cloned()
        .collect()
}

/// Where a user sits: the nodes of their assignments (the platform when they have none).
fn places(roles: &[RoleAssignmentRow], dir: &Directory) -> Vec<NodePath> {
    let nodes: Vec<NodePath> = roles
        .iter()
        .filter_map(|a| assignment_path(a, dir))
        .collect();
    if nodes.is_empty() {
        vec![NodePath::platform()]
    } else {
        nodes
    }
}

/// The user `id` with their assignments, if the caller may read it; 404 otherwise.
async fn visible_user<P: Permission>(
    state: &AppState,
    auth: &Allowed<P>,
    id: &str,
    field: &str,
) -> ApiResult<(UserRow, Vec<RoleAssignmentRow>)> {
    let missing = || {
        if field.is_empty() {
            ApiError::NotFound(format!("no user {id:?}"))
        } else {
            ApiError::NotFound(format!("{field}: no user {id:?}"))
        }
    };
    let user = state
        .store()
        .users()
        .await?
        .into_iter()
        .find(|u| u.id.eq_ignore_ascii_case(id))
        .ok_or_else(missing)?;
    let roles = state.store().role_assignments(&user.id).await?;
    let dir = auth.directory();
    if !places(&roles, dir)
        .iter()
        .any(|p| auth.caller.can(Action::ReadUsers, p))
    {
        return Err(missing());
    }
    Ok((user, roles))
}

/// Passes when the caller may manage users at every node the user sits at.
fn manage_all(auth: &Allowed<ManageUsers>, roles: &[RoleAssignmentRow]) -> ApiResult<()> {
    for place in places(roles, auth.directory()) {
        if !auth.allows(&place) {
            return Err(ApiError::Forbidden(
                "the user also holds roles outside what your role may manage".into(),
            ));
        }
    }
    Ok(())
}

async fn list_users(
    State(state): State<AppState>,
    auth: Allowed<ReadUsers>,
    Params(paging): Params<Paging>,
) -> Reply<Vec<User>> {
    let dir = auth.directory();
    let mut by_user: std::collections::HashMap<String, Vec<RoleAssignmentRow>> =
        std::collections::HashMap::new();
    for a in state.store().all_role_assignments().await? {
        by_user.entry(a.user.clone()).or_default().push(a);
    }
    let mut out = Vec::new();
    for user in state.store().users().await? {
        let roles = by_user.remove(&user.id).unwrap_or_default();
        if places(&roles, dir).iter().any(|p| auth.allows(p)) {
            out.push(user_out(&user, &visible_roles(&auth, &roles)));
        }
    }
    Ok(ok(paging.apply(out)?))
}

async fn get_user(
    State(state): State<AppState>,
    auth: Allowed<ReadUsers>,
    Path(id): Path<String>,
) -> Reply<User> {
    let (user, roles) = visible_user(&state, &auth, &id, "").await?;
    Ok(ok(user_out(&user, &visible_roles(&auth, &roles))))
}

/// Where a role is to be granted, from `distributorId` / `partnerId` / `tenantId`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Place {
    #[serde(default)]
    distributor_id: Option<String>,
    #[serde(default)]
    partner_id: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
}

/// Resolves a place and checks that the caller may grant `role` there: 404 when the
/// node does not exist or is outside what the caller can read, 403 when readable.
fn grant_target<P: Permission>(
    auth: &Allowed<P>,
    role_name: &str,
    place: &Place,
) -> ApiResult<(Role, NodePath, RoleAssignmentRow)> {
    let role = Role::from_name(role_name).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        ApiError::field(
            "role",
            format!("{role_name:?} is not a role; roles: {}", names.join(", ")),
        )
    })?;
    let dir = auth.directory();
    let (level, field, id) = match (&place.tenant_id, &place.partner_id, &place.distributor_id) {
        (Some(t), _, _) => (Level::Tenant, "tenantId", Some(t.as_str())),
        (None, Some(p), _) => (Level::Partner, "partnerId", Some(p.as_str())),
        (None, None, Some(d)) => (Level::Distributor, "distributorId", Some(d.as_str())),
        (None, None, None) => (Level::Platform, "", None),
    };
    let missing = || {
        ApiError::NotFound(format!(
            "{field}: no {} {:?}",
            format!("{level:?}").to_lowercase(),
            id.unwrap_or("")
        ))
    };
    // Scope first: a node the caller cannot read answers exactly like a missing one,
    // before any other check could tell the two apart.
    let path = dir
        .resolve(level, id)
        .filter(|p| p.level() == Level::Platform || auth.caller.can(Action::Read, p))
        .ok_or_else(missing)?;
    // Ids given above the most specific one must agree with it.
    for (given, actual, name) in [
        (
            &place.distributor_id,
            path.distributor.as_ref().map(|d| d.to_string()),
            "distributorId",
        ),
        (
            &place.partner_id,
            path.partner.as_ref().map(|p| p.to_string()),
            "partnerId",
        ),
    ] {
        if let (Some(g), Some(a)) = (given, actual)
            && !g.eq_ignore_ascii_case(&a)
        {
            return Err(ApiError::field(
                name,
                format!("{g:?} is not the owner of {field} {:?}", id.unwrap_or("")),
            ));
        }
    }
    if Scope::new(role, path.clone()).is_err() {
        let at = match role.level() {
            Level::Platform => "the platform (no distributorId, partnerId or tenantId)",
            Level::Distributor => "a distributor (distributorId)",
            Level::Partner => "a partner (partnerId)",
            Level::Tenant => "a tenant (tenantId)",
            Level::Subscription => "a subscription",
        };
        return Err(ApiError::field(
            "role",
            format!("{} is granted at {at}", role.name()),
        ));
    }
    if !auth.caller.can_grant(role, &path) {
        return Err(ApiError::Forbidden(format!(
            "your role cannot grant {} here",
            role.name()
        )));
    }
    let row = RoleAssignmentRow {
        user: String::new(),
        role: role.name().to_owned(),
        distributor: (level == Level::Distributor)
            .then(|| path.distributor.as_ref().map(|d| d.to_string()))
            .flatten(),
        partner: (level == Level::Partner)
            .then(|| path.partner.as_ref().map(|d| d.to_string()))
            .flatten(),
        tenant: (level == Level::Tenant)
            .then(|| path.tenant.as_ref().map(|d| d.to_string()))
            .flatten(),
    };
    Ok((role, path, row))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UserIn {
    email_address: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    phone: Option<String>,
    /// Required unless `federatedOnly`; at least 12 characters.
    #[serde(default)]
    password: Option<String>,
    /// The first role (more with `POST /api/v1/roles`).
    role: String,
    #[serde(default)]
    distributor_id: Option<String>,
    #[serde(default)]
    partner_id: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    mfa_required: Option<bool>,
    #[serde(default)]
    federated_only: Option<bool>,
    #[serde(default)]
    disabled: Option<bool>,
}

/// Refuses an address that is taken, or that looks like one taken by another account
/// (equal UTS #39 skeletons: `rn` for `m`, a Cyrillic `о` for `o`).
async fn email_free(state: &AppState, email: &str, except: Option<&str>) -> ApiResult<()> {
    let skeleton = super::email::skeleton(email);
    let taken = state
        .store()
        .users()
        .await?
        .into_iter()
        .filter(|u| Some(u.id.as_str()) != except)
        .any(|u| super::email::skeleton(&u.email) == skeleton);
    if taken {
        return Err(ApiError::Conflict(format!(
            "a user with e-mail {email:?}, or one that looks the same, already exists"
        )));
    }
    Ok(())
}

fn valid_person(field: &str, name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field(field, "must be 1–100 characters"));
    }
    Ok(name.to_owned())
}

fn valid_phone(phone: Option<String>) -> ApiResult<Option<String>> {
    match phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p)
            if p.len() <= 40
                && p.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            Ok(Some(p))
        }
        Some(_) => Err(ApiError::field(
            "phone",
            "must be a phone number (digits, spaces, + - ( ) .)",
        )),
    }
}

async fn create_user(
    State(state): State<AppState>,
    auth: Allowed<CreateUser>,
    Body(body): Body<UserIn>,
) -> Reply<User> {
    let place = Place {
        distributor_id: body.distributor_id.clone(),
        partner_id: body.partner_id.clone(),
        tenant_id: body.tenant_id.clone(),
    };
    let (_, path, mut grant) = grant_target(&auth, &body.role, &place)?;
    // System Settings → Users: whether this level may create users at all.
    auth.check(&path)?;
    let email = super::email::valid("emailAddress", &body.email_address)?;
    email_free(&state, &email, None).await?;
    let federated_only = body.federated_only.unwrap_or(false);
    let password_hash = match (&body.password, federated_only) {
        (Some(p), _) => {
            secrets::password_policy(p, &email).map_err(|m| ApiError::field("password", m))?;
            Some(secrets::hash_password(p).map_err(ApiError::internal)?)
        }
        (None, true) => None,
        (None, false) => {
            return Err(ApiError::field(
                "password",
                "is required unless federatedOnly is true",
            ));
        }
    };
    let settings = state.snapshot().await?.settings.clone();
    let flag = |k: &str| settings["users"][k].as_bool().unwrap_or(false);
    let (needs_activation, needs_code) = (
        flag("requireUserActivation"),
        flag("requireUserActivationCode"),
    );
    // One code serves both switches: the account activates when it is presented at first
    // sign-in (or an administrator activates the account).
    let code = (needs_activation || needs_code).then(|| secrets::random_token(9));
    let user = UserRow {
        id: format!("user-{}", super::fields::new_id()),
        email,
        first_name: valid_person("firstName", &body.first_name)?,
        last_name: valid_person("lastName", &body.last_name)?,
        phone: valid_phone(body.phone)?,
        password_hash,
        mfa_secret_sealed: None,
        mfa_required: body.mfa_required.unwrap_or(false),
        federated_only,
        disabled: body.disabled.unwrap_or(false),
        locked_out: false,
        activated: !(needs_activation || needs_code),
        failed_logins: 0,
        must_change_password: false,
        activation_code_hash: code.as_deref().map(secrets::token_hash),
        session_epoch: 0,
    };
    state.store().put_user(&user).await?;
    grant.user = user.id.clone();
    if let Err(e) = state.store().grant_role(&grant).await {
        // Without its role the account would be invisible below the platform and its
        // e-mail taken: undo it, so the request fails whole.
        let _ = state.store().delete_user(&user.id).await;
        return Err(e.into());
    }
    state.forget_principals();
    let actor = auth.caller.actor();
    let mut out = user_out(&user, std::slice::from_ref(&grant));
    state
        .audit(
            &actor,
            "user.create",
            &user.id,
            None,
            serde_json::to_value(&out).ok(),
        )
        .await?;
    state
        .audit(
            &actor,
            "role.grant",
            &user.id,
            None,
            serde_json::to_value(Assignment::from(&grant)).ok(),
        )
        .await?;
    if let Some(code) = &code {
        activation_mail(&state, &user, code).await;
    }
    out.activation_code = code;
    Ok(created(out))
}

/// E-mails a new account its activation code when mail is set up (the creating
/// administrator also gets the code in the response, to pass on another way).
async fn activation_mail(state: &AppState, user: &UserRow, code: &str) {
    if crate::mail::ready(state).await.is_err() {
        return;
    }
    let product = state.snapshot().await.ok().and_then(|s| {
        s.settings["branding"]["productName"]
            .as_str()
            .map(str::to_owned)
    });
    let product = product.unwrap_or_else(|| "StackBill".into());
    let body = format!(
        "Hello {},\n\nan account on {product} was created for {}. Your activation code is:\n\n    {code}\n\n\
         Enter it with your password when you first sign in.",
        user.first_name, user.email
    );
    let queued = crate::mail::secret(
        state,
        format!("activation:{}", user.id),
        user.email.clone(),
        format!("Your {product} activation code"),
        &body,
    );
    let queued = match queued {
        Ok(message) => crate::mail::queue(state, &message).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = queued {
        tracing::warn!(user = %user.id, error = %e, "the activation code was not e-mailed");
    }
}

/// MFA may be required by whoever manages a user, but lifted only from above the user's
/// own level (or by the platform): a tenant administrator cannot drop the requirement
/// its partner set on its tenant, nor on its own account.
fn may_lift_mfa(auth: &Allowed<ManageUsers>, roles: &[RoleAssignmentRow]) -> ApiResult<()> {
    let caller = auth
        .caller
        .principal
        .scopes
        .iter()
        .map(|s| s.role().level())
        .min()
        .unwrap_or(Level::Subscription);
    let target = roles
        .iter()
        .filter_map(|r| Role::from_name(&r.role))
        .map(Role::level)
        .min()
        .unwrap_or(Level::Subscription);
    if caller == Level::Platform || caller < target {
        return Ok(());
    }
    Err(ApiError::Forbidden(
        "the MFA requirement can be lifted only by an administrator above this user's level".into(),
    ))
}

/// Changes to a user: only the fields sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UserChange {
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    mfa_required: Option<bool>,
    #[serde(default)]
    federated_only: Option<bool>,
    #[serde(default)]
    disabled: Option<bool>,
    /// `true` locks the account until an administrator unlocks it; `false` unlocks it
    /// and forgets its failed sign-ins (which only ever delay attempts).
    #[serde(default)]
    locked_out: Option<bool>,
    /// Only `true`: activates an account without its activation code.
    #[serde(default)]
    activated: Option<bool>,
    /// A temporary password set by an administrator: it must be changed at the next
    /// sign-in, and every session of the account ends.
    #[serde(default)]
    password: Option<String>,
    /// `true` removes the enrolled second factor (a lost phone): the user enrols again
    /// at the next sign-in when MFA is required, and every session ends.
    #[serde(default)]
    reset_mfa: Option<bool>,
}

fn toggles(u: &UserRow) -> serde_json::Value {
    json!({"mfaRequired": u.mfa_required, "federatedOnly": u.federated_only,
           "disabled": u.disabled, "lockedOut": u.locked_out, "activated": u.activated})
}

async fn update_user(
    State(state): State<AppState>,
    auth: Allowed<ManageUsers>,
    Path(id): Path<String>,
    Body(body): Body<UserChange>,
) -> Reply<User> {
    let (before, roles) = visible_user(&state, &auth, &id, "").await?;
    manage_all(&auth, &roles)?;
    if before.id == auth.caller.principal.user.id
        && (body.disabled == Some(true) || body.federated_only == Some(true))
    {
        // Either would end the caller's own access mid-request; another administrator
        // must do it, so an account can never lock out the last one who could undo it.
        return Err(ApiError::Conflict(
            "you cannot disable your own account or make it federated-only".into(),
        ));
    }
    let mut user = before.clone();
    if let Some(e) = &body.email_address {
        let email = super::email::valid("emailAddress", e)?;
        email_free(&state, &email, Some(&before.id)).await?;
        user.email = email;
    }
    if let Some(n) = &body.first_name {
        user.first_name = valid_person("firstName", n)?;
    }
    if let Some(n) = &body.last_name {
        user.last_name = valid_person("lastName", n)?;
    }
    if body.phone.is_some() {
        user.phone = valid_phone(body.phone)?;
    }
    if let Some(v) = body.mfa_required {
        if before.mfa_required && !v {
            may_lift_mfa(&auth, &roles)?;
        }
        user.mfa_required = v;
    }
    if let Some(v) = body.federated_only {
        user.federated_only = v;
    }
    if let Some(v) = body.disabled {
        user.disabled = v;
    }
    match body.locked_out {
        Some(true) => user.locked_out = true,
        Some(false) => {
            user.locked_out = false;
            user.failed_logins = 0;
            let key = super::throttle::account_key(&state.keys, &user.email);
            state.store().clear_sign_in_failures(&key).await?;
        }
        None => {}
    }
    if let Some(password) = &body.password {
        if user.federated_only {
            return Err(ApiError::field(
                "password",
                "a federated-only account has no password",
            ));
        }
        secrets::password_policy(password, &user.email)
            .map_err(|m| ApiError::field("password", m))?;
        let password = password.clone();
        let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::internal)?;
        user.password_hash = Some(hash);
        user.must_change_password = true;
    }
    if body.reset_mfa == Some(true) {
        user.mfa_secret_sealed = None;
    }
    match body.activated {
        Some(true) => {
            user.activated = true;
            user.activation_code_hash = None;
        }
        Some(false) if before.activated => {
            return Err(ApiError::field(
                "activated",
                "an active account cannot be de-activated; use disabled",
            ));
        }
        _ => {}
    }
    let own = before.id == auth.caller.principal.user.id;
    if own
        && (body.password.is_some()
            || body.reset_mfa == Some(true)
            || body.locked_out == Some(true))
    {
        return Err(ApiError::Conflict(
            "use auth/change-password and auth/mfa/confirm for your own account".into(),
        ));
    }
    state.store().put_user(&user).await?;
    let ends_sessions = (user.disabled && !before.disabled)
        || (user.locked_out && !before.locked_out)
        || (user.federated_only && !before.federated_only)
        || user.password_hash != before.password_hash
        || user.mfa_secret_sealed != before.mfa_secret_sealed;
    if ends_sessions {
        state.store().end_sessions(&user.id).await?;
    }
    state.forget_principals();
    let actor = auth.caller.actor();
    if user.password_hash != before.password_hash {
        state
            .audit(&actor, "user.password_reset", &user.id, None, None)
            .await?;
    }
    if user.mfa_secret_sealed != before.mfa_secret_sealed {
        state
            .audit(&actor, "user.mfa_reset", &user.id, None, None)
            .await?;
    }
    if toggles(&before) != toggles(&user) {
        state
            .audit(
                &actor,
                "user.security",
                &user.id,
                Some(toggles(&before)),
                Some(toggles(&user)),
            )
            .await?;
    }
    let profile = |u: &UserRow| json!({"emailAddress": u.email, "firstName": u.first_name, "lastName": u.last_name, "phone": u.phone});
    if profile(&before) != profile(&user) {
        state
            .audit(
                &actor,
                "user.update",
                &user.id,
                Some(profile(&before)),
                Some(profile(&user)),
            )
            .await?;
    }
    Ok(ok(user_out(&user, &visible_roles(&auth, &roles))))
}

async fn delete_user(
    State(state): State<AppState>,
    auth: Allowed<ManageUsers>,
    Path(id): Path<String>,
) -> Reply<()> {
    let (user, roles) = visible_user(&state, &auth, &id, "").await?;
    manage_all(&auth, &roles)?;
    if user.id == auth.caller.principal.user.id {
        return Err(ApiError::Conflict(
            "you cannot delete your own account".into(),
        ));
    }
    state.store().end_sessions(&user.id).await?;
    state.store().delete_user(&user.id).await?;
    state.forget_principals();
    state
        .audit(
            &auth.caller.actor(),
            "user.delete",
            &user.id,
            serde_json::to_value(user_out(&user, &roles)).ok(),
            None,
        )
        .await?;
    Ok(ok(()))
}

/// A role grant or revocation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RoleIn {
    user_id: String,
    role: String,
    #[serde(default)]
    distributor_id: Option<String>,
    #[serde(default)]
    partner_id: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
}

impl RoleIn {
    fn place(&self) -> Place {
        Place {
            distributor_id: self.distributor_id.clone(),
            partner_id: self.partner_id.clone(),
            tenant_id: self.tenant_id.clone(),
        }
    }
}

/// A role of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleInfo {
    name: String,
    /// Where it is granted: platform, distributor, partner or tenant.
    level: String,
    administrator: bool,
}

async fn list_roles(_auth: Allowed<ReadUsers>) -> Reply<Vec<RoleInfo>> {
    Ok(ok(Role::ALL
        .iter()
        .map(|r| RoleInfo {
            name: r.name().to_owned(),
            level: format!("{:?}", r.level()).to_lowercase(),
            administrator: r.is_administrator(),
        })
        .collect()))
}

async fn user_roles(
    State(state): State<AppState>,
    auth: Allowed<ReadUsers>,
    Path(id): Path<String>,
) -> Reply<Vec<Assignment>> {
    let (_, roles) = visible_user(&state, &auth, &id, "").await?;
    Ok(ok(visible_roles(&auth, &roles)
        .iter()
        .map(Assignment::from)
        .collect()))
}

async fn grant(
    State(state): State<AppState>,
    auth: Allowed<AssignRoles>,
    Body(body): Body<RoleIn>,
) -> Reply<Assignment> {
    let (_, _, mut row) = grant_target(&auth, &body.role, &body.place())?;
    let (user, _) = visible_user(&state, &auth, &body.user_id, "userId").await?;
    row.user = user.id.clone();
    state.store().grant_role(&row).await?;
    state.forget_principals();
    let out = Assignment::from(&row);
    state
        .audit(
            &auth.caller.actor(),
            "role.grant",
            &user.id,
            None,
            serde_json::to_value(&out).ok(),
        )
        .await?;
    Ok(ok(out))
}

async fn revoke(
    State(state): State<AppState>,
    auth: Allowed<AssignRoles>,
    Body(body): Body<RoleIn>,
) -> Reply<()> {
    let (_, _, mut row) = grant_target(&auth, &body.role, &body.place())?;
    let (user, roles) = visible_user(&state, &auth, &body.user_id, "userId").await?;
    if user.id == auth.caller.principal.user.id {
        return Err(ApiError::Conflict(
            "you cannot revoke your own roles; another administrator must".into(),
        ));
    }
    row.user = user.id.clone();
    if !roles.contains(&row) {
        return Err(ApiError::NotFound(format!(
            "{} does not hold that role there",
            user.email
        )));
    }
    state.store().revoke_role(&row).await?;
    state.store().end_sessions(&user.id).await?;
    state.forget_principals();
    state
        .audit(
            &auth.caller.actor(),
            "role.revoke",
            &user.id,
            serde_json::to_value(Assignment::from(&row)).ok(),
            None,
        )
        .await?;
    Ok(ok(()))
}

pub(crate) fn ops() -> Vec<Op> {
    let t = "Users";
    vec![
        Op::new(
            Method::GET,
            "/api/v1/users",
            t,
            "List users",
            get(list_users),
        )
        .queries(paging())
        .data(many::<User>()),
        Op::new(
            Method::POST,
            "/api/v1/users",
            t,
            "Create a user",
            post(create_user),
        )
        .body(one::<UserIn>())
        .data(one::<User>()),
        Op::new(
            Method::GET,
            "/api/v1/users/{id}",
            t,
            "View a user",
            get(get_user),
        )
        .data(one::<User>()),
        Op::new(
            Method::PUT,
            "/api/v1/users/{id}",
            t,
            "Edit a user and its security toggles",
            put(update_user),
        )
        .body(one::<UserChange>())
        .data(one::<User>()),
        Op::new(
            Method::DELETE,
            "/api/v1/users/{id}",
            t,
            "Delete a user",
            delete(delete_user),
        ),
        Op::new(
            Method::GET,
            "/api/v1/users/{id}/roles",
            t,
            "List a user's role assignments",
            get(user_roles),
        )
        .data(many::<Assignment>()),
        Op::new(
            Method::GET,
            "/api/v1/roles",
            t,
            "List the roles",
            get(list_roles),
        )
        .data(many::<RoleInfo>()),
        Op::new(
            Method::POST,
            "/api/v1/roles",
            t,
            "Grant a role",
            post(grant),
        )
        .body(one::<RoleIn>())
        .data(one::<Assignment>()),
        Op::new(
            Method::POST,
            "/api/v1/roles/revoke",
            t,
            "Revoke a role",
            post(revoke),
        )
        .body(one::<RoleIn>()),
    ]
}

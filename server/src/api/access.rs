//! Who the caller is and what they may touch. Every handler receives its caller through
//! an extractor typed by the permission it needs ([`Allowed<P>`]); the only ways to reach
//! data from there are [`Allowed::check`] for one object and [`Allowed::allows`] for
//! filtering lists, both answered by the core's `rbac::can`. An object the caller cannot
//! even read answers 404, exactly like one that does not exist.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use stackbill_core::rbac::{self, Action, Governance, Level, NodePath, Role, Scope};
use stackbill_store::{
    DistributorRow, PartnerRow, RoleAssignmentRow, Store, SubscriptionRow, TenantRow, UserRow,
};

use super::AppState;
use super::wire::{ApiError, ApiResult};

/// The hierarchy as of the last load, indexed by lower-cased id: the PowerShell client
/// lower-cases whole URLs, so ids are matched case-insensitively everywhere.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub distributors: Vec<DistributorRow>,
    pub partners: Vec<PartnerRow>,
    pub tenants: Vec<TenantRow>,
    pub subscriptions: Vec<SubscriptionRow>,
    index: HashMap<(u8, String), usize>,
    /// Each node's place, parallel to the lists above (computed once per load: scoped
    /// list endpoints filter thousands of nodes per request).
    paths: [Vec<Option<NodePath>>; 4],
}

const D: u8 = 0;
const P: u8 = 1;
const T: u8 = 2;
const S: u8 = 3;

impl Directory {
    /// Reads the whole hierarchy.
    pub(crate) async fn load(store: &dyn Store) -> ApiResult<Self> {
        let mut dir = Directory {
            distributors: store.distributors().await?,
            partners: store.partners().await?,
            tenants: store.tenants().await?,
            subscriptions: store.subscriptions().await?,
            index: HashMap::new(),
            paths: Default::default(),
        };
        let keys: Vec<(u8, String, usize)> = dir
            .distributors
            .iter()
            .enumerate()
            .map(|(i, r)| (D, r.id.to_lowercase(), i))
            .chain(
                dir.partners
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (P, r.id.to_lowercase(), i)),
            )
            .chain(
                dir.tenants
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (T, r.id.to_lowercase(), i)),
            )
            .chain(
                dir.subscriptions
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (S, r.id.to_lowercase(), i)),
            )
            .collect();
        for (kind, key, i) in keys {
            dir.index.insert((kind, key), i);
        }
        dir.paths = [
            dir.distributors
                .iter()
                .map(|d| Some(dir.distributor_path(d)))
                .collect(),
            dir.partners
                .iter()
                .map(|p| Some(dir.partner_path(p)))
                .collect(),
            dir.tenants.iter().map(|t| dir.tenant_path(t)).collect(),
            dir.subscriptions
                .iter()
                .map(|s| dir.subscription_path(s))
                .collect(),
        ];
        Ok(dir)
    }

    /// Distributors with their places.
    pub(crate) fn distributor_entries(&self) -> impl Iterator<Item = (&DistributorRow, &NodePath)> {
        entries(&self.distributors, &self.paths[D as usize])
    }

    /// Partners with their places.
    pub(crate) fn partner_entries(&self) -> impl Iterator<Item = (&PartnerRow, &NodePath)> {
        entries(&self.partners, &self.paths[P as usize])
    }

    /// Tenants with their places.
    pub(crate) fn tenant_entries(&self) -> impl Iterator<Item = (&TenantRow, &NodePath)> {
        entries(&self.tenants, &self.paths[T as usize])
    }

    /// Subscriptions with their places.
    pub(crate) fn subscription_entries(
        &self,
    ) -> impl Iterator<Item = (&SubscriptionRow, &NodePath)> {
        entries(&self.subscriptions, &self.paths[S as usize])
    }

    fn find(&self, kind: u8, id: &str) -> Option<usize> {
        self.index.get(&(kind, id.to_lowercase())).copied()
    }

    /// A distributor by id (any case).
    pub(crate) fn distributor(&self, id: &str) -> Option<&DistributorRow> {
        self.find(D, id).map(|i| &self.distributors[i])
    }

    /// A partner by id (any case).
    pub(crate) fn partner(&self, id: &str) -> Option<&PartnerRow> {
        self.find(P, id).map(|i| &self.partners[i])
    }

    /// A tenant by id (any case).
    pub(crate) fn tenant(&self, id: &str) -> Option<&TenantRow> {
        self.find(T, id).map(|i| &self.tenants[i])
    }

    /// A subscription by id (any case).
    pub(crate) fn subscription(&self, id: &str) -> Option<&SubscriptionRow> {
        self.find(S, id).map(|i| &self.subscriptions[i])
    }

    /// Whether a node of this kind already uses `id` (ids are unique case-insensitively
    /// so that a lower-cased URL still names one object).
    pub(crate) fn taken(&self, kind_of: NodeKindIndex, id: &str) -> bool {
        self.find(kind_of as u8, id).is_some()
    }

    /// A distributor's place.
    pub(crate) fn distributor_path(&self, d: &DistributorRow) -> NodePath {
        NodePath::distributor(&d.id)
    }

    /// A partner's place.
    pub(crate) fn partner_path(&self, p: &PartnerRow) -> NodePath {
        NodePath::partner(&p.distributor, &p.id)
    }

    /// A tenant's place (`None` if its partner vanished mid-read).
    pub(crate) fn tenant_path(&self, t: &TenantRow) -> Option<NodePath> {
        let p = self.partner(&t.partner)?;
        Some(NodePath::tenant(&p.distributor, &p.id, &t.id))
    }

    /// A subscription's place.
    pub(crate) fn subscription_path(&self, s: &SubscriptionRow) -> Option<NodePath> {
        let t = self.tenant(&s.tenant)?;
        let p = self.partner(&t.partner)?;
        Some(NodePath::subscription(&p.distributor, &p.id, &t.id, &s.id))
    }

    /// The place of a tenant by id.
    pub(crate) fn tenant_path_by_id(&self, id: &str) -> Option<NodePath> {
        self.tenant(id).and_then(|t| self.tenant_path(t))
    }

    /// Resolves a node reference of the API (`{"kind": id}` pairs) to its full path.
    pub(crate) fn resolve(&self, level: Level, id: Option<&str>) -> Option<NodePath> {
        match (level, id) {
            (Level::Platform, _) => Some(NodePath::platform()),
            (Level::Distributor, Some(id)) => {
                self.distributor(id).map(|d| self.distributor_path(d))
            }
            (Level::Partner, Some(id)) => self.partner(id).map(|p| self.partner_path(p)),
            (Level::Tenant, Some(id)) => self.tenant_path_by_id(id),
            (Level::Subscription, Some(id)) => self
                .subscription(id)
                .and_then(|s| self.subscription_path(s)),
            (_, None) => None,
        }
    }
}

fn entries<'a, T>(
    rows: &'a [T],
    paths: &'a [Option<NodePath>],
) -> impl Iterator<Item = (&'a T, &'a NodePath)> {
    rows.iter()
        .zip(paths)
        .filter_map(|(row, path)| path.as_ref().map(|p| (row, p)))
}

/// Which index a node id lives in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NodeKindIndex {
    Distributor = 0,
    Partner = 1,
    Tenant = 2,
    Subscription = 3,
}

/// The System Settings switches as the policy reads them.
pub(crate) fn governance(settings: &serde_json::Value) -> Governance {
    let flag = |group: &str, key: &str, default: bool| {
        settings
            .get(group)
            .and_then(|g| g.get(key))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(default)
    };
    let d = Governance::default();
    Governance {
        partner_tenant_self_provisioning: flag(
            "tenants",
            "partnerSelfProvisioning",
            d.partner_tenant_self_provisioning,
        ),
        distributor_tenant_self_provisioning: flag(
            "tenants",
            "distributorSelfProvisioning",
            d.distributor_tenant_self_provisioning,
        ),
        tenant_subscription_self_provisioning: flag(
            "subscriptions",
            "tenantSelfProvisioning",
            d.tenant_subscription_self_provisioning,
        ),
        partner_subscription_provisioning: flag(
            "subscriptions",
            "partnerProvisioning",
            d.partner_subscription_provisioning,
        ),
        distributor_subscription_provisioning: flag(
            "subscriptions",
            "distributorProvisioning",
            d.distributor_subscription_provisioning,
        ),
        tenant_user_self_provisioning: flag(
            "users",
            "tenantSelfProvisioning",
            d.tenant_user_self_provisioning,
        ),
        partner_user_self_provisioning: flag(
            "users",
            "partnerSelfProvisioning",
            d.partner_user_self_provisioning,
        ),
        distributor_user_self_provisioning: flag(
            "users",
            "distributorSelfProvisioning",
            d.distributor_user_self_provisioning,
        ),
        calculator_tenants: flag("calculator", "showToTenants", d.calculator_tenants),
        calculator_partners: flag("calculator", "showToPartners", d.calculator_partners),
        calculator_distributors: flag(
            "calculator",
            "showToDistributors",
            d.calculator_distributors,
        ),
    }
}

/// An authenticated user with the scopes their role assignments grant.
#[derive(Debug)]
pub(crate) struct Principal {
    pub user: UserRow,
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Builds the scopes of a user's assignments; assignments whose node no longer
    /// exists grant nothing.
    pub(crate) fn new(user: UserRow, assignments: &[RoleAssignmentRow], dir: &Directory) -> Self {
        let scopes = assignments
            .iter()
            .filter_map(|a| {
                let role = Role::from_name(&a.role)?;
                let at = assignment_path(a, dir)?;
                Scope::new(role, at).ok()
            })
            .collect();
        Principal { user, scopes }
    }
}

/// The node of a role assignment, checked against the hierarchy.
pub(crate) fn assignment_path(a: &RoleAssignmentRow, dir: &Directory) -> Option<NodePath> {
    match (&a.distributor, &a.partner, &a.tenant) {
        (None, None, None) => Some(NodePath::platform()),
        (Some(d), None, None) => dir.distributor(d).map(|d| dir.distributor_path(d)),
        (_, Some(p), None) => dir.partner(p).map(|p| dir.partner_path(p)),
        (_, _, Some(t)) => dir.tenant_path_by_id(t),
    }
}

/// The caller of one request: who, with what scopes, under which switches, against
/// which hierarchy snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub principal: Arc<Principal>,
    pub governance: Governance,
    pub directory: Arc<Directory>,
    /// System Settings as of the snapshot.
    pub settings: Arc<serde_json::Value>,
}

impl Caller {
    /// Whether any of the caller's scopes allows `action` on `target`.
    pub(crate) fn can(&self, action: Action, target: &NodePath) -> bool {
        self.principal
            .scopes
            .iter()
            .any(|s| rbac::can(s, action, target, &self.governance))
    }

    /// Whether any of the caller's scopes allows `action` on some node.
    pub(crate) fn can_somewhere(&self, action: Action) -> bool {
        self.principal
            .scopes
            .iter()
            .any(|s| rbac::can_anywhere(s, action, &self.governance))
    }

    /// Whether the caller may grant `role` at `at`.
    pub(crate) fn can_grant(&self, role: Role, at: &NodePath) -> bool {
        self.principal
            .scopes
            .iter()
            .any(|s| rbac::can_grant(s, role, at, &self.governance))
    }

    /// The e-mail recorded in the audit log.
    pub(crate) fn actor(&self) -> String {
        self.principal.user.email.clone()
    }
}

/// A permission a handler needs. Implemented by the marker types below.
pub(crate) trait Permission: Send + Sync + 'static {
    /// The policy action it stands for.
    const ACTION: Action;
}

macro_rules! permissions {
    ($($name:ident => $action:ident),* $(,)?) => {
        $(
            #[doc = concat!("Permission marker for `Action::", stringify!($action), "`.")]
            #[derive(Debug)]
            pub(crate) struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$action;
            }
        )*
    };
}

permissions! {
    ReadNode => Read,
    CreateChild => Create,
    UpdateNode => Update,
    DeleteNode => Delete,
    ReadUsers => ReadUsers,
    CreateUser => CreateUser,
    ManageUsers => ManageUsers,
    AssignRoles => AssignRoles,
    ReadUsage => ReadUsage,
    IngestUsage => IngestUsage,
    ProcessUsage => ProcessUsage,
    ReadBilling => ReadBilling,
    ManageBilling => ManageBilling,
    ReadCommissions => ReadCommissions,
    GenerateCommissions => GenerateCommissions,
    ManageCommissionRates => ManageCommissionRates,
    ReadPricing => ReadPricing,
    ManagePricing => ManagePricing,
    UseEstimator => UseEstimator,
    ReadPlans => ReadPlans,
    ManagePlans => ManagePlans,
    ReadRegions => ReadRegions,
    ManageRegions => ManageRegions,
    ReadSettings => ReadSettings,
    ManageSettings => ManageSettings,
    ReadAudit => ReadAudit,
    ReadJobs => ReadJobs,
}

/// A caller holding permission `P` somewhere; each object is still checked.
#[derive(Debug)]
pub(crate) struct Allowed<P> {
    pub caller: Caller,
    _permission: PhantomData<P>,
}

impl<P: Permission> Allowed<P> {
    /// `caller`, to be checked for `P` (the portal's pages, which find their caller in
    /// the session cookie rather than a bearer header).
    pub(crate) fn new(caller: Caller) -> Self {
        Allowed {
            caller,
            _permission: PhantomData,
        }
    }

    /// Whether the caller may do `P` on `target` (for filtering lists).
    pub(crate) fn allows(&self, target: &NodePath) -> bool {
        self.caller.can(P::ACTION, target)
    }

    /// Refuses (403) a run over "everything the caller may touch" (a billing, commission
    /// or usage run) when the caller's roles can never do `P` anywhere: a reader's run
    /// would otherwise start a job over an empty set and report success.
    pub(crate) fn able_somewhere(&self) -> ApiResult<()> {
        if self.caller.can_somewhere(P::ACTION) {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "your role does not allow {}",
            P::ACTION.name()
        )))
    }

    /// Passes when the caller may do `P` on `target`. Otherwise: 404 when the caller
    /// cannot even read the target (no existence leak), 403 when they can read it.
    pub(crate) fn check(&self, target: &NodePath) -> ApiResult<()> {
        if self.allows(target) {
            return Ok(());
        }
        if target.level() == Level::Platform || self.caller.can(Action::Read, target) {
            return Err(ApiError::Forbidden(format!(
                "your role does not allow {:?} here",
                P::ACTION
            )));
        }
        Err(ApiError::NotFound("no such object".into()))
    }

    /// [`Allowed::check`], answering an object out of scope with exactly the error a
    /// missing one gets (`missing`), so that not even the message tells them apart.
    pub(crate) fn check_named(
        &self,
        target: &NodePath,
        missing: impl FnOnce() -> ApiError,
    ) -> ApiResult<()> {
        match self.check(target) {
            Err(ApiError::NotFound(_)) => Err(missing()),
            other => other,
        }
    }

    /// The rows of `entries` the caller may do `P` on, in order.
    pub(crate) fn visible<'a, T: 'a>(
        &self,
        entries: impl Iterator<Item = (&'a T, &'a NodePath)>,
    ) -> Vec<&'a T> {
        entries
            .filter(|(_, path)| self.allows(path))
            .map(|(row, _)| row)
            .collect()
    }

    /// A looked-up node the caller may do `P` on: a missing one, one whose place cannot
    /// be resolved and one out of scope all answer `no {kind} "{id}"`.
    pub(crate) fn found<'a, T>(
        &self,
        kind: &str,
        id: &str,
        row: Option<&'a T>,
        place: impl FnOnce(&'a T) -> Option<NodePath>,
    ) -> ApiResult<&'a T> {
        let missing = || ApiError::NotFound(format!("no {kind} {id:?}"));
        let row = row.ok_or_else(missing)?;
        let path = place(row).ok_or_else(missing)?;
        self.check_named(&path, missing)?;
        Ok(row)
    }

    /// The hierarchy snapshot this request sees.
    pub(crate) fn directory(&self) -> &Directory {
        &self.caller.directory
    }
}

impl<P: Permission> FromRequestParts<AppState> for Allowed<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = state.caller(parts, false).await?;
        Ok(Allowed {
            caller,
            _permission: PhantomData,
        })
    }
}

/// A platform-wide permission (settings, audit, regions): checked at the platform node
/// before the handler runs.
#[derive(Debug)]
pub(crate) struct Platform<P>(pub Allowed<P>);

impl<P: Permission> FromRequestParts<AppState> for Platform<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let allowed = Allowed::<P>::from_request_parts(parts, state).await?;
        allowed.check(&NodePath::platform())?;
        Ok(Platform(allowed))
    }
}

/// Any signed-in caller, even one whose token only allows finishing sign-in (changing
/// a generated password, enrolling MFA).
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub user: UserRow,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = state.caller(parts, true).await?;
        // Read afresh: these handlers rewrite the user row.
        let user = state
            .store()
            .user_by_email(&caller.principal.user.email)
            .await?
            .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".into()))?;
        Ok(SignedIn { user })
    }
}

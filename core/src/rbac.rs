//! The authorization policy: roles, the scope a role assignment grants, and
//! [`can`]`(scope, action, target)`.
//!
//! Pure and total: the server resolves the caller's role assignment and the target's
//! place in the hierarchy from its store, then asks this module. Rules follow the
//! manual's permission levels (How-To pages) and the System Settings switches; roles never
//! leap across branches, and nothing below the platform sees upwards.

use crate::hierarchy::{DistributorId, PartnerId, SubscriptionId, TenantId};

/// Tiers of the hierarchy, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The whole platform.
    Platform,
    /// A distributor and everything under it.
    Distributor,
    /// A partner and its tenants.
    Partner,
    /// A tenant and its subscriptions.
    Tenant,
    /// One subscription.
    Subscription,
}

/// The built-in roles (manual: Identity and RBAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Full system access.
    PlatformAdministrator,
    /// Reads all system data, changes nothing.
    PlatformReader,
    /// Automation identity: reads, ingests and processes usage.
    PlatformService,
    /// Manages a distributor's partners, tenants and subscriptions.
    DistributorAdministrator,
    /// Reads a distributor's branch.
    DistributorReader,
    /// Manages a partner's tenants and subscriptions.
    PartnerAdministrator,
    /// Reads a partner's branch.
    PartnerReader,
    /// Manages one tenant's subscriptions and users.
    TenantAdministrator,
    /// Reads one tenant's subscriptions, usage and users.
    TenantUser,
}

impl Role {
    /// Every role, for exhaustive tests and role pickers.
    pub const ALL: [Role; 9] = [
        Role::PlatformAdministrator,
        Role::PlatformReader,
        Role::PlatformService,
        Role::DistributorAdministrator,
        Role::DistributorReader,
        Role::PartnerAdministrator,
        Role::PartnerReader,
        Role::TenantAdministrator,
        Role::TenantUser,
    ];

    /// The level a role is granted at.
    pub fn level(self) -> Level {
        match self {
            Role::PlatformAdministrator | Role::PlatformReader | Role::PlatformService => {
                Level::Platform
            }
            Role::DistributorAdministrator | Role::DistributorReader => Level::Distributor,
            Role::PartnerAdministrator | Role::PartnerReader => Level::Partner,
            Role::TenantAdministrator | Role::TenantUser => Level::Tenant,
        }
    }

    /// Whether the role may change things in its branch.
    pub fn is_administrator(self) -> bool {
        matches!(
            self,
            Role::PlatformAdministrator
                | Role::DistributorAdministrator
                | Role::PartnerAdministrator
                | Role::TenantAdministrator
        )
    }

    /// The wire name (`PartnerAdministrator`).
    pub fn name(self) -> &'static str {
        match self {
            Role::PlatformAdministrator => "PlatformAdministrator",
            Role::PlatformReader => "PlatformReader",
            Role::PlatformService => "PlatformService",
            Role::DistributorAdministrator => "DistributorAdministrator",
            Role::DistributorReader => "DistributorReader",
            Role::PartnerAdministrator => "PartnerAdministrator",
            Role::PartnerReader => "PartnerReader",
            Role::TenantAdministrator => "TenantAdministrator",
            Role::TenantUser => "TenantUser",
        }
    }

    /// Parses a wire name, case-insensitively (the PowerShell client lower-cases URLs).
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// [`Role::from_name`], with an error that lists the roles: what the bindings and the
    /// API tell a caller who mistyped one.
    pub fn parse(name: &str) -> Result<Role, UnknownName> {
        Role::from_name(name).ok_or_else(|| UnknownName::Role(name.to_owned()))
    }
}

/// A node of the hierarchy with all its ancestors, as the store resolves it. The
/// platform root has every field `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodePath {
    /// Distributor, for nodes at or below a distributor.
    pub distributor: Option<DistributorId>,
    /// Partner, for nodes at or below a partner.
    pub partner: Option<PartnerId>,
    /// Tenant, for nodes at or below a tenant.
    pub tenant: Option<TenantId>,
    /// Subscription, for a subscription node.
    pub subscription: Option<SubscriptionId>,
}

impl NodePath {
    /// The platform root.
    pub fn platform() -> Self {
        Self::default()
    }

    /// A distributor node.
    pub fn distributor(d: impl AsRef<str>) -> Self {
        Self {
            distributor: Some(DistributorId::new(d)),
            ..Self::default()
        }
    }

    /// A partner node under distributor `d`.
    pub fn partner(d: impl AsRef<str>, p: impl AsRef<str>) -> Self {
        Self {
            partner: Some(PartnerId::new(p)),
            ..Self::distributor(d)
        }
    }

    /// A tenant node under `d` / `p`.
    pub fn tenant(d: impl AsRef<str>, p: impl AsRef<str>, t: impl AsRef<str>) -> Self {
        Self {
            tenant: Some(TenantId::new(t)),
            ..Self::partner(d, p)
        }
    }

    /// A subscription node under `d` / `p` / `t`.
    pub fn subscription(
        d: impl AsRef<str>,
        p: impl AsRef<str>,
        t: impl AsRef<str>,
        s: impl AsRef<str>,
    ) -> Self {
        Self {
            subscription: Some(SubscriptionId::new(s)),
            ..Self::tenant(d, p, t)
        }
    }

    /// The deepest level set.
    pub fn level(&self) -> Level {
        if self.subscription.is_some() {
            Level::Subscription
        } else if self.tenant.is_some() {
            Level::Tenant
        } else if self.partner.is_some() {
            Level::Partner
        } else if self.distributor.is_some() {
            Level::Distributor
        } else {
            Level::Platform
        }
    }

    /// A node from its ids, top down; every level set must have its ancestors set (a
    /// tenant names its partner and distributor).
    pub fn from_ids<S: AsRef<str>>(
        distributor: Option<S>,
        partner: Option<S>,
        tenant: Option<S>,
        subscription: Option<S>,
    ) -> Result<NodePath, ScopeError> {
        let path = NodePath {
            distributor: distributor.map(DistributorId::new),
            partner: partner.map(PartnerId::new),
            tenant: tenant.map(TenantId::new),
            subscription: subscription.map(SubscriptionId::new),
        };
        if path.is_well_formed() {
            Ok(path)
        } else {
            Err(ScopeError::MalformedPath)
        }
    }

    /// The names a node's levels are given under, top down.
    pub const FIELDS: [&'static str; 4] = ["distributor", "partner", "tenant", "subscription"];

    /// A node from `(level name, id)` pairs, as a binding or a request body gives them (a
    /// `None` id leaves that level unset). Unknown level names and skipped ancestors are
    /// refused.
    pub fn from_fields<K: AsRef<str>, V: AsRef<str>>(
        fields: impl IntoIterator<Item = (K, Option<V>)>,
    ) -> Result<NodePath, ScopeError> {
        let mut ids: [Option<V>; 4] = Default::default();
        for (name, id) in fields {
            let name = name.as_ref();
            let slot = Self::FIELDS
                .iter()
                .position(|f| *f == name)
                .ok_or_else(|| ScopeError::UnknownField(name.to_owned()))?;
            ids[slot] = id;
        }
        let [d, p, t, s] = ids;
        Self::from_ids(d, p, t, s)
    }

    /// Whether the path is well formed: no level set without its ancestors.
    pub fn is_well_formed(&self) -> bool {
        let set = [
            self.distributor.is_some(),
            self.partner.is_some(),
            self.tenant.is_some(),
            self.subscription.is_some(),
        ];
        set.windows(2).all(|w| w[0] || !w[1])
    }

    /// Whether `other` is this node or below it.
    pub fn contains(&self, other: &NodePath) -> bool {
        fn prefix<T: PartialEq>(mine: &Option<T>, theirs: &Option<T>) -> bool {
            mine.is_none() || mine == theirs
        }
        prefix(&self.distributor, &other.distributor)
            && prefix(&self.partner, &other.partner)
            && prefix(&self.tenant, &other.tenant)
            && prefix(&self.subscription, &other.subscription)
    }
}

/// Where a target sits relative to the caller's scope node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The scope's own node.
    Own,
    /// Strictly below the scope's node.
    Below,
    /// Strictly above the scope's node.
    Above,
    /// In another branch.
    Unrelated,
}

/// What a role assignment grants: a role at a node. Every read and write of tenant data
/// takes a `Scope`, so an unscoped call cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    role: Role,
    at: NodePath,
}

/// A role assignment that cannot become a scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The role belongs at another level (a PartnerAdministrator granted on a tenant).
    #[error("{role} must be granted at {expected:?} level, not {found:?}")]
    WrongLevel {
        /// The role.
        role: &'static str,
        /// Where it belongs.
        expected: Level,
        /// Where it was granted.
        found: Level,
    },
    /// A node named a level that does not exist.
    #[error("unknown node key {0:?} (expected {fields})", fields = NodePath::FIELDS.join(", "))]
    UnknownField(String),
    /// The node path skips a level.
    #[error(
        "the node path is not well formed: a node must name every ancestor (a tenant needs its partner and distributor)"
    )]
    MalformedPath,
}

impl Scope {
    /// The scope of `role` granted at `at`; the node's level must be the role's.
    pub fn new(role: Role, at: NodePath) -> Result<Self, ScopeError> {
        if !at.is_well_formed() {
            return Err(ScopeError::MalformedPath);
        }
        if at.level() != role.level() {
            return Err(ScopeError::WrongLevel {
                role: role.name(),
                expected: role.level(),
                found: at.level(),
            });
        }
        Ok(Self { role, at })
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The node the role was granted at.
    pub fn node(&self) -> &NodePath {
        &self.at
    }

    /// Whether `target` is in this scope's branch (its node or below): the filter every
    /// list applies.
    pub fn contains(&self, target: &NodePath) -> bool {
        self.at.contains(target)
    }

    /// Where `target` sits relative to this scope's node.
    pub fn relation(&self, target: &NodePath) -> Relation {
        if self.at == *target {
            Relation::Own
        } else if self.at.contains(target) {
            Relation::Below
        } else if target.contains(&self.at) {
            Relation::Above
        } else {
            Relation::Unrelated
        }
    }
}

/// The System Settings switches that widen what lower levels may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Governance {
    /// Tenants → Partner Self Provisioning: partners create their own tenants.
    pub partner_tenant_self_provisioning: bool,
    /// Tenants → Distributor Self Provisioning: distributors create tenants.
    pub distributor_tenant_self_provisioning: bool,
    /// Subscriptions → Tenant Self Provisioning: tenants create their own subscriptions.
    pub tenant_subscription_self_provisioning: bool,
    /// Subscriptions → Partner Provisioning: partners provision subscriptions.
    pub partner_subscription_provisioning: bool,
    /// Subscriptions → Distributor Provisioning: distributors provision subscriptions.
    pub distributor_subscription_provisioning: bool,
    /// Users → Tenant Self Provisioning: tenants create their own users.
    pub tenant_user_self_provisioning: bool,
    /// Users → Partner Self Provisioning: partners create their own users.
    pub partner_user_self_provisioning: bool,
    /// Users → Distributor Self Provisioning: distributors create their own users.
    pub distributor_user_self_provisioning: bool,
    /// Calculator → Show To Tenants.
    pub calculator_tenants: bool,
    /// Calculator → Show To Partners.
    pub calculator_partners: bool,
    /// Calculator → Show To Distributors.
    pub calculator_distributors: bool,
}

impl Default for Governance {
    /// The manual's How-To permission levels: delegated provisioning on, calculator hidden.
    fn default() -> Self {
        Self {
            partner_tenant_self_provisioning: true,
            distributor_tenant_self_provisioning: true,
            tenant_subscription_self_provisioning: true,
            partner_subscription_provisioning: true,
            distributor_subscription_provisioning: true,
            tenant_user_self_provisioning: true,
            partner_user_self_provisioning: true,
            distributor_user_self_provisioning: true,
            calculator_tenants: false,
            calculator_partners: false,
            calculator_distributors: false,
        }
    }
}

impl Governance {
    /// Every switch's wire name (its field name), in declaration order.
    pub const SWITCHES: [&'static str; 11] = [
        "partner_tenant_self_provisioning",
        "distributor_tenant_self_provisioning",
        "tenant_subscription_self_provisioning",
        "partner_subscription_provisioning",
        "distributor_subscription_provisioning",
        "tenant_user_self_provisioning",
        "partner_user_self_provisioning",
        "distributor_user_self_provisioning",
        "calculator_tenants",
        "calculator_partners",
        "calculator_distributors",
    ];

    /// The switch named `name` (one of [`Governance::SWITCHES`]), to read or set it.
    pub fn switch_mut(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "partner_tenant_self_provisioning" => &mut self.partner_tenant_self_provisioning,
            "distributor_tenant_self_provisioning" => {
                &mut self.distributor_tenant_self_provisioning
            }
            "tenant_subscription_self_provisioning" => {
                &mut self.tenant_subscription_self_provisioning
            }
            "partner_subscription_provisioning" => &mut self.partner_subscription_provisioning,
            "distributor_subscription_provisioning" => {
                &mut self.distributor_subscription_provisioning
            }
            "tenant_user_self_provisioning" => &mut self.tenant_user_self_provisioning,
            "partner_user_self_provisioning" => &mut self.partner_user_self_provisioning,
            "distributor_user_self_provisioning" => &mut self.distributor_user_self_provisioning,
            "calculator_tenants" => &mut self.calculator_tenants,
            "calculator_partners" => &mut self.calculator_partners,
            "calculator_distributors" => &mut self.calculator_distributors,
            _ => return None,
        })
    }

    /// The defaults with the named switches set: how a binding or request overrides
    /// System Settings without knowing the switch names itself.
    pub fn with_switches<S: AsRef<str>>(
        switches: impl IntoIterator<Item = (S, bool)>,
    ) -> Result<Governance, UnknownName> {
        let mut g = Governance::default();
        for (name, on) in switches {
            let name = name.as_ref();
            *g.switch_mut(name)
                .ok_or_else(|| UnknownName::Switch(name.to_owned()))? = on;
        }
        Ok(g)
    }
}

/// Verbs on hierarchy nodes. What a verb means follows from the target's level: `Update`
/// on a partner node edits the partner, `Create` on a tenant node adds a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// View the node's details.
    Read,
    /// Add a child under the node (a distributor under the platform, a partner under a
    /// distributor, a tenant under a partner, a subscription under a tenant).
    Create,
    /// Edit the node.
    Update,
    /// Delete the node.
    Delete,
    /// List and view users scoped at the node.
    ReadUsers,
    /// Add a user scoped at the node.
    CreateUser,
    /// Edit, disable, unlock, enforce MFA, force federated, delete users at the node.
    ManageUsers,
    /// Grant or revoke roles at the node (see also [`can_grant`]).
    AssignRoles,
    /// Read usage records of the node's subscriptions.
    ReadUsage,
    /// Post usage records (platform automation).
    IngestUsage,
    /// Trigger usage processing: for a region (platform) or a subscription.
    ProcessUsage,
    /// View invoices and billing summaries of the node's tenants.
    ReadBilling,
    /// Generate, issue, void and delete invoices of the node's tenants.
    ManageBilling,
    /// View the commission of the node (a partner or distributor) and below.
    ReadCommissions,
    /// Generate and export commission summaries for the node's branch.
    GenerateCommissions,
    /// Set the commission rates of the node (a partner or distributor).
    ManageCommissionRates,
    /// View price lists.
    ReadPricing,
    /// Create, edit, clone, delete price lists; model and apply price increases.
    ManagePricing,
    /// Run the estimator (calculator) for the node.
    UseEstimator,
    /// View plans and quotas.
    ReadPlans,
    /// Publish and update plans.
    ManagePlans,
    /// View regions and their health.
    ReadRegions,
    /// Add, edit and delete regions.
    ManageRegions,
    /// View System Settings and branding.
    ReadSettings,
    /// Change System Settings and branding.
    ManageSettings,
    /// Read the audit log.
    ReadAudit,
    /// View jobs.
    ReadJobs,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 27] = [
        Action::Read,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::ReadUsers,
        Action::CreateUser,
        Action::ManageUsers,
        Action::AssignRoles,
        Action::ReadUsage,
        Action::IngestUsage,
        Action::ProcessUsage,
        Action::ReadBilling,
        Action::ManageBilling,
        Action::ReadCommissions,
        Action::GenerateCommissions,
        Action::ManageCommissionRates,
        Action::ReadPricing,
        Action::ManagePricing,
        Action::UseEstimator,
        Action::ReadPlans,
        Action::ManagePlans,
        Action::ReadRegions,
        Action::ManageRegions,
        Action::ReadSettings,
        Action::ManageSettings,
        Action::ReadAudit,
        Action::ReadJobs,
    ];

    /// The wire name, the variant in snake_case (`manage_billing`): what the bindings and
    /// the API accept.
    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::ReadUsers => "read_users",
            Action::CreateUser => "create_user",
            Action::ManageUsers => "manage_users",
            Action::AssignRoles => "assign_roles",
            Action::ReadUsage => "read_usage",
            Action::IngestUsage => "ingest_usage",
            Action::ProcessUsage => "process_usage",
            Action::ReadBilling => "read_billing",
            Action::ManageBilling => "manage_billing",
            Action::ReadCommissions => "read_commissions",
            Action::GenerateCommissions => "generate_commissions",
            Action::ManageCommissionRates => "manage_commission_rates",
            Action::ReadPricing => "read_pricing",
            Action::ManagePricing => "manage_pricing",
            Action::UseEstimator => "use_estimator",
            Action::ReadPlans => "read_plans",
            Action::ManagePlans => "manage_plans",
            Action::ReadRegions => "read_regions",
            Action::ManageRegions => "manage_regions",
            Action::ReadSettings => "read_settings",
            Action::ManageSettings => "manage_settings",
            Action::ReadAudit => "read_audit",
            Action::ReadJobs => "read_jobs",
        }
    }

    /// Parses a wire name (exact, snake_case).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// [`Action::from_name`], with an error that lists the actions.
    pub fn parse(name: &str) -> Result<Action, UnknownName> {
        Action::from_name(name).ok_or_else(|| UnknownName::Action(name.to_owned()))
    }
}

/// A role, action or governance switch named from outside (a binding, a request body)
/// that the policy does not know. The message lists the valid names, so no caller needs
/// its own copy of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnknownName {
    /// Not one of [`Role::ALL`].
    #[error("unknown role {0:?}; expected one of {roles}", roles = Role::ALL.map(Role::name).join(", "))]
    Role(String),
    /// Not one of [`Action::ALL`].
    #[error("unknown action {0:?}; expected one of {actions}", actions = Action::ALL.map(Action::name).join(", "))]
    Action(String),
    /// Not one of [`Governance::SWITCHES`].
    #[error("unknown governance switch {0:?}; expected one of {switches}", switches = Governance::SWITCHES.join(", "))]
    Switch(String),
}

/// Whether `action` means anything on a node of `level` (a subscription has no children;
/// users are scoped at tenants and above; regions and settings live at the platform).
fn applies(action: Action, level: Level) -> bool {
    use Action as A;
    match action {
        A::Read
        | A::ReadUsage
        | A::ReadBilling
        | A::ReadPricing
        | A::ManagePricing
        | A::ReadPlans => true,
        A::Create
        | A::ReadUsers
        | A::CreateUser
        | A::ManageUsers
        | A::AssignRoles
        | A::ManageBilling => level <= Level::Tenant,
        A::Update | A::Delete => level >= Level::Distributor,
        A::ProcessUsage => matches!(level, Level::Platform | Level::Subscription),
        A::ReadCommissions | A::GenerateCommissions => level <= Level::Partner,
        A::ManageCommissionRates => matches!(level, Level::Distributor | Level::Partner),
        A::UseEstimator => level >= Level::Tenant,
        A::IngestUsage
        | A::ManagePlans
        | A::ReadRegions
        | A::ManageRegions
        | A::ReadSettings
        | A::ManageSettings
        | A::ReadAudit
        | A::ReadJobs => level == Level::Platform,
    }
}

/// Whether `scope` may perform `action` on `target` under the `governance` switches.
pub fn can(scope: &Scope, action: Action, target: &NodePath, governance: &Governance) -> bool {
    use Action as A;
    use Role as R;
    if !target.is_well_formed() || !applies(action, target.level()) {
        return false;
    }
    let role = scope.role;
    let level = target.level();
    let g = governance;
    match role {
        R::PlatformAdministrator => return true,
        R::PlatformReader | R::PlatformService => {
            let read = matches!(
                action,
                A::Read
                    | A::ReadUsers
                    | A::ReadUsage
                    | A::ReadBilling
                    | A::ReadCommissions
                    | A::ReadPricing
                    | A::UseEstimator
                    | A::ReadPlans
                    | A::ReadRegions
                    | A::ReadSettings
                    | A::ReadAudit
                    | A::ReadJobs
            );
            let automation =
                role == R::PlatformService && matches!(action, A::IngestUsage | A::ProcessUsage);
            return read || automation;
        }
        _ => {}
    }
    // Below the platform: plans are a public catalogue; everything else stays in branch.
    if action == A::ReadPlans {
        return true;
    }
    let rel = scope.relation(target);
    let below = rel == Relation::Below;
    if !matches!(rel, Relation::Own | Relation::Below) {
        return false;
    }
    let admin = role.is_administrator();
    let manager = matches!(role, R::DistributorAdministrator | R::PartnerAdministrator);
    match action {
        A::Read | A::ReadUsage | A::ReadBilling => true,
        A::ReadUsers => admin || role == R::TenantUser,
        A::Create => match (role, level) {
            (R::DistributorAdministrator, Level::Distributor) => true,
            (R::DistributorAdministrator, Level::Partner) => g.distributor_tenant_self_provisioning,
            (R::DistributorAdministrator, Level::Tenant) => g.distributor_subscription_provisioning,
            (R::PartnerAdministrator, Level::Partner) => g.partner_tenant_self_provisioning,
            (R::PartnerAdministrator, Level::Tenant) => g.partner_subscription_provisioning,
            (R::TenantAdministrator, Level::Tenant) => g.tenant_subscription_self_provisioning,
            _ => false,
        },
        // Managers edit and delete what is below them, never their own node: a partner
        // cannot rewrite its own commercial record (its distributor owns it).
        A::Update | A::Delete => manager && below,
        A::CreateUser => match role {
            R::DistributorAdministrator => g.distributor_user_self_provisioning,
            R::PartnerAdministrator => g.partner_user_self_provisioning,
            R::TenantAdministrator => g.tenant_user_self_provisioning,
            _ => false,
        },
        A::ManageUsers | A::AssignRoles => admin,
        A::ProcessUsage | A::ManageBilling | A::GenerateCommissions => manager,
        A::ReadCommissions => role.level() <= Level::Partner,
        // A distributor sets its partners' rates; nobody sets their own.
        A::ManageCommissionRates => role == R::DistributorAdministrator && below,
        A::UseEstimator => match role.level() {
            Level::Distributor => g.calculator_distributors,
            Level::Partner => g.calculator_partners,
            Level::Tenant => g.calculator_tenants,
            Level::Platform | Level::Subscription => false,
        },
        A::IngestUsage
        | A::ReadPricing
        | A::ManagePricing
        | A::ManagePlans
        | A::ReadRegions
        | A::ManageRegions
        | A::ReadSettings
        | A::ManageSettings
        | A::ReadAudit
        | A::ReadJobs
        | A::ReadPlans => false,
    }
}

/// Whether `scope` may do `action` on at least one node: its own or one below it. [`can`]
/// depends only on the target's level and its relation to the scope, never on ids, so
/// the scope's node and one stand-in descendant per deeper level decide it. Lets a
/// write be refused up front (403) for a role that can never perform it, instead of
/// running it over an empty set.
pub fn can_anywhere(scope: &Scope, action: Action, governance: &Governance) -> bool {
    const ANY: &str = "\u{0}any";
    let mut path = scope.node().clone();
    loop {
        if can(scope, action, &path, governance) {
            return true;
        }
        path = match path.level() {
            Level::Platform => NodePath::distributor(ANY),
            Level::Distributor | Level::Partner | Level::Tenant => {
                let mut child = path.clone();
                match path.level() {
                    Level::Distributor => child.partner = Some(PartnerId::new(ANY)),
                    Level::Partner => child.tenant = Some(TenantId::new(ANY)),
                    _ => child.subscription = Some(SubscriptionId::new(ANY)),
                }
                child
            }
            Level::Subscription => return false,
        };
    }
}

/// Whether `scope` may grant `role` at `at`: only inside the granter's branch, never a
/// role above the granter's own level, and only with the right to assign roles there.
pub fn can_grant(scope: &Scope, role: Role, at: &NodePath, governance: &Governance) -> bool {
    at.is_well_formed()
        && at.level() == role.level()
        && role.level() >= scope.role.level()
        && can(scope, Action::AssignRoles, at, governance)
        && scope.contains(at)
}

//! What stores persist, in the shape of the scenario contract: ids as given, decimals as
//! exact text, plans and price items as their contract JSON. The engine validates all of
//! it when a scenario is assembled, so a store can never feed it a float.

use serde_json::Value;

/// The Billing settings group (the contract's `platform`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRow {
    /// ISO 4217 code.
    pub currency: String,
    /// IANA zone.
    pub time_zone: String,
    /// Use Monthly Variable Pricing.
    pub monthly_variable_pricing: bool,
    /// `half_even` or `half_up`.
    pub rounding: String,
    /// Default Invoice Payment Terms (Days).
    pub payment_terms_days: i64,
}

/// A distributor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributorRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Commission currency.
    pub currency: Option<String>,
    /// Own commission plan (contract JSON).
    pub commission: Option<Value>,
    /// Plan its partners inherit (contract JSON).
    pub partner_commission: Option<Value>,
    /// Contact details and other administrative fields.
    pub details: Value,
}

/// A partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRow {
    /// Id.
    pub id: String,
    /// Its distributor.
    pub distributor: String,
    /// Display name.
    pub name: String,
    /// Commission currency.
    pub currency: Option<String>,
    /// Own commission plan (contract JSON).
    pub commission: Option<Value>,
    /// Branding and other administrative fields.
    pub details: Value,
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    /// Id.
    pub id: String,
    /// Its partner.
    pub partner: String,
    /// Organisation name.
    pub name: String,
    /// Invoice currency.
    pub currency: Option<String>,
    /// IANA zone of its periods.
    pub time_zone: Option<String>,
    /// Tax in percent, exact decimal text.
    pub tax_percent: Option<String>,
    /// Payment terms; the platform default when absent.
    pub payment_terms_days: Option<i64>,
    /// Billing contact, Entra tenant, initial owner, address.
    pub details: Value,
    /// Closed (offboarded) from this day on (`YYYY-MM-DD`, the first day not billed);
    /// `None` while active. Written only by [`crate::Store::close_tenant`]
    /// (`put_tenant` leaves it as it is).
    pub closed_on: Option<String>,
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// Azure Stack subscription id.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Region (stamp).
    pub region: String,
    /// Display name.
    pub name: String,
    /// Linked plan.
    pub plan: Option<String>,
    /// `active`, `suspended`, `cancelled`.
    pub status: String,
    /// `YYYY-MM-DD`: the first day it is no longer billed (set when cancelled).
    pub ends_on: Option<String>,
}

/// A hierarchy node kind, for deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A distributor.
    Distributor,
    /// A partner.
    Partner,
    /// A tenant.
    Tenant,
    /// A subscription.
    Subscription,
}

impl NodeKind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Distributor => "distributor",
            NodeKind::Partner => "partner",
            NodeKind::Tenant => "tenant",
            NodeKind::Subscription => "subscription",
        }
    }
}

/// A price list: indexed columns plus its items as contract JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceListRow {
    /// Id.
    pub id: String,
    /// `region`, `tenant` or `subscription`.
    pub scope_kind: String,
    /// The scope's id.
    pub scope_id: String,
    /// ISO 4217 code.
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub effective_from: String,
    /// `YYYY-MM-DD`, exclusive.
    pub effective_to: Option<String>,
    /// The contract's `items` array.
    pub items: Value,
    /// Display name (not part of the scenario contract).
    pub name: Option<String>,
    /// Description (not part of the scenario contract).
    pub description: Option<String>,
}

/// An FX rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRateRow {
    /// From currency.
    pub from: String,
    /// To currency.
    pub to: String,
    /// Exact decimal text.
    pub rate: String,
    /// `YYYY-MM-DD`.
    pub as_of: String,
}

/// Where a batch of usage came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBatch {
    /// A file name, a region collection run, an API client.
    pub source: String,
    /// The reported collection window, Unix nanoseconds `[start, end)`.
    pub window: (i64, i64),
}

/// A usage row as reported. Unreadable fields are kept as text (and their parsed
/// column left empty) so that billing reports them as `invalid_usage`, as rating the
/// original file would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// The record id; generated (and `synthetic`) when the source had none.
    pub id: String,
    /// Whether `id` was generated.
    pub synthetic: bool,
    /// Subscription id.
    pub subscription: Option<String>,
    /// Meter id as reported.
    pub meter: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Resource.
    pub resource: Option<String>,
    /// Start as reported.
    pub start: Option<String>,
    /// End as reported.
    pub end: Option<String>,
    /// Quantity as reported (exact text).
    pub quantity: Option<String>,
    /// Parsed start, Unix nanoseconds.
    pub start_ns: Option<i64>,
    /// Parsed end, Unix nanoseconds.
    pub end_ns: Option<i64>,
    /// Some field was present but not text.
    pub malformed: bool,
}

/// What an ingest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Rows stored for the first time.
    pub new: u64,
    /// Rows whose id was already stored with the same content.
    pub duplicate: u64,
    /// Rows whose id was stored with other content, now replaced (the last wins).
    pub replaced: u64,
    /// Rows refused (e.g. an unparseable file row), reported apart.
    pub rejected: u64,
}

impl std::ops::AddAssign for IngestReport {
    fn add_assign(&mut self, other: IngestReport) {
        self.new = self.new.saturating_add(other.new);
        self.duplicate = self.duplicate.saturating_add(other.duplicate);
        self.replaced = self.replaced.saturating_add(other.replaced);
        self.rejected = self.rejected.saturating_add(other.rejected);
    }
}

/// An invoice's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Generated, editable, replaced by the next billing run.
    Preview,
    /// Numbered and immutable.
    Issued,
    /// Issued and paid.
    Paid,
    /// Issued and cancelled.
    Void,
}

impl InvoiceStatus {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            InvoiceStatus::Preview => "preview",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
        }
    }

    /// Parses a lower-case name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "preview" => Some(InvoiceStatus::Preview),
            "issued" => Some(InvoiceStatus::Issued),
            "paid" => Some(InvoiceStatus::Paid),
            "void" => Some(InvoiceStatus::Void),
            _ => None,
        }
    }
}

/// A stored invoice; `document` is the invoice object of the §10 output.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceRow {
    /// Store id (0 before insertion).
    pub id: i64,
    /// `YYYY-MM`.
    pub period: String,
    /// Tenant id.
    pub tenant: String,
    /// Lifecycle state.
    pub status: InvoiceStatus,
    /// `INV-YYYY-NNNNNN` once issued.
    pub number: Option<String>,
    /// `YYYY-MM-DD` once issued.
    pub issue_date: Option<String>,
    /// `YYYY-MM-DD` once issued.
    pub due_date: Option<String>,
    /// Invoice currency.
    pub currency: String,
    /// Exact total text.
    pub total: String,
    /// The usage sequence the invoice was rated with: batches with a higher sequence
    /// arrived after it, and only they can make an issued period need adjusting.
    pub usage_seq: i64,
    /// The invoice object of the §10 output (lines, subtotal, tax, total).
    pub document: Value,
}

/// Which invoices to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// Only this period.
    pub period: Option<String>,
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only this state.
    pub status: Option<InvoiceStatus>,
}

/// A stored commission summary; `document` is the commission object of the §10 output.
#[derive(Debug, Clone, PartialEq)]
pub struct CommissionRow {
    /// `YYYY-MM`.
    pub period: String,
    /// `partner` or `distributor`.
    pub party_kind: String,
    /// Party id.
    pub party: String,
    /// The commission object of the §10 output.
    pub document: Value,
}

/// One audit log entry: who did what, when, with the before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// RFC 3339 instant.
    pub at: String,
    /// The authenticated identity.
    pub actor: String,
    /// What was done (`invoice.issue`, `pricing.update`, …).
    pub action: String,
    /// The object acted on.
    pub target: String,
    /// State before, if any.
    pub before: Option<Value>,
    /// State after, if any.
    pub after: Option<Value>,
}

/// A region (Azure Stack stamp): where usage is collected from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Default time zone of the stamp.
    pub time_zone: String,
    /// Admin Resource Manager endpoint.
    pub admin_endpoint: String,
    /// Hours of usage collected per run.
    pub collection_window_hours: i64,
    /// Where the collector finds its credentials (`env:NAME`, `file:/path`,
    /// `vault:path`): a reference, never the secret itself.
    pub credential_ref: Option<String>,
    /// Other settings (authority, audience, health thresholds).
    pub details: Value,
}

/// A meter of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRow {
    /// Canonical meter id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unit of its quantity.
    pub unit: String,
}

/// A plan with its quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Quotas, as the plan defines them (e.g. `{"cores": 64, "storage_gb": 2048}`).
    pub quotas: Value,
    /// The Azure Stack Hub offer subscriptions of this plan are created from on a stamp
    /// (`/delegatedProviders/default/offers/basic`), if they are provisioned there.
    pub offer: Option<String>,
    /// When its subscriptions are warned that they approach a quota, if ever.
    pub quota_alerts: Option<QuotaAlerts>,
}

/// A plan's quota alerts (manual: Operations → Monitoring & Alerts, Threshold Alerts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaAlerts {
    /// Percent of a quota at which the alert is raised (1–100).
    pub percent: u8,
    /// Quota name → the meter, reported in unit-hours, whose use counts against it.
    pub meters: std::collections::BTreeMap<String, String>,
}

/// A user and their security state. Secrets are stored only in protected form: an
/// argon2id hash for the password, a sealed (encrypted) MFA secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Login e-mail, unique (compared case-insensitively by callers).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// PHC-format password hash; `None` for federated-only users.
    pub password_hash: Option<String>,
    /// The TOTP secret, encrypted by the server; never stored in clear.
    pub mfa_secret_sealed: Option<String>,
    /// MFA required at next sign-in.
    pub mfa_required: bool,
    /// Only federated sign-in allowed.
    pub federated_only: bool,
    /// Sign-in blocked by an administrator.
    pub disabled: bool,
    /// Locked by an administrator (failed sign-ins only delay further attempts).
    pub locked_out: bool,
    /// The account has been activated.
    pub activated: bool,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// The password was set by someone else (a generated first password, an admin reset)
    /// and must be changed before anything else.
    pub must_change_password: bool,
    /// Hash of the one-time activation code, while the account awaits activation.
    pub activation_code_hash: Option<String>,
    /// Sessions generation: access tokens carry the epoch they were issued in and are
    /// refused once it moved on. Read-only here: only `Store::end_sessions` bumps it.
    pub session_epoch: i64,
}

impl UserRow {
    /// An activated local account with only its names: no password, second factor, roles
    /// or flags yet (each caller sets what it knows with struct update syntax).
    pub fn active(id: &str, email: &str, first_name: &str, last_name: &str) -> UserRow {
        UserRow {
            id: id.to_owned(),
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            phone: None,
            password_hash: None,
            mfa_secret_sealed: None,
            mfa_required: false,
            federated_only: false,
            disabled: false,
            locked_out: false,
            activated: true,
            failed_logins: 0,
            must_change_password: false,
            activation_code_hash: None,
            session_epoch: 0,
        }
    }
}

/// A refresh token, stored only as its hash. Tokens of one sign-in form a family; each
/// use rotates the token, and presenting a used one revokes the whole family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRow {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// The sign-in it descends from.
    pub family: String,
    /// Its user.
    pub user: String,
    /// Unix seconds after which it is refused.
    pub expires_at: i64,
    /// Unix seconds after which its whole family is refused, however often it rotated:
    /// a sign-in's absolute lifetime.
    pub family_expires_at: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// It was valid and is now used; its successor (returned) is stored.
    Rotated(RefreshTokenRow),
    /// It had been used or revoked before: the family is now revoked.
    Replayed {
        /// The user whose sign-in was compromised.
        user: String,
    },
    /// It expired.
    Expired,
    /// No such token.
    Unknown,
}

/// A role granted to a user at a node of the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleAssignmentRow {
    /// The user.
    pub user: String,
    /// Role name (`PartnerAdministrator`).
    pub role: String,
    /// Distributor of the node, if any.
    pub distributor: Option<String>,
    /// Partner of the node, if any.
    pub partner: Option<String>,
    /// Tenant of the node, if any.
    pub tenant: Option<String>,
}

/// What happened to an alert, as forwarded to monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertEvent {
    /// The condition began.
    Raised,
    /// The condition ended.
    Cleared,
}

impl AlertEvent {
    /// `raised` or `cleared`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Raised => "raised",
            AlertEvent::Cleared => "cleared",
        }
    }
}

/// An alert with the events of it not yet forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnforwardedAlert {
    /// The alert as it is now.
    pub alert: AlertRow,
    /// Its events to forward, in order.
    pub events: Vec<AlertEvent>,
}

/// A condition to alert on: `key` names it (kind and subject, e.g.
/// `region.unreachable:fra01`), so that it is raised once while it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The condition's key.
    pub key: String,
    /// What kind of condition (`region.unreachable`, `meter.unknown`, `job.failed`).
    pub kind: String,
    /// What it is about (a region id, a meter id).
    pub subject: String,
    /// `warning` or `error`.
    pub severity: String,
    /// What happened, for a person.
    pub message: String,
}

/// An alert: a condition from when it was raised until it cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Id.
    pub id: i64,
    /// The condition's key.
    pub key: String,
    /// Kind.
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// `warning` or `error`.
    pub severity: String,
    /// The latest message.
    pub message: String,
    /// When first raised (RFC 3339).
    pub raised_at: String,
    /// When last seen holding.
    pub last_seen_at: String,
    /// How often it was seen while open.
    pub occurrences: i64,
    /// When it cleared, if it has.
    pub cleared_at: Option<String>,
    /// Who acknowledged it, and when.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<String>,
}

/// A usage row a region sent that could not be read: kept verbatim with the reason so
/// that nothing a stamp reported is lost and an operator can see and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedUsageRow {
    /// Stable id (a digest of region, reported window and raw text), so that
    /// re-collecting a window keeps a rejected row once.
    pub id: String,
    /// The region that sent it.
    pub region: String,
    /// The reported window it came in, Unix nanoseconds `[start, end)`.
    pub window: (i64, i64),
    /// What was wrong, naming the field.
    pub reason: String,
    /// The row as received.
    pub raw: String,
}

/// A distinct reported (subscription, meter, sku, resource): usage rows and roll-ups name
/// it by `id` instead of repeating four strings per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageKey {
    /// The key's id.
    pub id: i64,
    /// Subscription id as reported.
    pub subscription: Option<String>,
    /// Meter id as reported.
    pub meter: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Resource.
    pub resource: Option<String>,
}

/// The stored rows of one key starting on one UTC day, summed at ingest (and corrected
/// when a row is replaced): what billing reads instead of the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRollup {
    /// Days since the Unix epoch (UTC) of the rows' starts.
    pub day: i64,
    /// The [`UsageKey`].
    pub key: i64,
    /// Whether the rows are invalid (`invalid_usage`).
    pub invalid: bool,
    /// The exact sum of their (readable) quantities, as plain decimal text.
    pub quantity: String,
    /// How many rows.
    pub records: i64,
}

/// A stored usage row with where billing finds it: its arrival sequence, key and class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedUsageRow {
    /// Arrival sequence (unique; keyset paging).
    pub seq: i64,
    /// The [`UsageKey`].
    pub key: i64,
    /// Whether the row is invalid (and so rolled up as such).
    pub invalid: bool,
    /// The row as reported.
    pub row: UsageRow,
}

/// Nanoseconds in a UTC day: roll-ups are per day of start.
pub const DAY_NS: i64 = 86_400_000_000_000;

/// A committed usage batch, as late-usage detection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSpan {
    /// The batch.
    pub id: i64,
    /// Its commit sequence (see [`crate::Store::usage_seq`]).
    pub seq: i64,
    /// The reported window, Unix nanoseconds `[start, end)`.
    pub window: (i64, i64),
    /// The earliest and latest parsed start of its rows, when any row has one.
    pub starts: Option<(i64, i64)>,
}

impl BatchSpan {
    /// Whether a billing run of the usage window `[from, to)` reads any row of this batch
    /// (rows starting in it, or every row when the reported window overlaps it).
    pub fn touches(&self, (from, to): (i64, i64)) -> bool {
        let window = self.window.0 < to && self.window.1 > from;
        let starts = self.starts.is_some_and(|(lo, hi)| lo < to && hi >= from);
        window || starts
    }
}

/// Everything a scenario import writes but its usage: written in one transaction by
/// [`crate::Store::import`], so a failure (a conflicting id, a lost connection) leaves
/// the store as it was instead of half imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The Billing settings.
    pub platform: PlatformRow,
    /// Created or updated, in this order: distributors, partners, tenants, subscriptions.
    pub distributors: Vec<DistributorRow>,
    /// See `distributors`.
    pub partners: Vec<PartnerRow>,
    /// See `distributors`.
    pub tenants: Vec<TenantRow>,
    /// See `distributors`.
    pub subscriptions: Vec<SubscriptionRow>,
    /// Created or replaced.
    pub price_lists: Vec<PriceListRow>,
    /// Added (give only rates not stored yet).
    pub fx_rates: Vec<FxRateRow>,
}

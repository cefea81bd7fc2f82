//! The repository interface every StackBill store implements, defined once and free of
//! I/O: what is persisted (hierarchy, pricing, FX, usage, invoices, commissions, audit) and
//! the operations on it. `assemble` turns stored rows into the engine's typed input;
//! `billing` rates periods from it and writes invoices; `contract` bridges to scenario
//! files. The conformance suite every store passes is in `stackbill-testkit`.
// Like the core: every operator that could overflow on input is checked or saturating.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod assemble;
pub mod billing;
mod contract;
mod error;
pub mod jobs;
mod records;

use async_trait::async_trait;

pub use error::{Result, StoreError};
pub use jobs::{ClaimedJob, Enqueued, JobEnd, JobRow, NewJob, Renewal};
pub use records::*;

/// A StackBill store (MariaDB/MySQL or SQLite). Every write is transactional: it happens
/// whole or not at all.
#[async_trait]
pub trait Store: Send + Sync {
    /// The Billing settings group: the contract's `platform` object.
    async fn platform(&self) -> Result<Option<PlatformRow>>;
    /// Replaces the Billing settings group.
    async fn put_platform(&self, platform: &PlatformRow) -> Result<()>;

    /// Creates or updates a distributor.
    async fn put_distributor(&self, row: &DistributorRow) -> Result<()>;
    /// Creates or updates a partner; its distributor must exist.
    async fn put_partner(&self, row: &PartnerRow) -> Result<()>;
    /// Creates or updates a tenant; its partner must exist.
    async fn put_tenant(&self, row: &TenantRow) -> Result<()>;
    /// Creates or updates a subscription; its tenant must exist.
    async fn put_subscription(&self, row: &SubscriptionRow) -> Result<()>;
    /// All distributors, by id.
    async fn distributors(&self) -> Result<Vec<DistributorRow>>;
    /// All partners, by id.
    async fn partners(&self) -> Result<Vec<PartnerRow>>;
    /// All tenants, by id.
    async fn tenants(&self) -> Result<Vec<TenantRow>>;
    /// All subscriptions, by id.
    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>>;
    /// Writes an import's settings, hierarchy, price lists and FX rates in one
    /// transaction: all of it or nothing.
    async fn import(&self, import: &Import) -> Result<()>;
    /// Closes a tenant from `closed_on` (the first day not billed) and cancels each of
    /// its subscriptions from that day unless it already ends earlier, in one
    /// transaction; `None` reopens the tenant (its subscriptions stay as they are). A
    /// closed tenant keeps its usage and invoices, which is why it is closed rather than
    /// deleted.
    async fn close_tenant(&self, id: &str, closed_on: Option<&str>) -> Result<()>;
    /// Deletes a node; refused with [`StoreError::Blocked`] naming what depends on it
    /// (children, invoices, price lists, usage).
    async fn delete(&self, kind: NodeKind, id: &str) -> Result<()>;

    /// Creates or replaces a price list (with its items).
    async fn put_price_list(&self, row: &PriceListRow) -> Result<()>;
    /// All price lists, by id.
    async fn price_lists(&self) -> Result<Vec<PriceListRow>>;
    /// Deletes a price list. Issued invoices keep their lines: they are documents.
    async fn delete_price_list(&self, id: &str) -> Result<()>;
    /// Appends an FX rate (rates are history: never updated in place).
    async fn add_fx_rate(&self, row: &FxRateRow) -> Result<()>;
    /// All FX rates in the order they were added.
    async fn fx_rates(&self) -> Result<Vec<FxRateRow>>;
    /// Deletes the rates published for (from, to) as of a date (`NotFound` when none):
    /// how an administrator withdraws a wrong rate before the period is billed. Issued
    /// invoices keep the rate they show.
    async fn delete_fx_rate(&self, from: &str, to: &str, as_of: &str) -> Result<()>;

    /// Ingests a batch of usage rows idempotently on their ids, recording the batch and
    /// its reported window. A row whose id exists with the same content is a duplicate;
    /// with different content it replaces the stored one (the last record wins).
    async fn ingest_usage(&self, batch: &UsageBatch, rows: &[UsageRow]) -> Result<IngestReport>;
    /// Usage rows relevant to a window: those starting in `[from_ns, to_ns)`, plus every
    /// row of a batch whose reported window overlaps it (so a record reported for the
    /// period but dated outside it, or without a readable start, is billed as unbilled
    /// `outside_period` / `invalid_usage` rather than dropped). Keyset-paged: pass the
    /// last id of the previous page as `after`. `subscriptions` narrows to some ids.
    async fn usage_page(
        &self,
        window: (i64, i64),
        subscriptions: Option<&[String]>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UsageRow>>;
    /// Every usage key.
    async fn usage_keys(&self) -> Result<Vec<UsageKey>>;
    /// The roll-ups of the rows starting on UTC day `day` (days since the Unix epoch).
    async fn usage_rollups(&self, day: i64) -> Result<Vec<UsageRollup>>;
    /// The roll-ups of UTC days `[first, last]` whose key's subscription is one of
    /// `subscriptions` (compared without case), each with its key: what a summary of a
    /// few subscriptions reads instead of every key of every day.
    async fn usage_rollups_of(
        &self,
        days: (i64, i64),
        subscriptions: &[String],
    ) -> Result<Vec<(UsageKey, UsageRollup)>>;
    /// Rows starting in `[from, to)`, ordered by (start, seq), after the `(start, seq)`
    /// position `after`: for roll-ups a run cannot take whole.
    async fn usage_rows_starting(
        &self,
        span: (i64, i64),
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<KeyedUsageRow>>;
    /// Rows of batches whose reported window overlaps `window` that start outside it or
    /// have no readable start, by seq after `after`: what a run reports besides the
    /// window's roll-ups (see [`Store::usage_page`]).
    async fn usage_rows_beside(
        &self,
        window: (i64, i64),
        after: i64,
        limit: u32,
    ) -> Result<Vec<KeyedUsageRow>>;
    /// Number of stored usage rows.
    async fn usage_count(&self) -> Result<u64>;
    /// The version of what processes cache (hierarchy, settings, callers): one key read.
    async fn cache_version(&self) -> Result<i64>;
    /// Tells every process its cache is stale (after a change to what it caches).
    async fn bump_cache_version(&self) -> Result<()>;
    /// Whether the database answers (one round trip, no table read): readiness probes.
    async fn ping(&self) -> Result<()>;
    /// Jobs by kind and status, for monitoring.
    async fn job_counts(&self) -> Result<Vec<(String, String, i64)>>;
    /// The usage sequence: every batch committed so far has a sequence ≤ it. Read it
    /// before reading usage, and a batch with a higher sequence is one the run may not
    /// have seen.
    async fn usage_seq(&self) -> Result<i64>;
    /// Committed batches with a sequence above `after`, by sequence.
    async fn batches_after(&self, after: i64) -> Result<Vec<BatchSpan>>;
    /// Whether any row of `batches` belongs to one of `subscriptions`.
    async fn batches_have_usage_of(
        &self,
        batches: &[i64],
        subscriptions: &[String],
    ) -> Result<bool>;

    /// Replaces the preview invoices of `period` (for `tenants`, or all tenants) and, when
    /// `commissions` is given, commission summaries, in one transaction: for all tenants
    /// the period's whole set, for some tenants only the parties given (a branch run). A
    /// tenant whose invoice for the period is issued (or paid) by then gets no preview:
    /// the database holds at most one invoice that is not void per (tenant, period).
    /// Returns the tenants skipped for that reason.
    async fn replace_previews(
        &self,
        period: &str,
        tenants: Option<&[String]>,
        invoices: &[InvoiceRow],
        commissions: Option<&[CommissionRow]>,
    ) -> Result<Vec<String>>;
    /// Invoices matching `filter`, by (period, tenant, id).
    async fn invoices(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRow>>;
    /// The same invoices without their documents (`document` is `null`): lists and
    /// dashboards that show totals read thousands of rows, and parsing every document
    /// was most of their time.
    async fn invoice_summaries(&self, filter: &InvoiceFilter) -> Result<Vec<InvoiceRow>>;
    /// One invoice by id (`NotFound` when there is none).
    async fn invoice(&self, id: i64) -> Result<InvoiceRow>;
    /// Issues a preview: gap-free number `INV-YYYY-NNNNNN`, issue date, due date.
    async fn issue_invoice(&self, id: i64, issue_date: &str) -> Result<InvoiceRow>;
    /// Moves an issued invoice to paid or void.
    async fn settle_invoice(&self, id: i64, status: InvoiceStatus) -> Result<InvoiceRow>;
    /// Deletes a preview (issued invoices are refused).
    async fn delete_preview(&self, id: i64) -> Result<()>;
    /// Keeps an issued invoice's rendered document in `format` (`pdf`, `html`) once: the
    /// first kept is returned to this and every later caller, so what a tenant was sent
    /// never changes. A preview's document is never kept (`InvalidState`).
    async fn keep_invoice_document(&self, id: i64, format: &str, content: &[u8])
    -> Result<Vec<u8>>;
    /// The kept document of an invoice in `format`, if one was kept.
    async fn invoice_document(&self, id: i64, format: &str) -> Result<Option<Vec<u8>>>;
    /// Invoices whose kept document in `format` is not archived yet, by id.
    async fn invoice_documents_to_archive(&self, format: &str) -> Result<Vec<i64>>;
    /// Records that a kept document was archived at `at` (the first time only).
    async fn mark_invoice_document_archived(&self, id: i64, format: &str, at: &str) -> Result<()>;
    /// Commission summaries of a period.
    async fn commissions(&self, period: &str) -> Result<Vec<CommissionRow>>;

    /// Creates or updates a region. Its credential must be a reference (`env:`, `file:`,
    /// `vault:`), never a secret.
    async fn put_region(&self, row: &RegionRow) -> Result<()>;
    /// All regions, by id.
    async fn regions(&self) -> Result<Vec<RegionRow>>;
    /// Deletes a region; refused while subscriptions or price lists use it.
    async fn delete_region(&self, id: &str) -> Result<()>;
    /// Where a region's usage collection stands (the collector's own document), if it
    /// ever ran.
    async fn collection_state(&self, region: &str) -> Result<Option<serde_json::Value>>;
    /// Replaces where a region's usage collection stands.
    async fn put_collection_state(&self, region: &str, state: &serde_json::Value) -> Result<()>;
    /// Keeps rows a region sent that could not be read; a row already kept (same id) is
    /// not kept twice. Returns how many were new.
    async fn add_rejected_usage(&self, rows: &[RejectedUsageRow]) -> Result<u64>;
    /// Rejected rows, of one region or all, oldest window first, at most `limit`.
    async fn rejected_usage(
        &self,
        region: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RejectedUsageRow>>;

    /// Takes or renews the lease `name` for `owner` until `until` (Unix seconds) when it is
    /// free, expired at `now`, or already `owner`'s. Returns whether `owner` holds it: the
    /// answer rests on one committed conditional write, so of several processes asking
    /// at once exactly one gets it.
    async fn try_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool>;
    /// Raises the alert for `alert.key` at `now` (RFC 3339), or, while one is open for
    /// it, counts another occurrence and takes the new message and severity (a warning
    /// that became an error). Returns whether a new alert was raised: of several
    /// processes raising one condition at once, exactly one raises it.
    async fn raise_alert(&self, alert: &NewAlert, now: &str) -> Result<bool>;
    /// Clears the open alert for `key`, if any; returns whether one was open.
    async fn clear_alert(&self, key: &str, now: &str) -> Result<bool>;
    /// Alerts, newest first: only open ones, or all.
    async fn alerts(&self, open_only: bool) -> Result<Vec<AlertRow>>;
    /// Records who acknowledged an alert (`NotFound` when there is none).
    async fn acknowledge_alert(&self, id: i64, by: &str, now: &str) -> Result<AlertRow>;
    /// Alerts whose raising, or clearing, has not been handed to forwarding yet, oldest
    /// first, at most `limit`.
    async fn unforwarded_alerts(&self, limit: u32) -> Result<Vec<UnforwardedAlert>>;
    /// Records that an alert's `raised` or `cleared` event was handed to forwarding.
    async fn mark_alert_forwarded(&self, id: i64, event: AlertEvent) -> Result<()>;

    /// Gives the lease up, if `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()>;

    /// Creates or updates a meter of the catalogue.
    async fn put_meter(&self, row: &MeterRow) -> Result<()>;
    /// The meter catalogue, by id.
    async fn meters(&self) -> Result<Vec<MeterRow>>;
    /// Creates or updates a plan.
    async fn put_plan(&self, row: &PlanRow) -> Result<()>;
    /// All plans, by id.
    async fn plans(&self) -> Result<Vec<PlanRow>>;

    /// Creates or updates a user; e-mails are unique.
    async fn put_user(&self, row: &UserRow) -> Result<()>;
    /// All users, by id.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// The user with this e-mail (case-insensitive).
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>>;
    /// The user with this id (read on every request, so it must stay a key look-up).
    async fn user(&self, id: &str) -> Result<Option<UserRow>>;
    /// Deletes a user and their role assignments.
    async fn delete_user(&self, id: &str) -> Result<()>;
    /// Grants a role (idempotent).
    async fn grant_role(&self, row: &RoleAssignmentRow) -> Result<()>;
    /// Revokes a role.
    async fn revoke_role(&self, row: &RoleAssignmentRow) -> Result<()>;
    /// A user's role assignments.
    async fn role_assignments(&self, user: &str) -> Result<Vec<RoleAssignmentRow>>;
    /// Every role assignment, by user (one read for listing users).
    async fn all_role_assignments(&self) -> Result<Vec<RoleAssignmentRow>>;

    /// Replaces one System Settings group (`tenants`, `invoices`, `users`, `branding`, …).
    async fn put_settings(&self, group: &str, value: &serde_json::Value) -> Result<()>;
    /// Every settings group.
    async fn settings(&self) -> Result<std::collections::BTreeMap<String, serde_json::Value>>;

    /// Records a new running job, run by the caller itself (the command line), and
    /// returns its id.
    async fn start_job(&self, kind: &str) -> Result<i64>;
    /// Updates a job's status, progress and message.
    async fn update_job(&self, id: i64, status: &str, progress: i64, message: &str) -> Result<()>;
    /// All jobs, newest first.
    async fn jobs(&self) -> Result<Vec<JobRow>>;
    /// One job.
    async fn job(&self, id: i64) -> Result<Option<JobRow>>;
    /// Queues a job; of several with the same kind and run key, the first is kept.
    async fn enqueue_job(&self, job: &NewJob) -> Result<Enqueued>;
    /// Claims the oldest due job that is queued, or running under a lease that ended
    /// before `now`, for `owner` until `now + lease_ms`. `None`: nothing to do.
    async fn claim_job(&self, owner: &str, now: i64, lease_ms: i64) -> Result<Option<ClaimedJob>>;
    /// Extends the lease of a job held under `fence` and records its progress.
    async fn renew_job(
        &self,
        id: i64,
        fence: i64,
        now: i64,
        lease_ms: i64,
        progress: i64,
        message: &str,
    ) -> Result<Renewal>;
    /// Ends a job held under `fence`; `false` when the claim was lost (nothing written).
    async fn finish_job(
        &self,
        id: i64,
        fence: i64,
        end: JobEnd,
        message: &str,
        result: Option<&str>,
        now: i64,
    ) -> Result<bool>;
    /// Cancels a queued job at once, or asks its owner to stop a running one; a job
    /// that already ended is returned unchanged. `NotFound` when there is none.
    async fn cancel_job(&self, id: i64, now: i64) -> Result<JobRow>;
    /// Ends what no owner will: jobs running longer than `max_runtime_ms` since first
    /// claimed (failed), cancelled jobs whose owner died (cancelled), and jobs whose
    /// lease ended after [`jobs::MAX_ATTEMPTS`] claims (failed). Returns the ids ended.
    async fn expire_jobs(&self, now: i64, max_runtime_ms: i64) -> Result<Vec<i64>>;
    /// The last slot schedule `name` enqueued, if it ever ran.
    async fn schedule_mark(&self, name: &str) -> Result<Option<i64>>;
    /// Moves schedule `name` from `seen` (what [`Store::schedule_mark`] returned) to
    /// `slot`; `false` when another process moved it first.
    async fn advance_schedule(&self, name: &str, seen: Option<i64>, slot: i64) -> Result<bool>;

    /// Counts a failed sign-in in the account's own record (shown to administrators).
    async fn record_login_failure(&self, user: &str) -> Result<()>;
    /// Clears the failed sign-in count after a successful one.
    async fn record_login_success(&self, user: &str) -> Result<()>;
    /// Counts a failed sign-in against `key` (an account or a client address, as an
    /// opaque keyed hash, so unknown e-mail addresses count like known ones) at Unix
    /// second `now`, and refuses the key until `now + delay(failures)`. Failures a day old
    /// are forgotten. Atomic across processes; returns the end of the refusal.
    async fn record_sign_in_failure(
        &self,
        key: &str,
        now: i64,
        delay: &(dyn Fn(i64) -> i64 + Send + Sync),
    ) -> Result<i64>;
    /// Counts one failed sign-in in the platform-wide tally of Unix minute `minute`.
    async fn count_sign_in_failure(&self, minute: i64) -> Result<()>;
    /// Failed sign-ins counted since Unix minute `minute` (inclusive); older minutes are
    /// forgotten on the way.
    async fn sign_in_failures_since(&self, minute: i64) -> Result<i64>;
    /// Until when `key` is refused, if it still is at `now`.
    async fn sign_in_blocked_until(&self, key: &str, now: i64) -> Result<Option<i64>>;
    /// Forgets a key's failures (a successful sign-in, an administrator's unlock).
    async fn clear_sign_in_failures(&self, key: &str) -> Result<()>;
    /// Accepts TOTP time step `step` for `user` only if it is later than every step
    /// accepted before, so each code works once even under concurrent requests.
    async fn claim_totp_step(&self, user: &str, step: i64) -> Result<bool>;
    /// Stores the first refresh token of a sign-in.
    async fn put_refresh_token(&self, row: &RefreshTokenRow) -> Result<()>;
    /// Presents a refresh token (by hash) at Unix second `now`. In one transaction:
    /// exactly one of any number of concurrent presentations rotates it, storing
    /// `successor` (a hash) in the same family, valid `idle` seconds but never past the
    /// family's absolute end; any other presentation of a used token revokes the family.
    async fn rotate_refresh_token(
        &self,
        hash: &str,
        now: i64,
        successor: &str,
        idle: i64,
    ) -> Result<RefreshUse>;
    /// Ends every session of a user (password change or reset, MFA reset, disable, role
    /// removal): revokes its refresh tokens and bumps its session epoch, so access tokens
    /// issued before are refused at once, by every process.
    async fn end_sessions(&self, user: &str) -> Result<()>;
    /// Binds an identity provider's (issuer, subject) to `user` unless it is bound
    /// already; returns the user it is bound to (the first binding wins).
    async fn link_federated_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: &str,
        at: &str,
    ) -> Result<String>;
    /// The user an identity provider's (issuer, subject) is bound to.
    async fn federated_identity(&self, issuer: &str, subject: &str) -> Result<Option<String>>;

    /// Appends to the audit log.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The audit log, oldest first.
    async fn audit_log(&self) -> Result<Vec<AuditEntry>>;
}

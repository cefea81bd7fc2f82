//! Usage collection from Azure Stack Hub regions.
//!
//! For each region the collector discovers the login endpoint and token audience from
//! `/metadata/endpoints`, authenticates with client credentials (Entra ID or AD FS), and
//! pulls `Microsoft.Commerce.Admin/subscriberUsageAggregates` at Hourly granularity, one
//! reported hour at a time over `[from, to)`, following `nextLink` verbatim. Each page is
//! stored (rows through the store's idempotent usage ingest, unreadable rows kept with
//! their reason) and then checkpointed, so a run that stops resumes at the next page and
//! a page stored twice changes nothing. See `ARCHITECTURE.md` for the identity of a row.

mod arm;
mod collect;
mod identity;
pub mod page;
pub mod provision;
mod region;
mod saved;
mod secret;
mod sink;
mod stats;

pub use arm::{Arm, RetryPolicy};
pub use collect::{Collector, Lease, Options, Progress, RunReport};
pub use identity::Identities;
pub use region::{Identity, RegionConfig, check_endpoint};
pub use saved::import_saved;
pub use secret::{Secret, check_reference, resolve as resolve_secret, resolve_in};
pub use stats::Stats;

/// Why collection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// A region setting is missing or wrong.
    #[error("region setting {field}: {message}")]
    Config {
        /// The setting (as the API names it).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The run's range is not usable.
    #[error("{0}")]
    Range(String),
    /// The stamp could not be reached (after retries).
    #[error("region unreachable: {0}")]
    Unreachable(String),
    /// The identity provider refused the client credentials.
    #[error("token refused: {0}")]
    TokenRefused(String),
    /// Resource Manager refused the token (after fetching a new one).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Gateway timeouts persisted after retries.
    #[error("gateway timeout: {0}")]
    GatewayTimeout(String),
    /// Resource Manager answered with an error.
    #[error("HTTP {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// ARM error code.
        code: String,
        /// ARM error message.
        message: String,
    },
    /// A response that does not follow the API's shape (a page, a `nextLink`).
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// Another process holds the region's lease.
    #[error("{0}")]
    Busy(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] stackbill_store::StoreError),
}

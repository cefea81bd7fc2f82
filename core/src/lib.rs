//! StackBill's billing engine: pure Rust, no I/O.
//!
//! Usage flows up (records → aggregates → rated lines → invoices → commissions); prices,
//! commissions and governance flow down (price-list precedence, plan inheritance, RBAC
//! scope). Everything here is a function of its inputs: no clock, no files, no network.
//! Money is exact ([`rust_decimal::Decimal`]), never a float.
//!
//! The usual entry point is [`Scenario::new`] (or [`scenario::json`] for the JSON
//! contract), then a [`Rater`] fed with [`UsageRecord`]s, then [`Rater::finish`].
#![deny(clippy::float_arithmetic)]
// Every operator that could overflow or panic on input is checked, saturating, or carries
// the reason it cannot (issue #13: no request may panic the server).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod adjustment;
pub mod aggregate;
pub mod commission;
pub mod error;
pub mod estimate;
pub mod fx;
pub mod hierarchy;
pub mod increase;
pub mod invoice;
pub mod meter;
pub mod money;
pub mod number;
pub mod period;
pub mod pricing;
pub mod quantity;
pub mod quota;
pub mod rating;
pub mod rbac;
pub mod scenario;
pub mod schedule;
pub mod tiers;
pub mod usage;

pub use aggregate::{Aggregator, Partial, Rollup, Unbilled, UnbilledReason};
pub use error::{Error, InvalidScenario, Problem, Result};
pub use quantity::Quantity;
pub use rating::{Outcome, Rater};
pub use scenario::{Scenario, ScenarioInput};
pub use usage::UsageRecord;

pub use rust_decimal::Decimal;

//! Reading usage files into the StackBill engine: CSV (RFC 4180) and NDJSON, optionally
//! gzipped, split into blocks aggregated on every core and merged deterministically.
//!
//! Memory stays bounded by the number of aggregates plus 8 bytes per record that carries
//! an id (its fingerprint, for "the last record with an id wins"); rows themselves are never
//! kept. Every row that cannot be billed is counted (as `invalid_usage` when unreadable)
//! and, if asked, listed with its line number: nothing silently vanishes.
// Every operator that could overflow on input is checked, saturating, or says why not.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod csv;
mod error;
mod fingerprint;
mod format;
#[doc(hidden)]
pub mod fuzzing;
#[expect(
    clippy::arithmetic_side_effects,
    reason = "the generator of test and benchmark data computes from its own configuration, never from input"
)]
pub mod generate;
mod pipeline;
mod rows;
mod source;

pub use error::IngestError;
pub use format::{Format, FormatKind};
pub use pipeline::{Ingest, Options, Phase, Progress, ProgressFn, Reject, aggregate};
pub use rows::{RowText, read_rows};

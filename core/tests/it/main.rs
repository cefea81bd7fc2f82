//! Integration tests of `stackbill-core`, linked once as a single binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cases;
mod commissions;
mod properties;
mod purity;
mod rbac;
mod streaming;

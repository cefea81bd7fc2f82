//! Integration tests of usage ingestion, linked once as a single binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod equivalence;
mod rejects;

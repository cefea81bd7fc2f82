//! Integration tests of the `stackbill` binary, linked once as a single test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod backup;
mod cli;
mod collect;
mod crash;
mod galera;

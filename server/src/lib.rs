//! StackBill's server as a library: the command line, the REST API (`/api/v1`, OpenAPI at
//! `/swagger`) and its jobs. The `stackbill` binary is only [`main`]; a job worker, the
//! portal or a test harness embeds the same code by linking this crate.
//!
//! Exit codes: 0 success; 1 the input could not be read (missing file, malformed JSON, bad
//! CSV header); 2 the scenario is invalid (every problem is printed as JSON on stdout).
// Every operator that could overflow on input is checked, saturating, or says why not.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod api;
mod archive;
mod branding;
mod cli;
mod collecting;
mod documents;
mod forwarding;
mod jobs;
mod mail;
mod naming;
mod portal;
mod process;
mod reports;
mod stored;

use std::process::ExitCode;

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::api::fuzzing::{FuzzKeys, email, request_body};
}

use clap::Parser;

/// Runs the command line with the process's arguments.
pub fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}

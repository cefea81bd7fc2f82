//! `stackbill`: the command line of the billing engine.
//!
//! Exit codes: 0 success; 1 the input could not be read (missing file, malformed JSON, bad
//! CSV header); 2 the scenario is invalid (every problem is printed as JSON on stdout).

mod api;
mod cli;
mod stored;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}

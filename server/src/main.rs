//! `stackbill`: the command line of the billing engine.
//!
//! Exit codes: 0 success; 1 the input could not be read (missing file, malformed JSON);
//! 2 the scenario is invalid (every problem is printed as JSON on stdout).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stackbill_core::scenario::json::{self, ReadError};

#[derive(Parser)]
#[command(
    name = "stackbill",
    version,
    about = "Billing engine for Azure Stack Hub resellers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rate a scenario (billing-semantics.md §10) and print invoices, commissions and the
    /// unbilled report as JSON.
    Rate {
        /// Scenario JSON file, or `-` for standard input.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Rate { file } => rate(&file),
    }
}

fn read_input(file: &PathBuf) -> Result<String, String> {
    let name = file.display();
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("stackbill: cannot read standard input: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("stackbill: cannot read {name}: {e}"))
    }
}

fn print_json(value: &serde_json::Value) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn rate(file: &PathBuf) -> ExitCode {
    let text = match read_input(file) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(1);
        }
    };
    let name = if file.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        file.display().to_string()
    };
    let doc = match json::Document::parse(&text) {
        Ok(doc) => doc,
        Err(ReadError::Syntax {
            line,
            column,
            message,
        }) => {
            eprintln!("stackbill: {name}:{line}:{column}: malformed JSON: {message}");
            return ExitCode::from(1);
        }
        Err(ReadError::Invalid(invalid)) => {
            print_json(&json::invalid_to_value(&invalid));
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("stackbill: {name}: {e}");
            return ExitCode::from(1);
        }
    };
    match doc.rate() {
        Ok(outcome) => print_json(&json::outcome_to_value(&outcome)),
        Err(e) => {
            print_json(&json::error_to_value(&e));
            ExitCode::from(2)
        }
    }
}

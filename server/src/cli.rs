//! The subcommands: argument parsing and the translation of results into output and exit
//! codes. All billing logic lives in `stackbill-core`, all file reading in
//! `stackbill-ingest`.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stackbill_core::rating::rate_partial;
use stackbill_core::scenario::json::{self, Document, ReadError};
use stackbill_ingest::generate;

#[derive(Parser)]
#[command(
    name = "stackbill",
    version,
    about = "Billing engine for Azure Stack Hub resellers"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the REST API server (`/api/v1`, Swagger UI at `/swagger`) on a database: the
    /// embedded SQLite file by default, created and migrated on first start.
    Serve(crate::process::ServeArgs),
    /// Run jobs and schedules without serving HTTP (beside `serve` processes on the same
    /// database, for work that should not share their cores).
    Worker(crate::process::WorkerArgs),
    /// Rate a scenario (billing-semantics.md §10) and print invoices, commissions and the
    /// unbilled report as JSON.
    Rate(RateArgs),
    /// Generate realistic Azure Stack usage (CSV) and the matching scenario.
    GenUsage(GenArgs),
    /// Apply the database schema migrations (SQLite databases migrate themselves).
    Migrate(DatabaseArg),
    /// Load a scenario (hierarchy, price lists, FX rates, usage) into a database.
    ImportScenario {
        /// Scenario JSON file, or `-` for standard input.
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Usage stored in a database.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// FX rates billing converts with: list, publish, withdraw.
    #[command(subcommand)]
    Fx(FxCommand),
    /// Account recovery for administrators locked out of the API.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Azure Stack Hub regions usage is collected from: add, list, test.
    #[command(subcommand)]
    Region(crate::collecting::RegionCommand),
    /// Collect a region's usage (reported hours [--from, --to), by default the 48 hours
    /// that closed at least an hour ago) into the database.
    Collect(crate::collecting::CollectArgs),
    /// Bill a period from a database: write preview invoices (replacing earlier previews of
    /// the period) and commission summaries.
    Bill {
        /// The month, YYYY-MM.
        #[arg(long)]
        period: String,
        /// Only this tenant (commission summaries are then left as they were).
        #[arg(long)]
        tenant: Option<String>,
        /// Print the output JSON (billing-semantics §10) of what was written.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Export billing data as CSV or XLSX: invoices, invoice lines, the billing summary or
    /// commission summaries, as the API's `?format=` exports them for a platform reader.
    Export {
        /// What to export.
        #[arg(value_enum)]
        what: crate::stored::Exported,
        /// The month, YYYY-MM (for commissions also a year, YYYY).
        #[arg(long)]
        period: String,
        /// Only this tenant's invoices.
        #[arg(long)]
        tenant: Option<String>,
        /// csv or xlsx (default: from the output file's extension, else csv).
        #[arg(long)]
        format: Option<String>,
        /// The file to write (default: standard output, CSV only).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Invoice documents.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Copy an SQLite database to a new file while servers keep using it (a consistent
    /// snapshot as of one commit). MySQL/MariaDB: use mysqldump --single-transaction
    /// (docs/operations.md).
    Backup {
        /// The new file.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Write the scenario JSON equivalent to billing a period (stored hierarchy, pricing,
    /// FX and exactly the usage the bill reads) to standard output.
    ExportScenario {
        /// The month, YYYY-MM.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Args)]
pub(crate) struct DatabaseArg {
    /// Database URL: sqlite://FILE (the default, `sqlite://stackbill.db`, or
    /// $STACKBILL_DATABASE), mysql://USER@HOST:PORT/DB or mariadb://….
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

impl DatabaseArg {
    pub(crate) fn url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(crate::stored::default_database)
    }
}

#[derive(Subcommand)]
enum InvoiceCommand {
    /// Write an invoice's document: an issued invoice's kept document (rendered and kept
    /// now if it has none yet), a preview rendered as of now and marked PREVIEW.
    Render {
        /// The invoice's id.
        id: i64,
        /// pdf or html (default: from the output file's extension, else pdf).
        #[arg(long)]
        format: Option<String>,
        /// The file to write.
        #[arg(long, short = 'o')]
        output: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Subcommand)]
enum UsageCommand {
    /// Import a usage file (CSV or NDJSON, optionally gzipped) idempotently: rows are keyed
    /// by id; re-importing changes nothing and reports rows as duplicates. A `.json` file
    /// (optionally `.json.gz`) holds Azure Stack Hub usage saved at a disconnected site:
    /// raw API pages, or rows as the PowerShell cmdlets return them (needs --region).
    Import {
        /// The usage file.
        file: PathBuf,
        /// `.json` files: the region the usage was saved from.
        #[arg(long)]
        region: Option<String>,
        /// `.json` files: the one reported hour the file was pulled for, start (RFC 3339,
        /// whole hour); default: the hour its pages' links name.
        #[arg(long, requires = "reported_to")]
        reported_from: Option<String>,
        /// `.json` files: the end of the reported hours (exclusive).
        #[arg(long, requires = "reported_from")]
        reported_to: Option<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Clear an administrator's lock and the account's failed sign-ins.
    Unlock(RecoveryArgs),
    /// Set a generated temporary password (printed once) that must be changed at the
    /// next sign-in.
    ResetPassword(RecoveryArgs),
    /// Remove the enrolled second factor (a lost authenticator).
    ResetMfa(RecoveryArgs),
}

#[derive(Args)]
struct RecoveryArgs {
    /// The account's e-mail address.
    email: String,
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    keys: KeyFileArg,
}

#[derive(Args)]
pub(crate) struct KeyFileArg {
    /// File with the server's keys (token signing, MFA secret sealing, the keyed hashes
    /// failed sign-ins are counted under); created with mode 0600 if absent. Keep it
    /// with the database's backups.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "stackbill.key",
        env = "STACKBILL_KEY_FILE"
    )]
    pub(crate) key_file: PathBuf,
}

#[derive(Subcommand)]
enum FxCommand {
    /// Print every published rate as JSON (`from`, `to`, `rate`, `as_of`), oldest first.
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Publish a rate: one FROM is RATE TO from --as-of on.
    Add {
        /// ISO 4217 code converted from.
        from: String,
        /// ISO 4217 code converted to.
        to: String,
        /// Exact decimal > 0.
        rate: String,
        /// First day in force, YYYY-MM-DD.
        #[arg(long)]
        as_of: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Withdraw the rate of FROM to TO published as of --as-of.
    Delete {
        /// ISO 4217 code converted from.
        from: String,
        /// ISO 4217 code converted to.
        to: String,
        /// The day it was published for, YYYY-MM-DD.
        #[arg(long)]
        as_of: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Args)]
struct RateArgs {
    /// Scenario JSON file, or `-` for standard input.
    scenario: PathBuf,
    /// Usage file(s) added after the scenario's own usage, in order: `.csv` or `.ndjson`
    /// (`.jsonl`), each optionally `.gz`.
    #[arg(long = "usage", value_name = "FILE")]
    usage: Vec<PathBuf>,
    /// Write every row counted as invalid_usage (with source, line and reason) to FILE as
    /// NDJSON.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// No progress bar and no summary on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Args)]
struct GenArgs {
    /// Tenants (one subscription each).
    #[arg(long, default_value_t = 2000)]
    tenants: usize,
    /// Meters per subscription (at most 26).
    #[arg(long, default_value_t = 25)]
    meters: usize,
    /// Hours of usage.
    #[arg(long, default_value_t = 730)]
    hours: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Repeat every n-th row with the same id and a corrected quantity (0: never).
    #[arg(long, default_value_t = 0)]
    duplicate_every: u64,
    /// Where to write the usage CSV (`.csv` or `.csv.gz`).
    #[arg(long, value_name = "FILE")]
    usage: PathBuf,
    /// Where to write the scenario JSON.
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => block_on(crate::process::serve(args)),
        Command::Worker(args) => block_on(crate::process::worker(args)),
        Command::Rate(args) => rate(args),
        Command::GenUsage(args) => gen_usage(args),
        Command::Migrate(db) => block_on(async {
            match crate::stored::migrate(&db.url()).await {
                Ok(message) => {
                    eprintln!("stackbill: {message}");
                    ExitCode::SUCCESS
                }
                Err(e) => store_failure(&e),
            }
        }),
        Command::ImportScenario { file, database } => {
            let text = match read_input(&file) {
                Ok(t) => t,
                Err(message) => return fail(message),
            };
            block_on(async {
                match crate::stored::import_scenario(&database.url(), &text).await {
                    Ok(r) => {
                        eprintln!(
                            "stackbill: imported {} nodes, {} price lists, {} FX rates; usage: {} new, {} duplicate, {} replaced",
                            r.nodes,
                            r.price_lists,
                            r.fx_rates,
                            r.usage.new,
                            r.usage.duplicate,
                            r.usage.replaced
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => store_failure(&e),
                }
            })
        }
        Command::Usage(UsageCommand::Import {
            file,
            region,
            reported_from,
            reported_to,
            quiet,
            database,
        }) => {
            if crate::collecting::is_saved_pages(&file) {
                return block_on(crate::collecting::import_saved(
                    crate::collecting::SavedArgs {
                        file,
                        region,
                        reported_from,
                        reported_to,
                        quiet,
                    },
                    database,
                ));
            }
            let total = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let bar = Bar::new(total, true, quiet);
            let progress = bar.clone();
            block_on(async {
                let result = crate::stored::import_usage(&database.url(), &file, move |b| {
                    progress.update("importing", b)
                })
                .await;
                bar.finish();
                match result {
                    Ok(r) => {
                        if !quiet {
                            eprintln!(
                                "stackbill: {} new, {} duplicate, {} replaced, {} rejected",
                                r.new, r.duplicate, r.replaced, r.rejected
                            );
                        }
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            })
        }
        Command::Region(command) => block_on(crate::collecting::region(command)),
        Command::Collect(args) => block_on(crate::collecting::collect(args)),
        Command::Fx(command) => block_on(fx(command)),
        Command::Export {
            what,
            period,
            tenant,
            format,
            output,
            database,
        } => block_on(export(
            what,
            &period,
            tenant.as_deref(),
            format.as_deref(),
            output.as_deref(),
            &database.url(),
        )),
        Command::Users(command) => block_on(users(command)),
        Command::Invoice(InvoiceCommand::Render {
            id,
            format,
            output,
            database,
        }) => block_on(async move {
            match crate::stored::render_invoice(&database.url(), id, format.as_deref(), &output)
                .await
            {
                Ok(message) => {
                    eprintln!("stackbill: {message}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }),
        Command::Bill {
            period,
            tenant,
            json,
            database,
        } => block_on(async {
            match crate::stored::bill(&database.url(), &period, tenant.as_deref()).await {
                Ok(report) => {
                    eprintln!(
                        "stackbill: billed {period}: {} preview invoices written{}",
                        report.previews,
                        if report.kept_issued.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; issued invoices kept for {}",
                                report.kept_issued.join(", ")
                            )
                        }
                    );
                    if json {
                        print_json(&report.document)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => store_failure(&e),
            }
        }),
        Command::Backup { to, database } => block_on(async {
            match crate::stored::backup(&database.url(), &to).await {
                Ok(()) => {
                    eprintln!("stackbill: backed up to {}", to.display());
                    ExitCode::SUCCESS
                }
                Err(e) => store_failure(&e),
            }
        }),
        Command::ExportScenario { period, database } => block_on(async {
            match crate::stored::export_scenario(&database.url(), &period).await {
                Ok(document) => print_json(&document),
                Err(e) => store_failure(&e),
            }
        }),
    }
}

/// `stackbill export`: exit 1 when the data cannot be read or the file written.
async fn export(
    what: crate::stored::Exported,
    period: &str,
    tenant: Option<&str>,
    format: Option<&str>,
    output: Option<&Path>,
    url: &str,
) -> ExitCode {
    use stackbill_export::Format;
    let from_extension = output
        .and_then(|p| p.extension())
        .and_then(|e| Format::from_name(&e.to_string_lossy()));
    let format = match format {
        Some(name) => match Format::from_name(name) {
            Some(f) => f,
            None => {
                eprintln!("stackbill: --format: {name:?} is not csv or xlsx");
                return ExitCode::from(1);
            }
        },
        None => from_extension.unwrap_or(Format::Csv),
    };
    if format == Format::Xlsx && output.is_none() {
        eprintln!("stackbill: an XLSX export needs --output FILE");
        return ExitCode::from(1);
    }
    let table = match crate::stored::export(url, what, period, tenant).await {
        Ok(table) => table,
        Err(e) => {
            eprintln!("stackbill: {e}");
            return ExitCode::from(1);
        }
    };
    let bytes = match stackbill_export::write(&table, format) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("stackbill: {e}");
            return ExitCode::from(1);
        }
    };
    let written = match output {
        Some(path) => std::fs::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| format!("standard output: {e}")),
    };
    match written {
        Ok(()) => {
            eprintln!(
                "stackbill: exported {} row(s) of {:?}",
                table.rows().len(),
                table.title()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stackbill: {e}");
            ExitCode::from(1)
        }
    }
}

pub(crate) fn block_on(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => fail(format!("cannot start the async runtime: {e}")),
    }
}

/// Store errors: an invalid scenario prints every problem (exit 2); other mistakes of the
/// caller print one line (exit 2); database faults print one line (exit 1).
pub(crate) fn store_failure(e: &stackbill_store::StoreError) -> ExitCode {
    match e {
        stackbill_store::StoreError::Invalid(invalid) => {
            print_json(&json::invalid_to_value(invalid));
            ExitCode::from(2)
        }
        e if e.is_user_error() => {
            eprintln!("stackbill: {e}");
            ExitCode::from(2)
        }
        e => fail(e),
    }
}

pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("stackbill: {message}");
    ExitCode::from(1)
}

fn read_input(file: &Path) -> Result<String, String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    }
}

pub(crate) fn print_json(value: &serde_json::Value) -> ExitCode {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write output: {e}")),
    }
}

/// A progress bar on stderr that appears only when stderr is a terminal and the work has
/// lasted more than a second.
pub(crate) struct Bar {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
}

impl Bar {
    fn new(total: u64, unit_bytes: bool, quiet: bool) -> Arc<Bar> {
        let template = if unit_bytes {
            "{spinner} {msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta})"
        } else {
            "{spinner} {msg} [{bar:40}] {human_pos}/{human_len} rows ({per_sec}, eta {eta})"
        };
        Bar::with_template(total, template, quiet)
    }

    /// A bar counting in `template`'s own unit (`{human_pos}/{human_len} hours`).
    pub(crate) fn with_template(total: u64, template: &str, quiet: bool) -> Arc<Bar> {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Arc::new(Bar {
            bar,
            started: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
        })
    }

    pub(crate) fn update(&self, message: &'static str, position: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_hidden() && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_message(message);
        self.bar.set_position(position);
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn rate(args: RateArgs) -> ExitCode {
    let text = match read_input(&args.scenario) {
        Ok(t) => t,
        Err(message) => return fail(message),
    };
    let name = if args.scenario.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        args.scenario.display().to_string()
    };
    let doc = match Document::parse(&text) {
        Ok(doc) => doc,
        Err(ReadError::Syntax {
            line,
            column,
            message,
        }) => return fail(format!("{name}:{line}:{column}: malformed JSON: {message}")),
        Err(ReadError::Invalid(invalid)) => {
            print_json(&json::invalid_to_value(&invalid));
            return ExitCode::from(2);
        }
        Err(e) => return fail(format!("{name}: {e}")),
    };
    let total: u64 = args
        .usage
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = Bar::new(total, true, args.quiet);
    let progress_bar = bar.clone();
    let options = stackbill_ingest::Options {
        threads: args.threads,
        progress: Some(Arc::new(move |p: stackbill_ingest::Progress| {
            let message = match p.phase {
                stackbill_ingest::Phase::Aggregate => "rating",
                stackbill_ingest::Phase::Dedup => "resolving repeated ids",
            };
            progress_bar.update(message, p.bytes);
        })),
    };
    let ingest =
        match stackbill_ingest::aggregate(doc.scenario(), Some(&doc), &args.usage, &options) {
            Ok(ingest) => ingest,
            Err(e) if e.is_user_error() => {
                bar.finish();
                if let stackbill_ingest::IngestError::Engine(engine) = &e {
                    print_json(&json::error_to_value(engine));
                    return ExitCode::from(2);
                }
                return fail(e);
            }
            Err(e) => {
                bar.finish();
                return fail(e);
            }
        };
    bar.finish();
    if let Some(path) = &args.rejects
        && let Err(e) = write_rejects(path, &ingest)
    {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    let (rows, rejected, superseded) = (ingest.rows, ingest.rejects.len(), ingest.superseded);
    let outcome = match rate_partial(doc.scenario(), ingest.partial) {
        Ok(outcome) => outcome,
        Err(e) => {
            print_json(&json::error_to_value(&e));
            return ExitCode::from(2);
        }
    };
    if !args.quiet && (rejected > 0 || superseded > 0) {
        eprintln!(
            "stackbill: {rows} rows read; {rejected} invalid (reported as invalid_usage{}); {superseded} superseded by a later row with the same id",
            if args.rejects.is_some() {
                ", listed in the rejects file"
            } else {
                "; --rejects FILE lists them"
            }
        );
    }
    print_json(&json::outcome_to_value(&outcome))
}

fn write_rejects(path: &Path, ingest: &stackbill_ingest::Ingest<'_>) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for r in &ingest.rejects {
        let line = serde_json::json!({
            "source": ingest.sources.get(r.source),
            "line": r.line,
            "reason": r.reason,
            "row": r.row,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

async fn users(command: UsersCommand) -> ExitCode {
    let (UsersCommand::Unlock(args)
    | UsersCommand::ResetPassword(args)
    | UsersCommand::ResetMfa(args)) = &command;
    let store = match crate::stored::open_migrated(&args.database.url()).await {
        Ok(store) => store,
        Err(e) => return store_failure(&e),
    };
    use crate::api::recovery;
    let done = match &command {
        UsersCommand::Unlock(args) => {
            // The server's own keys, never fresh ones: failures are counted under hashes
            // keyed by them, and a new file would unlock nothing.
            if !args.keys.key_file.exists() {
                return fail(format!(
                    "the key file {} does not exist: pass the server's --key-file",
                    args.keys.key_file.display()
                ));
            }
            let keys = match crate::api::secrets::Keys::load_or_create(&args.keys.key_file) {
                Ok(keys) => keys,
                Err(e) => return fail(e),
            };
            recovery::unlock(&store, &keys, &args.email)
                .await
                .map(|()| format!("stackbill: {} is unlocked", args.email))
        }
        UsersCommand::ResetPassword(args) => recovery::reset_password(&store, &args.email)
            .await
            .map(|password| {
                println!("{password}");
                format!(
                    "stackbill: {} has the temporary password above (shown only now); it must be changed at the next sign-in",
                    args.email
                )
            }),
        UsersCommand::ResetMfa(args) => recovery::reset_mfa(&store, &args.email)
            .await
            .map(|()| format!("stackbill: the second factor of {} is removed", args.email)),
    };
    match done {
        Ok(message) => {
            eprintln!("{message}; its sessions are ended");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

async fn fx(command: FxCommand) -> ExitCode {
    let result = match command {
        FxCommand::List { database } => crate::stored::fx_list(&database.url())
            .await
            .map(|rows| Some(serde_json::Value::Array(rows))),
        FxCommand::Add {
            from,
            to,
            rate,
            as_of,
            database,
        } => crate::stored::fx_add(&database.url(), &from, &to, &rate, &as_of)
            .await
            .map(|()| None),
        FxCommand::Delete {
            from,
            to,
            as_of,
            database,
        } => crate::stored::fx_delete(&database.url(), &from, &to, &as_of)
            .await
            .map(|()| None),
    };
    match result {
        Ok(Some(document)) => print_json(&document),
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => store_failure(&e),
    }
}

fn gen_usage(args: GenArgs) -> ExitCode {
    let config = generate::Config {
        tenants: args.tenants,
        meters: args.meters,
        hours: args.hours,
        first_hour: 0,
        seed: args.seed,
        duplicate_every: args.duplicate_every,
    };
    let scenario = generate::scenario(&config);
    let written = File::create(&args.scenario).and_then(|f| {
        let mut w = BufWriter::new(f);
        serde_json::to_writer_pretty(&mut w, &scenario)?;
        writeln!(w)?;
        w.flush()
    });
    if let Err(e) = written {
        return fail(format!("cannot write {}: {e}", args.scenario.display()));
    }
    let rows = generate::rows(&config);
    let bar = Bar::new(rows, false, args.quiet);
    let gz = args.usage.extension().is_some_and(|e| e == "gz");
    let result = File::create(&args.usage).and_then(|f| {
        let progress = |n| bar.update("generating", n);
        if gz {
            let mut w = flate2::write::GzEncoder::new(
                BufWriter::with_capacity(1 << 20, f),
                flate2::Compression::fast(),
            );
            generate::write_csv(&config, &mut w, progress)?;
            w.finish()?.flush()
        } else {
            let mut w = BufWriter::with_capacity(1 << 20, f);
            generate::write_csv(&config, &mut w, progress)?;
            w.flush()
        }
    });
    bar.finish();
    match result {
        Ok(()) => {
            if !args.quiet {
                eprintln!(
                    "stackbill: wrote {rows} usage rows to {} and the scenario to {}",
                    args.usage.display(),
                    args.scenario.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("cannot write {}: {e}", args.usage.display())),
    }
}

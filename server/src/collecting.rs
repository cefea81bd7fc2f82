//! `stackbill region add|list|test` and `stackbill collect`: the command-line face of
//! `stackbill-collector`. Arguments in, the collector's report out.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use stackbill_collector::{
    Arm, CollectError, Collector, Lease, Options, RegionConfig, RetryPolicy, Stats, resolve_secret,
};
use stackbill_store::{RegionRow, Store};

use crate::cli::{Bar, DatabaseArg, fail, print_json, store_failure};

const HOUR_NS: i64 = 3_600_000_000_000;

#[derive(Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only obscure the clap derive"
)]
pub(crate) enum RegionCommand {
    /// Add a region, or update the one with this id.
    Add(RegionAddArgs),
    /// Print every region as JSON (credentials as their references only).
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Check that a region can be collected from: endpoint discovery, a token, and an
    /// authenticated call to the usage provider.
    Test {
        /// The region's id.
        id: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum IdentityKind {
    /// Microsoft Entra ID (connected stamps).
    Entra,
    /// AD FS (disconnected stamps).
    Adfs,
}

#[derive(Args)]
pub(crate) struct RegionAddArgs {
    /// Id (letters, digits, `-`).
    #[arg(long)]
    id: String,
    /// Display name (default: the id).
    #[arg(long)]
    name: Option<String>,
    /// IANA time zone of the stamp.
    #[arg(long, default_value = "UTC")]
    time_zone: String,
    /// Admin Resource Manager endpoint (`https://adminmanagement.REGION.FQDN`).
    #[arg(long)]
    admin_endpoint: String,
    /// The provider subscription the usage API is called under.
    #[arg(long)]
    provider_subscription: String,
    /// How the stamp authenticates.
    #[arg(long, value_enum)]
    identity: IdentityKind,
    /// Entra only: the stamp's home directory (domain or GUID).
    #[arg(long)]
    directory_tenant: Option<String>,
    /// The service principal's application id.
    #[arg(long)]
    client_id: String,
    /// Where the client secret lives: `env:NAME` or `file:PATH` (never the secret).
    #[arg(long)]
    credential_ref: String,
    /// PEM file of the stamp's root CA, trusted besides the system roots.
    #[arg(long)]
    ca_bundle: Option<String>,
    /// Hours of usage collected per scheduled run.
    #[arg(long, default_value_t = 1)]
    collection_window_hours: i64,
    #[command(flatten)]
    database: DatabaseArg,
}

#[derive(Args)]
pub(crate) struct CollectArgs {
    /// The region's id.
    #[arg(long)]
    region: String,
    /// First reported hour, RFC 3339 on a whole hour (default: 48 hours before --to).
    #[arg(long)]
    from: Option<String>,
    /// End of the last reported hour, exclusive (default: the start of the hour that
    /// began at least an hour ago).
    #[arg(long)]
    to: Option<String>,
    /// Ask per subscriber from the start instead of after gateway timeouts.
    #[arg(long)]
    per_subscriber: bool,
    /// Subscribers asked at once when asking per subscriber.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Print the run's report as JSON on standard output.
    #[arg(long)]
    json: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    database: DatabaseArg,
}

async fn open(database: &DatabaseArg) -> Result<Arc<dyn Store>, ExitCode> {
    match crate::stored::open(&database.url()).await {
        Ok(store) => Ok(Arc::new(store)),
        Err(e) => Err(store_failure(&e)),
    }
}

async fn find(store: &dyn Store, id: &str) -> Result<RegionRow, ExitCode> {
    match store.regions().await {
        Ok(regions) => regions
            .into_iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                eprintln!("stackbill: no region {id:?} (see `stackbill region list`)");
                ExitCode::from(2)
            }),
        Err(e) => Err(store_failure(&e)),
    }
}

fn region_json(r: &RegionRow) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "timeZone": r.time_zone,
        "adminEndpoint": r.admin_endpoint,
        "collectionWindowHours": r.collection_window_hours,
        "credentialRef": r.credential_ref,
        "details": r.details,
    })
}

fn config_failure(e: &CollectError) -> ExitCode {
    eprintln!("stackbill: {e}");
    ExitCode::from(2)
}

pub(crate) async fn region(command: RegionCommand) -> ExitCode {
    match command {
        RegionCommand::Add(args) => add(args).await,
        RegionCommand::List { database } => {
            let store = match open(&database).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match store.regions().await {
                Ok(regions) => print_json(&Value::Array(regions.iter().map(region_json).collect())),
                Err(e) => store_failure(&e),
            }
        }
        RegionCommand::Test { id, database } => {
            let store = match open(&database).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let row = match find(store.as_ref(), &id).await {
                Ok(r) => r,
                Err(code) => return code,
            };
            let arm = match arm(&row) {
                Ok(a) => a,
                Err(e) => return config_failure(&e),
            };
            let stats = Stats::default();
            match arm.probe(&stats).await {
                Ok(audience) => {
                    eprintln!(
                        "stackbill: region {} answers: token for {audience}, usage provider reachable ({} requests, {} retries)",
                        row.id,
                        stats.requests(),
                        stats.retries()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("region {} failed its test: {e}", row.id)),
            }
        }
    }
}

async fn add(args: RegionAddArgs) -> ExitCode {
    let mut details = json!({
        "identity": match args.identity {
            IdentityKind::Entra => "entra",
            IdentityKind::Adfs => "adfs",
        },
        "providerSubscriptionId": args.provider_subscription,
        "clientId": args.client_id,
    });
    if let Some(t) = &args.directory_tenant {
        details["directoryTenant"] = json!(t);
    }
    if let Some(c) = &args.ca_bundle {
        details["caBundle"] = json!(c);
    }
    let row = RegionRow {
        name: args.name.clone().unwrap_or_else(|| args.id.clone()),
        id: args.id,
        time_zone: args.time_zone,
        admin_endpoint: args.admin_endpoint,
        collection_window_hours: args.collection_window_hours,
        credential_ref: Some(args.credential_ref),
        details,
    };
    if let Err(e) = RegionConfig::from_row(&row) {
        return config_failure(&e);
    }
    if row.time_zone.parse::<chrono_tz::Tz>().is_err() {
        eprintln!(
            "stackbill: --time-zone {:?} is not an IANA time zone",
            row.time_zone
        );
        return ExitCode::from(2);
    }
    if !(1..=168).contains(&row.collection_window_hours) {
        eprintln!("stackbill: --collection-window-hours must be from 1 to 168");
        return ExitCode::from(2);
    }
    let store = match open(&args.database).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Running servers read the region at their next request.
    match store
        .put_region(&row)
        .await
        .and(store.bump_cache_version().await)
    {
        Ok(()) => {
            eprintln!("stackbill: region {} saved", row.id);
            ExitCode::SUCCESS
        }
        Err(e) => store_failure(&e),
    }
}

fn arm(row: &RegionRow) -> Result<Arm, CollectError> {
    let config = RegionConfig::from_row(row)?;
    let secret = resolve_secret(&config.credential_ref)?;
    Arm::new(config, secret, RetryPolicy::default())
}

fn whole_hour(text: &str, flag: &str) -> Result<i64, String> {
    let t = DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("{flag} {text:?} is not an RFC 3339 instant: {e}"))?;
    let ns = t
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("{flag} {text:?} is out of range"))?;
    if ns.rem_euclid(HOUR_NS) != 0 {
        return Err(format!("{flag} {text:?} is not on a whole hour"));
    }
    Ok(ns)
}

pub(crate) async fn collect(args: CollectArgs) -> ExitCode {
    let to = match args.to.as_deref().map(|t| whole_hour(t, "--to")) {
        None => crate::api::collection::closed_until(Utc::now()),
        Some(Ok(t)) => t,
        Some(Err(m)) => return usage_error(&m),
    };
    let from = match args.from.as_deref().map(|t| whole_hour(t, "--from")) {
        None => to.saturating_sub(HOUR_NS.saturating_mul(48)),
        Some(Ok(t)) => t,
        Some(Err(m)) => return usage_error(&m),
    };
    if from >= to {
        return usage_error("--from must be before --to");
    }
    let store = match open(&args.database).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let row = match find(store.as_ref(), &args.region).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let arm = match arm(&row) {
        Ok(a) => a,
        Err(e) => return config_failure(&e),
    };
    let hours = u64::try_from(to.saturating_sub(from) / HOUR_NS).unwrap_or(0);
    let bar = Bar::with_template(
        hours,
        "{spinner} {msg} [{bar:40}] {human_pos}/{human_len} hours (eta {eta})",
        args.quiet,
    );
    let progress = bar.clone();
    // The same lease the servers' schedules take: never two collectors on one region.
    let lease = Lease {
        owner: format!("cli-{}-{:x}", std::process::id(), rand::random::<u64>()),
        hold_secs: 900,
    };
    if let Err(e) = lease.take(store.as_ref(), &row.id).await {
        bar.finish();
        return fail(e);
    }
    let collector = Collector::new(
        arm,
        store.clone(),
        Options {
            per_subscriber: args.per_subscriber,
            concurrency: args.concurrency.max(1),
        },
    )
    .with_lease(lease.clone());
    let result = collector
        .collect(from, to, &move |p| {
            progress.update("collecting", p.windows_done)
        })
        .await;
    lease.release(store.as_ref(), &row.id).await;
    bar.finish();
    match result {
        Ok(report) => {
            if !args.quiet {
                eprintln!(
                    "stackbill: {} collected {} hours ({} pages): {} new, {} duplicate, {} replaced, {} rejected; {} requests, {} retries{}{}",
                    row.id,
                    report.windows,
                    report.pages,
                    report.new,
                    report.duplicate,
                    report.replaced,
                    report.rejected,
                    report.requests,
                    report.retries,
                    if report.unknown_meters.is_empty() {
                        String::new()
                    } else {
                        format!("; unknown meters: {}", report.unknown_meters.join(", "))
                    },
                    if report.unknown_subscription_rows == 0 {
                        String::new()
                    } else {
                        format!(
                            "; {} rows of subscriptions StackBill does not know",
                            report.unknown_subscription_rows
                        )
                    },
                );
            }
            if args.json {
                print_json(&serde_json::to_value(&report).unwrap_or(Value::Null))
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(CollectError::Store(e)) => store_failure(&e),
        Err(e @ (CollectError::Config { .. } | CollectError::Range(_))) => config_failure(&e),
        Err(e) => fail(format!(
            "collecting {} stopped: {e}; run the same command again to resume",
            row.id
        )),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("stackbill: {message}");
    ExitCode::from(2)
}

/// Whether a usage file holds saved Azure Stack Hub pages (`.json`, `.json.gz`).
pub(crate) fn is_saved_pages(file: &std::path::Path) -> bool {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".json") || name.ends_with(".json.gz")
}

/// `stackbill usage import FILE.json --region ID`: what the command line passed.
pub(crate) struct SavedArgs {
    pub(crate) file: std::path::PathBuf,
    pub(crate) region: Option<String>,
    pub(crate) reported_from: Option<String>,
    pub(crate) reported_to: Option<String>,
    pub(crate) quiet: bool,
}

pub(crate) async fn import_saved(args: SavedArgs, database: DatabaseArg) -> ExitCode {
    let Some(region_id) = args.region.as_deref() else {
        return usage_error(
            "a .json usage file holds Azure Stack Hub pages: name the region they came from with --region",
        );
    };
    let window = match (args.reported_from.as_deref(), args.reported_to.as_deref()) {
        (Some(f), Some(t)) => match (
            whole_hour(f, "--reported-from"),
            whole_hour(t, "--reported-to"),
        ) {
            (Ok(f), Ok(t)) if f < t => Some((f, t)),
            (Ok(_), Ok(_)) => return usage_error("--reported-from must be before --reported-to"),
            (Err(m), _) | (_, Err(m)) => return usage_error(&m),
        },
        _ => None,
    };
    let bytes = match read_saved(&args.file) {
        Ok(b) => b,
        Err(m) => return fail(m),
    };
    let store = match open(&database).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let region = match find(store.as_ref(), region_id).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    match stackbill_collector::import_saved(store.as_ref(), &region, &bytes, window).await {
        Ok(r) => {
            if !args.quiet {
                eprintln!(
                    "stackbill: {} pages for {}: {} new, {} duplicate, {} replaced, {} rejected{}",
                    r.pages,
                    region.id,
                    r.new,
                    r.duplicate,
                    r.replaced,
                    r.rejected,
                    if r.unknown_meters.is_empty() {
                        String::new()
                    } else {
                        format!("; unknown meters: {}", r.unknown_meters.join(", "))
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(CollectError::Store(e)) => store_failure(&e),
        Err(e) => fail(format!("{}: {e}", args.file.display())),
    }
}

fn read_saved(file: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let raw = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if file.to_string_lossy().to_ascii_lowercase().ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("{}: not gzip: {e}", file.display()))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_end_is_a_closed_hour() {
        let now = DateTime::parse_from_rfc3339("2025-03-04T10:59:59Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            crate::api::collection::closed_until(now),
            whole_hour("2025-03-04T09:00:00Z", "t").unwrap_or(0)
        );
        assert!(whole_hour("2025-03-04T09:30:00Z", "--from").is_err());
    }
}

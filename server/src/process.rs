//! The long-running processes: `stackbill serve` (the API, its job worker and the
//! schedules) and `stackbill worker` (jobs and schedules only). Any number of either may
//! run on one database: jobs are claimed from it, schedule slots are queued once, and no
//! correctness depends on one process's memory.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::api::{AppState, Config};
use crate::cli::{DatabaseArg, KeyFileArg, fail, store_failure};
use crate::jobs::{Worker, WorkerConfig};

/// How the process logs.
#[derive(Args, Debug, Clone)]
pub(crate) struct LogArgs {
    /// `text` for people, `json` (one object per line, with the request or job it
    /// belongs to) for log collectors. The level filter is `STACKBILL_LOG` (default
    /// `info`; `debug` adds a line per request).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "STACKBILL_LOG_FORMAT")]
    log_format: LogFormat,
}

/// A log line's format.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogArgs {
    /// Installs the process's log subscriber (once; later calls change nothing).
    fn init(&self) {
        let filter = tracing_subscriber::EnvFilter::try_from_env("STACKBILL_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let _ = match self.log_format {
            LogFormat::Json => builder
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .try_init(),
            LogFormat::Text => builder.with_ansi(false).try_init(),
        };
    }
}

/// How the job worker and the schedules run in this process.
#[derive(Args, Debug, Clone)]
pub(crate) struct JobArgs {
    /// Jobs this process runs at once; 0 leaves jobs to other processes.
    #[arg(long, default_value_t = 2)]
    job_slots: usize,
    /// A job's lease, in seconds: a job whose process stopped is taken over this long
    /// after its last renewal (renewed every third of it).
    #[arg(long, default_value_t = 60)]
    job_lease_seconds: u64,
    /// How often the queue is looked at for jobs other processes queued, in
    /// milliseconds.
    #[arg(long, default_value_t = 1000)]
    job_poll_ms: u64,
    /// Collect every region that has collection settings this often, in seconds (its
    /// last 48 closed hours, as a job queued once per slot). 0 turns scheduled
    /// collection off.
    #[arg(long, default_value_t = 3600)]
    collect_every_seconds: u64,
    /// How often schedules are looked at (due slots queued, alert events handed to
    /// forwarding), in seconds.
    #[arg(long, default_value_t = 30)]
    schedule_every_seconds: u64,
}

impl JobArgs {
    fn collect_every(&self) -> Option<Duration> {
        (self.collect_every_seconds > 0).then(|| Duration::from_secs(self.collect_every_seconds))
    }

    /// Starts the worker (unless it has no slots) and the schedules.
    fn start(&self, state: &AppState) {
        if self.job_slots > 0 {
            Worker::spawn(
                state.clone(),
                WorkerConfig {
                    slots: self.job_slots,
                    poll: Duration::from_millis(self.job_poll_ms.max(10)),
                    lease: Duration::from_secs(self.job_lease_seconds.max(3)),
                },
            );
        }
        // As often as collection runs, if that is more often.
        let tick = self
            .collect_every()
            .map_or(Duration::from_secs(self.schedule_every_seconds), |e| {
                e.min(Duration::from_secs(self.schedule_every_seconds))
            })
            .max(Duration::from_secs(1));
        crate::jobs::schedule::spawn(state.clone(), tick);
    }
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
    /// Load the demo dataset (a region, two distributors, partners, tenants,
    /// subscriptions, price lists and a month of usage) if the database has no hierarchy.
    #[arg(long)]
    demo: bool,
    /// Do not apply schema migrations on start (MySQL/MariaDB): for replicas started
    /// after a single `stackbill migrate` of an upgrade, so that only one process ever
    /// changes the schema (a Galera cluster's locks do not span nodes).
    #[arg(long)]
    skip_migrations: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key) instead of HTTP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    #[command(flatten)]
    keys: KeyFileArg,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 900)]
    access_token_seconds: u64,
    /// Lifetime of an unused refresh token, in seconds (14 days).
    #[arg(long, default_value_t = 14 * 24 * 3600)]
    refresh_token_seconds: u64,
    /// Absolute lifetime of a sign-in, in seconds (30 days): no refresh extends it.
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    session_seconds: u64,
    /// Sign-in attempts allowed per client address per minute (then 429).
    #[arg(long, default_value_t = 20)]
    auth_attempts_per_minute: u32,
    #[command(flatten)]
    jobs: JobArgs,
    #[command(flatten)]
    logs: LogArgs,
}

/// `stackbill serve`.
pub(crate) async fn serve(args: ServeArgs) -> ExitCode {
    args.logs.init();
    // A certificate that cannot be served stops the start before anything else.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match crate::api::tls::config(cert, key) {
            Ok(loaded) => Some(loaded),
            Err(e) => return fail(e),
        },
        _ => None,
    };
    let config = Config {
        access_ttl: Duration::from_secs(args.access_token_seconds.max(1)),
        refresh_ttl: Duration::from_secs(args.refresh_token_seconds.max(1)),
        session_ttl: Duration::from_secs(args.session_seconds.max(1)),
        auth_attempts_per_minute: args.auth_attempts_per_minute,
        collect_every: args.jobs.collect_every(),
        metrics_token: std::env::var("STACKBILL_METRICS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        certificate: tls.as_ref().map(|(_, served)| served.clone()),
    };
    let state = match open_state(&args.database, &args.keys, !args.skip_migrations, config).await {
        Ok(state) => state,
        Err(code) => return code,
    };
    if let Err(e) = first_start(&state, args.demo).await {
        return fail(e);
    }
    args.jobs.start(&state);
    let served = match tls {
        Some((config, _)) => crate::api::tls::serve(state, args.bind, config).await,
        None => crate::api::serve(state, args.bind).await,
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// `stackbill worker`.
#[derive(Args)]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    keys: KeyFileArg,
    #[command(flatten)]
    jobs: JobArgs,
    #[command(flatten)]
    logs: LogArgs,
}

/// The database (migrated unless `migrate` is false), the key file and the state over
/// them; the exit code to end with when one of them cannot be had.
async fn open_state(
    database: &DatabaseArg,
    keys: &KeyFileArg,
    migrate: bool,
    config: Config,
) -> Result<AppState, ExitCode> {
    let url = database.url();
    let opened = if migrate {
        crate::stored::open_migrated(&url).await
    } else {
        crate::stored::open(&url).await
    };
    let store = opened.map_err(|e| store_failure(&e))?;
    let keys = crate::api::secrets::Keys::load_or_create(&keys.key_file).map_err(fail)?;
    AppState::new(store, keys, config)
        .await
        .map_err(|e| fail(format!("cannot start: {e}")))
}

/// Runs jobs and schedules until interrupted.
pub(crate) async fn worker(args: WorkerArgs) -> ExitCode {
    args.logs.init();
    let config = Config {
        collect_every: args.jobs.collect_every(),
        ..Config::default()
    };
    let state = match open_state(&args.database, &args.keys, true, config).await {
        Ok(state) => state,
        Err(code) => return code,
    };
    args.jobs.start(&state);
    println!("stackbill: worker running (jobs and schedules)");
    match tokio::signal::ctrl_c().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot wait for a signal: {e}")),
    }
}

/// What the first process on a new database does (the first administrator, the demo
/// dataset), done by one process at a time under the `startup` lease: of several
/// processes started at once, one creates and the others find it done.
async fn first_start(state: &AppState, demo: bool) -> Result<(), String> {
    let owner = format!(
        "startup-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let store = state.store();
    let now = || chrono::Utc::now().timestamp();
    let waited = std::time::Instant::now();
    loop {
        let held = store
            .try_lease("startup", &owner, now(), now().saturating_add(600))
            .await
            .map_err(|e| format!("cannot start: {e}"))?;
        if held {
            break;
        }
        if waited.elapsed() > Duration::from_secs(900) {
            return Err(
                "cannot start: another process has held the startup lease for 15 minutes".into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let result = async {
        crate::api::bootstrap_admin(state)
            .await
            .map_err(|e| format!("cannot create the first administrator: {e}"))?;
        if demo {
            crate::api::demo::load(state)
                .await
                .map_err(|e| format!("cannot load the demo dataset: {e}"))?;
        }
        // Every process, this one too, reads what was created.
        state
            .refresh()
            .await
            .map(drop)
            .map_err(|e| format!("cannot start: {e}"))
    }
    .await;
    if let Err(e) = store.release_lease("startup", &owner).await {
        tracing::warn!(error = %e, "cannot release the startup lease");
    }
    result
}

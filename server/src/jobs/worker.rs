//! The worker every server process (and `stackbill worker`) runs: it claims due jobs,
//! runs each under a lease renewed every third of its length, and stops a job at once
//! when the lease is lost, a person cancels it, or it outlives the Job Maximum Runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use stackbill_store::{ClaimedJob, JobEnd, NewAlert, Renewal};
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::kinds::{Done, execute, outcome};
use super::now_ms;
use crate::api::AppState;
use crate::api::wire::ApiError;

/// How a worker runs.
#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    /// Jobs run at once by this process.
    pub slots: usize,
    /// How often the queue is looked at when nothing woke the worker.
    pub poll: Duration,
    /// A claim's lease: another process takes a job over this long after its owner's
    /// last renewal.
    pub lease: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            slots: 2,
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(60),
        }
    }
}

/// A running job's progress (percent and a line), stored at each renewal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress(Arc<Mutex<(i64, String)>>);

impl Progress {
    /// Records how far the job got.
    pub(crate) fn set(&self, percent: i64, message: impl Into<String>) {
        if let Ok(mut p) = self.0.lock() {
            *p = (percent.clamp(0, 100), message.into());
        }
    }

    fn get(&self) -> (i64, String) {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// The job worker of one process.
#[derive(Debug)]
pub(crate) struct Worker;

impl Worker {
    /// Starts the worker on the current runtime; it runs until the process ends.
    pub(crate) fn spawn(state: AppState, config: WorkerConfig) -> tokio::task::JoinHandle<()> {
        tokio::spawn(run(state, config))
    }
}

/// A name for this process in the jobs it holds: host, process id and a random part,
/// so a restarted process with a reused pid is still another owner.
fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The Job Maximum Runtime of System Settings → Jobs (hours; 24 when unset).
async fn max_runtime_ms(state: &AppState) -> i64 {
    let hours = match state.snapshot().await {
        Ok(s) => s.settings["jobs"]["jobMaximumRuntimeHours"]
            .as_f64()
            .unwrap_or(24.0),
        Err(_) => 24.0,
    };
    // Whole milliseconds of a validated 1–168 hours: exact in f64.
    (hours.clamp(0.0, 168.0) * 3_600_000.0) as i64
}

async fn run(state: AppState, config: WorkerConfig) {
    let owner = owner_id();
    let slots = Arc::new(Semaphore::new(config.slots.max(1)));
    loop {
        let now = now_ms();
        let max = max_runtime_ms(&state).await;
        match state.store().expire_jobs(now, max).await {
            Ok(ended) => {
                for id in ended {
                    tracing::warn!(
                        job = id,
                        "ended by the queue (runtime, cancellation or attempts)"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "jobs: cannot end overdue jobs"),
        }
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            match state
                .store()
                .claim_job(&owner, now_ms(), millis(config.lease))
                .await
            {
                Ok(Some(job)) => {
                    let (state, config) = (state.clone(), config.clone());
                    tokio::spawn(async move {
                        run_one(&state, job, &config).await;
                        drop(permit);
                        state.wake_worker();
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "jobs: cannot claim");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll) => {}
            _ = state.worker_wakeup() => {}
        }
    }
}

/// Runs one claimed job to its end (or until it is no longer ours).
async fn run_one(state: &AppState, job: ClaimedJob, config: &WorkerConfig) {
    let span = tracing::info_span!("job", job = job.id, kind = %job.kind, attempt = job.attempts);
    run_claimed(state, job, config).instrument(span).await
}

async fn run_claimed(state: &AppState, job: ClaimedJob, config: &WorkerConfig) {
    if job.attempts > 1 {
        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, "taken over");
    }
    let progress = Progress::default();
    let started = std::time::Instant::now();
    let mut work = {
        let (state, job, progress) = (state.clone(), job.clone(), progress.clone());
        tokio::spawn(async move { execute(&state, &job, &progress).await })
    };
    let lease_ms = millis(config.lease);
    let mut beat = tokio::time::interval(config.lease.checked_div(3).unwrap_or(config.lease));
    beat.tick().await;
    // After an abort the task is awaited, so that what it held (a region's lease) is
    // let go before the job is recorded as ended.
    let (end, result) = loop {
        tokio::select! {
            joined = &mut work => {
                let result = joined.unwrap_or_else(|e| {
                    Err(ApiError::internal(format!("job {} stopped: {e}", job.id)))
                });
                let end = if result.is_ok() { JobEnd::Succeeded } else { JobEnd::Failed };
                break (end, result);
            }
            _ = beat.tick() => {
                let (percent, line) = progress.get();
                let now = now_ms();
                match state.store().renew_job(job.id, job.fence, now, lease_ms, percent, &line).await {
                    Ok(Renewal::Lost) => {
                        work.abort();
                        let _ = (&mut work).await;
                        tracing::warn!(job = job.id, "lost its lease; another process has it");
                        return;
                    }
                    Ok(Renewal::Held { cancel_requested: true }) => {
                        work.abort();
                        let _ = (&mut work).await;
                        break (JobEnd::Cancelled, Err(ApiError::Conflict("cancelled on request".into())));
                    }
                    Ok(Renewal::Held { cancel_requested: false }) => {
                        let max = max_runtime_ms(state).await;
                        if now.saturating_sub(job.first_claimed_at) > max {
                            work.abort();
                        let _ = (&mut work).await;
                            let hours = max.checked_div(3_600_000).unwrap_or(0);
                            break (JobEnd::Failed, Err(ApiError::Conflict(format!(
                                "ran longer than the Job Maximum Runtime ({hours} h)"
                            ))));
                        }
                    }
                    // The lease outlives a few missed renewals; if the database stays
                    // away, another process takes the job over and our finish is refused.
                    Err(e) => tracing::warn!(job = job.id, error = %e, "cannot renew its lease"),
                }
            }
        }
    };
    state
        .metrics
        .job_ended(&job.kind, end.as_str(), started.elapsed());
    finish(state, &job, end, &result).await;
}

async fn finish(state: &AppState, job: &ClaimedJob, end: JobEnd, result: &Result<Done, ApiError>) {
    let message = match result {
        Ok(done) => done.message.clone(),
        Err(e) => e.to_string(),
    };
    let stored = outcome(result).to_string();
    let written = state
        .store()
        .finish_job(job.id, job.fence, end, &message, Some(&stored), now_ms())
        .await;
    match end {
        JobEnd::Succeeded => {
            tracing::info!(status = end.as_str(), message_detail = %message, "ended")
        }
        _ => tracing::warn!(status = end.as_str(), message_detail = %message, "ended"),
    }
    match written {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = job.id, "ended here but was no longer ours");
            return;
        }
        Err(e) => {
            tracing::error!(job = job.id, error = %e, "cannot record its end");
            return;
        }
    }
    // A kind of job failing is one condition, raised once and cleared by a success.
    let key = format!("job.failed:{}", job.kind);
    let at = crate::api::now_rfc3339();
    let alerted = match end {
        JobEnd::Failed => {
            let alert = NewAlert {
                key,
                kind: "job.failed".into(),
                subject: job.kind.clone(),
                severity: "error".into(),
                message: format!("job {} ({}) failed: {message}", job.id, job.kind),
            };
            state.store().raise_alert(&alert, &at).await.map(drop)
        }
        JobEnd::Succeeded => state.store().clear_alert(&key, &at).await.map(drop),
        JobEnd::Cancelled => Ok(()),
    };
    if let Err(e) = alerted {
        tracing::error!(job = job.id, error = %e, "cannot update its alert");
    }
}

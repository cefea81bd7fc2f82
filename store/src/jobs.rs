//! The job queue's records. Any server process (or `stackbill worker`) claims a queued job
//! by a conditional update and holds it under a lease it renews; a process that dies
//! loses the lease and another takes the job over. Correctness rests on the committed
//! claim and the `fence` it increments, never on row locks (a Galera cluster's are per
//! node). Times are Unix milliseconds from the callers' clocks, which must agree to well
//! within a lease (NTP).

/// A job's attempts before it is given up: a job whose owners keep dying (a run that
/// crashes its process) fails instead of taking every replica down in turn.
pub const MAX_ATTEMPTS: i64 = 5;

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// What it does (`billing.generate`, `usage.collect`, …).
    pub kind: String,
    /// Makes the job exist once per kind: a schedule's slot (`collect:fra01@…`) or a
    /// client's idempotency key. `None`: every request is a new job.
    pub run_key: Option<String>,
    /// The job's input, a JSON document its kind defines.
    pub params: String,
    /// Who asked (`user:…`, `schedule`), for the audit log.
    pub requested_by: Option<String>,
    /// Not claimed before this instant.
    pub due_at: i64,
}

/// What queuing a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job with this id.
    New(i64),
    /// A job with the same kind and run key already exists (queued, running or done).
    Existing(i64),
}

impl Enqueued {
    /// The job's id, new or not.
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Existing(id) => id,
        }
    }
}

/// A job this process now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Input (JSON).
    pub params: String,
    /// Who asked.
    pub requested_by: Option<String>,
    /// The claim's fence: renewing and finishing must present it.
    pub fence: i64,
    /// Claims so far, this one included (more than 1: a takeover).
    pub attempts: i64,
    /// When it was first claimed (the Job Maximum Runtime counts from here).
    pub first_claimed_at: i64,
}

/// What renewing a lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Still ours; `cancel_requested` says someone asked to stop it.
    Held {
        /// A person asked to cancel the job.
        cancel_requested: bool,
    },
    /// Another process took it over, or it was failed or cancelled: stop at once.
    Lost,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Done.
    Succeeded,
    /// Failed; the message says why.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl JobEnd {
    /// The status stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobEnd::Succeeded => "succeeded",
            JobEnd::Failed => "failed",
            JobEnd::Cancelled => "cancelled",
        }
    }
}

/// A job as listed: `queued`, `running`, `succeeded`, `failed` or `cancelled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Id.
    pub id: i64,
    /// What it does (`usage.process`, `billing.generate`).
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    pub status: String,
    /// Progress in percent.
    pub progress: i64,
    /// Last message.
    pub message: String,
    /// Schedule slot or idempotency key.
    pub run_key: Option<String>,
    /// Who asked.
    pub requested_by: Option<String>,
    /// The process holding it while it runs.
    pub owner: Option<String>,
    /// Claims so far.
    pub attempts: i64,
    /// Queued (Unix ms).
    pub created_at: Option<i64>,
    /// First claimed (Unix ms).
    pub first_claimed_at: Option<i64>,
    /// Last heartbeat (Unix ms).
    pub heartbeat_at: Option<i64>,
    /// Ended (Unix ms).
    pub finished_at: Option<i64>,
    /// Someone asked to cancel it.
    pub cancel_requested: bool,
    /// The outcome document its kind defines (JSON), once ended.
    pub result: Option<String>,
}

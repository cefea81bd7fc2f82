//! The job queue over SQL. A claim is one conditional `UPDATE` on a candidate's id and
//! fence, committed on its own: its row count says who won. No `SELECT … FOR UPDATE`
//! or `SKIP LOCKED` is used, because on a Galera cluster row locks are per node (two
//! nodes both lock the same row and the second commit fails certification); a failed
//! certification (MySQL error 1213) or a busy database only means another process won.

use sqlx::Row;
use stackbill_store::jobs::MAX_ATTEMPTS;
use stackbill_store::{ClaimedJob, Enqueued, JobEnd, JobRow, NewJob, Renewal, Result, StoreError};

use crate::attempts::batch_token;
use crate::{SqlStore, db, get_i, get_oi, get_os, get_s};

/// Messages are kept to what every dialect's column holds.
const MESSAGE_CHARS: usize = 2000;

/// How many due jobs one claim looks at; the first it wins is taken.
const CANDIDATES: i64 = 16;

const COLUMNS: &str = "id, kind, status, progress, message, run_key, requested_by, owner, \
    attempts, created_at, first_claimed_at, heartbeat_at, finished_at, cancel_requested, result";

fn clip(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// This process's clock, for when a job was queued (shown, never compared across
/// processes).
fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn row(r: &sqlx::any::AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: get_i(r, "id")?,
        kind: get_s(r, "kind")?,
        status: get_s(r, "status")?,
        progress: get_i(r, "progress")?,
        message: get_s(r, "message")?,
        run_key: get_os(r, "run_key")?,
        requested_by: get_os(r, "requested_by")?,
        owner: get_os(r, "owner")?,
        attempts: get_i(r, "attempts")?,
        created_at: get_oi(r, "created_at")?,
        first_claimed_at: get_oi(r, "first_claimed_at")?,
        heartbeat_at: get_oi(r, "heartbeat_at")?,
        finished_at: get_oi(r, "finished_at")?,
        cancel_requested: get_i(r, "cancel_requested")? != 0,
        result: get_os(r, "result")?,
    })
}

/// Whether an error only means another process got there first: a deadlock or a
/// Galera certification failure (MySQL 1213), a lock wait timeout, a busy SQLite.
fn lost_race(store: &SqlStore, e: &sqlx::Error) -> bool {
    (store.dialect.retryable)(e)
}

pub(crate) async fn start_job(store: &SqlStore, kind: &str) -> Result<i64> {
    let token = batch_token();
    sqlx::query("INSERT INTO jobs (token, kind, status, created_at) VALUES (?, ?, 'running', ?)")
        .bind(token.clone())
        .bind(kind.to_owned())
        .bind(now_ms())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    id_of(store, &token).await
}

async fn id_of(store: &SqlStore, token: &str) -> Result<i64> {
    sqlx::query("SELECT id FROM jobs WHERE token = ?")
        .bind(token.to_owned())
        .fetch_one(&store.pool)
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(db)
}

pub(crate) async fn update_job(
    store: &SqlStore,
    id: i64,
    status: &str,
    progress: i64,
    message: &str,
) -> Result<()> {
    let done = sqlx::query("UPDATE jobs SET status = ?, progress = ?, message = ? WHERE id = ?")
        .bind(status.to_owned())
        .bind(progress)
        .bind(clip(message))
        .bind(id)
        .execute(&store.pool)
        .await
        .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            kind: "job",
            id: id.to_string(),
        });
    }
    Ok(())
}

pub(crate) async fn jobs(store: &SqlStore) -> Result<Vec<JobRow>> {
    store
        .list(&format!("SELECT {COLUMNS} FROM jobs ORDER BY id DESC"), row)
        .await
}

pub(crate) async fn counts(store: &SqlStore) -> Result<Vec<(String, String, i64)>> {
    store
        .list(
            "SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status ORDER BY kind, status",
            |r| Ok((get_s(r, "kind")?, get_s(r, "status")?, get_i(r, "n")?)),
        )
        .await
}

pub(crate) async fn job(store: &SqlStore, id: i64) -> Result<Option<JobRow>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await
        .map_err(db)?
        .as_ref()
        .map(row)
        .transpose()
}

pub(crate) async fn enqueue(store: &SqlStore, job: &NewJob) -> Result<Enqueued> {
    let token = batch_token();
    let inserted = sqlx::query(
        "INSERT INTO jobs (token, kind, status, run_key, params, requested_by, due_at, created_at) \
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
    )
    .bind(token.clone())
    .bind(job.kind.clone())
    .bind(job.run_key.clone())
    .bind(job.params.clone())
    .bind(job.requested_by.clone())
    .bind(job.due_at)
    .bind(now_ms())
    .execute(&store.pool)
    .await;
    match inserted {
        Ok(_) => id_of(store, &token).await.map(Enqueued::New),
        Err(sqlx::Error::Database(d)) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            let key = job.run_key.clone().unwrap_or_default();
            sqlx::query("SELECT id FROM jobs WHERE kind = ? AND run_key = ?")
                .bind(job.kind.clone())
                .bind(key)
                .fetch_one(&store.pool)
                .await
                .and_then(|r| r.try_get::<i64, _>(0))
                .map(Enqueued::Existing)
                .map_err(db)
        }
        Err(e) => Err(db(e)),
    }
}

pub(crate) async fn claim(
    store: &SqlStore,
    owner: &str,
    now: i64,
    lease_ms: i64,
) -> Result<Option<ClaimedJob>> {
    let candidates = sqlx::query(
        "SELECT id, fence FROM jobs WHERE due_at <= ? AND cancel_requested = 0 \
         AND (status = 'queued' OR (status = 'running' AND lease_until < ? AND attempts < ?)) \
         ORDER BY due_at, id LIMIT ?",
    )
    .bind(now)
    .bind(now)
    .bind(MAX_ATTEMPTS)
    .bind(CANDIDATES)
    .fetch_all(&store.pool)
    .await
    .map_err(db)?;
    let until = now.saturating_add(lease_ms);
    for candidate in &candidates {
        let id = get_i(candidate, "id")?;
        let fence = get_i(candidate, "fence")?;
        let claimed = sqlx::query(
            "UPDATE jobs SET status = 'running', owner = ?, lease_until = ?, heartbeat_at = ?, \
             fence = fence + 1, attempts = attempts + 1, \
             first_claimed_at = COALESCE(first_claimed_at, ?) \
             WHERE id = ? AND fence = ? AND cancel_requested = 0 \
             AND (status = 'queued' OR (status = 'running' AND lease_until < ? AND attempts < ?))",
        )
        .bind(owner.to_owned())
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(id)
        .bind(fence)
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .execute(&store.pool)
        .await;
        match claimed {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => continue,
            Err(e) if lost_race(store, &e) => continue,
            Err(e) => return Err(db(e)),
        }
        let r = sqlx::query(
            "SELECT kind, params, requested_by, fence, attempts, first_claimed_at \
             FROM jobs WHERE id = ?",
        )
        .bind(id)
        .fetch_one(&store.pool)
        .await
        .map_err(db)?;
        return Ok(Some(ClaimedJob {
            id,
            kind: get_s(&r, "kind")?,
            params: get_os(&r, "params")?.unwrap_or_else(|| "{}".into()),
            requested_by: get_os(&r, "requested_by")?,
            fence: get_i(&r, "fence")?,
            attempts: get_i(&r, "attempts")?,
            first_claimed_at: get_oi(&r, "first_claimed_at")?.unwrap_or(now),
        }));
    }
    Ok(None)
}

pub(crate) async fn renew(
    store: &SqlStore,
    id: i64,
    fence: i64,
    now: i64,
    lease_ms: i64,
    progress: i64,
    message: &str,
) -> Result<Renewal> {
    let renewed = sqlx::query(
        "UPDATE jobs SET lease_until = ?, heartbeat_at = ?, progress = ?, message = ? \
         WHERE id = ? AND fence = ? AND status = 'running'",
    )
    .bind(now.saturating_add(lease_ms))
    .bind(now)
    .bind(progress.clamp(0, 100))
    .bind(clip(message))
    .bind(id)
    .bind(fence)
    .execute(&store.pool)
    .await;
    match renewed {
        Ok(done) if done.rows_affected() == 1 => {}
        Ok(_) => return Ok(Renewal::Lost),
        // Renewal conflicts with another node's write to the same row: try again at the
        // next beat, well inside the lease.
        Err(e) if lost_race(store, &e) => {
            return Ok(Renewal::Held {
                cancel_requested: false,
            });
        }
        Err(e) => return Err(db(e)),
    }
    let cancel = sqlx::query("SELECT cancel_requested FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_one(&store.pool)
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(db)?;
    Ok(Renewal::Held {
        cancel_requested: cancel != 0,
    })
}

pub(crate) async fn finish(
    store: &SqlStore,
    id: i64,
    fence: i64,
    end: JobEnd,
    message: &str,
    result: Option<&str>,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET status = ?, message = ?, result = ?, finished_at = ?, lease_until = NULL, \
         progress = CASE WHEN ? = 'succeeded' THEN 100 ELSE progress END \
         WHERE id = ? AND fence = ? AND status = 'running'",
    )
    .bind(end.as_str())
    .bind(clip(message))
    .bind(result.map(str::to_owned))
    .bind(now)
    .bind(end.as_str())
    .bind(id)
    .bind(fence)
    .execute(&store.pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn cancel(store: &SqlStore, id: i64, now: i64) -> Result<JobRow> {
    sqlx::query(
        "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = ?, \
         message = 'cancelled before it started' WHERE id = ? AND status = 'queued'",
    )
    .bind(now)
    .bind(id)
    .execute(&store.pool)
    .await
    .map_err(db)?;
    sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'")
        .bind(id)
        .execute(&store.pool)
        .await
        .map_err(db)?;
    job(store, id).await?.ok_or_else(|| StoreError::NotFound {
        kind: "job",
        id: id.to_string(),
    })
}

pub(crate) async fn expire(store: &SqlStore, now: i64, max_runtime_ms: i64) -> Result<Vec<i64>> {
    let hours = max_runtime_ms as f64 / 3_600_000.0;
    let gave_up = format!("lease_until < ? AND attempts >= {MAX_ATTEMPTS}");
    let rules: [(&str, String, i64, &str); 3] = [
        (
            "first_claimed_at < ?",
            format!("failed: ran longer than the Job Maximum Runtime ({hours} h)"),
            now.saturating_sub(max_runtime_ms),
            "failed",
        ),
        (
            "cancel_requested = 1 AND lease_until < ?",
            "cancelled; its process stopped before it could".into(),
            now,
            "cancelled",
        ),
        (
            &gave_up,
            format!("failed: given up after {MAX_ATTEMPTS} attempts whose processes stopped"),
            now,
            "failed",
        ),
    ];
    let mut ended = Vec::new();
    for (condition, message, bound, status) in rules {
        let ids = sqlx::query(&format!(
            "SELECT id, fence FROM jobs WHERE status = 'running' AND {condition}"
        ))
        .bind(bound)
        .fetch_all(&store.pool)
        .await
        .map_err(db)?;
        for r in &ids {
            let (id, fence) = (get_i(r, "id")?, get_i(r, "fence")?);
            // The fence moves too, so an owner still running can no longer finish it.
            let done = sqlx::query(
                "UPDATE jobs SET status = ?, message = ?, finished_at = ?, lease_until = NULL, \
                 fence = fence + 1 WHERE id = ? AND fence = ? AND status = 'running'",
            )
            .bind(status)
            .bind(message.clone())
            .bind(now)
            .bind(id)
            .bind(fence)
            .execute(&store.pool)
            .await;
            match done {
                Ok(d) if d.rows_affected() == 1 => ended.push(id),
                Ok(_) => {}
                Err(e) if lost_race(store, &e) => {}
                Err(e) => return Err(db(e)),
            }
        }
    }
    Ok(ended)
}

pub(crate) async fn schedule_mark(store: &SqlStore, name: &str) -> Result<Option<i64>> {
    sqlx::query("SELECT last_slot FROM schedules WHERE name = ?")
        .bind(name.to_owned())
        .fetch_optional(&store.pool)
        .await
        .map_err(db)?
        .map(|r| r.try_get::<i64, _>(0).map_err(db))
        .transpose()
}

pub(crate) async fn advance_schedule(
    store: &SqlStore,
    name: &str,
    seen: Option<i64>,
    slot: i64,
) -> Result<bool> {
    let outcome = match seen {
        None => {
            sqlx::query("INSERT INTO schedules (name, last_slot) VALUES (?, ?)")
                .bind(name.to_owned())
                .bind(slot)
                .execute(&store.pool)
                .await
        }
        Some(seen) => {
            sqlx::query("UPDATE schedules SET last_slot = ? WHERE name = ? AND last_slot = ?")
                .bind(slot)
                .bind(name.to_owned())
                .bind(seen)
                .execute(&store.pool)
                .await
        }
    };
    match outcome {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(sqlx::Error::Database(d)) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            Ok(false)
        }
        Err(e) if lost_race(store, &e) => Ok(false),
        Err(e) => Err(db(e)),
    }
}

//! The job queue: claims by conditional update, leases, fences, takeover, cancellation,
//! the maximum runtime, and schedule marks.

use stackbill_store::jobs::MAX_ATTEMPTS;
use stackbill_store::{Enqueued, JobEnd, NewJob, Renewal, Result, Store};

use super::check;

fn job(kind: &str, key: Option<&str>, due_at: i64) -> NewJob {
    NewJob {
        kind: kind.into(),
        run_key: key.map(str::to_owned),
        params: format!("{{\"n\":\"{kind}\"}}"),
        requested_by: Some("user:ops".into()),
        due_at,
    }
}

/// A job runs under one lease at a time: a second claimer gets nothing while it is
/// held, takes it over once it ends, and the first owner can then neither renew nor
/// finish it. A run key makes a job exist once.
pub async fn job_leases(store: &dyn Store) -> Result<()> {
    let first = store
        .enqueue_job(&job("billing.generate", Some("2026-10"), 0))
        .await?;
    let again = store
        .enqueue_job(&job("billing.generate", Some("2026-10"), 0))
        .await?;
    check(
        matches!(first, Enqueued::New(_)) && again == Enqueued::Existing(first.id()),
        || format!("a run key queued twice: {first:?} {again:?}"),
    )?;
    let later = store
        .enqueue_job(&job("usage.collect", None, 5_000))
        .await?;

    let a = store.claim_job("a", 1_000, 100).await?;
    let a = a.ok_or_else(|| super::fail("nothing claimed".into()))?;
    check(
        a.id == first.id() && a.attempts == 1 && a.first_claimed_at == 1_000,
        || format!("the due job first: {a:?}"),
    )?;
    check(a.params == "{\"n\":\"billing.generate\"}", || {
        format!("params: {}", a.params)
    })?;
    check(store.claim_job("b", 1_050, 100).await?.is_none(), || {
        "a held job and a job not yet due were claimed".into()
    })?;
    let renewed = store
        .renew_job(a.id, a.fence, 1_090, 100, 40, "half")
        .await?;
    check(
        renewed
            == Renewal::Held {
                cancel_requested: false,
            },
        || format!("{renewed:?}"),
    )?;
    check(store.claim_job("b", 1_150, 100).await?.is_none(), || {
        "a renewed lease was taken".into()
    })?;

    // The owner stops renewing: after its lease ends, b takes the job over.
    let b = store
        .claim_job("b", 1_191, 100)
        .await?
        .ok_or_else(|| super::fail("no takeover".into()))?;
    check(
        b.id == a.id && b.attempts == 2 && b.fence > a.fence && b.first_claimed_at == 1_000,
        || format!("takeover: {b:?} after {a:?}"),
    )?;
    check(
        store.renew_job(a.id, a.fence, 1_200, 100, 50, "x").await? == Renewal::Lost,
        || "the old owner renewed".into(),
    )?;
    check(
        !store
            .finish_job(a.id, a.fence, JobEnd::Succeeded, "stale", None, 1_200)
            .await?,
        || "the old owner finished".into(),
    )?;
    check(
        store
            .finish_job(
                b.id,
                b.fence,
                JobEnd::Succeeded,
                "done",
                Some("{\"previews\":2}"),
                1_250,
            )
            .await?,
        || "the owner could not finish".into(),
    )?;
    let row = store
        .job(a.id)
        .await?
        .ok_or_else(|| super::fail("job gone".into()))?;
    check(
        row.status == "succeeded"
            && row.progress == 100
            && row.message == "done"
            && row.result.as_deref() == Some("{\"previews\":2}")
            && row.owner.as_deref() == Some("b")
            && row.attempts == 2
            && row.finished_at == Some(1_250)
            && row.run_key.as_deref() == Some("2026-10")
            && row.requested_by.as_deref() == Some("user:ops"),
        || format!("{row:?}"),
    )?;
    check(
        !store
            .finish_job(b.id, b.fence, JobEnd::Failed, "x", None, 1_300)
            .await?,
        || "a finished job was finished again".into(),
    )?;
    let due = store.claim_job("a", 5_000, 100).await?;
    check(due.map(|j| j.id) == Some(later.id()), || {
        "the job due at 5000 was not claimed then".into()
    })
}

/// Cancelling a queued job ends it; a running one is asked to stop (its owner sees it
/// at the next renewal), and if the owner is gone the job ends when its lease does.
/// Jobs past the maximum runtime, and jobs whose owners kept dying, are failed.
pub async fn job_endings(store: &dyn Store) -> Result<()> {
    let queued = store
        .enqueue_job(&job("usage.process", None, 0))
        .await?
        .id();
    let row = store.cancel_job(queued, 10).await?;
    check(row.status == "cancelled" && row.cancel_requested, || {
        format!("{row:?}")
    })?;
    check(store.claim_job("a", 20, 100).await?.is_none(), || {
        "a cancelled job was claimed".into()
    })?;

    let running = store
        .enqueue_job(&job("usage.process", None, 0))
        .await?
        .id();
    let held = store
        .claim_job("a", 30, 100)
        .await?
        .ok_or_else(|| super::fail("nothing claimed".into()))?;
    let row = store.cancel_job(running, 40).await?;
    check(row.status == "running" && row.cancel_requested, || {
        format!("{row:?}")
    })?;
    check(
        store
            .renew_job(held.id, held.fence, 50, 100, 10, "x")
            .await?
            == Renewal::Held {
                cancel_requested: true,
            },
        || "the owner was not told".into(),
    )?;
    // The owner dies before stopping: the job ends as cancelled once its lease has.
    check(store.expire_jobs(100, 3_600_000).await?.is_empty(), || {
        "a live lease was ended".into()
    })?;
    check(store.claim_job("b", 200, 100).await?.is_none(), || {
        "a job being cancelled was taken over".into()
    })?;
    check(
        store.expire_jobs(200, 3_600_000).await? == vec![running],
        || "the cancelled job did not end".into(),
    )?;
    check(
        store.job(running).await?.map(|j| j.status) == Some("cancelled".into()),
        || "not cancelled".into(),
    )?;

    // Past the maximum runtime, counted from the first claim, whoever holds it now.
    let long = store
        .enqueue_job(&job("billing.generate", None, 0))
        .await?
        .id();
    let held = store
        .claim_job("a", 1_000, 10_000)
        .await?
        .ok_or_else(|| super::fail("nothing claimed".into()))?;
    check(held.id == long, || "wrong job".into())?;
    check(store.expire_jobs(5_000, 5_000).await?.is_empty(), || {
        "failed before its maximum runtime".into()
    })?;
    check(store.expire_jobs(6_001, 5_000).await? == vec![long], || {
        "not failed after its maximum runtime".into()
    })?;
    let row = store
        .job(long)
        .await?
        .ok_or_else(|| super::fail("job gone".into()))?;
    check(
        row.status == "failed" && row.message.contains("Job Maximum Runtime"),
        || format!("{row:?}"),
    )?;
    check(
        !store
            .finish_job(long, held.fence, JobEnd::Succeeded, "late", None, 7_000)
            .await?,
        || "the owner finished a job failed for its runtime".into(),
    )?;

    // Owners that keep dying: after MAX_ATTEMPTS claims the job is given up.
    let doomed = store
        .enqueue_job(&job("usage.collect", None, 0))
        .await?
        .id();
    let mut now = 10_000;
    for _ in 0..MAX_ATTEMPTS {
        let held = store.claim_job("x", now, 10).await?;
        check(held.map(|j| j.id) == Some(doomed), || {
            format!("claim at {now}")
        })?;
        now += 11;
    }
    check(store.claim_job("y", now, 10).await?.is_none(), || {
        "claimed past the attempts".into()
    })?;
    check(
        store.expire_jobs(now, 3_600_000).await? == vec![doomed],
        || "not given up".into(),
    )?;
    let row = store
        .job(doomed)
        .await?
        .ok_or_else(|| super::fail("job gone".into()))?;
    check(
        row.status == "failed" && row.attempts == MAX_ATTEMPTS,
        || format!("{row:?}"),
    )
}

/// Many claimers at once on several connections: every job is claimed exactly once.
pub async fn job_claims_race(store: &dyn Store) -> Result<()> {
    const JOBS: usize = 60;
    for i in 0..JOBS {
        store
            .enqueue_job(&job("billing.generate", Some(&format!("k{i}")), 0))
            .await?;
    }
    let claimer = |owner: String| async move {
        let mut mine = Vec::new();
        while let Some(j) = store.claim_job(&owner, 100, 60_000).await? {
            if !store
                .finish_job(j.id, j.fence, JobEnd::Succeeded, &owner, None, 100)
                .await?
            {
                return Err(super::fail(format!("{owner} lost job {}", j.id)));
            }
            mine.push(j.id);
        }
        Ok::<_, stackbill_store::StoreError>(mine)
    };
    let all = futures::future::join_all((0..6).map(|n| claimer(format!("p{n}")))).await;
    let mut ids = Vec::new();
    for r in all {
        ids.extend(r?);
    }
    let claimed = ids.len();
    ids.sort_unstable();
    ids.dedup();
    check(claimed == JOBS && ids.len() == JOBS, || {
        format!(
            "{claimed} claims of {} distinct jobs, {JOBS} queued",
            ids.len()
        )
    })?;
    let rows = store.jobs().await?;
    check(
        rows.iter()
            .all(|r| r.status == "succeeded" && r.attempts == 1),
        || "a job ran twice or not at all".into(),
    )
}

/// A schedule moves from the mark it read to the next slot once: of two processes
/// that read the same mark, one advances it.
pub async fn schedule_marks(store: &dyn Store) -> Result<()> {
    check(
        store.schedule_mark("collect:fra01").await?.is_none(),
        || "a new schedule has a mark".into(),
    )?;
    check(
        store.advance_schedule("collect:fra01", None, 100).await?,
        || "the first mark".into(),
    )?;
    check(
        !store.advance_schedule("collect:fra01", None, 100).await?,
        || "two first marks".into(),
    )?;
    check(
        store
            .advance_schedule("collect:fra01", Some(100), 200)
            .await?,
        || "advance".into(),
    )?;
    check(
        !store
            .advance_schedule("collect:fra01", Some(100), 300)
            .await?,
        || "advanced from a stale mark".into(),
    )?;
    check(
        store.schedule_mark("collect:fra01").await? == Some(200),
        || "mark".into(),
    )
}

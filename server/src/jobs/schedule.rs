//! Schedules: every server process looks at them each tick and queues the job of each
//! slot that has come due, named by its slot (`invoices.month_end@2026-12-01T01:00:00Z`),
//! so a slot's job exists once however many processes queue it. A schedule remembers the
//! last slot queued; slots missed while no process ran are queued on the next tick (all
//! of them where each matters, such as a month's invoices; only the newest where one run
//! covers the gap, such as collection, which resumes where it stopped). A schedule seen
//! for the first time starts at its latest slot without running it: a new database does
//! not bill the past because a server started.
//!
//! The month-end run is the platform's full billing run of the month that ended, which
//! writes its commission summaries too; it is queued when Auto Create Invoices is on, and
//! so is the daily submission that issues a closed month's previews once the Invoice
//! Submission Delay has passed (`super::submission`).

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use stackbill_core::schedule::{Cron, slot_name};

use super::submit;
use crate::api::AppState;
use crate::api::wire::{ApiError, ApiResult};

/// Most missed slots queued for one schedule after downtime.
const CATCH_UP_LIMIT: usize = 24;

/// When a schedule's slots fall.
#[derive(Debug, Clone)]
enum Calendar {
    /// Every so often, on multiples of the period since the Unix epoch.
    Every(Duration),
    /// A cron calendar in the platform's time zone.
    Cron(Cron),
}

/// What a slot queues.
#[derive(Debug, Clone)]
enum Action {
    /// Collect a region's recent hours.
    Collect(String),
    /// Re-rate the month so far (the month the slot's previous day is in) into previews.
    NightlyProcessing,
    /// Write the previews (and commission summaries) of the month that just ended,
    /// when Auto Create Invoices is on.
    MonthEndInvoices,
    /// Issue the previews of the latest month whose submission delay has passed, when
    /// Auto Create Invoices is on.
    SubmitInvoices,
    /// Check plan quotas against the last whole UTC day's usage.
    QuotaCheck,
    /// Check tenants' Entra tenants, when Perform Tenant Identity Health Checks is on.
    IdentityCheck,
    /// Copy issued invoices to Azure Blob storage, when Store Invoices In Azure Storage
    /// is on.
    ArchiveInvoices,
    /// E-mail notices of delinquent invoices, when Send Delinquent Payment Notifications
    /// is on.
    DelinquentNotices,
}

/// A schedule.
#[derive(Debug, Clone)]
struct Schedule {
    name: String,
    calendar: Calendar,
    /// Whether every missed slot runs (else only the newest).
    each_missed: bool,
    action: Action,
}

/// The calendars of the platform's own schedules.
const NIGHTLY: &str = "0 2 * * *";
const MONTH_END_INVOICES: &str = "0 1 1 * *";
/// After the month-end (01:00) and nightly (02:00) runs.
const SUBMIT_INVOICES: &str = "0 3 * * *";
/// Hourly, so usage collected late into yesterday still warns the same day.
const QUOTA_CHECK: &str = "20 * * * *";
const IDENTITY_CHECK: &str = "0 4 * * *";
/// Hourly: issued invoices reach the archive within the hour, and a failed upload is
/// retried the next hour.
const ARCHIVE_INVOICES: &str = "40 * * * *";
/// Daily, after submission (03:00): notices go out in the morning.
const DELINQUENT_NOTICES: &str = "0 6 * * *";

/// Every schedule as configured now: collection per collected region (when the server
/// collects on a schedule), nightly processing, and the month-end runs.
async fn schedules(state: &AppState) -> ApiResult<Vec<Schedule>> {
    let mut out = Vec::new();
    if let Some(every) = state.config.collect_every {
        for region in state.store().regions().await? {
            if crate::api::collection::RegionCollection::of(&region).is_some() {
                out.push(Schedule {
                    name: format!("collect:{}", region.id),
                    calendar: Calendar::Every(every),
                    each_missed: false,
                    action: Action::Collect(region.id),
                });
            }
        }
    }
    let cron = |text: &str| {
        Cron::parse(text).map_err(|e| ApiError::internal(format!("schedule {text:?}: {e}")))
    };
    out.push(Schedule {
        name: "usage.nightly".into(),
        calendar: Calendar::Cron(cron(NIGHTLY)?),
        each_missed: false,
        action: Action::NightlyProcessing,
    });
    out.push(Schedule {
        name: "invoices.month_end".into(),
        calendar: Calendar::Cron(cron(MONTH_END_INVOICES)?),
        each_missed: true,
        action: Action::MonthEndInvoices,
    });
    out.push(Schedule {
        name: "invoices.submit".into(),
        calendar: Calendar::Cron(cron(SUBMIT_INVOICES)?),
        each_missed: false,
        action: Action::SubmitInvoices,
    });
    out.push(Schedule {
        name: "alerts.quota".into(),
        calendar: Calendar::Cron(cron(QUOTA_CHECK)?),
        each_missed: false,
        action: Action::QuotaCheck,
    });
    out.push(Schedule {
        name: "invoices.archive".into(),
        calendar: Calendar::Cron(cron(ARCHIVE_INVOICES)?),
        each_missed: false,
        action: Action::ArchiveInvoices,
    });
    out.push(Schedule {
        name: "invoices.delinquent".into(),
        calendar: Calendar::Cron(cron(DELINQUENT_NOTICES)?),
        each_missed: false,
        action: Action::DelinquentNotices,
    });
    out.push(Schedule {
        name: "tenants.identity".into(),
        calendar: Calendar::Cron(cron(IDENTITY_CHECK)?),
        each_missed: false,
        action: Action::IdentityCheck,
    });
    Ok(out)
}

/// The slots of `calendar` in `(after, now]` (or the newest at or before `now` when the
/// schedule never ran), oldest first.
fn due_slots(
    calendar: &Calendar,
    after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<DateTime<Utc>> {
    match calendar {
        Calendar::Cron(c) => match after {
            Some(after) => c.slots_between(after, now, tz, CATCH_UP_LIMIT),
            None => c.last_at_or_before(now, tz).into_iter().collect(),
        },
        Calendar::Every(every) => {
            let period = i64::try_from(every.as_millis())
                .unwrap_or(i64::MAX)
                .max(1000);
            let ms = now.timestamp_millis();
            let latest = ms.saturating_sub(ms.rem_euclid(period));
            let mut out = Vec::new();
            let mut slot = latest;
            while out.len() < CATCH_UP_LIMIT {
                if after.is_some_and(|a| slot <= a.timestamp_millis()) {
                    break;
                }
                if let Some(t) = DateTime::from_timestamp_millis(slot) {
                    out.push(t);
                }
                if after.is_none() {
                    break;
                }
                slot = slot.saturating_sub(period);
            }
            out.reverse();
            out
        }
    }
}

/// The platform's time zone (System Settings → Billing), UTC when unset.
fn platform_zone(settings: &Value) -> Tz {
    settings["billing"]["timeZone"]
        .as_str()
        .and_then(|z| z.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// The month before the one `slot` falls in, in `tz` (`YYYY-MM`).
fn month_before(slot: DateTime<Utc>, tz: Tz) -> String {
    let local = slot.with_timezone(&tz);
    let (year, month) = if local.month() == 1 {
        (local.year().saturating_sub(1), 12)
    } else {
        (local.year(), local.month().saturating_sub(1))
    };
    format!("{year:04}-{month:02}")
}

/// The month of the day before `slot`, in `tz`.
fn month_so_far(slot: DateTime<Utc>, tz: Tz) -> String {
    let day_before = slot
        .checked_sub_signed(chrono::Duration::days(1))
        .unwrap_or(slot)
        .with_timezone(&tz);
    format!("{:04}-{:02}", day_before.year(), day_before.month())
}

/// Queues the job of one slot (once per slot across processes); `false` when the slot
/// has nothing to do (the month-end run with Auto Create Invoices off).
async fn queue(
    state: &AppState,
    schedule: &Schedule,
    slot: DateTime<Utc>,
    tz: Tz,
    settings: &Value,
) -> ApiResult<bool> {
    let run_key = Some(format!("{}@{}", schedule.name, slot_name(slot)));
    match &schedule.action {
        Action::Collect(region) => {
            crate::api::collection::schedule_collect(state, region, &slot_name(slot))
                .await
                .map(|()| true)
        }
        Action::NightlyProcessing => {
            let params = json!({"period": month_so_far(slot, tz), "tenants": null});
            submit(state, "billing.generate", &params, run_key, "schedule")
                .await
                .map(|_| true)
        }
        Action::MonthEndInvoices => {
            if settings["invoices"]["autoCreateInvoices"].as_bool() != Some(true) {
                return Ok(false);
            }
            let params = json!({"period": month_before(slot, tz), "tenants": null});
            submit(state, "billing.generate", &params, run_key, "schedule")
                .await
                .map(|_| true)
        }
        Action::SubmitInvoices => {
            if settings["invoices"]["autoCreateInvoices"].as_bool() != Some(true) {
                return Ok(false);
            }
            let day = slot.with_timezone(&tz).date_naive();
            let delay = super::submission::delay_days(settings);
            let params = json!({
                "period": super::submission::period_due(day, delay),
                "issueDate": day.format("%Y-%m-%d").to_string(),
            });
            submit(state, "invoices.submit", &params, run_key, "schedule")
                .await
                .map(|_| true)
        }
        Action::QuotaCheck => {
            let day = slot.timestamp().div_euclid(86_400).saturating_sub(1);
            submit(
                state,
                "alerts.quota",
                &json!({"day": day}),
                run_key,
                "schedule",
            )
            .await
            .map(|_| true)
        }
        Action::ArchiveInvoices => {
            if settings["invoices"]["storeInvoicesInAzureStorage"].as_bool() != Some(true) {
                return Ok(false);
            }
            submit(state, "invoices.archive", &json!({}), run_key, "schedule")
                .await
                .map(|_| true)
        }
        Action::DelinquentNotices => {
            if settings["invoices"]["sendDelinquentPaymentNotifications"].as_bool() != Some(true) {
                return Ok(false);
            }
            submit(
                state,
                "invoices.delinquent",
                &json!({}),
                run_key,
                "schedule",
            )
            .await
            .map(|_| true)
        }
        Action::IdentityCheck => {
            if settings["subscriptions"]["performTenantIdentityHealthChecks"].as_bool()
                != Some(true)
            {
                return Ok(false);
            }
            submit(state, "tenants.identity", &json!({}), run_key, "schedule")
                .await
                .map(|_| true)
        }
    }
}

/// One look at every schedule: queues what came due since its mark and moves the mark.
pub(crate) async fn tick(state: &AppState, now: DateTime<Utc>) -> ApiResult<usize> {
    super::checks::sign_in_failures(state, now.timestamp()).await?;
    super::checks::certificate(state, now.timestamp()).await?;
    // Alert events are handed to forwarding on the same beat.
    let forwarded = crate::forwarding::queue_pending(state).await?;
    let snapshot = state.snapshot().await?;
    let tz = platform_zone(&snapshot.settings);
    let mut queued = forwarded;
    for schedule in schedules(state).await? {
        let mark = state.store().schedule_mark(&schedule.name).await?;
        let after = mark.and_then(DateTime::from_timestamp_millis);
        let mut due = due_slots(&schedule.calendar, after, now, tz);
        if mark.is_none() {
            // First seen: start here.
            if let Some(latest) = due.last() {
                state
                    .store()
                    .advance_schedule(&schedule.name, None, latest.timestamp_millis())
                    .await?;
            }
            continue;
        }
        if !schedule.each_missed && due.len() > 1 {
            due.drain(..due.len().saturating_sub(1));
        }
        let Some(last) = due.last().copied() else {
            continue;
        };
        for slot in &due {
            if queue(state, &schedule, *slot, tz, &snapshot.settings).await? {
                queued = queued.saturating_add(1);
            }
        }
        // Another process may have moved the mark meanwhile: the run keys made its jobs
        // and ours the same jobs.
        state
            .store()
            .advance_schedule(&schedule.name, mark, last.timestamp_millis())
            .await?;
    }
    Ok(queued)
}

/// Looks at the schedules every `every` until the process ends.
pub(crate) fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&state, Utc::now()).await {
                tracing::error!(error = %e, "schedules");
            }
            tokio::time::sleep(every).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::test_support::process;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn interval_slots_are_aligned_and_caught_up() {
        let hourly = Calendar::Every(Duration::from_secs(3600));
        let now = utc("2026-12-06T10:20:00Z");
        assert_eq!(
            due_slots(&hourly, None, now, Tz::UTC),
            vec![utc("2026-12-06T10:00:00Z")]
        );
        assert_eq!(
            due_slots(&hourly, Some(utc("2026-12-06T07:00:00Z")), now, Tz::UTC),
            vec![
                utc("2026-12-06T08:00:00Z"),
                utc("2026-12-06T09:00:00Z"),
                utc("2026-12-06T10:00:00Z")
            ]
        );
        assert!(due_slots(&hourly, Some(utc("2026-12-06T10:00:00Z")), now, Tz::UTC).is_empty());
    }

    #[test]
    fn month_end_bills_the_month_that_ended_in_the_platform_zone() {
        let tz: Tz = "Pacific/Auckland".parse().unwrap_or(Tz::UTC);
        // 01:00 on 1 January in Auckland is 12:00 UTC on 31 December.
        let slot = utc("2026-12-31T12:00:00Z");
        assert_eq!(month_before(slot, tz), "2026-12");
        assert_eq!(
            month_before(utc("2027-01-01T01:00:00Z"), Tz::UTC),
            "2026-12"
        );
        assert_eq!(
            month_so_far(utc("2026-12-01T02:00:00Z"), Tz::UTC),
            "2026-11"
        );
        assert_eq!(
            month_so_far(utc("2026-12-06T02:00:00Z"), Tz::UTC),
            "2026-12"
        );
    }

    /// Two processes look at the schedules after three month ends passed with neither
    /// running: each month's run is queued once, the nightly run, the submission and the
    /// quota check only for the newest slot, and nothing more on the next look.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missed_slots_are_queued_once_each_across_processes() {
        let dir = std::env::temp_dir().join(format!(
            "stackbill-schedule-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/db.sqlite", dir.display());
        let a = process(&url, &dir).await;
        let b = process(&url, &dir).await;
        a.store()
            .put_settings("invoices", &json!({"autoCreateInvoices": true}))
            .await
            .unwrap();
        a.refresh().await.unwrap();
        b.refresh().await.unwrap();

        // First seen: the schedules start at their latest slots and queue nothing.
        assert_eq!(tick(&a, utc("2026-09-15T00:00:00Z")).await.unwrap(), 0);
        let now = utc("2026-12-06T00:00:00Z");
        let (qa, qb) = futures::future::join(tick(&a, now), tick(&b, now)).await;
        let queued = qa.unwrap() + qb.unwrap();
        let jobs = a.store().jobs().await.unwrap();
        let mut keys: Vec<(String, String)> = jobs
            .iter()
            .map(|j| (j.run_key.clone().unwrap_or_default(), j.kind.clone()))
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                (
                    "alerts.quota@2026-12-05T23:20:00Z".to_owned(),
                    "alerts.quota".to_owned()
                ),
                (
                    "invoices.month_end@2026-10-01T01:00:00Z".to_owned(),
                    "billing.generate".to_owned()
                ),
                (
                    "invoices.month_end@2026-11-01T01:00:00Z".to_owned(),
                    "billing.generate".to_owned()
                ),
                (
                    "invoices.month_end@2026-12-01T01:00:00Z".to_owned(),
                    "billing.generate".to_owned()
                ),
                (
                    "invoices.submit@2026-12-05T03:00:00Z".to_owned(),
                    "invoices.submit".to_owned()
                ),
                (
                    "usage.nightly@2026-12-05T02:00:00Z".to_owned(),
                    "billing.generate".to_owned()
                ),
            ]
        );
        // Each process may have queued a slot the other had: the jobs exist once.
        assert!(queued >= 6, "{queued}");
        assert_eq!(tick(&a, now).await.unwrap(), 0);
        assert_eq!(a.store().jobs().await.unwrap().len(), 6);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! A collection run: reported hours `[from, to)` of one region, page by page, each page
//! stored and then checkpointed.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::Utc;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use stackbill_store::Store;

use crate::arm::{Arm, redact};
use crate::identity::Identities;
use crate::page::parse_page;
use crate::region::same_origin;
use crate::sink::{Sink, instant};
use crate::{CollectError, Stats};

const HOUR_NS: i64 = 3_600_000_000_000;
const USAGE_API: &str = "2015-06-01-preview";

/// How a run behaves.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Skip the all-subscriber query and ask per subscriber from the start.
    pub per_subscriber: bool,
    /// Subscribers asked at once in per-subscriber mode (at least 1). The all-subscriber
    /// query is one request at a time.
    pub concurrency: usize,
}

/// A lease the run holds on its region (`collect:ID`), renewed before every reported
/// hour; a run that finds it taken by another process stops.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The holder's name (unique per process).
    pub owner: String,
    /// How long each renewal holds it, in seconds.
    pub hold_secs: i64,
}

impl Lease {
    /// Takes or renews the lease on `region`; `Busy` when another holder has it.
    pub async fn take(&self, store: &dyn Store, region: &str) -> Result<(), CollectError> {
        let now = Utc::now().timestamp();
        let name = format!("collect:{region}");
        if store
            .try_lease(&name, &self.owner, now, now.saturating_add(self.hold_secs))
            .await?
        {
            Ok(())
        } else {
            Err(CollectError::Busy(format!(
                "region {region} is being collected by another process; try again when it is done"
            )))
        }
    }

    /// Gives the lease on `region` up (best effort: it expires anyway).
    pub async fn release(&self, store: &dyn Store, region: &str) {
        store
            .release_lease(&format!("collect:{region}"), &self.owner)
            .await
            .ok();
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            per_subscriber: false,
            concurrency: 4,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Reported hours completed.
    pub windows: u64,
    /// Pages stored.
    pub pages: u64,
    /// Rows stored for the first time.
    pub new: u64,
    /// Rows already stored, unchanged.
    pub duplicate: u64,
    /// Rows that replaced a stored row of the same id (a corrected re-report).
    pub replaced: u64,
    /// Rows that could not be read, kept with the reason.
    pub rejected: u64,
    /// Rows of subscriptions StackBill does not know (stored, reported unbilled).
    pub unknown_subscription_rows: u64,
    /// Rows of the provider's own subscriptions (stored, never billed to a tenant).
    pub provider_rows: u64,
    /// Subscriptions created under the configured tenant (Auto Create Missing
    /// Subscriptions).
    pub created_subscriptions: Vec<String>,
    /// Meter ids not in the catalogue (stored; they need a meter and a price).
    pub unknown_meters: Vec<String>,
    /// Hours collected per subscriber after the all-subscriber query kept timing out.
    pub per_subscriber_windows: u64,
    /// Subscribers the stamp refused to report on (not a direct tenant), with why.
    pub skipped_subscribers: Vec<String>,
    /// Requests sent, retries among them, tokens fetched.
    pub requests: u64,
    /// Requests retried.
    pub retries: u64,
    /// Tokens fetched.
    pub tokens: u64,
    /// Whether the run continued an interrupted one.
    pub resumed: bool,
    /// The stamp's user subscriptions compared with StackBill's of the region, after
    /// the usage was collected (or why the comparison could not be made).
    pub reconciliation: Option<crate::provision::Reconciliation>,
    /// Why the subscription lists could not be compared, if they could not.
    pub reconciliation_error: Option<String>,
}

/// Where a run stands after each stored page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cursor {
    from: i64,
    to: i64,
    /// The reported hour being collected.
    window: i64,
    /// The next page of it, when one or more pages are stored.
    next_link: Option<String>,
    /// Per-subscriber mode: the subscribers and the one being collected.
    subscribers: Option<Vec<String>>,
    subscriber: usize,
}

/// The region's collection document in the store.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    /// An unfinished run.
    cursor: Option<Cursor>,
    /// The last finished run: when, its range and report.
    last_run: Option<serde_json::Value>,
    /// The last failure, if the last run failed.
    last_error: Option<String>,
}

/// Progress of a run, after each page.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Reported hours done.
    pub windows_done: u64,
    /// Reported hours in the run.
    pub windows_total: u64,
    /// Rows stored so far (new, duplicate or replaced).
    pub rows: u64,
}

/// Collects one region's usage into a store.
pub struct Collector {
    lease: Option<Lease>,
    arm: Arm,
    store: Arc<dyn Store>,
    options: Options,
    stats: Stats,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("region", &self.arm.region().id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

use crate::provision::is_guid;

impl Collector {
    /// A collector for the region `arm` talks to.
    pub fn new(arm: Arm, store: Arc<dyn Store>, options: Options) -> Self {
        Collector {
            lease: None,
            arm,
            store,
            options,
            stats: Stats::default(),
        }
    }

    /// Collects reported hours `[from, to)` (Unix nanoseconds, on whole hours). An
    /// unfinished run of the same range continues at the page after its last stored one;
    /// an unfinished run of another range that stopped earlier is folded in, so no hour
    /// is ever skipped.
    pub async fn collect(
        &self,
        from: i64,
        to: i64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<RunReport, CollectError> {
        whole_hours(from, to)?;
        let region = self.arm.region().id.clone();
        let mut state: State = match self.store.collection_state(&region).await? {
            Some(v) => serde_json::from_value(v).unwrap_or_default(),
            None => State::default(),
        };
        let mut report = RunReport::default();
        // An unfinished run of the same range continues where it stopped; one of another
        // range is folded in (this run covers both), so no hour is ever skipped.
        let (from, to, mut cursor) = match state.cursor.take() {
            Some(c) if c.from == from && c.to == to => {
                report.resumed = true;
                (from, to, c)
            }
            Some(c) => {
                let (f, t) = (from.min(c.window), to.max(c.to));
                (f, t, fresh(f, t))
            }
            None => (from, to, fresh(from, to)),
        };
        let mut sink = Sink::open(
            self.store.as_ref(),
            &region,
            &operator_subscriptions(self.arm.region()),
        )
        .await?;
        let total = u64::try_from((to - from) / HOUR_NS).unwrap_or(0);
        let result = async {
            while cursor.window < to {
                self.renew_lease().await?;
                self.window(&mut cursor, &mut sink, &mut report, &mut state)
                    .await?;
                report.windows = report.windows.saturating_add(1);
                cursor.window = cursor.window.saturating_add(HOUR_NS);
                cursor.next_link = None;
                cursor.subscribers = None;
                cursor.subscriber = 0;
                state.cursor = Some(cursor.clone());
                self.save(&region, &state).await?;
                progress(Progress {
                    windows_done: u64::try_from((cursor.window - from) / HOUR_NS).unwrap_or(0),
                    windows_total: total,
                    rows: report.new + report.duplicate + report.replaced,
                });
            }
            Ok::<(), CollectError>(())
        }
        .await;
        report.unknown_meters = std::mem::take(&mut sink.unknown_meters)
            .into_iter()
            .collect();
        if result.is_ok() {
            match self.reconcile(&region).await {
                Ok(r) => report.reconciliation = Some(r),
                Err(e) => report.reconciliation_error = Some(e.to_string()),
            }
        }
        report.requests = self.stats.requests();
        report.retries = self.stats.retries();
        report.tokens = self.stats.tokens();
        match result {
            Ok(()) => {
                state.cursor = None;
                state.last_error = None;
                state.last_run = Some(serde_json::json!({
                    "finishedAt": instant(Utc::now().timestamp_nanos_opt().unwrap_or(0)),
                    "from": instant(from),
                    "to": instant(to),
                    "report": report,
                }));
                self.save(&region, &state).await?;
                Ok(report)
            }
            Err(e) => {
                state.last_error = Some(e.to_string());
                // The cursor stays where the run stopped: the next run resumes at it.
                state.cursor = Some(cursor);
                self.save(&region, &state).await.ok();
                Err(e)
            }
        }
    }

    /// Collects one stamp subscription's reported hours `[from, to)`: the manual's Update
    /// Usage on a subscription, asked with `subscriberId` so the stamp reads only its
    /// rows. A row gets the id a region run gives it (identity does not depend on how the
    /// hour was asked for), so what a region run stored counts as duplicate here and the
    /// other way round. The region's resumable cursor is neither read nor moved: an
    /// interrupted run is simply run again, storing nothing twice.
    pub async fn collect_subscriber(
        &self,
        subscriber: &str,
        from: i64,
        to: i64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<RunReport, CollectError> {
        whole_hours(from, to)?;
        if !is_guid(subscriber) {
            return Err(CollectError::Config {
                field: "subscription",
                message: format!(
                    "{subscriber:?} is not a stamp subscription id (a GUID): its usage cannot be asked for"
                ),
            });
        }
        let region = self.arm.region().id.clone();
        let mut sink = Sink::open(
            self.store.as_ref(),
            &region,
            &operator_subscriptions(self.arm.region()),
        )
        .await?;
        let mut report = RunReport::default();
        let total = u64::try_from((to - from) / HOUR_NS).unwrap_or(0);
        let mut window = from;
        while window < to {
            self.renew_lease().await?;
            let span = (window, window.saturating_add(HOUR_NS));
            let mut ids = Identities::new(&region, span);
            for page in self.fetch_all(window, subscriber).await? {
                sink.store_page(span, page, &mut ids, &mut report).await?;
                report.pages = report.pages.saturating_add(1);
            }
            report.windows = report.windows.saturating_add(1);
            window = span.1;
            progress(Progress {
                windows_done: u64::try_from((window - from) / HOUR_NS).unwrap_or(0),
                windows_total: total,
                rows: report.new + report.duplicate + report.replaced,
            });
        }
        report.unknown_meters = std::mem::take(&mut sink.unknown_meters)
            .into_iter()
            .collect();
        report.requests = self.stats.requests();
        report.retries = self.stats.retries();
        report.tokens = self.stats.tokens();
        Ok(report)
    }

    /// Runs under `lease`: taken before the first hour and renewed before each.
    pub fn with_lease(mut self, lease: Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    async fn renew_lease(&self) -> Result<(), CollectError> {
        match &self.lease {
            Some(lease) => lease.take(self.store.as_ref(), &self.arm.region().id).await,
            None => Ok(()),
        }
    }

    /// The stamp's user subscriptions against StackBill's subscriptions of the region.
    async fn reconcile(
        &self,
        region: &str,
    ) -> Result<crate::provision::Reconciliation, CollectError> {
        let ours: Vec<String> = self
            .store
            .subscriptions()
            .await?
            .into_iter()
            .filter(|s| s.region.eq_ignore_ascii_case(region))
            .map(|s| s.id)
            .collect();
        crate::provision::reconcile(&self.arm, &ours, &self.stats).await
    }

    async fn save(&self, region: &str, state: &State) -> Result<(), CollectError> {
        let doc = serde_json::to_value(state)
            .map_err(|e| CollectError::Protocol(format!("collection state: {e}")))?;
        Ok(self.store.put_collection_state(region, &doc).await?)
    }

    fn first_url(&self, window: i64, subscriber: Option<&str>) -> Result<Url, CollectError> {
        let region = self.arm.region();
        let mut url = region
            .arm
            .join(&format!(
                "subscriptions/{}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
                region.provider_subscription
            ))
            .map_err(|e| CollectError::Protocol(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", USAGE_API)
                .append_pair("reportedStartTime", &instant(window))
                .append_pair("reportedEndTime", &instant(window + HOUR_NS))
                .append_pair("aggregationGranularity", "Hourly");
            if let Some(s) = subscriber {
                q.append_pair("subscriberId", s);
            }
        }
        Ok(url)
    }

    /// Collects one reported hour from where `cursor` stands.
    async fn window(
        &self,
        cursor: &mut Cursor,
        sink: &mut Sink<'_>,
        report: &mut RunReport,
        state: &mut State,
    ) -> Result<(), CollectError> {
        let region = self.arm.region().id.clone();
        let window = (cursor.window, cursor.window + HOUR_NS);
        if cursor.subscribers.is_none() && !self.options.per_subscriber {
            let mut ids = Identities::new(&region, window);
            match self
                .pages(cursor, None, &mut ids, sink, report, state)
                .await
            {
                Ok(()) => return Ok(()),
                Err(CollectError::GatewayTimeout(_)) => {}
                Err(e) => return Err(e),
            }
        }
        // The all-subscriber query keeps timing out (or was not wanted): ask per
        // subscriber, as Microsoft's own scripts do on large stamps. Rows already stored
        // from the all-subscriber pages come again: they must get the same ids (so count
        // as duplicates), not `~2` repeats, hence names counted afresh.
        let mut ids = Identities::new(&region, window);
        if cursor.subscribers.is_none() {
            cursor.subscribers = Some(self.subscribers().await?);
            cursor.subscriber = 0;
            cursor.next_link = None;
        }
        report.per_subscriber_windows = report.per_subscriber_windows.saturating_add(1);
        let subscribers = cursor.subscribers.clone().unwrap_or_default();
        let skip = |s: &str, e: CollectError, report: &mut RunReport| match e {
            CollectError::Api {
                status: 400,
                code,
                message,
            } if code == "SubscriberIdIsNotDirectTenant" => {
                report.skipped_subscribers.push(format!("{s}: {message}"));
                Ok(())
            }
            e => Err(e),
        };
        // A subscriber interrupted between pages continues from its checkpoint.
        if cursor.next_link.is_some() && cursor.subscriber < subscribers.len() {
            let s = subscribers[cursor.subscriber].clone();
            if let Err(e) = self
                .pages(cursor, Some(&s), &mut ids, sink, report, state)
                .await
            {
                skip(&s, e, report)?;
            }
            cursor.subscriber += 1;
            cursor.next_link = None;
        }
        // Then a few subscribers at a time: their pages fetched at once, stored in order,
        // the checkpoint moved past each one stored.
        let at_once = self.options.concurrency.max(1);
        while cursor.subscriber < subscribers.len() {
            let batch: Vec<String> = subscribers[cursor.subscriber..]
                .iter()
                .take(at_once)
                .cloned()
                .collect();
            let fetched =
                futures::future::join_all(batch.iter().map(|s| self.fetch_all(cursor.window, s)))
                    .await;
            for (s, pages) in batch.iter().zip(fetched) {
                match pages {
                    Ok(pages) => {
                        for page in pages {
                            sink.store_page(
                                (cursor.window, cursor.window + HOUR_NS),
                                page,
                                &mut ids,
                                report,
                            )
                            .await?;
                            report.pages = report.pages.saturating_add(1);
                        }
                    }
                    Err(e) => skip(s, e, report)?,
                }
                cursor.subscriber += 1;
                cursor.next_link = None;
                state.cursor = Some(cursor.clone());
                self.save(&self.arm.region().id, state).await?;
            }
        }
        Ok(())
    }

    /// Every page of one subscriber's hour, in order.
    async fn fetch_all(
        &self,
        window: i64,
        subscriber: &str,
    ) -> Result<Vec<crate::page::Page>, CollectError> {
        let mut seen = HashSet::new();
        let mut url = self.first_url(window, Some(subscriber))?;
        let mut pages = Vec::new();
        loop {
            let body = self.arm.get(&url, &self.stats).await?;
            let page = parse_page(&body)
                .map_err(|e| CollectError::Protocol(format!("{}: {e}", redact(&url))))?;
            let next = match page.next_link.as_deref() {
                Some(link) => Some(self.next(link, &mut seen)?),
                None => None,
            };
            pages.push(page);
            match next {
                Some(u) => url = u,
                None => return Ok(pages),
            }
        }
    }

    /// The subscribers to ask one by one: the stamp's user subscriptions and every
    /// GUID subscription StackBill knows (a deleted subscription still reports usage).
    async fn subscribers(&self) -> Result<Vec<String>, CollectError> {
        let region = self.arm.region();
        let mut all: BTreeSet<String> =
            crate::provision::list_subscriptions(&self.arm, &self.stats)
                .await?
                .into_iter()
                .map(|s| s.subscription_id.to_ascii_lowercase())
                .collect();
        for s in self.store.subscriptions().await? {
            if is_guid(&s.id) && s.region.eq_ignore_ascii_case(&region.id) {
                all.insert(s.id.to_ascii_lowercase());
            }
        }
        for own in operator_subscriptions(region) {
            all.remove(&own.to_ascii_lowercase());
        }
        Ok(all.into_iter().collect())
    }

    /// A `nextLink` to follow: the region's own origin, never seen before in this walk.
    fn next(&self, link: &str, seen: &mut HashSet<String>) -> Result<Url, CollectError> {
        let url = Url::parse(link)
            .map_err(|e| CollectError::Protocol(format!("nextLink is not a URL: {e}")))?;
        if !same_origin(&url, &self.arm.region().arm) {
            return Err(CollectError::Protocol(format!(
                "nextLink leads to another host ({}); not following it with the region's token",
                redact(&url)
            )));
        }
        if !seen.insert(link.to_owned()) {
            return Err(CollectError::Protocol(format!(
                "nextLink repeats ({}): the stamp is paging in a loop",
                redact(&url)
            )));
        }
        Ok(url)
    }

    /// Walks the pages of one query from the cursor, storing and checkpointing each.
    #[allow(clippy::too_many_arguments)]
    async fn pages(
        &self,
        cursor: &mut Cursor,
        subscriber: Option<&str>,
        ids: &mut Identities<'_>,
        sink: &mut Sink<'_>,
        report: &mut RunReport,
        state: &mut State,
    ) -> Result<(), CollectError> {
        let mut seen = HashSet::new();
        let url = match cursor.next_link.clone() {
            Some(link) => self.next(&link, &mut seen)?,
            None => self.first_url(cursor.window, subscriber)?,
        };
        let mut body = self.arm.get(&url, &self.stats).await;
        let mut url = url;
        loop {
            let page = parse_page(&body?)
                .map_err(|e| CollectError::Protocol(format!("{}: {e}", redact(&url))))?;
            let next = match page.next_link.as_deref() {
                Some(link) => Some((self.next(link, &mut seen)?, link.to_owned())),
                None => None,
            };
            // The next page is fetched while this one is stored: one request to the stamp
            // at a time, and the database never waits for the network.
            let (stored, fetched) = tokio::join!(
                sink.store_page((cursor.window, cursor.window + HOUR_NS), page, ids, report),
                async {
                    match &next {
                        Some((u, _)) => Some(self.arm.get(u, &self.stats).await),
                        None => None,
                    }
                }
            );
            stored?;
            report.pages = report.pages.saturating_add(1);
            cursor.next_link = next.as_ref().map(|(_, l)| l.clone());
            state.cursor = Some(cursor.clone());
            self.save(&self.arm.region().id, state).await?;
            match (next, fetched) {
                (Some((u, _)), Some(b)) => {
                    url = u;
                    body = b;
                }
                _ => return Ok(()),
            }
        }
    }
}

/// The provider's subscription and the stamp's system subscriptions: the operator's
/// own, whose usage is kept apart from tenants (counted, never auto-created).
pub(crate) fn operator_subscriptions(region: &crate::RegionConfig) -> Vec<String> {
    let mut all = vec![region.provider_subscription.clone()];
    all.extend(region.system_subscriptions.iter().cloned());
    all
}

/// Refuses a range that is not whole hours with `from` before `to`.
fn whole_hours(from: i64, to: i64) -> Result<(), CollectError> {
    if from % HOUR_NS != 0 || to % HOUR_NS != 0 || to <= from {
        return Err(CollectError::Range(format!(
            "the range must be whole hours with from before to (got {} to {})",
            instant(from),
            instant(to)
        )));
    }
    Ok(())
}

fn fresh(from: i64, to: i64) -> Cursor {
    Cursor {
        from,
        to,
        window: from,
        next_link: None,
        subscribers: None,
        subscriber: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1"));
        assert!(!is_guid("sub-00001"));
    }
}

//! Where collected pages go: rows through the store's idempotent usage ingest (mapped to
//! StackBill's subscriptions), unreadable rows kept with their reason. Shared by a
//! collection run and the import of pages saved at a disconnected site.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use stackbill_store::{RejectedUsageRow, Store, SubscriptionRow, UsageBatch, UsageRow};

use crate::identity::Identities;
use crate::page::Page;
use crate::{CollectError, RunReport};

pub(crate) fn instant(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One region's pages into one store.
pub(crate) struct Sink<'s> {
    store: &'s dyn Store,
    region: String,
    /// Lower-cased subscription id → StackBill's spelling.
    subscriptions: HashMap<String, String>,
    meters: HashSet<String>,
    provider: HashSet<String>,
    auto_create_tenant: Option<String>,
    /// Meter ids seen that the catalogue does not have.
    pub(crate) unknown_meters: BTreeSet<String>,
}

impl<'s> Sink<'s> {
    /// Reads what mapping needs: StackBill's subscriptions and meters, and the
    /// Auto Create Missing Subscriptions settings.
    pub(crate) async fn open(
        store: &'s dyn Store,
        region: &str,
        operator_subscriptions: &[String],
    ) -> Result<Sink<'s>, CollectError> {
        let subscriptions = store
            .subscriptions()
            .await?
            .into_iter()
            .map(|s| (s.id.to_ascii_lowercase(), s.id))
            .collect();
        let meters = store
            .meters()
            .await?
            .into_iter()
            .map(|m| stackbill_core::meter::canonical_meter(&m.id))
            .collect();
        let settings = store.settings().await?;
        let subs = settings.get("subscriptions");
        let switch = subs
            .and_then(|s| s.get("autoCreateMissingSubscriptions"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let tenant = subs
            .and_then(|s| s.get("autoCreatedSubscriptionTenantId"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Ok(Sink {
            store,
            region: region.to_owned(),
            subscriptions,
            meters,
            provider: operator_subscriptions
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            auto_create_tenant: if switch { tenant } else { None },
            unknown_meters: BTreeSet::new(),
        })
    }

    /// StackBill's id for a collected subscription, creating it when System Settings ask
    /// for that; counts rows of the provider's own and of unknown subscriptions.
    async fn subscription(
        &mut self,
        reported: &str,
        report: &mut RunReport,
    ) -> Result<String, CollectError> {
        if let Some(s) = self.subscriptions.get(reported) {
            return Ok(s.clone());
        }
        if self.provider.contains(reported) {
            report.provider_rows = report.provider_rows.saturating_add(1);
            return Ok(reported.to_owned());
        }
        let Some(tenant) = &self.auto_create_tenant else {
            report.unknown_subscription_rows = report.unknown_subscription_rows.saturating_add(1);
            return Ok(reported.to_owned());
        };
        // Added since the run started (by an operator, or another run)? Then it is theirs:
        // creating it here would overwrite its tenant and plan.
        if let Some(s) = self
            .store
            .subscriptions()
            .await?
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(reported))
        {
            self.subscriptions.insert(reported.to_owned(), s.id.clone());
            return Ok(s.id);
        }
        self.store
            .put_subscription(&SubscriptionRow {
                id: reported.to_owned(),
                tenant: tenant.clone(),
                region: self.region.clone(),
                name: format!("Azure Stack subscription {reported}"),
                plan: None,
                status: "active".into(),
                ends_on: None,
            })
            .await?;
        self.subscriptions
            .insert(reported.to_owned(), reported.to_owned());
        report.created_subscriptions.push(reported.to_owned());
        Ok(reported.to_owned())
    }

    /// Stores one page of the reported window `span`: rows named by `ids`.
    pub(crate) async fn store_page(
        &mut self,
        span: (i64, i64),
        page: Page,
        ids: &mut Identities<'_>,
        report: &mut RunReport,
    ) -> Result<(), CollectError> {
        let mut rows = Vec::with_capacity(page.rows.len());
        for a in &page.rows {
            let id = ids.id(a);
            if !self.meters.contains(&a.meter) {
                self.unknown_meters.insert(a.meter.clone());
            }
            let subscription = self.subscription(&a.subscription, report).await?;
            rows.push(UsageRow {
                id,
                synthetic: false,
                subscription: Some(subscription),
                meter: Some(a.meter.clone()),
                sku: a.sku.clone(),
                resource: a.resource.clone(),
                start: Some(instant(a.start_ns)),
                end: Some(instant(a.end_ns)),
                quantity: Some(a.quantity.clone()),
                start_ns: Some(a.start_ns),
                end_ns: Some(a.end_ns),
                malformed: false,
            });
        }
        if !rows.is_empty() {
            let batch = UsageBatch {
                source: format!("collector:{}", self.region),
                window: span,
            };
            let r = self.store.ingest_usage(&batch, &rows).await?;
            report.new = report.new.saturating_add(r.new);
            report.duplicate = report.duplicate.saturating_add(r.duplicate);
            report.replaced = report.replaced.saturating_add(r.replaced);
        }
        if !page.rejected.is_empty() {
            let rejected: Vec<RejectedUsageRow> = page
                .rejected
                .into_iter()
                .map(|r| {
                    let mut h = Sha256::new();
                    h.update(self.region.as_bytes());
                    h.update(span.0.to_le_bytes());
                    h.update(r.raw.as_bytes());
                    let id = h
                        .finalize()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>();
                    RejectedUsageRow {
                        id,
                        region: self.region.clone(),
                        window: span,
                        reason: r.reason,
                        raw: r.raw,
                    }
                })
                .collect();
            report.rejected = report.rejected.saturating_add(rejected.len() as u64);
            self.store.add_rejected_usage(&rejected).await?;
        }
        Ok(())
    }
}

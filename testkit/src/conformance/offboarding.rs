//! Conformance cases for keeping history whole: offboarding (a tenant that has usage
//! cannot be deleted, so it is closed: its history stays, its subscriptions stop billing
//! on the day it closed, an earlier end stays earlier, an edit does not reopen it, and
//! reopening leaves its subscriptions as they are) and imports that write all or nothing.

use serde_json::Value;

use super::{base_scenario, check, fail, generated_rows, october};
use stackbill_store::billing::{bill, import_scenario};
use stackbill_store::{Result, Store, StoreError, SubscriptionRow, TenantRow};

fn invoice_of(document: &Value, tenant: &str) -> Option<Value> {
    document["invoices"]
        .as_array()?
        .iter()
        .find(|i| i["tenant"] == tenant)
        .cloned()
}

/// The records of `reason` for `subscription` in a run's unbilled report.
fn unbilled(document: &Value, reason: &str, subscription: &str) -> u64 {
    document["unbilled"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["reason"] == reason && u["subscription"] == subscription)
        .filter_map(|u| u["records"].as_u64())
        .sum()
}

async fn tenant(store: &dyn Store, id: &str) -> Result<TenantRow> {
    store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| fail(format!("{id} missing")))
}

async fn subscription(store: &dyn Store, id: &str) -> Result<SubscriptionRow> {
    store
        .subscriptions()
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| fail(format!("{id} missing")))
}

/// Rows of `subscription` that start on or after `day` (UTC, the scenario's zone).
fn rows_from(rows: &[stackbill_store::UsageRow], subscription: &str, day: &str) -> u64 {
    let from = stackbill_core::usage::parse_instant(&format!("{day}T00:00:00Z"));
    rows.iter()
        .filter(|r| r.subscription.as_deref() == Some(subscription) && r.start_ns >= from)
        .count() as u64
}

pub async fn closing_a_tenant_ends_its_billing(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    let rows = generated_rows(600, 0);
    store.ingest_usage(&october(), &rows).await?;
    let before = bill(store, "2026-10", None).await?.document;

    // s1 was already cancelled from the 3rd; t1 closes on the 5th, t3 on the 20th.
    let mut s1 = subscription(store, "s1").await?;
    s1.status = "cancelled".into();
    s1.ends_on = Some("2026-10-03".into());
    store.put_subscription(&s1).await?;
    store.close_tenant("t1", Some("2026-10-05")).await?;
    store.close_tenant("t3", Some("2026-10-20")).await?;

    check(
        tenant(store, "t1").await?.closed_on.as_deref() == Some("2026-10-05"),
        || "t1 not closed".into(),
    )?;
    let s1 = subscription(store, "s1").await?;
    check(s1.ends_on.as_deref() == Some("2026-10-03"), || {
        format!("an earlier end moved: {s1:?}")
    })?;
    let s3 = subscription(store, "s3").await?;
    check(
        s3.status == "cancelled" && s3.ends_on.as_deref() == Some("2026-10-20"),
        || format!("t3's subscription not cancelled with it: {s3:?}"),
    )?;
    let s2 = subscription(store, "s2").await?;
    check(s2.status == "active" && s2.ends_on.is_none(), || {
        format!("another tenant's subscription changed: {s2:?}")
    })?;

    // Billing: t2 unchanged; t1 and t3 billed up to their ends, the rest reported.
    let after = bill(store, "2026-10", None).await?.document;
    check(
        invoice_of(&after, "t2") == invoice_of(&before, "t2") && invoice_of(&after, "t2").is_some(),
        || "t2's invoice changed".into(),
    )?;
    for (sub, day) in [("s1", "2026-10-03"), ("s3", "2026-10-20")] {
        let (got, want) = (
            unbilled(&after, "inactive_subscription", sub),
            rows_from(&rows, sub, day),
        );
        check(got == want && want > 0, || {
            format!("{sub}: {got} rows reported inactive, {want} start on or after {day}")
        })?;
    }
    check(
        invoice_of(&after, "t1") != invoice_of(&before, "t1"),
        || "t1 billed as before".into(),
    )?;

    // A subscription re-activated behind the API's back still stops at its tenant's
    // closing day.
    let mut s1 = subscription(store, "s1").await?;
    s1.status = "active".into();
    s1.ends_on = None;
    store.put_subscription(&s1).await?;
    let capped = bill(store, "2026-10", None).await?.document;
    let (got, want) = (
        unbilled(&capped, "inactive_subscription", "s1"),
        rows_from(&rows, "s1", "2026-10-05"),
    );
    check(got == want && want > 0, || {
        format!("s1 re-activated: {got} rows reported inactive, {want} after t1 closed")
    })?;

    // An edit keeps the tenant closed; reopening leaves its subscriptions cancelled.
    let mut t1 = tenant(store, "t1").await?;
    t1.name = "Renamed".into();
    t1.closed_on = None;
    store.put_tenant(&t1).await?;
    check(
        tenant(store, "t1").await?.closed_on.as_deref() == Some("2026-10-05"),
        || "an edit reopened t1".into(),
    )?;
    store.close_tenant("t3", None).await?;
    check(tenant(store, "t3").await?.closed_on.is_none(), || {
        "t3 not reopened".into()
    })?;
    check(
        subscription(store, "s3").await?.ends_on.as_deref() == Some("2026-10-20"),
        || "reopening changed s3".into(),
    )?;
    match store.close_tenant("nobody", Some("2026-10-01")).await {
        Err(StoreError::NotFound { kind: "tenant", .. }) => Ok(()),
        other => Err(fail(format!("closing a missing tenant: {other:?}"))),
    }
}

/// An import that fails part-way writes nothing: here its price list collides with a
/// stored one of the same scope and first day, after its settings and nodes were written
/// in the same transaction.
pub async fn imports_are_all_or_nothing(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    let before = (
        store.platform().await?,
        store.distributors().await?,
        store.tenants().await?,
        store.subscriptions().await?,
        store.price_lists().await?,
    );
    let mut second = base_scenario();
    second["platform"]["currency"] = "NZD".into();
    second["distributors"] = serde_json::json!([{"id": "d1"}, {"id": "d9"}]);
    second["tenants"][0]["name"] = "Renamed".into();
    second["tenants"]
        .as_array_mut()
        .ok_or_else(|| fail("tenants".into()))?
        .push(serde_json::json!({"id": "t9", "partner": "p1"}));
    second["subscriptions"]
        .as_array_mut()
        .ok_or_else(|| fail("subscriptions".into()))?
        .push(serde_json::json!({"id": "s9", "tenant": "t9", "region": "r"}));
    second["price_lists"][0]["id"] = "l-again".into();
    match import_scenario(store, &second.to_string()).await {
        Err(StoreError::Conflict { .. }) => {}
        other => return Err(fail(format!("a colliding import: {other:?}"))),
    }
    let after = (
        store.platform().await?,
        store.distributors().await?,
        store.tenants().await?,
        store.subscriptions().await?,
        store.price_lists().await?,
    );
    check(after == before, || {
        format!("a failed import left changes:\n{after:#?}\nwas:\n{before:#?}")
    })
}

//! Conformance cases for the uniqueness the database holds: ids unique in any case within
//! their kind, and one price list per (scope, first day), even when two writers race.

use serde_json::json;

use super::{base_scenario, check, fail};
use stackbill_store::billing::import_scenario;
use stackbill_store::{DistributorRow, Result, Store, StoreError, SubscriptionRow, TenantRow};

fn tenant(id: &str) -> TenantRow {
    TenantRow {
        id: id.into(),
        partner: "p1".into(),
        name: id.into(),
        currency: None,
        time_zone: None,
        tax_percent: None,
        payment_terms_days: None,
        details: json!({}),
        closed_on: None,
    }
}

/// The conflict a write must fail with, naming `field`.
fn expect_conflict(result: Result<()>, field: &str, what: &str) -> Result<()> {
    match result {
        Err(StoreError::Conflict { field: f, .. }) if f.starts_with(field) => Ok(()),
        other => Err(fail(format!(
            "{what}: want a conflict on {field}, got {other:?}"
        ))),
    }
}

/// A node id differing only in case from an existing one is refused for every kind; a
/// price list starting on the day another of its scope starts is refused; and of two
/// concurrent creations of one id in two cases exactly one succeeds.
pub async fn ids_unique_in_any_case(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    let distributor = DistributorRow {
        id: "D1".into(),
        name: "Shouting".into(),
        currency: None,
        commission: None,
        partner_commission: None,
        details: json!({}),
    };
    expect_conflict(store.put_distributor(&distributor).await, "id", "D1")?;
    expect_conflict(store.put_tenant(&tenant("T1")).await, "id", "T1")?;
    let subscription = SubscriptionRow {
        id: "S1".into(),
        tenant: "t2".into(),
        region: "r".into(),
        name: "S1".into(),
        plan: None,
        status: "active".into(),
        ends_on: None,
    };
    expect_conflict(store.put_subscription(&subscription).await, "id", "S1")?;
    // Updating a node under its own spelling still works.
    let mut t1 = tenant("t1");
    t1.tax_percent = Some("10".into());
    store.put_tenant(&t1).await?;

    let mut list = store.price_lists().await?.remove(0);
    list.id = "l2".into();
    expect_conflict(
        store.put_price_list(&list).await,
        "effective_from",
        "a second list from the same day",
    )?;
    list.id = "L".into();
    list.effective_from = "2026-02-01".into();
    expect_conflict(store.put_price_list(&list).await, "id", "L")?;
    list.id = "l2".into();
    store.put_price_list(&list).await?;
    check(store.price_lists().await?.len() == 2, || {
        "the later list was not stored".into()
    })?;

    let (lower, upper) = (tenant("race"), tenant("RACE"));
    let (a, b) = futures::join!(store.put_tenant(&lower), store.put_tenant(&upper));
    check(a.is_ok() != b.is_ok(), || {
        format!("two creations in two cases: {a:?} / {b:?}")
    })?;
    let stored = store
        .tenants()
        .await?
        .into_iter()
        .filter(|t| t.id.eq_ignore_ascii_case("race"))
        .count();
    check(stored == 1, || format!("{stored} tenants named race"))
}

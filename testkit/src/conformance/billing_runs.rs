//! Conformance cases for billing runs: narrowed runs equal the full run, months billed
//! after earlier ones are issued, late usage reaching only its tenant, and concurrent
//! `bill` and `issue` never leaving two live invoices for one tenant and period.

use serde_json::{Value, json};

use super::{check, fail, generated_rows, october};
use stackbill_store::billing::{Selection, bill, bill_selection, import_scenario};
use stackbill_store::{
    InvoiceFilter, InvoiceStatus, Result, Store, StoreError, TenantRow, UsageBatch, UsageRow,
};

/// Two distributors; t2 has its own price list, s3 its own subscription list, and t4 in
/// the other distributor's branch a list of its own too.
fn branches() -> Value {
    json!({
        "period": "2026-10",
        "platform": {"currency": "AUD", "time_zone": "UTC", "rounding": "half_even"},
        "distributors": [{"id": "d1", "partner_commission": {"mode": "graduated",
            "bands": [{"from": "0", "to": null, "percent": "10"}]}}, {"id": "d2"}],
        "partners": [{"id": "p1", "distributor": "d1"}, {"id": "p2", "distributor": "d1"},
                     {"id": "p3", "distributor": "d2"}],
        "tenants": [{"id": "t1", "partner": "p1", "tax_percent": "10"},
                    {"id": "t2", "partner": "p1"}, {"id": "t3", "partner": "p2"},
                    {"id": "t4", "partner": "p3", "time_zone": "Australia/Melbourne"}],
        "subscriptions": [{"id": "s1", "tenant": "t1", "region": "r"},
                          {"id": "s2", "tenant": "t2", "region": "r"},
                          {"id": "s3", "tenant": "t3", "region": "r"},
                          {"id": "s4", "tenant": "t4", "region": "r"}],
        "price_lists": [
            {"id": "l", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2026-01-01",
             "items": [{"meter": "m", "rate": "0.5"}, {"meter": "n", "rate": "0.01"}]},
            {"id": "t2-own", "scope": {"tenant": "t2"}, "currency": "AUD", "effective_from": "2026-01-01",
             "items": [{"meter": "m", "rate": "0.4", "credit": "1"}]},
            {"id": "s3-own", "scope": {"subscription": "s3"}, "currency": "AUD", "effective_from": "2026-01-01",
             "items": [{"meter": "n", "rate": "0.02"}]},
            {"id": "t4-own", "scope": {"tenant": "t4"}, "currency": "AUD", "effective_from": "2026-01-01",
             "items": [{"meter": "m", "rate": "0.3"}]}],
        "usage": []
    })
}

/// Rows spread over s1..s4.
fn four_subscriptions(count: usize) -> Vec<UsageRow> {
    let mut rows = generated_rows(count, 0);
    for (i, r) in rows.iter_mut().enumerate() {
        r.subscription = Some(format!("s{}", 1 + i % 4));
    }
    rows
}

fn invoices_of(document: &Value, tenants: &[&str]) -> Vec<Value> {
    document["invoices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| tenants.iter().any(|t| i["tenant"] == *t))
        .cloned()
        .collect()
}

fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// A tenant's, a partner's and a distributor's run each give exactly the full run's
/// invoices for their tenants, though other tenants have their own price lists; and a
/// fault in another branch's data neither fails them nor is named to them.
pub async fn narrowed_runs_equal_the_full_run(store: &dyn Store) -> Result<()> {
    import_scenario(store, &branches().to_string()).await?;
    store
        .ingest_usage(&october(), &four_subscriptions(400))
        .await?;
    let full = bill(store, "2026-10", None).await?.document;
    for tenants in [
        &["t1"][..],
        &["t2"],
        &["t3"],
        &["t4"],
        &["t1", "t2"],
        &["t1", "t2", "t3"],
    ] {
        let ids = owned(tenants);
        let part = bill_selection(store, "2026-10", Selection::Tenants(&ids)).await?;
        let (got, want) = (
            invoices_of(&part.document, tenants),
            invoices_of(&full, tenants),
        );
        check(got == want && !want.is_empty(), || {
            format!("run for {tenants:?} differs:\n{got:#?}\nwant:\n{want:#?}")
        })?;
        check(
            part.document["invoices"].as_array().map(Vec::len) == Some(tenants.len()),
            || format!("run for {tenants:?} invoiced others"),
        )?;
    }
    // The narrowed runs replaced only their own previews: the stored set is the full one.
    let stored = store
        .invoices(&InvoiceFilter {
            period: Some("2026-10".into()),
            ..InvoiceFilter::default()
        })
        .await?;
    let docs: Vec<Value> = stored.into_iter().map(|i| i.document).collect();
    check(Some(&docs) == full["invoices"].as_array(), || {
        "stored previews differ from the full run".into()
    })?;

    // Break t4's stored data: the full run fails naming it; d1's run does not see it.
    let mut t4 = store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.id == "t4")
        .ok_or_else(|| fail("t4 missing".into()))?;
    t4.currency = Some("XXQ".into());
    store.put_tenant(&TenantRow { ..t4 }).await?;
    match bill(store, "2026-10", None).await {
        Err(StoreError::Invalid(invalid)) => check(
            invalid.problems.iter().any(|p| p.path.contains("t4")),
            || format!("{invalid:?}"),
        )?,
        other => return Err(fail(format!("a broken tenant: {other:?}"))),
    }
    let d1 = owned(&["t1", "t2", "t3"]);
    let part = bill_selection(store, "2026-10", Selection::Tenants(&d1)).await?;
    let text = part.document.to_string();
    check(!text.contains("t4") && !text.contains("s4"), || {
        format!("d1's run mentions t4: {text}")
    })?;
    check(
        invoices_of(&part.document, &["t1", "t2", "t3"]) == invoices_of(&full, &["t1", "t2", "t3"]),
        || "d1's run changed".into(),
    )
}

fn november() -> UsageBatch {
    UsageBatch {
        source: "conformance-november".into(),
        window: (1_793_491_200_000_000_000, 1_796_083_200_000_000_000),
    }
}

/// A November row on `subscription`.
fn november_row(id: &str, subscription: &str, quantity: &str) -> UsageRow {
    let (start, end) = ("2026-11-10T05:00:00Z", "2026-11-10T06:00:00Z");
    UsageRow {
        id: id.into(),
        synthetic: false,
        subscription: Some(subscription.into()),
        meter: Some("m".into()),
        sku: None,
        resource: None,
        start_ns: stackbill_core::usage::parse_instant(start),
        end_ns: stackbill_core::usage::parse_instant(end),
        start: Some(start.into()),
        end: Some(end.into()),
        quantity: Some(quantity.into()),
        malformed: false,
    }
}

fn adjustments_of(document: &Value, tenant: &str) -> Vec<Value> {
    invoices_of(document, &[tenant])
        .iter()
        .flat_map(|i| i["lines"].as_array().cloned().unwrap_or_default())
        .filter(|l| l["kind"] == "adjustment")
        .collect()
}

/// October is billed and issued for everyone; November then bills cleanly (tenant lists
/// and all), with no adjustment until late October usage arrives for t1 alone, which
/// changes t1's November preview and no one else's.
pub async fn second_month_after_issue(store: &dyn Store) -> Result<()> {
    import_scenario(store, &branches().to_string()).await?;
    store
        .ingest_usage(&october(), &four_subscriptions(200))
        .await?;
    bill(store, "2026-10", None).await?;
    for inv in store
        .invoices(&InvoiceFilter {
            period: Some("2026-10".into()),
            ..InvoiceFilter::default()
        })
        .await?
    {
        store.issue_invoice(inv.id, "2026-11-01").await?;
    }
    let rows: Vec<UsageRow> = ["s1", "s2", "s3", "s4"]
        .iter()
        .enumerate()
        .map(|(i, s)| november_row(&format!("nov-{i}"), s, "2"))
        .collect();
    store.ingest_usage(&november(), &rows).await?;
    let before = bill(store, "2026-11", None).await?.document;
    for t in ["t1", "t2", "t3", "t4"] {
        check(adjustments_of(&before, t).is_empty(), || {
            format!("{t} got adjustments without late usage: {before:#}")
        })?;
    }
    // Late October usage for t1 only.
    let mut late = generated_rows(1, 0);
    late[0].id = "late-t1".into();
    late[0].quantity = Some("4".into());
    late[0].meter = Some("m".into());
    store.ingest_usage(&october(), &late).await?;
    let after = bill(store, "2026-11", None).await?.document;
    let t1 = adjustments_of(&after, "t1");
    check(
        t1.len() == 1 && t1[0]["adjusts"] == "2026-10" && t1[0]["amount"] == "2.00",
        || format!("{t1:#?}"),
    )?;
    for t in ["t2", "t3", "t4"] {
        check(
            invoices_of(&after, &[t]) == invoices_of(&before, &[t]),
            || format!("{t}'s November changed"),
        )?;
    }
    // t1's own run agrees with the full run, adjustment included.
    let own = bill_selection(store, "2026-11", Selection::Tenants(&owned(&["t1"]))).await?;
    check(
        invoices_of(&own.document, &["t1"]) == invoices_of(&after, &["t1"]),
        || "t1's own run differs from the full run".into(),
    )
}

/// `bill` and `issue` racing, over and over: never two invoices that are not void for
/// one (tenant, period), and every issued number is used once.
pub async fn concurrent_bill_and_issue(store: &dyn Store) -> Result<()> {
    import_scenario(store, &branches().to_string()).await?;
    store
        .ingest_usage(&october(), &four_subscriptions(100))
        .await?;
    bill(store, "2026-10", None).await?;
    for round in 0..12 {
        let preview = store
            .invoices(&InvoiceFilter {
                period: Some("2026-10".into()),
                tenant: Some("t1".into()),
                status: Some(InvoiceStatus::Preview),
            })
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| fail(format!("round {round}: no preview")))?;
        let (billed, issued) = futures::join!(
            bill(store, "2026-10", None),
            store.issue_invoice(preview.id, "2026-11-01")
        );
        billed?;
        match issued {
            Ok(_) | Err(StoreError::InvalidState(_) | StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let all = store
            .invoices(&InvoiceFilter {
                period: Some("2026-10".into()),
                ..InvoiceFilter::default()
            })
            .await?;
        for t in ["t1", "t2", "t3", "t4"] {
            let live = all
                .iter()
                .filter(|i| i.tenant == t && i.status != InvoiceStatus::Void)
                .count();
            check(live == 1, || {
                format!("round {round}: {live} live invoices for {t}: {all:#?}")
            })?;
        }
        // Void what was issued so the next round has a preview to race for again.
        for i in all.iter().filter(|i| i.status == InvoiceStatus::Issued) {
            store.settle_invoice(i.id, InvoiceStatus::Void).await?;
        }
        if all.iter().any(|i| i.status == InvoiceStatus::Issued) {
            bill(store, "2026-10", None).await?;
        }
    }
    let numbers: Vec<String> = store
        .invoices(&InvoiceFilter::default())
        .await?
        .into_iter()
        .filter_map(|i| i.number)
        .collect();
    let mut unique = numbers.clone();
    unique.sort();
    unique.dedup();
    check(unique.len() == numbers.len(), || format!("{numbers:?}"))
}

/// The stored commission summaries of October as (kind, party) → document.
async fn october_commissions(store: &dyn Store) -> Result<Vec<(String, String, Value)>> {
    let mut rows: Vec<_> = store
        .commissions("2026-10")
        .await?
        .into_iter()
        .map(|c| (c.party_kind, c.party, c.document))
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(rows)
}

/// A partner's run writes that partner's commission (not its distributor's, whose other
/// partners it did not rate); a distributor's run writes the distributor's and its
/// partners'; each equals what the full run then writes, bands included.
pub async fn branch_runs_write_their_commissions(store: &dyn Store) -> Result<()> {
    import_scenario(store, &branches().to_string()).await?;
    store
        .ingest_usage(&october(), &four_subscriptions(400))
        .await?;
    let p1 = owned(&["t1", "t2"]);
    bill_selection(store, "2026-10", Selection::Tenants(&p1)).await?;
    let after_p1 = october_commissions(store).await?;
    let parties: Vec<_> = after_p1
        .iter()
        .map(|c| (c.0.as_str(), c.1.as_str()))
        .collect();
    check(parties == [("partner", "p1")], || {
        format!("p1's run wrote {parties:?}")
    })?;
    let bands = after_p1[0].2["bands"].as_array().map_or(0, Vec::len);
    check(bands == 1, || {
        format!("p1's inherited plan shows {bands} bands")
    })?;

    let d1 = owned(&["t1", "t2", "t3"]);
    bill_selection(store, "2026-10", Selection::Tenants(&d1)).await?;
    let after_d1 = october_commissions(store).await?;
    let parties: Vec<_> = after_d1
        .iter()
        .map(|c| (c.0.as_str(), c.1.as_str()))
        .collect();
    check(
        parties == [("distributor", "d1"), ("partner", "p1"), ("partner", "p2")],
        || format!("d1's run wrote {parties:?}"),
    )?;

    // The branch selections: p1's run as above; d1's run as above; p3 is d2's only
    // partner, yet p3's run writes p3's summary and never d2's, which is above it.
    bill_selection(store, "2026-10", Selection::Partner("p1")).await?;
    check(october_commissions(store).await? == after_d1, || {
        "p1's branch run changed the summaries".into()
    })?;
    bill_selection(store, "2026-10", Selection::Distributor("D1")).await?;
    check(october_commissions(store).await? == after_d1, || {
        "d1's branch run changed the summaries".into()
    })?;
    bill_selection(store, "2026-10", Selection::Partner("p3")).await?;
    let after_p3 = october_commissions(store).await?;
    let parties: Vec<_> = after_p3
        .iter()
        .map(|c| (c.0.as_str(), c.1.as_str()))
        .collect();
    check(
        parties
            == [
                ("distributor", "d1"),
                ("partner", "p1"),
                ("partner", "p2"),
                ("partner", "p3"),
            ],
        || format!("p3's run wrote {parties:?}"),
    )?;
    match bill_selection(store, "2026-10", Selection::Partner("p9")).await {
        Err(StoreError::NotFound {
            kind: "partner", ..
        }) => {}
        other => return Err(fail(format!("an unknown partner's run: {other:?}"))),
    }

    bill(store, "2026-10", None).await?;
    let full = october_commissions(store).await?;
    check(full.len() == 5, || format!("the full run wrote {full:?}"))?;
    for branch in after_d1.iter().chain(&after_p1).chain(&after_p3) {
        check(full.contains(branch), || {
            format!("a branch run's {branch:?} differs from the full run's")
        })?;
    }
    Ok(())
}

//! The collector's records: where a region's run stands, and rows kept as rejected.

use serde_json::json;
use stackbill_store::{RejectedUsageRow, Result, Store};

use super::check;

/// The state document round-trips and is replaced whole; rejected rows are kept once
/// per id and listed per region, oldest window first.
pub async fn collection_records(store: &dyn Store) -> Result<()> {
    check(store.collection_state("fra01").await?.is_none(), || {
        "a region that never ran has a state".into()
    })?;
    let first =
        json!({"cursor": {"window": 1, "nextLink": "https://h/x?continuationToken=a%3d%3d"}});
    store.put_collection_state("fra01", &first).await?;
    let second = json!({"cursor": null, "lastRun": {"report": {"new": 6}}});
    store.put_collection_state("fra01", &second).await?;
    check(
        store.collection_state("fra01").await? == Some(second),
        || "the state is not the last one written".into(),
    )?;
    let row = |id: &str, region: &str, start: i64| RejectedUsageRow {
        id: format!("{id:0>64}"),
        region: region.into(),
        window: (start, start + 3_600_000_000_000),
        reason: "properties.quantity: not a decimal number: \"lots\"".into(),
        raw: format!("{{\"properties\":{{\"quantity\":\"lots\",\"n\":\"{id}\"}}}}"),
    };
    let rows = [
        row("b", "fra01", 7_200_000_000_000),
        row("a", "fra01", 0),
        row("c", "ber1", 0),
    ];
    check(store.add_rejected_usage(&rows).await? == 3, || {
        "three new".into()
    })?;
    check(store.add_rejected_usage(&rows[..2]).await? == 0, || {
        "a rejected row was kept twice".into()
    })?;
    let listed = store.rejected_usage(Some("fra01"), 10).await?;
    check(listed == vec![rows[1].clone(), rows[0].clone()], || {
        format!("fra01's rejected rows: {listed:?}")
    })?;
    check(store.rejected_usage(None, 2).await?.len() == 2, || {
        "the limit".into()
    })
}

/// A lease is held by one owner until it expires or is released; of several owners
/// asking at once, exactly one gets it.
pub async fn leases(store: &dyn Store) -> Result<()> {
    let steps: [(&str, i64, i64, bool); 7] = [
        ("a", 0, 100, true),
        ("b", 50, 200, false),
        ("a", 50, 150, true),
        ("a", 60, 150, true),
        ("b", 150, 300, true),
        ("a", 151, 400, false),
        ("b", 160, 300, true),
    ];
    for (i, (owner, now, until, want)) in steps.into_iter().enumerate() {
        let got = store.try_lease("collect:fra01", owner, now, until).await?;
        check(got == want, || {
            format!("step {i}: {owner} at {now} until {until}: got {got}")
        })?;
    }
    store.release_lease("collect:fra01", "a").await?;
    check(
        !store.try_lease("collect:fra01", "c", 170, 500).await?,
        || "a release by a non-owner freed the lease".into(),
    )?;
    store.release_lease("collect:fra01", "b").await?;
    check(
        store.try_lease("collect:fra01", "c", 170, 500).await?,
        || "a released lease was not free".into(),
    )?;
    let claims = futures::future::join_all((0..8).map(|n| async move {
        store
            .try_lease("collect:ber1", &format!("p{n}"), 1_000, 2_000)
            .await
    }))
    .await;
    let won = claims
        .into_iter()
        .collect::<Result<Vec<bool>>>()?
        .into_iter()
        .filter(|w| *w)
        .count();
    check(won == 1, || format!("{won} of 8 concurrent claims won"))
}

/// An alert is raised once while its condition holds, counted while it recurs, cleared
/// when it clears, raised anew after; of eight processes raising it at once, one raises.
pub async fn alerts(store: &dyn Store) -> Result<()> {
    let alert = |key: &str| stackbill_store::NewAlert {
        key: key.into(),
        kind: "region.unreachable".into(),
        subject: "fra01".into(),
        severity: "error".into(),
        message: "connection refused".into(),
    };
    let a = alert("region.unreachable:fra01");
    check(store.raise_alert(&a, "2026-12-06T01:00:00Z").await?, || {
        "first raise".into()
    })?;
    // Seen again, worse: the same alert, counted, with the new message and severity.
    let worse = stackbill_store::NewAlert {
        severity: "critical".into(),
        message: "no route to host".into(),
        ..a.clone()
    };
    check(
        !store.raise_alert(&worse, "2026-12-06T02:00:00Z").await?,
        || "a condition that still holds was raised again".into(),
    )?;
    let open = store.alerts(true).await?;
    check(
        open.len() == 1
            && open[0].occurrences == 2
            && open[0].last_seen_at == "2026-12-06T02:00:00Z"
            && (open[0].severity.as_str(), open[0].message.as_str())
                == ("critical", "no route to host"),
        || format!("open alerts: {open:?}"),
    )?;
    let acked = store
        .acknowledge_alert(open[0].id, "ops@example.test", "2026-12-06T02:30:00Z")
        .await?;
    check(
        acked.acknowledged_by.as_deref() == Some("ops@example.test"),
        || format!("{acked:?}"),
    )?;
    check(
        store.clear_alert(&a.key, "2026-12-06T03:00:00Z").await?,
        || "clear".into(),
    )?;
    check(
        !store.clear_alert(&a.key, "2026-12-06T03:00:00Z").await?,
        || "cleared twice".into(),
    )?;
    check(store.alerts(true).await?.is_empty(), || "still open".into())?;
    check(store.raise_alert(&a, "2026-12-06T04:00:00Z").await?, || {
        "a condition that returns is a new alert".into()
    })?;
    check(store.alerts(false).await?.len() == 2, || {
        "history kept".into()
    })?;
    let b = alert("region.unreachable:ber1");
    let raised =
        futures::future::join_all((0..8).map(|_| store.raise_alert(&b, "2026-12-06T05:00:00Z")))
            .await
            .into_iter()
            .collect::<Result<Vec<bool>>>()?;
    let new = raised.iter().filter(|r| **r).count();
    check(new == 1, || format!("{new} of 8 concurrent raises raised"))?;
    let open_b: Vec<_> = store
        .alerts(true)
        .await?
        .into_iter()
        .filter(|x| x.key == b.key)
        .collect();
    check(open_b.len() == 1 && open_b[0].occurrences == 8, || {
        format!("{open_b:?}")
    })?;
    check(
        matches!(
            store
                .acknowledge_alert(999_999, "x", "2026-12-06T06:00:00Z")
                .await,
            Err(stackbill_store::StoreError::NotFound { .. })
        ),
        || "acknowledging a missing alert".into(),
    )?;

    // Forwarding: each alert's raising, then its clearing, is handed over once.
    use stackbill_store::AlertEvent::{Cleared, Raised};
    let pending = store.unforwarded_alerts(100).await?;
    let events: Vec<(String, Vec<stackbill_store::AlertEvent>)> = pending
        .iter()
        .map(|p| (p.alert.key.clone(), p.events.clone()))
        .collect();
    check(
        events
            == vec![
                (a.key.clone(), vec![Raised, Cleared]),
                (a.key.clone(), vec![Raised]),
                (b.key.clone(), vec![Raised]),
            ],
        || format!("unforwarded: {events:?}"),
    )?;
    let first = pending[0].alert.id;
    store.mark_alert_forwarded(first, Raised).await?;
    let left = store.unforwarded_alerts(1).await?;
    check(
        left.len() == 1 && left[0].alert.id == first && left[0].events == vec![Cleared],
        || format!("after the raise was forwarded: {left:?}"),
    )?;
    store.mark_alert_forwarded(first, Cleared).await?;
    let left = store.unforwarded_alerts(100).await?;
    check(
        left.len() == 2 && left.iter().all(|p| p.alert.id != first),
        || format!("after both were forwarded: {left:?}"),
    )
}

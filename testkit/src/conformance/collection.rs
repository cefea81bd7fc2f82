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

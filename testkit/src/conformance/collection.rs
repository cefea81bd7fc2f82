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

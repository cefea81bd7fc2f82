//! The demo dataset of `stackbill serve --demo`: the generator's hierarchy (two
//! distributors, two partners, 41 tenants with one subscription each in region `mel1`),
//! its price lists and FX rates, the region itself, its meters, a plan, and a month
//! (October 2026) of hourly usage for four meters per subscription.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use stackbill_ingest::generate;
use stackbill_store::billing::{SyntheticIds, import_scenario, usage_row_from_text};
use stackbill_store::{MeterRow, PlanRow, RegionRow, UsageBatch};

use super::AppState;

const TENANTS: usize = 41;
const METERS: usize = 4;

/// Loads the dataset unless the database already holds a hierarchy.
pub(crate) async fn load(state: &AppState) -> Result<(), String> {
    let store = state.store();
    if !store
        .distributors()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        println!("stackbill: the database already has data; the demo dataset is not loaded");
        return Ok(());
    }
    let config = generate::Config {
        tenants: TENANTS,
        meters: METERS,
        // From 2026-09-30T11:00Z (local midnight in Auckland) to 2026-11-01T00:00Z (in UTC):
        // every tenant's whole local October, whatever its zone.
        hours: 13 + 31 * 24,
        first_hour: -13,
        seed: 2026,
        duplicate_every: 0,
    };
    store
        .put_region(&RegionRow {
            id: "mel1".into(),
            name: "Melbourne 1".into(),
            time_zone: "Australia/Melbourne".into(),
            admin_endpoint: "https://adminmanagement.mel1.azurestack.example".into(),
            collection_window_hours: 24,
            credential_ref: Some("env:STACKBILL_MEL1_SECRET".into()),
            details: serde_json::json!({"healthy": true}),
        })
        .await
        .map_err(|e| e.to_string())?;
    for (id, name) in generate::METERS.iter().take(METERS) {
        store
            .put_meter(&MeterRow {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
                unit: "unit".into(),
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    store
        .put_plan(&PlanRow {
            id: "standard".into(),
            name: "Standard".into(),
            quotas: serde_json::json!({"cores": 64, "memoryGb": 256, "storageGb": 2048}),
            offer: Some("/delegatedProviders/default/offers/standard".into()),
            quota_alerts: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    let scenario = generate::scenario(&config);
    import_scenario(store, &scenario.to_string())
        .await
        .map_err(|e| e.to_string())?;

    let path = std::env::temp_dir().join(format!("stackbill-demo-{}.csv", std::process::id()));
    let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(file);
    generate::write_csv(&config, &mut out, |_| {}).map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut out).map_err(|e| e.to_string())?;
    drop(out);
    let mut rows = Vec::new();
    stackbill_ingest::read_rows::<stackbill_ingest::IngestError>(
        &path,
        Arc::new(AtomicU64::new(0)),
        |row| {
            rows.push(usage_row_from_text(row.text));
            Ok(())
        },
        |_| {},
    )
    .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    // Keep each tenant's own local month, so the demo bills whole; then add one labelled
    // example of each reason usage is not billed.
    let windows = local_windows(&scenario);
    rows.retain(|r| {
        let window = r.subscription.as_deref().and_then(|s| windows.get(s));
        match (window, r.start_ns) {
            (Some(&(from, to)), Some(start)) => from <= start && start < to,
            _ => true,
        }
    });
    rows.extend(unbilled_examples(&scenario));
    SyntheticIds::default().assign(&mut rows);
    let total = rows.len();
    for chunk in rows.chunks(5000) {
        let batch = UsageBatch {
            source: "demo".into(),
            window: (
                chunk.iter().filter_map(|r| r.start_ns).min().unwrap_or(0),
                chunk.iter().filter_map(|r| r.end_ns).max().unwrap_or(0),
            ),
        };
        store
            .ingest_usage(&batch, chunk)
            .await
            .map_err(|e| e.to_string())?;
    }
    state.refresh().await.map_err(|e| e.to_string())?;
    println!(
        "stackbill: loaded the demo dataset: {TENANTS} tenants, {total} usage rows for {}",
        generate::PERIOD
    );
    Ok(())
}

/// Each demo subscription's local October in Unix nanoseconds, from its tenant's zone.
fn local_windows(scenario: &serde_json::Value) -> std::collections::HashMap<String, (i64, i64)> {
    let period: stackbill_core::period::Period = generate::PERIOD
        .parse()
        .unwrap_or(stackbill_core::period::Period::PLACEHOLDER);
    let zone_of = |tenant: &str| {
        scenario["tenants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["id"] == tenant)
            .and_then(|t| t["time_zone"].as_str())
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::Australia::Melbourne)
    };
    scenario["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let id = s["id"].as_str()?.to_owned();
            let zone = zone_of(s["tenant"].as_str()?);
            Some((id, period.bounds(zone).nanos()))
        })
        .collect()
}

/// One usage record for each reason billing reports usage unbilled, its id naming it.
fn unbilled_examples(scenario: &serde_json::Value) -> Vec<stackbill_store::UsageRow> {
    let subscription = scenario["subscriptions"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let meter = generate::METERS[0].0;
    let row = |id: &str, sub: &str, meter: &str, start: &str, end: &str, quantity: &str| {
        usage_row_from_text(stackbill_core::scenario::json::UsageText {
            id: Some(id.to_owned()),
            subscription: Some(sub.to_owned()),
            meter: Some(meter.to_owned()),
            sku: None,
            resource: None,
            start: Some(start.to_owned()),
            end: Some(end.to_owned()),
            quantity: Some(quantity.to_owned()),
            malformed: false,
        })
    };
    vec![
        row(
            "demo-example-unknown-subscription",
            "00000000-0000-0000-0000-00000000dead",
            meter,
            "2026-10-15T01:00:00Z",
            "2026-10-15T02:00:00Z",
            "1",
        ),
        row(
            "demo-example-invalid-usage",
            &subscription,
            meter,
            "2026-10-15T01:00:00Z",
            "2026-10-15T02:00:00Z",
            "-1",
        ),
        row(
            "demo-example-no-price",
            &subscription,
            "demo-unpriced-meter",
            "2026-10-15T01:00:00Z",
            "2026-10-15T02:00:00Z",
            "1",
        ),
        row(
            "demo-example-outside-period",
            &subscription,
            meter,
            "2026-11-02T01:00:00Z",
            "2026-11-02T02:00:00Z",
            "1",
        ),
    ]
}

//! The collector: parsing raw `subscriberUsageAggregates` pages (goal: ≥ 300,000 rows/s
//! per core), and collecting from a local stamp over HTTP into SQLite end to end.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use stackbill_collector::page::parse_page;
use stackbill_collector::{Arm, Collector, Identities, Options, RegionConfig, RetryPolicy, Secret};
use stackbill_store::{RegionRow, Store};
use stackbill_testkit::fake_stamp::{
    CLIENT, Fake, PROVIDER, SECRET, TENANT, generated_rows, page_body,
};

const HOUR: i64 = 3_600_000_000_000;
/// Each measured run writes a database of its own.
static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
const REPORTED: i64 = 1_741_082_400_000_000_000; // 2025-03-04T10:00:00Z

fn parse(c: &mut Criterion) {
    let rows = generated_rows(REPORTED, 1, 1000, 97);
    let body = page_body(
        &rows,
        Some(
            "https://adminmanagement.fra01.example/next?continuationToken=eyJza2lwIjoxMDAwfQ%3d%3d",
        ),
    );
    let mut g = c.benchmark_group("collector");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("parse_page_1000_rows", |b| {
        b.iter(|| parse_page(body.as_bytes()).map(|p| p.rows.len()))
    });
    g.bench_function("parse_and_name_1000_rows", |b| {
        b.iter(|| {
            let page = parse_page(body.as_bytes()).ok()?;
            let mut ids = Identities::new("fra01", (REPORTED, REPORTED + HOUR));
            Some(page.rows.iter().map(|r| ids.id(r).len()).sum::<usize>())
        })
    });
    g.finish();
}

/// Collects `hours` reported hours of 5,000 rows each (pages of 1,000) from a local stamp
/// into a fresh SQLite database.
fn end_to_end(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fake = runtime.block_on(Fake::start(false)).expect("stamp");
    let hours = 4;
    let per_hour = 5_000;
    fake.with(|f| {
        f.page_size = 1000;
        f.rows = generated_rows(REPORTED, hours, per_hour, 400);
    });
    let dir = std::env::temp_dir().join(format!("sb-bench-collect-{}", std::process::id()));
    let mut g = c.benchmark_group("collector");
    g.sample_size(10);
    g.throughput(Throughput::Elements((per_hour as u64) * hours as u64));
    g.bench_function("collect_20000_rows_http_to_sqlite", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                std::fs::create_dir_all(&dir).expect("dir");
                let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let took = runtime.block_on(async {
                    let url = format!("sqlite://{}", dir.join(format!("db{n}")).display());
                    let store = stackbill_store_sqlite::connect(&url).await.expect("sqlite");
                    stackbill_store_sqlite::migrate(&store)
                        .await
                        .expect("migrate");
                    let store: Arc<dyn Store> = Arc::new(store);
                    let region = RegionRow {
                        id: "fra01".into(),
                        name: "Frankfurt 1".into(),
                        time_zone: "UTC".into(),
                        admin_endpoint: fake.base.clone(),
                        collection_window_hours: 1,
                        credential_ref: Some("env:UNUSED_SECRET".into()),
                        details: json!({"identity": "entra", "directoryTenant": TENANT,
                                        "providerSubscriptionId": PROVIDER, "clientId": CLIENT}),
                    };
                    let config = RegionConfig::from_row(&region).expect("config");
                    let arm =
                        Arm::new(config, Secret::new(SECRET), RetryPolicy::default()).expect("arm");
                    let collector = Collector::new(arm, store, Options::default());
                    let started = Instant::now();
                    let report = collector
                        .collect(REPORTED, REPORTED + hours * HOUR, &|_| {})
                        .await
                        .expect("collect");
                    assert_eq!(report.new, (per_hour as u64) * hours as u64);
                    started.elapsed()
                });
                total += took;
            }
            total
        })
    });
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, parse, end_to_end);
criterion_main!(benches);

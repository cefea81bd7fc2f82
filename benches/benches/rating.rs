//! The rating loop: records into aggregates (the per-row hot path), aggregates into
//! invoices and commissions, and the whole file pipeline.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stackbill_benches::fixture;
use stackbill_core::rating::rate_partial;
use stackbill_core::scenario::json::Document;
use stackbill_core::usage::parse_instant;
use stackbill_core::{Partial, Quantity, UsageRecord};
use stackbill_ingest::{Options, aggregate};

struct Row {
    id: String,
    subscription: String,
    meter: String,
    sku: Option<String>,
    start: String,
    end: String,
    quantity: String,
}

fn rows(csv: &[u8]) -> Vec<Row> {
    std::str::from_utf8(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                id: f[0].to_owned(),
                subscription: f[1].to_owned(),
                meter: f[2].to_owned(),
                sku: (!f[3].is_empty()).then(|| f[3].to_owned()),
                start: f[5].to_owned(),
                end: f[6].to_owned(),
                quantity: f[7].to_owned(),
            }
        })
        .collect()
}

/// The engine's record for a pre-split row; `id` says whether it carries its id.
fn record(r: &Row, id: bool) -> UsageRecord<'_> {
    UsageRecord {
        id: id.then_some(r.id.as_str()),
        subscription: Some(&r.subscription),
        meter: Some(&r.meter),
        sku: r.sku.as_deref(),
        start: parse_instant(&r.start),
        end: parse_instant(&r.end),
        quantity: Quantity::parse(&r.quantity),
        malformed: false,
    }
}

fn bench(c: &mut Criterion) {
    // 200 tenants × 25 meters × 48 hours = 240,000 rows.
    let fx = fixture(200, 48);
    let doc = Document::parse(&fx.scenario).unwrap();
    let scenario = doc.scenario();
    let parsed = rows(&fx.csv);

    let mut group = c.benchmark_group("rating");
    group.throughput(Throughput::Elements(fx.rows));
    group.sample_size(20);

    // Fields already split: parse values, classify, intern, sum.
    group.bench_function("aggregate_records", |b| {
        b.iter(|| {
            let mut partial = Partial::new(scenario);
            for r in &parsed {
                partial.push(&record(r, true)).unwrap();
            }
            black_box(partial.records())
        })
    });

    // 5,000 aggregates (one collection hour of 200 tenants × 25 meters) into invoices
    // and commissions.
    group.throughput(Throughput::Elements(5000));
    group.bench_function("rate_aggregates", |b| {
        b.iter_batched(
            || {
                let mut partial = Partial::new(scenario);
                for r in parsed.iter().take(5000) {
                    partial.push(&record(r, false)).unwrap();
                }
                partial
            },
            |partial| black_box(rate_partial(scenario, partial).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });

    // The whole pipeline on a file: read, split, parse, dedup, aggregate, rate.
    let dir = std::env::temp_dir().join(format!("stackbill-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("usage.csv");
    std::fs::write(&path, &fx.csv).unwrap();
    group.throughput(Throughput::Elements(fx.rows));
    for threads in [1, 2] {
        group.bench_function(format!("file_pipeline_{threads}_threads"), |b| {
            b.iter(|| {
                let ingest = aggregate(
                    scenario,
                    None,
                    std::slice::from_ref(&path),
                    &Options {
                        threads,
                        progress: None,
                    },
                )
                .unwrap();
                black_box(rate_partial(scenario, ingest.partial).unwrap())
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);

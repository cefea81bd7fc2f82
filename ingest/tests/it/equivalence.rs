//! The same usage gives byte-identical output however it arrives: inline in the scenario,
//! as CSV, NDJSON or gzip, in one file or split over several (shuffled when ids are
//! unique), on one thread or many.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stackbill_core::rating::rate_partial;
use stackbill_core::scenario::json::{Document, outcome_to_string};
use stackbill_ingest::generate::{self, Config};
use stackbill_ingest::{Options, aggregate};

pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("stackbill-ingest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn generated(c: &Config) -> (Value, Vec<u8>) {
    let mut csv = Vec::new();
    generate::write_csv(c, &mut csv, |_| {}).unwrap();
    (generate::scenario(c), csv)
}

/// The CSV rows as scenario usage objects (generated rows contain no quotes).
fn rows_as_json(csv: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let mut o = serde_json::Map::new();
            for (k, v) in header.iter().zip(l.split(',')) {
                o.insert(
                    (*k).to_owned(),
                    if v.is_empty() { Value::Null } else { json!(v) },
                );
            }
            Value::Object(o)
        })
        .collect()
}

fn rate_files(scenario: &Value, files: &[PathBuf], threads: usize) -> String {
    let text = scenario.to_string();
    let doc = Document::parse(&text).unwrap();
    let ingest = aggregate(
        doc.scenario(),
        Some(&doc),
        files,
        &Options {
            threads,
            progress: None,
        },
    )
    .unwrap();
    outcome_to_string(&rate_partial(doc.scenario(), ingest.partial).unwrap())
}

fn rate_inline(scenario: &Value, usage: Vec<Value>) -> String {
    let mut s = scenario.clone();
    s["usage"] = Value::Array(usage);
    let text = s.to_string();
    outcome_to_string(&Document::parse(&text).unwrap().rate().unwrap())
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn files_in_every_format_equal_inline_usage() {
    let c = Config {
        tenants: 30,
        meters: 26,
        hours: 40,
        first_hour: 0,
        seed: 11,
        duplicate_every: 7,
    };
    let (scenario, csv) = generated(&c);
    let rows = rows_as_json(&csv);
    let want = rate_inline(&scenario, rows.clone());
    let dir = TempDir::new("formats");
    let ndjson: Vec<u8> = rows
        .iter()
        .flat_map(|r| {
            let mut line = r.to_string().into_bytes();
            line.push(b'\n');
            line
        })
        .collect();
    write(&dir.path("u.csv"), &csv);
    write(&dir.path("u.csv.gz"), &gzip(&csv));
    write(&dir.path("u.ndjson"), &ndjson);
    write(&dir.path("u.jsonl.gz"), &gzip(&ndjson));
    for name in ["u.csv", "u.csv.gz", "u.ndjson", "u.jsonl.gz"] {
        for threads in [1, 3] {
            assert_eq!(
                rate_files(&scenario, &[dir.path(name)], threads),
                want,
                "{name} on {threads} threads"
            );
        }
    }
    // Rows in files come after the scenario's own usage: half inline, half in a file.
    let (first, second) = rows.split_at(rows.len() / 2);
    let mut s = scenario.clone();
    s["usage"] = Value::Array(first.to_vec());
    let second_ndjson: Vec<u8> = second
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect();
    write(&dir.path("second.ndjson"), &second_ndjson);
    assert_eq!(rate_files(&s, &[dir.path("second.ndjson")], 2), want);
}

#[test]
fn split_and_shuffled_files_give_byte_identical_output() {
    let c = Config {
        tenants: 40,
        meters: 26,
        hours: 60,
        first_hour: 0,
        seed: 5,
        duplicate_every: 0,
    };
    let (scenario, csv) = generated(&c);
    let dir = TempDir::new("split");
    write(&dir.path("all.csv"), &csv);
    let want = rate_files(&scenario, &[dir.path("all.csv")], 2);

    let text = std::str::from_utf8(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut rows: Vec<&str> = lines.collect();
    // Deterministic shuffle (xorshift).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in (1..rows.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        rows.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut files = Vec::new();
    for (k, chunk) in rows.chunks(rows.len() / 5 + 1).enumerate() {
        let name = if k % 2 == 0 {
            format!("part{k}.csv")
        } else {
            format!("part{k}.csv.gz")
        };
        let body = format!("{header}\n{}\n", chunk.join("\n"));
        let bytes = if k % 2 == 0 {
            body.into_bytes()
        } else {
            gzip(body.as_bytes())
        };
        write(&dir.path(&name), &bytes);
        files.push(dir.path(&name));
    }
    assert!(files.len() >= 5);
    for threads in [1, 2, 4] {
        assert_eq!(
            rate_files(&scenario, &files, threads),
            want,
            "{threads} threads"
        );
    }
}

#[test]
fn repeated_ids_across_files_keep_the_last() {
    let c = Config {
        tenants: 12,
        meters: 26,
        hours: 30,
        first_hour: 0,
        seed: 3,
        duplicate_every: 5,
    };
    let (scenario, csv) = generated(&c);
    let want = rate_inline(&scenario, rows_as_json(&csv));
    let text = std::str::from_utf8(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let dir = TempDir::new("repeats");
    // Split so that many repeated pairs straddle a file boundary.
    let mut files = Vec::new();
    for (k, chunk) in rows.chunks(97).enumerate() {
        let p = dir.path(&format!("p{k:04}.csv"));
        write(&p, format!("{header}\n{}\n", chunk.join("\n")).as_bytes());
        files.push(p);
    }
    assert_eq!(rate_files(&scenario, &files, 3), want);
}

#[test]
fn a_panicking_worker_fails_the_run_instead_of_dropping_its_rows() {
    let c = Config {
        tenants: 5,
        meters: 26,
        hours: 200,
        first_hour: 0,
        seed: 3,
        duplicate_every: 0,
    };
    let (scenario, csv) = generated(&c);
    let dir = TempDir::new("panic");
    let file = dir.path("usage.csv");
    write(&file, &csv);
    let text = scenario.to_string();
    let doc = Document::parse(&text).unwrap();
    // The progress callback runs on the workers: a panic there stands for any bug in a
    // worker. Before, the worker's rows were silently left out of the totals.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let result = aggregate(
        doc.scenario(),
        Some(&doc),
        &[file],
        &Options {
            threads: 2,
            progress: Some(std::sync::Arc::new(move |_| {
                if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    panic!("injected");
                }
            })),
        },
    );
    match result {
        Err(e @ stackbill_ingest::IngestError::WorkerPanicked { .. }) => {
            assert!(e.to_string().contains("injected"), "{e}");
            assert!(!e.is_user_error());
        }
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("a run that lost a worker reported success"),
    }
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

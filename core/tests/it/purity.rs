//! The core stays pure: no async runtime, database, HTTP or binding crate in its graph.

use std::process::Command;

const FORBIDDEN: [&str; 7] = ["tokio", "sqlx", "reqwest", "axum", "hyper", "pyo3", "napi"];

#[test]
fn core_depends_on_no_io_crate() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--quiet",
            "--package",
            "stackbill-core",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--all-features",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"rust_decimal"),
        "the tree was read: {crates:?}"
    );
    for forbidden in FORBIDDEN {
        let hits: Vec<_> = crates
            .iter()
            .filter(|c| **c == forbidden || c.starts_with(&format!("{forbidden}-")))
            .collect();
        assert!(hits.is_empty(), "stackbill-core depends on {hits:?}");
    }
}

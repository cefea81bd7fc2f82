//! `stackbill region` and `stackbill collect` as an operator runs them, against a local
//! Azure Stack Hub usage API (`stackbill_testkit::fake_stamp`) over real HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use stackbill_testkit::fake_stamp::{
    CLIENT, Fake, PROVIDER, SECRET, TENANT, fixture, fixture_scenario, fixture_usage,
};

struct Site {
    _runtime: tokio::runtime::Runtime,
    fake: Fake,
    dir: PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

impl Site {
    fn new(name: &str) -> Site {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let fake = runtime.block_on(Fake::start(false)).unwrap();
        fixture(&fake);
        let dir =
            std::env::temp_dir().join(format!("sb-cli-collect-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        Site {
            _runtime: runtime,
            fake,
            dir,
        }
    }

    fn db(&self) -> String {
        format!("sqlite://{}", self.dir.join("stackbill.db").display())
    }

    fn run(&self, args: &[&str], secret: &str) -> Output {
        let db = self.db();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--database", &db]);
        Command::new(env!("CARGO_BIN_EXE_stackbill"))
            .args(&all)
            .env("FRA01_SECRET", secret)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    fn add_region(&self, endpoint: &str) -> Output {
        self.run(
            &[
                "region",
                "add",
                "--id",
                "fra01",
                "--name",
                "Frankfurt 1",
                "--admin-endpoint",
                endpoint,
                "--provider-subscription",
                PROVIDER,
                "--identity",
                "entra",
                "--directory-tenant",
                TENANT,
                "--client-id",
                CLIENT,
                "--credential-ref",
                "env:FRA01_SECRET",
            ],
            "",
        )
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn regions_are_added_tested_and_collected_from_the_command_line() {
    let site = Site::new("basic");
    let bad = site.add_region("http://stamp.example.net");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("adminEndpoint"), "{}", stderr(&bad));
    let base = site.fake.base.clone();
    let ok = site.add_region(&base);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let list = site.run(&["region", "list"], "");
    let regions: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(regions[0]["credentialRef"], "env:FRA01_SECRET");

    let tested = site.run(&["region", "test", "fra01"], SECRET);
    assert!(tested.status.success(), "{}", stderr(&tested));
    let refused = site.run(&["region", "test", "fra01"], "not-the-secret");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("token refused"),
        "{}",
        stderr(&refused)
    );
    assert!(!stderr(&refused).contains("not-the-secret"));

    let args = [
        "collect",
        "--region",
        "fra01",
        "--from",
        "2025-03-04T10:00:00Z",
        "--to",
        "2025-03-04T12:00:00Z",
        "--json",
    ];
    let first = site.run(&args, SECRET);
    assert!(first.status.success(), "{}", stderr(&first));
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        (report["new"].as_u64(), report["windows"].as_u64()),
        (Some(6), Some(2))
    );
    assert!(stderr(&first).contains("6 new"), "{}", stderr(&first));
    let again = site.run(&args, SECRET);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (report["new"].as_u64(), report["duplicate"].as_u64()),
        (Some(0), Some(6))
    );

    let misaligned = site.run(
        &[
            "collect",
            "--region",
            "fra01",
            "--from",
            "2025-03-04T10:30:00Z",
        ],
        SECRET,
    );
    assert_eq!(misaligned.status.code(), Some(2));
    assert!(
        stderr(&misaligned).contains("whole hour"),
        "{}",
        stderr(&misaligned)
    );
}

/// Collected → stored → billed (`stackbill bill --json`) equals `stackbill rate` on a
/// scenario holding the same rows.
#[test]
fn collected_usage_bills_like_stackbill_rate() {
    let site = Site::new("billing");
    let scenario = site.dir.join("fixture.scenario.json");
    std::fs::write(&scenario, fixture_scenario().to_string()).unwrap();
    let imported = site.run(&["import-scenario", scenario.to_str().unwrap()], "");
    assert!(imported.status.success(), "{}", stderr(&imported));
    let base = site.fake.base.clone();
    assert!(site.add_region(&base).status.success());
    let collected = site.run(
        &[
            "collect",
            "--region",
            "fra01",
            "--from",
            "2025-03-04T10:00:00Z",
            "--to",
            "2025-03-04T11:00:00Z",
        ],
        SECRET,
    );
    assert!(collected.status.success(), "{}", stderr(&collected));
    let billed = site.run(&["bill", "--period", "2025-03", "--json"], "");
    assert!(billed.status.success(), "{}", stderr(&billed));
    let billed: Value = serde_json::from_slice(&billed.stdout).unwrap();

    let mut direct = fixture_scenario();
    direct["usage"] = fixture_usage(&site.fake);
    let file = site.dir.join("direct.scenario.json");
    std::fs::write(&file, direct.to_string()).unwrap();
    let rated = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(["rate", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(rated.status.success(), "{}", stderr(&rated));
    let rated: Value = serde_json::from_slice(&rated.stdout).unwrap();
    assert_eq!(billed["invoices"], rated["invoices"]);
    assert_eq!(billed["unbilled"], rated["unbilled"]);
    assert_eq!(billed["invoices"].as_array().map(Vec::len), Some(2));
}

/// Usage saved at a disconnected site (raw API pages in a `.json` file) is imported with
/// `stackbill usage import --region`, idempotently.
#[test]
fn saved_pages_are_imported_from_a_file() {
    let site = Site::new("saved");
    let base = site.fake.base.clone();
    assert!(site.add_region(&base).status.success());
    let pages = Path::new(env!("CARGO_MANIFEST_DIR")).join("../collector/tests/pages");
    let page = |n: &str| -> Value {
        serde_json::from_slice(&std::fs::read(pages.join(n)).unwrap()).unwrap()
    };
    let file = site.dir.join("fra01-2025-03-04T10.json");
    std::fs::write(
        &file,
        Value::Array(vec![
            page("fixture-page-1.json"),
            page("fixture-page-2.json"),
        ])
        .to_string(),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let refused = site.run(&["usage", "import", path], "");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("--region"),
        "{}",
        stderr(&refused)
    );
    let first = site.run(&["usage", "import", path, "--region", "fra01"], "");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("6 new, 0 duplicate"),
        "{}",
        stderr(&first)
    );
    let again = site.run(&["usage", "import", path, "--region", "fra01"], "");
    assert!(
        stderr(&again).contains("0 new, 6 duplicate"),
        "{}",
        stderr(&again)
    );
}

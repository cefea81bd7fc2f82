//! `stackbill rate` as a user runs it: every scenario file through the real binary, exit
//! codes, and the error documents.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn stackbill(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn case_files(dir: &str) -> Vec<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".scenario.json")?
                .to_owned();
            Some((path, dir.join(format!("{name}.expected.json"))))
        })
        .collect();
    out.sort();
    out
}

fn check_through_binary(scenario: &Path, expected: &Path) {
    let out = stackbill(&["rate", scenario.to_str().unwrap()], None);
    let want: Value = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    let got: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}): {}",
            scenario.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    match want.get("error") {
        None => {
            assert_eq!(out.status.code(), Some(0), "{}", scenario.display());
            assert_eq!(got, want, "{}", scenario.display());
        }
        Some(err) => {
            assert_eq!(out.status.code(), Some(2), "{}", scenario.display());
            assert_eq!(got["error"]["kind"], err["kind"]);
            let problems = got["error"]["problems"].as_array().unwrap();
            for p in problems {
                assert!(p["path"].is_string() && p["message"].is_string(), "{p}");
            }
            for path in err["paths"].as_array().unwrap() {
                assert!(
                    problems.iter().any(|p| &p["path"] == path),
                    "{}: {path}",
                    scenario.display()
                );
            }
        }
    }
}

#[test]
fn every_vector_through_the_binary() {
    let files = case_files("vectors");
    assert_eq!(files.len(), 9);
    for (scenario, expected) in files {
        check_through_binary(&scenario, &expected);
    }
}

#[test]
fn every_own_scenario_through_the_binary() {
    for (scenario, expected) in case_files("scenarios") {
        check_through_binary(&scenario, &expected);
    }
}

#[test]
fn reads_standard_input() {
    let (scenario, expected) = case_files("vectors")
        .into_iter()
        .find(|(s, _)| s.ends_with("flat-basic.scenario.json"))
        .unwrap();
    let out = stackbill(&["rate", "-"], Some(&std::fs::read(scenario).unwrap()));
    assert_eq!(out.status.code(), Some(0));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: Value = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    assert_eq!(got, want);
}

#[test]
fn malformed_json_names_file_and_position_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("stackbill-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(
        &file,
        "{\n  \"period\": \"2026-10\",\n  \"platform\": {\"currency\": \"AUD\",}\n}\n",
    )
    .unwrap();
    let out = stackbill(&["rate", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("broken.json:3:"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unreadable_file_exits_1_with_one_line() {
    let out = stackbill(&["rate", "/nonexistent/scenario.json"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("/nonexistent/scenario.json"), "{err}");
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"null",
        b"[]",
        b"\xff\xfe",
        b"{\"period\": []}",
        b"{\"usage\": [1, 2]}",
        b"{\"period\": \"2026-10\", \"platform\": {\"currency\": \"AUD\"}, \"usage\": [{\"quantity\": {}}]}",
        b"{\"period\": \"2026-10\", \"platform\": {\"currency\": \"AUD\"}, \"tenants\": [{\"id\": 1, \"partner\": null}]}",
    ];
    for input in inputs {
        let out = stackbill(&["rate", "-"], Some(input));
        let code = out.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{:?} → {code:?}",
            String::from_utf8_lossy(input)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

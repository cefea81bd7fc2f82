//! `import stackbill`: the engine in-process, a thin translation of the core.
//!
//! Rating runs with the GIL released; any panic is caught at this boundary and raised as
//! `StackBillError`, never as a Rust panic. The scenario contract (JSON in, §10 JSON out) is
//! the interface; the Python package turns the output into `Decimal`s and `datetime`s.

mod error;

use std::collections::HashMap;
use std::path::PathBuf;

use pyo3::prelude::*;
use stackbill_core::rating::rate_partial;
use stackbill_core::rbac::{self, Action, Governance, NodePath, Role, Scope};
use stackbill_core::scenario::json::{self, Document};
use stackbill_core::{Rater, UsageRecord};

use crate::error::Failure;

/// Rates `scenario` (JSON text, or a path when `is_path`) with optional usage files and
/// optional NDJSON usage lines (both after the scenario's own usage) and returns the
/// output document of billing-semantics §10 as JSON text.
#[pyfunction]
#[pyo3(signature = (scenario, is_path=false, usage_files=None, usage_lines=None))]
fn rate_json(
    py: Python<'_>,
    scenario: String,
    is_path: bool,
    usage_files: Option<Vec<PathBuf>>,
    usage_lines: Option<String>,
) -> PyResult<String> {
    let result = py.detach(move || {
        error::guard(|| {
            rate(
                &scenario,
                is_path,
                usage_files.unwrap_or_default(),
                usage_lines,
            )
        })
    });
    result.map_err(|f| f.into_py_err(py))
}

fn rate(
    scenario: &str,
    is_path: bool,
    files: Vec<PathBuf>,
    lines: Option<String>,
) -> Result<String, Failure> {
    let text;
    let source = if is_path {
        text = std::fs::read_to_string(scenario).map_err(|e| Failure::Unreadable {
            what: scenario.to_owned(),
            error: e.to_string(),
        })?;
        &text
    } else {
        scenario
    };
    let doc = Document::parse(source)?;
    let outcome = if files.is_empty() {
        let mut rater = Rater::new(doc.scenario());
        doc.push_usage(&mut rater)?;
        for line in lines.iter().flat_map(|l| l.lines()) {
            if line.trim().is_empty() {
                continue;
            }
            match json::parse_usage_line(line) {
                Ok(raw) => json::with_record(&raw, |r| rater.push(r))?,
                Err(_) => rater.push(&UsageRecord {
                    malformed: true,
                    ..UsageRecord::default()
                })?,
            }
        }
        rater.finish()?
    } else {
        let options = stackbill_ingest::Options::default();
        let ingest = stackbill_ingest::aggregate(doc.scenario(), Some(&doc), &files, &options)?;
        rate_partial(doc.scenario(), ingest.partial)?
    };
    Ok(json::outcome_to_string(&outcome))
}

type Node = HashMap<String, Option<String>>;

fn node_path(node: &Node) -> Result<NodePath, Failure> {
    NodePath::from_fields(node.iter().map(|(k, v)| (k, v.as_deref()))).map_err(scope_failure)
}

/// A name or node the policy refused, as the binding's `ScopeError`.
fn scope_failure(e: impl std::fmt::Display) -> Failure {
    Failure::Scope(e.to_string())
}

/// The caller's scope, the target node and the switches, from Python values.
fn policy_inputs(
    role_name: &str,
    at: &Node,
    target: &Node,
    switches: Option<HashMap<String, bool>>,
) -> Result<(Scope, NodePath, Governance), Failure> {
    let role = Role::parse(role_name).map_err(scope_failure)?;
    let scope = Scope::new(role, node_path(at)?).map_err(scope_failure)?;
    let governance =
        Governance::with_switches(switches.unwrap_or_default()).map_err(scope_failure)?;
    Ok((scope, node_path(target)?, governance))
}

/// Whether `role` granted at `at` may perform `action` on `target` (the core's policy).
#[pyfunction]
#[pyo3(signature = (role_name, at, action_name, target, switches=None))]
fn can(
    py: Python<'_>,
    role_name: &str,
    at: Node,
    action_name: &str,
    target: Node,
    switches: Option<HashMap<String, bool>>,
) -> PyResult<bool> {
    error::guard(|| {
        let (scope, target, g) = policy_inputs(role_name, &at, &target, switches)?;
        let action = Action::parse(action_name).map_err(scope_failure)?;
        Ok(rbac::can(&scope, action, &target, &g))
    })
    .map_err(|f| f.into_py_err(py))
}

/// Whether `role` granted at `at` may grant `granted` at `target`.
#[pyfunction]
#[pyo3(signature = (role_name, at, granted, target, switches=None))]
fn can_grant(
    py: Python<'_>,
    role_name: &str,
    at: Node,
    granted: &str,
    target: Node,
    switches: Option<HashMap<String, bool>>,
) -> PyResult<bool> {
    error::guard(|| {
        let (scope, target, g) = policy_inputs(role_name, &at, &target, switches)?;
        let granted = Role::parse(granted).map_err(scope_failure)?;
        Ok(rbac::can_grant(&scope, granted, &target, &g))
    })
    .map_err(|f| f.into_py_err(py))
}

/// The adjustment lines correcting `period` (core `adjustment`), as a JSON array: `now`
/// is that period's §10 invoice as it rates today, `billed` each invoice that billed it
/// as (its period, its stored document).
#[pyfunction]
fn adjustments_json(
    py: Python<'_>,
    period: &str,
    now: &str,
    billed: Vec<(String, String)>,
) -> PyResult<String> {
    error::guard(|| {
        let pairs: Vec<(&str, &str)> = billed
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_str()))
            .collect();
        let lines = json::adjustment_lines(period, now, &pairs)
            .map_err(|invalid| Failure::from(json::ReadError::Invalid(invalid)))?;
        let items: Vec<String> = lines.iter().map(ToString::to_string).collect();
        Ok(format!("[{}]", items.join(",")))
    })
    .map_err(|f| f.into_py_err(py))
}

#[pymodule]
fn _stackbill(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(rate_json, m)?)?;
    m.add_function(wrap_pyfunction!(can, m)?)?;
    m.add_function(wrap_pyfunction!(can_grant, m)?)?;
    m.add_function(wrap_pyfunction!(adjustments_json, m)?)?;
    m.add("ACTIONS", Action::ALL.map(Action::name).to_vec())?;
    m.add("ROLES", Role::ALL.map(Role::name).to_vec())?;
    m.add("GOVERNANCE_SWITCHES", Governance::SWITCHES.to_vec())?;
    error::register(m)
}

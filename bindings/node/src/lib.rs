//! `require('stackbill')`: the engine in-process, a thin translation of the core.
//!
//! The scenario contract (JSON in, §10 JSON out) is the interface. `rateAsync` rates on
//! the libuv thread pool so the event loop keeps running; every panic is caught at this
//! boundary and thrown as a `StackBillError`, never as a Rust panic.

mod adjustment;
mod error;
mod input;
mod result;

use std::collections::HashMap;

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::{Env, Task};
use napi_derive::napi;
use stackbill_core::increase::Increase;
use stackbill_core::rating::rate_partial;
use stackbill_core::rbac::{self, Action, Governance, NodePath, Role, Scope};
use stackbill_core::scenario::json::{self, Document};
use stackbill_core::{Decimal, Outcome, Quantity, Rater, UsageRecord};

pub use crate::adjustment::{Adjustment, adjustments};
pub use crate::error::Problem;
use crate::error::{Failure, guard};
use crate::input::{Scenario, Usage};
pub use crate::result::{Commission, Invoice, Line, Rating, Unbilled};

/// Options of `rate` and `rateAsync`.
// No `Debug`: a JS value handle has none (the lint allows it for napi glue types).
#[allow(missing_debug_implementations)]
#[napi(object)]
#[derive(Default)]
pub struct RateOptions<'a> {
    /// Usage after the scenario's own: a `.csv`/`.ndjson` path (optionally `.gz`), an
    /// array of paths, or an iterable of usage objects.
    #[napi(ts_type = "string | string[] | Iterable<UsageInput>")]
    pub usage: Option<Unknown<'a>>,
}

/// Rates `scenario` (an object, JSON text or a path to a scenario file) and returns its
/// invoices, commissions and unbilled report.
#[napi(ts_args_type = "scenario: ScenarioInput, options?: RateOptions")]
pub fn rate(
    env: Env,
    scenario: Unknown<'_>,
    options: Option<RateOptions<'_>>,
) -> napi::Result<Rating> {
    guard(|| {
        let (scenario, usage) = inputs(&env, scenario, options)?;
        run(&scenario, &usage)
    })
    .map_err(|f| f.into_js(&env))
}

/// Like `rate`, but rates on the libuv thread pool: the event loop keeps running.
#[napi(
    ts_args_type = "scenario: ScenarioInput, options?: RateOptions",
    ts_return_type = "Promise<Rating>"
)]
pub fn rate_async(
    env: Env,
    scenario: Unknown<'_>,
    options: Option<RateOptions<'_>>,
) -> napi::Result<AsyncTask<RateTask>> {
    let (scenario, usage) =
        guard(|| inputs(&env, scenario, options)).map_err(|f| f.into_js(&env))?;
    Ok(AsyncTask::new(RateTask {
        scenario,
        usage,
        failure: None,
    }))
}

fn inputs(
    env: &Env,
    scenario: Unknown<'_>,
    options: Option<RateOptions<'_>>,
) -> Result<(Scenario, Usage), Failure> {
    let scenario = Scenario::from_js(env, scenario)?;
    let usage = Usage::from_js(env, options.and_then(|o| o.usage))?;
    Ok((scenario, usage))
}

/// A rating on the libuv pool. A failure is kept here and becomes a JS error on the JS
/// thread, where error objects can be built.
#[derive(Debug)]
pub struct RateTask {
    scenario: Scenario,
    usage: Usage,
    failure: Option<Failure>,
}

impl Task for RateTask {
    type Output = Rating;
    type JsValue = Rating;

    fn compute(&mut self) -> napi::Result<Rating> {
        guard(|| run(&self.scenario, &self.usage)).map_err(|f| {
            self.failure = Some(f);
            napi::Error::from_reason("rating failed")
        })
    }

    fn resolve(&mut self, _env: Env, output: Rating) -> napi::Result<Rating> {
        Ok(output)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<Rating> {
        Err(match self.failure.take() {
            Some(f) => f.into_js(&env),
            None => err,
        })
    }
}

fn run(scenario: &Scenario, usage: &Usage) -> Result<Rating, Failure> {
    let text = scenario.text()?;
    let doc = Document::parse(&text)?;
    let outcome: Outcome = match usage {
        Usage::Files(files) => {
            let options = stackbill_ingest::Options::default();
            let ingest = stackbill_ingest::aggregate(doc.scenario(), Some(&doc), files, &options)?;
            rate_partial(doc.scenario(), ingest.partial)?
        }
        Usage::None | Usage::Lines(_) => {
            let mut rater = Rater::new(doc.scenario());
            doc.push_usage(&mut rater)?;
            let lines = match usage {
                Usage::Lines(lines) => lines.as_slice(),
                _ => &[],
            };
            for line in lines {
                match json::parse_usage_line(line) {
                    Ok(raw) => json::with_record(&raw, |r| rater.push(r))?,
                    // Not a usage object (an array, a string): counted as invalid usage,
                    // as a bad row of a usage file would be.
                    Err(_) => rater.push(&UsageRecord {
                        malformed: true,
                        ..UsageRecord::default()
                    })?,
                }
            }
            rater.finish()?
        }
    };
    Ok(Rating::new(&outcome))
}

/// One line of an estimate: usage a subscription would have over the whole period.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Quote {
    /// The subscription the usage would run in (it decides region and tenant prices).
    pub subscription: String,
    /// The meter, in any spelling.
    pub meter: String,
    /// The VM size, for SKU prices.
    pub sku: Option<String>,
    /// Quantity for the whole period, in the meter's unit, as a decimal string.
    pub quantity: String,
}

/// What `quotes` would cost under the scenario's price lists, rated exactly as billing
/// would (the scenario's own usage is ignored).
#[napi(ts_args_type = "scenario: ScenarioInput, quotes: Quote[]")]
pub fn estimate(env: Env, scenario: Unknown<'_>, quotes: Vec<Quote>) -> napi::Result<Rating> {
    guard(|| {
        let scenario = Scenario::from_js(&env, scenario)?;
        let text = scenario.text()?;
        let doc = Document::parse(&text)?;
        let mut problems = Vec::new();
        let mut parsed = Vec::with_capacity(quotes.len());
        for (i, q) in quotes.iter().enumerate() {
            match Quantity::parse(q.quantity.trim()) {
                Some(quantity) if !quantity.is_negative() => {
                    parsed.push(stackbill_core::estimate::Quote {
                        subscription: &q.subscription,
                        meter: &q.meter,
                        sku: q.sku.as_deref(),
                        quantity,
                    })
                }
                _ => problems.push(Problem {
                    path: format!("quotes[{i}].quantity"),
                    message: format!("{:?} is not a non-negative decimal", q.quantity),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(Failure::Invalid(problems));
        }
        let outcome = stackbill_core::estimate::estimate(doc.scenario(), &parsed)?;
        Ok(Rating::new(&outcome))
    })
    .map_err(|f| f.into_js(&env))
}

/// How rates rise: exactly one of `percentage` (of the current rate, above −100) or
/// `fixed` (an amount in the list's currency), as a decimal string.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct IncreaseBy {
    pub percentage: Option<String>,
    pub fixed: Option<String>,
}

/// The core's price-increase model: the new rate for `rate` (exact, unrounded).
#[napi]
pub fn increase_rate(env: Env, rate: String, by: IncreaseBy) -> napi::Result<String> {
    guard(|| {
        let decimal = |path: &str, text: &str| {
            stackbill_core::number::parse_decimal(text.trim()).map_err(|_| {
                Failure::Invalid(vec![Problem {
                    path: path.into(),
                    message: format!("{text:?} is not a decimal"),
                }])
            })
        };
        let increase = match (&by.percentage, &by.fixed) {
            (Some(p), None) => Increase::Percentage(decimal("percentage", p)?),
            (None, Some(f)) => Increase::Fixed(decimal("fixed", f)?),
            _ => {
                return Err(Failure::Invalid(vec![Problem {
                    path: String::new(),
                    message: "give exactly one of percentage and fixed".into(),
                }]));
            }
        };
        let current: Decimal = decimal("rate", &rate)?;
        increase.apply(current).map(|r| r.to_string()).map_err(|e| {
            Failure::Invalid(vec![Problem {
                path: "rate".into(),
                message: e.to_string(),
            }])
        })
    })
    .map_err(|f| f.into_js(&env))
}

type NodeMap = HashMap<String, Option<String>>;

fn node_path(node: &NodeMap) -> Result<NodePath, Failure> {
    NodePath::from_fields(node.iter().map(|(k, v)| (k, v.as_deref()))).map_err(scope_failure)
}

/// A name or node the policy refused, as `ScopeError`.
fn scope_failure(e: impl std::fmt::Display) -> Failure {
    Failure::Scope(e.to_string())
}

fn policy_inputs(
    role_name: &str,
    at: &NodeMap,
    target: &NodeMap,
    switches: Option<HashMap<String, bool>>,
) -> Result<(Scope, NodePath, Governance), Failure> {
    let role = Role::parse(role_name).map_err(scope_failure)?;
    let scope = Scope::new(role, node_path(at)?).map_err(scope_failure)?;
    let governance =
        Governance::with_switches(switches.unwrap_or_default()).map_err(scope_failure)?;
    Ok((scope, node_path(target)?, governance))
}

/// Whether `role` granted at node `at` may perform `action` (one of `actions()`) on node
/// `target`. Nodes name `distributor`, `partner`, `tenant` and `subscription` down to
/// their level; `{}` is the platform. `governance` overrides System Settings switches.
#[napi(
    ts_args_type = "role: string, at: NodeRef, action: string, target: NodeRef, governance?: Partial<Record<string, boolean>>"
)]
pub fn can(
    env: Env,
    role_name: String,
    at: NodeMap,
    action_name: String,
    target: NodeMap,
    governance: Option<HashMap<String, bool>>,
) -> napi::Result<bool> {
    guard(|| {
        let (scope, target, g) = policy_inputs(&role_name, &at, &target, governance)?;
        let action = Action::parse(&action_name).map_err(scope_failure)?;
        Ok(rbac::can(&scope, action, &target, &g))
    })
    .map_err(|f| f.into_js(&env))
}

/// Whether `role` granted at `at` may grant role `granted` at node `target`.
#[napi(
    ts_args_type = "role: string, at: NodeRef, granted: string, target: NodeRef, governance?: Partial<Record<string, boolean>>"
)]
pub fn can_grant(
    env: Env,
    role_name: String,
    at: NodeMap,
    granted: String,
    target: NodeMap,
    governance: Option<HashMap<String, bool>>,
) -> napi::Result<bool> {
    guard(|| {
        let (scope, target, g) = policy_inputs(&role_name, &at, &target, governance)?;
        let granted = Role::parse(&granted).map_err(scope_failure)?;
        Ok(rbac::can_grant(&scope, granted, &target, &g))
    })
    .map_err(|f| f.into_js(&env))
}

/// Every role name the core knows (`PartnerAdministrator`, …).
#[napi]
pub fn roles() -> Vec<&'static str> {
    Role::ALL.map(Role::name).to_vec()
}

/// Every action name the core knows (`manage_billing`, …).
#[napi]
pub fn actions() -> Vec<&'static str> {
    Action::ALL.map(Action::name).to_vec()
}

/// Every governance switch name (the System Settings switches `can` takes).
#[napi]
pub fn governance_switches() -> Vec<&'static str> {
    Governance::SWITCHES.to_vec()
}

/// The error class names this binding throws (each has a class in `index.js`).
#[napi]
pub fn error_kinds() -> Vec<&'static str> {
    error::KINDS.to_vec()
}

/// The engine version.
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

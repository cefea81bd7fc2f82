//! Every failure of the binding, and its one mapping to the JavaScript error hierarchy:
//! `StackBillError` → `InvalidScenario` (with `.problems`), `MalformedInput`,
//! `UnreadableInput`, `UsageFileError`, `AmountOverflow`, `ScopeError`.
//!
//! A failure becomes a JS `Error` whose `code` names its class; `index.js` gives it that
//! class's prototype, so `instanceof` works while message, stack and fields stay as built
//! here. [`KINDS`] is exported so a test can check that `index.js` knows every kind.

use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::bindgen_prelude::{JsObjectValue, JsValue, Object};
use napi::{Env, Status};
use napi_derive::napi;
use stackbill_core::scenario::json::ReadError;
use stackbill_ingest::IngestError;

/// The error class names, in the order of [`Failure`]'s variants; the base class is
/// `StackBillError` (for internal faults and values that cannot cross into the engine).
pub(crate) const KINDS: [&str; 7] = [
    "InvalidScenario",
    "MalformedInput",
    "UnreadableInput",
    "UsageFileError",
    "AmountOverflow",
    "ScopeError",
    "StackBillError",
];

/// One problem of an invalid scenario.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct Problem {
    /// Contract path of the offending value, e.g. `price_lists[0].items[1].rate`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// A failure, built off the JS thread when rating asynchronously and turned into a JS
/// error on it.
#[derive(Debug)]
pub(crate) enum Failure {
    Invalid(Vec<Problem>),
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    Unreadable {
        what: String,
        error: String,
    },
    Usage(String),
    Overflow(String),
    Scope(String),
    /// A panic, or a value JavaScript handed over that is not what the API takes.
    Internal(String),
}

impl From<ReadError> for Failure {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Syntax {
                line,
                column,
                message,
            } => Failure::Malformed {
                line,
                column,
                message,
            },
            ReadError::Invalid(invalid) => Failure::Invalid(
                invalid
                    .problems
                    .into_iter()
                    .map(|p| Problem {
                        path: p.path,
                        message: p.message,
                    })
                    .collect(),
            ),
            other => Failure::Internal(other.to_string()),
        }
    }
}

impl From<stackbill_core::Error> for Failure {
    fn from(e: stackbill_core::Error) -> Self {
        match e {
            stackbill_core::Error::InvalidScenario(invalid) => ReadError::Invalid(invalid).into(),
            other => Failure::Overflow(other.to_string()),
        }
    }
}

impl From<IngestError> for Failure {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Io { path, source } => Failure::Unreadable {
                what: path.display().to_string(),
                error: source.to_string(),
            },
            IngestError::Engine(engine) => engine.into(),
            other => Failure::Usage(other.to_string()),
        }
    }
}

impl From<napi::Error> for Failure {
    /// A JS value that could not be read (a getter threw, `JSON.stringify` refused).
    fn from(e: napi::Error) -> Self {
        Failure::Internal(e.reason)
    }
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Failure::Invalid(_) => KINDS[0],
            Failure::Malformed { .. } => KINDS[1],
            Failure::Unreadable { .. } => KINDS[2],
            Failure::Usage(_) => KINDS[3],
            Failure::Overflow(_) => KINDS[4],
            Failure::Scope(_) => KINDS[5],
            Failure::Internal(_) => KINDS[6],
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Invalid(problems) => {
                let summary = problems
                    .iter()
                    .take(3)
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!(
                    "invalid scenario ({} problem{}): {summary}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )
            }
            Failure::Malformed {
                line,
                column,
                message,
            } => format!("malformed JSON at line {line}, column {column}: {message}"),
            Failure::Unreadable { what, error } => format!("cannot read {what}: {error}"),
            Failure::Usage(m) | Failure::Overflow(m) | Failure::Scope(m) => m.clone(),
            Failure::Internal(m) => format!("internal error: {m}"),
        }
    }

    /// The JS error to throw: an `Error` with `code` (its class name) and the fields of
    /// its kind (`problems`; `line` and `column`).
    pub(crate) fn into_js(self, env: &Env) -> napi::Error {
        match self.build(env) {
            Ok(object) => napi::Error::from(object.to_unknown()),
            // Creating an error object failed (out of memory, a pending exception): the
            // message still reaches JavaScript, as a plain Error.
            Err(e) => e,
        }
    }

    fn build(self, env: &Env) -> napi::Result<Object<'_>> {
        let kind = self.kind();
        let mut error =
            env.create_error(napi::Error::new(Status::GenericFailure, self.message()))?;
        error.set_named_property("code", kind)?;
        match self {
            Failure::Invalid(problems) => error.set_named_property("problems", problems)?,
            Failure::Malformed { line, column, .. } => {
                error.set_named_property("line", u32::try_from(line).unwrap_or(u32::MAX))?;
                error.set_named_property("column", u32::try_from(column).unwrap_or(u32::MAX))?;
            }
            _ => {}
        }
        Ok(error)
    }
}

/// Runs `f`, turning a panic into `Failure::Internal` so that none reaches JavaScript.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            Err(Failure::Internal(message))
        }
    }
}

//! Every failure of the C ABI, and its one mapping to the error document the .NET binding
//! turns into exceptions: `{"kind", "message", "problems"?, "line"?, "column"?}` where
//! `kind` names the exception (`InvalidScenario` → `InvalidScenarioException`, …).

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};
use stackbill_core::scenario::json::ReadError;
use stackbill_ingest::IngestError;

/// The error kinds, in the order of [`Failure`]'s variants; `StackBillError` is the base
/// (internal faults and calls that break the ABI contract).
pub const KINDS: [&str; 7] = [
    "InvalidScenario",
    "MalformedInput",
    "UnreadableInput",
    "UsageFileError",
    "AmountOverflow",
    "ScopeError",
    "StackBillError",
];

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The scenario (or a request) breaks the contract: every `(path, message)`.
    Invalid(Vec<(String, String)>),
    /// Not JSON: the position of the first syntax error.
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    /// A scenario or usage file could not be read.
    Unreadable { what: String, error: String },
    /// A usage file has an unknown format or a bad CSV header.
    Usage(String),
    /// Amounts grew beyond what exact decimals can hold.
    Overflow(String),
    /// A role, node, action or governance switch is not valid.
    Scope(String),
    /// A panic, a null or non-UTF-8 argument, a request of the wrong shape.
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
                    .map(|p| (p.path, p.message))
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

impl Failure {
    /// One problem at `path`.
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Failure::Invalid(vec![(path.into(), message.into())])
    }

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
                    .map(|(path, message)| format!("{path}: {message}"))
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

    /// The error document.
    pub fn to_json(&self) -> String {
        let mut doc = json!({"kind": self.kind(), "message": self.message()});
        match self {
            Failure::Invalid(problems) => {
                doc["problems"] = problems
                    .iter()
                    .map(|(path, message)| json!({"path": path, "message": message}))
                    .collect::<Value>();
            }
            Failure::Malformed { line, column, .. } => {
                doc["line"] = json!(line);
                doc["column"] = json!(column);
            }
            _ => {}
        }
        doc.to_string()
    }
}

/// Runs `f`, turning a panic into `Failure::Internal` so that none unwinds into the caller
/// (unwinding across `extern "C"` would abort the host process).
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

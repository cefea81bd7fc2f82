//! Every failure of the binding, and its one mapping to the Python exception hierarchy:
//! `StackBillError` → `InvalidScenario` (with `.problems`), `MalformedInput`,
//! `UnreadableInput`, `UsageFileError`, `AmountOverflow`, `ScopeError`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use stackbill_core::scenario::json::ReadError;
use stackbill_ingest::IngestError;

create_exception!(
    _stackbill,
    StackBillError,
    PyException,
    "Base of every StackBill error."
);
create_exception!(
    _stackbill,
    InvalidScenario,
    StackBillError,
    "The scenario breaks the contract; `.problems` lists every (path, message)."
);
create_exception!(
    _stackbill,
    MalformedInput,
    StackBillError,
    "The input is not JSON; `.line` and `.column` locate the first syntax error."
);
create_exception!(
    _stackbill,
    UnreadableInput,
    StackBillError,
    "A scenario or usage file could not be read."
);
create_exception!(
    _stackbill,
    UsageFileError,
    StackBillError,
    "A usage file has an unknown format or a bad CSV header."
);
create_exception!(
    _stackbill,
    AmountOverflow,
    StackBillError,
    "Amounts grew beyond what exact decimals can hold."
);
create_exception!(
    _stackbill,
    ScopeError,
    StackBillError,
    "A role, node, action or governance switch is not valid."
);

/// One problem of an invalid scenario.
#[pyclass(frozen, get_all, module = "stackbill")]
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// Contract path of the offending value, e.g. `price_lists[0].items[1].rate`.
    path: String,
    /// What is wrong with it.
    message: String,
}

#[pymethods]
impl Problem {
    fn __repr__(&self) -> String {
        format!("Problem(path={:?}, message={:?})", self.path, self.message)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.path == other.path && self.message == other.message
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let pair = (self.path.clone(), self.message.clone()).into_pyobject(py)?;
        Ok(pair.try_iter()?.into_any().unbind())
    }
}

/// A failure, built without the GIL and turned into a Python exception with it.
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

impl Failure {
    pub(crate) fn into_py_err(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Invalid(problems) => {
                let summary = problems
                    .iter()
                    .take(3)
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let err = InvalidScenario::new_err(format!(
                    "invalid scenario ({} problem{}): {summary}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ));
                let _ = err.value(py).setattr("problems", problems);
                err
            }
            Failure::Malformed {
                line,
                column,
                message,
            } => {
                let err = MalformedInput::new_err(format!(
                    "malformed JSON at line {line}, column {column}: {message}"
                ));
                let _ = err.value(py).setattr("line", line);
                let _ = err.value(py).setattr("column", column);
                err
            }
            Failure::Unreadable { what, error } => {
                UnreadableInput::new_err(format!("cannot read {what}: {error}"))
            }
            Failure::Usage(m) => UsageFileError::new_err(m),
            Failure::Overflow(m) => AmountOverflow::new_err(m),
            Failure::Scope(m) => ScopeError::new_err(m),
            Failure::Internal(m) => StackBillError::new_err(format!("internal error: {m}")),
        }
    }
}

/// Runs `f`, turning a panic into `Failure::Internal` so that none crosses into Python.
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

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("StackBillError", py.get_type::<StackBillError>())?;
    m.add("InvalidScenario", py.get_type::<InvalidScenario>())?;
    m.add("MalformedInput", py.get_type::<MalformedInput>())?;
    m.add("UnreadableInput", py.get_type::<UnreadableInput>())?;
    m.add("UsageFileError", py.get_type::<UsageFileError>())?;
    m.add("AmountOverflow", py.get_type::<AmountOverflow>())?;
    m.add("ScopeError", py.get_type::<ScopeError>())?;
    m.add_class::<Problem>()?;
    Ok(())
}

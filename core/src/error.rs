//! The core's error type.
//!
//! Every error says what was wrong and where, and can be classified as the caller's
//! mistake or an internal fault so that outer layers map it to a 4xx or a 5xx, an exit
//! code 2 or 1, or the right exception class.

use std::fmt;

/// One problem in a scenario: the path of the offending value in the scenario contract
/// (`price_lists[0].items[1].rate`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Problem {
    /// Dotted path with `[index]` for array elements.
    pub path: String,
    /// Human-readable description.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A scenario that cannot be rated, with every problem found (not only the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scenario: {}", summary(.problems))]
pub struct InvalidScenario {
    /// All problems, in the order the document presents them.
    pub problems: Vec<Problem>,
}

fn summary(problems: &[Problem]) -> String {
    let mut s = problems
        .iter()
        .take(3)
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > 3 {
        s.push_str(&format!("; and {} more", problems.len().saturating_sub(3)));
    }
    s
}

/// A decimal computation exceeded the range of a 96-bit decimal (about 7.9e28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("arithmetic overflow")]
pub struct Overflow;

/// Errors of `stackbill-core`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The scenario is structurally invalid (unknown reference, bad tiers, bad decimal,
    /// bad currency or time zone, ambiguous price lists, missing FX for a commission).
    #[error(transparent)]
    InvalidScenario(#[from] InvalidScenario),
    /// Amounts grew beyond what exact decimals can hold; `context` names the computation.
    #[error("arithmetic overflow while computing {context}")]
    Overflow {
        /// What was being computed (e.g. `aggregate sub-1/meter`).
        context: String,
    },
}

impl Error {
    /// Whether the caller can fix this by changing their input (a 4xx, exit 2), as opposed
    /// to an internal fault. Every current variant is caused by input.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::InvalidScenario(_) | Error::Overflow { .. } => true,
        }
    }
}

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

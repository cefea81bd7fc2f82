//! Errors of usage ingestion.

use std::path::PathBuf;

/// Why usage files could not be read. Bad rows are not errors: they are counted and
/// reported as rejects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file name says neither CSV nor NDJSON.
    #[error("{path}: unknown usage format (expected .csv, .ndjson or .jsonl, optionally .gz)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A CSV header lacks a required column or is unreadable.
    #[error("{path}: bad CSV header: {message}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The engine refused the usage (a sum overflowed).
    #[error(transparent)]
    Engine(#[from] stackbill_core::Error),
    /// A worker thread panicked (a bug): the rows it held are not in any total, so the
    /// whole run fails rather than report partial sums as complete.
    #[error("a usage worker failed unexpectedly ({message}); nothing was aggregated")]
    WorkerPanicked {
        /// The panic's message, when it had one.
        message: String,
    },
}

impl IngestError {
    /// Whether the caller can fix this by changing their input.
    pub fn is_user_error(&self) -> bool {
        match self {
            IngestError::Io { .. } | IngestError::WorkerPanicked { .. } => false,
            IngestError::UnknownFormat { .. } | IngestError::Header { .. } => true,
            IngestError::Engine(e) => e.is_user_error(),
        }
    }
}

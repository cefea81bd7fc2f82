//! The store error type, shared by every implementation.

/// Why a store operation failed. Database errors are classified by kind (unique or
/// foreign-key violation, not found), never by message text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object does not exist.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A referenced object does not exist (e.g. a partner's distributor).
    #[error("{kind} {id:?} refers to unknown {target} {target_id:?}")]
    MissingReference {
        /// The object written.
        kind: &'static str,
        /// Its id.
        id: String,
        /// What it refers to.
        target: &'static str,
        /// The missing id.
        target_id: String,
    },
    /// A delete is refused because other data depends on the object.
    #[error("cannot delete {kind} {id:?}: {blockers}")]
    Blocked {
        /// The object.
        kind: &'static str,
        /// Its id.
        id: String,
        /// What blocks it, for a human (e.g. `2 tenants (t1, t2), 1 issued invoice`).
        blockers: String,
    },
    /// A value that must be unique is taken (e.g. a user's e-mail).
    #[error("{kind} {id:?}: {field} is already used")]
    Conflict {
        /// The object written.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The unique field.
        field: &'static str,
    },
    /// A value is not acceptable (e.g. a secret where a reference is required).
    #[error("{kind} {id:?}: {message}")]
    Rejected {
        /// The object written.
        kind: &'static str,
        /// Its id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// The operation does not apply in the object's current state (e.g. issuing an
    /// issued invoice).
    #[error("{0}")]
    InvalidState(String),
    /// The data is not valid for the engine.
    #[error(transparent)]
    Invalid(#[from] stackbill_core::InvalidScenario),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] stackbill_core::Error),
    /// The database failed (connection, constraint the store did not expect, I/O).
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// Whether the caller can fix this by changing their request.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, StoreError::Database(_))
    }
}

/// Result alias for stores.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

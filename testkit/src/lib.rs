//! Test support shared by the store crates, kept out of the published libraries: the
//! conformance suite every `Store` implementation passes (`conformance_tests!` expands it
//! into one `#[tokio::test]` per case against a fresh store), with its fixtures and the
//! walk over the repository's case files.

pub mod conformance;
pub mod fake_stamp;
pub mod tls;

/// The repository interface the suite drives (named by `conformance_tests!`).
pub use stackbill_store::Store;

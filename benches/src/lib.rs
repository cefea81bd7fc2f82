//! Shared set-up for the benchmarks: a generated scenario and its usage, in memory.

use stackbill_ingest::generate::{self, Config};

/// A generated scenario (JSON text) and its usage as CSV bytes.
#[derive(Debug)]
pub struct Fixture {
    /// The scenario document.
    pub scenario: String,
    /// The usage CSV, header included.
    pub csv: Vec<u8>,
    /// Usage rows.
    pub rows: u64,
}

/// Generates `tenants` × 25 meters × `hours` rows.
pub fn fixture(tenants: usize, hours: u32) -> Fixture {
    let config = Config {
        tenants,
        meters: 25,
        hours,
        first_hour: 0,
        seed: 1,
        duplicate_every: 0,
    };
    let mut csv = Vec::new();
    // Writing to a Vec cannot fail.
    let rows = generate::write_csv(&config, &mut csv, |_| {}).unwrap_or(0);
    Fixture {
        scenario: generate::scenario(&config).to_string(),
        csv,
        rows,
    }
}

//! Compact detection of repeated record ids.
//!
//! Each record id is reduced to a 64-bit fingerprint and stored in one of 256 partitions
//! (8 bytes per id, growth capped at 25 % slack). After the first pass the partitions are
//! sorted and scanned; fingerprints seen twice are candidates that a second pass resolves
//! with the full id text, so a fingerprint collision costs a little time, never a wrong
//! result.

use std::collections::HashSet;
use std::hash::BuildHasher;

/// Fixed seed: fingerprints from different threads must agree.
const SEED: u64 = 0x5eed_57ac_b111_0001;

pub(crate) fn fingerprint(id: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(SEED).hash_one(id)
}

#[derive(Debug)]
pub(crate) struct Fingerprints {
    parts: Vec<Vec<u64>>,
}

impl Default for Fingerprints {
    fn default() -> Self {
        Self {
            parts: (0..256).map(|_| Vec::new()).collect(),
        }
    }
}

impl Fingerprints {
    pub(crate) fn push(&mut self, fp: u64) {
        let part = &mut self.parts[(fp >> 56) as usize];
        if part.len() == part.capacity() {
            part.reserve_exact((part.capacity() / 4).max(1024));
        }
        part.push(fp);
    }

    /// Fingerprints that occur more than once across all `sets`, consuming them.
    pub(crate) fn repeated(mut sets: Vec<Fingerprints>) -> HashSet<u64> {
        let mut repeated = HashSet::new();
        for p in 0..256 {
            let mut all: Vec<u64> = Vec::new();
            for set in &mut sets {
                let part = std::mem::take(&mut set.parts[p]);
                if all.is_empty() {
                    all = part;
                } else {
                    all.extend_from_slice(&part);
                }
            }
            all.sort_unstable();
            for w in all.windows(2) {
                if w[0] == w[1] {
                    repeated.insert(w[0]);
                }
            }
        }
        repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_repeats_across_sets() {
        let mut a = Fingerprints::default();
        let mut b = Fingerprints::default();
        for id in ["x", "y", "z"] {
            a.push(fingerprint(id));
        }
        for id in ["q", "y"] {
            b.push(fingerprint(id));
        }
        let r = Fingerprints::repeated(vec![a, b]);
        assert_eq!(r, HashSet::from([fingerprint("y")]));
    }
}

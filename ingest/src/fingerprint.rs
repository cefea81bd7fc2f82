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

    /// Sorts every partition; workers call this on their own thread, so the sorting of
    /// a pass runs on all cores.
    pub(crate) fn sort(&mut self) {
        for part in &mut self.parts {
            part.sort_unstable();
        }
    }

    /// Fingerprints that occur more than once across all `sets` (each already sorted),
    /// consuming them: per partition, a k-way merge that compares neighbours.
    pub(crate) fn repeated(mut sets: Vec<Fingerprints>) -> HashSet<u64> {
        let mut repeated = HashSet::new();
        for p in 0..256 {
            let parts: Vec<Vec<u64>> = sets
                .iter_mut()
                .map(|s| std::mem::take(&mut s.parts[p]))
                .collect();
            let mut at = vec![0usize; parts.len()];
            let mut previous = None;
            loop {
                let mut best: Option<(usize, u64)> = None;
                for (k, part) in parts.iter().enumerate() {
                    if let Some(&v) = part.get(at[k])
                        && best.is_none_or(|(_, b)| v < b)
                    {
                        best = Some((k, v));
                    }
                }
                let Some((k, v)) = best else { break };
                at[k] = at[k].saturating_add(1);
                if previous == Some(v) {
                    repeated.insert(v);
                }
                previous = Some(v);
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
        a.sort();
        b.sort();
        let r = Fingerprints::repeated(vec![a, b]);
        assert_eq!(r, HashSet::from([fingerprint("y")]));
    }
}

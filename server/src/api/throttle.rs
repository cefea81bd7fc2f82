//! Per-address throttling of sign-in attempts: a fixed one-minute window per client
//! address (kept as a keyed hash, never in clear). Over the limit answers 429 with
//! `Retry-After` until the window ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Sign-in attempt counters.
#[derive(Debug)]
pub(crate) struct Throttle {
    limit: u32,
    windows: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

impl Throttle {
    /// `limit` attempts per address per minute.
    pub(crate) fn new(limit: u32) -> Self {
        Throttle {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `address`; `Err(seconds)` when over the limit.
    pub(crate) fn attempt(&self, address: [u8; 32]) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.limit {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_separately() {
        let t = Throttle::new(2);
        assert!(t.attempt([1; 32]).is_ok());
        assert!(t.attempt([1; 32]).is_ok());
        let wait = t.attempt([1; 32]).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(t.attempt([2; 32]).is_ok());
    }
}

//! Sign-in throttling. Two layers:
//!
//! - a burst limit per client address in this process (a fixed one-minute window), cheap
//!   enough to run before any database work;
//! - failures counted in the database per account and per client address, each a keyed
//!   hash (addresses and unknown e-mails are never kept in clear), with exponential
//!   back-off from a threshold. Every process sees the same counts, unknown e-mail
//!   addresses count like known ones (so the answers reveal nothing), and no account is
//!   ever locked for good by strangers: the wait doubles up to [`MAX_DELAY`] and the
//!   count is forgotten a day after the last failure, or at a successful sign-in or an
//!   administrator's unlock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secrets::Keys;
use super::wire::{ApiError, ApiResult};
use super::{AppState, unix_now};

const WINDOW: Duration = Duration::from_secs(60);

/// Longest wait between two attempts, in seconds.
pub(crate) const MAX_DELAY: i64 = 15 * 60;

/// Failures from one client address before its attempts are delayed: an address may
/// serve many people (a NAT), so it gets more room than one account.
const ADDRESS_THRESHOLD: i64 = 30;

/// Sign-in attempt counters of this process.
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
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > self.limit {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        Ok(())
    }
}

/// Seconds to refuse a key after `failures` failures: none below `threshold`, then 1 s,
/// doubling with every further failure, at most [`MAX_DELAY`].
pub(crate) fn back_off(failures: i64, threshold: i64) -> i64 {
    if failures < threshold {
        return 0;
    }
    let doublings = u32::try_from(failures.saturating_sub(threshold))
        .unwrap_or(u32::MAX)
        .min(20);
    (1_i64 << doublings).min(MAX_DELAY)
}

/// The keys one sign-in attempt counts under.
#[derive(Debug, Clone)]
pub(crate) struct SignInKeys {
    account: String,
    address: String,
}

/// The stored key of an account, by its e-mail address as typed (normalised), so that
/// failures count before the account is even looked up.
pub(crate) fn account_key(keys: &Keys, email: &str) -> String {
    hex(&keys.address_key(&format!("account:{}", super::email::key(email))))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SignInKeys {
    /// The keys of a sign-in to `email` from `address`.
    pub(crate) fn new(keys: &Keys, email: &str, address: IpAddr) -> Self {
        SignInKeys {
            account: account_key(keys, email),
            address: hex(&keys.address_key(&format!("address:{address}"))),
        }
    }

    /// Refuses the attempt (429 with `Retry-After`) while either key is delayed.
    pub(crate) async fn check(&self, state: &AppState) -> ApiResult<()> {
        let now = unix_now();
        let mut until = None;
        for key in [&self.account, &self.address] {
            until = until.max(state.store().sign_in_blocked_until(key, now).await?);
        }
        match until {
            Some(until) => Err(ApiError::Throttled(
                u64::try_from(until.saturating_sub(now)).unwrap_or(1).max(1),
            )),
            None => Ok(()),
        }
    }

    /// Counts a failure under both keys; `threshold` is the account's (System Settings →
    /// Users → lockout threshold).
    pub(crate) async fn failed(&self, state: &AppState, threshold: i64) -> ApiResult<()> {
        let now = unix_now();
        let account = move |n| back_off(n, threshold);
        let address = |n| back_off(n, ADDRESS_THRESHOLD);
        state
            .store()
            .record_sign_in_failure(&self.account, now, &account)
            .await?;
        state
            .store()
            .record_sign_in_failure(&self.address, now, &address)
            .await?;
        // The platform-wide tally a spike alert is raised from.
        state
            .store()
            .count_sign_in_failure(now.div_euclid(60))
            .await?;
        state.metrics.auth_failure();
        Ok(())
    }

    /// Forgets the account's failures after a successful sign-in (the address keeps its
    /// count: one success must not license a guessing run at other accounts).
    pub(crate) async fn succeeded(&self, state: &AppState) -> ApiResult<()> {
        state.store().clear_sign_in_failures(&self.account).await?;
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

    #[test]
    fn back_off_doubles_from_the_threshold_and_is_capped() {
        let delays: Vec<i64> = (0..9).map(|n| back_off(n, 5)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8]);
        assert_eq!(back_off(5 + 40, 5), MAX_DELAY);
        assert_eq!(back_off(i64::MAX, 5), MAX_DELAY);
    }
}

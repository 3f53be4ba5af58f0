//! Per-IP throttling of failed logins, on top of the per-account lockout, and the lockout of
//! names that are no account. Both are kept in memory per server process: each node throttles
//! on its own, which bounds guessing per node while the account lockout (in the database)
//! bounds it across the cluster.
//!
//! Names that are no account are "locked" exactly like accounts (five failures, fifteen
//! minutes), so that the answers — the remaining tries, the lock — never tell a stranger
//! whether a name exists.

use std::collections::HashMap;
use std::sync::Mutex;

use super::auth::{LOCK_AFTER_FAILURES, LOCK_MS};

/// Failed logins allowed from one address in one window.
pub const MAX_FAILURES_PER_WINDOW: u32 = 30;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
const PRUNE_OVER: usize = 100_000;

#[derive(Default)]
pub struct LoginThrottle {
    /// Per address: (window start, failures, whether a refusal was reported in this window).
    failures: Mutex<HashMap<String, (i64, u32, bool)>>,
    /// Per unknown name: (consecutive failures, locked until).
    unknown: Mutex<HashMap<String, (i64, i64)>>,
}

impl LoginThrottle {
    /// When the address is blocked: for how long, and whether this is the first refusal of the
    /// window (the one to audit, so that a flood does not flood the log).
    pub fn refusal(&self, ip: &str, now: i64) -> Option<(i64, bool)> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry =
            map.get_mut(ip).filter(|(start, n, _)| now - *start < WINDOW_MS && *n >= MAX_FAILURES_PER_WINDOW)?;
        let first = !entry.2;
        entry.2 = true;
        Some((entry.0 + WINDOW_MS - now, first))
    }

    pub fn record_failure(&self, ip: &str, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > PRUNE_OVER {
            map.retain(|_, (start, _, _)| now - *start < WINDOW_MS);
        }
        let entry = map.entry(ip.to_owned()).or_insert((now, 0, false));
        if now - entry.0 >= WINDOW_MS {
            *entry = (now, 0, false);
        }
        entry.1 += 1;
    }

    /// When a name that is no account is "locked", until when.
    pub fn unknown_locked_until(&self, name: &str, now: i64) -> Option<i64> {
        let map = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        map.get(name).map(|(_, until)| *until).filter(|until| *until > now)
    }

    /// Counts a failure for a name that is no account, as the database counts them for
    /// accounts; returns the consecutive failures, and the end of the lock when this one locks.
    pub fn record_unknown_failure(&self, name: &str, now: i64) -> (i64, Option<i64>) {
        let mut map = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > PRUNE_OVER {
            // Forgetting an old count errs on the stranger's side, as a lock's end does.
            map.retain(|_, (_, until)| *until > now);
        }
        let entry = map.entry(name.to_owned()).or_insert((0, 0));
        entry.0 += 1;
        if entry.0 >= LOCK_AFTER_FAILURES {
            *entry = (0, now + LOCK_MS);
            return (LOCK_AFTER_FAILURES, Some(now + LOCK_MS));
        }
        (entry.0, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_recovers_after_the_window() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES_PER_WINDOW {
            assert_eq!(t.refusal("1.2.3.4", 0), None);
            t.record_failure("1.2.3.4", 0);
        }
        assert_eq!(t.refusal("1.2.3.4", 1), Some((WINDOW_MS - 1, true)));
        assert_eq!(t.refusal("1.2.3.4", 2), Some((WINDOW_MS - 2, false)), "reported once per window");
        assert_eq!(t.refusal("5.6.7.8", 1), None);
        assert_eq!(t.refusal("1.2.3.4", WINDOW_MS + 1), None);
    }

    #[test]
    fn unknown_names_lock_after_five_failures_like_accounts() {
        let t = LoginThrottle::default();
        for n in 1..LOCK_AFTER_FAILURES {
            assert_eq!(t.record_unknown_failure("ghost", 0), (n, None));
        }
        assert_eq!(t.record_unknown_failure("ghost", 0), (LOCK_AFTER_FAILURES, Some(LOCK_MS)));
        assert_eq!(t.unknown_locked_until("ghost", 1), Some(LOCK_MS));
        assert_eq!(t.unknown_locked_until("ghost", LOCK_MS), None);
        assert_eq!(t.unknown_locked_until("other", 1), None);
    }
}

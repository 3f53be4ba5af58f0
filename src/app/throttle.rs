//! Per-IP throttling of failed logins, on top of the per-account lockout. It is kept in memory
//! per server process: each node throttles on its own, which bounds guessing per node while the
//! account lockout (in the database) bounds it across the cluster.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failed logins allowed from one address in one window.
pub const MAX_FAILURES_PER_WINDOW: u32 = 30;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (i64, u32)>>,
}

impl LoginThrottle {
    /// True when the address has used up its failures for the current window.
    pub fn is_blocked(&self, ip: &str, now: i64) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get(ip).is_some_and(|(start, n)| now - start < WINDOW_MS && *n >= MAX_FAILURES_PER_WINDOW)
    }

    pub fn record_failure(&self, ip: &str, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now - *start < WINDOW_MS);
        }
        let entry = map.entry(ip.to_owned()).or_insert((now, 0));
        if now - entry.0 >= WINDOW_MS {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_recovers_after_the_window() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES_PER_WINDOW {
            assert!(!t.is_blocked("1.2.3.4", 0));
            t.record_failure("1.2.3.4", 0);
        }
        assert!(t.is_blocked("1.2.3.4", 1));
        assert!(!t.is_blocked("5.6.7.8", 1));
        assert!(!t.is_blocked("1.2.3.4", WINDOW_MS + 1));
    }
}

//! Rate limits per client address and per account on what an attacker would repeat: logging in,
//! registering, changing a password, actions that send someone a message, and verifying
//! licences. A refusal is `AppError::Throttled` with the seconds to wait (429 and `Retry-After`
//! at the edge) and is audited once per key and minute, so that a flood does not flood the log.
//!
//! The counters sit behind [`RateLimiter`]: [`InProcess`] (GCRA from the `governor` crate) keeps
//! them in this process, so with two nodes each allows the limit on its own; a counter in
//! PostgreSQL can replace it without touching the callers. The per-account lockout after five
//! wrong passwords is not a rate limit and stays in the database (`app::auth`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};
use serde::Deserialize;

use super::jobs::BoxFuture;
use super::{Actor, AppError, Core};
use tongban_store::audit::{self, NewEntry, Outcome};

/// What is limited, and by which key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    LoginPerIp,
    LoginPerAccount,
    RegisterPerIp,
    /// Per ID number, credit code or username being registered.
    RegisterPerIdentity,
    PasswordChangePerIp,
    PasswordChangePerAccount,
    /// Actions that send the applicant a message (case actions), per address.
    MessagePerIp,
    /// Actions that send the applicant a message, per acting account.
    MessagePerAccount,
    VerifyPerIp,
}

impl Limit {
    pub const ALL: [Limit; 9] = [
        Limit::LoginPerIp,
        Limit::LoginPerAccount,
        Limit::RegisterPerIp,
        Limit::RegisterPerIdentity,
        Limit::PasswordChangePerIp,
        Limit::PasswordChangePerAccount,
        Limit::MessagePerIp,
        Limit::MessagePerAccount,
        Limit::VerifyPerIp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Limit::LoginPerIp => "login_per_ip",
            Limit::LoginPerAccount => "login_per_account",
            Limit::RegisterPerIp => "register_per_ip",
            Limit::RegisterPerIdentity => "register_per_identity",
            Limit::PasswordChangePerIp => "password_change_per_ip",
            Limit::PasswordChangePerAccount => "password_change_per_account",
            Limit::MessagePerIp => "message_per_ip",
            Limit::MessagePerAccount => "message_per_account",
            Limit::VerifyPerIp => "verify_per_ip",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Limit::LoginPerIp => "同一地址登录",
            Limit::LoginPerAccount => "同一账户登录",
            Limit::RegisterPerIp => "同一地址注册",
            Limit::RegisterPerIdentity => "同一证件或用户名注册",
            Limit::PasswordChangePerIp => "同一地址修改密码",
            Limit::PasswordChangePerAccount => "同一账户修改密码",
            Limit::MessagePerIp => "同一地址触发消息",
            Limit::MessagePerAccount => "同一账户触发消息",
            Limit::VerifyPerIp => "同一地址核验证照",
        }
    }
}

/// `count` requests per `per_secs` seconds, all of which may come at once (the bucket refills
/// evenly over the period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub count: u32,
    pub per_secs: u64,
}

const fn rate(count: u32, per_secs: u64) -> Rate {
    Rate { count, per_secs }
}

/// The limits, from `[rate_limits]` in `tongban.toml`; each missing entry keeps its default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub login_per_ip: Rate,
    pub login_per_account: Rate,
    pub register_per_ip: Rate,
    pub register_per_identity: Rate,
    pub password_change_per_ip: Rate,
    pub password_change_per_account: Rate,
    pub message_per_ip: Rate,
    pub message_per_account: Rate,
    pub verify_per_ip: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            // A hall's staff share one address: room for a shift starting at once.
            login_per_ip: rate(60, 60),
            login_per_account: rate(10, 60),
            register_per_ip: rate(20, 3600),
            register_per_identity: rate(5, 3600),
            password_change_per_ip: rate(30, 900),
            password_change_per_account: rate(10, 900),
            // Handling cases is the staff's daily work: only a script goes faster.
            message_per_ip: rate(600, 60),
            message_per_account: rate(120, 60),
            // A kiosk or a counter scanning QR codes all day stays far below this.
            verify_per_ip: rate(120, 60),
        }
    }
}

impl RateLimits {
    pub fn rate(&self, limit: Limit) -> Rate {
        match limit {
            Limit::LoginPerIp => self.login_per_ip,
            Limit::LoginPerAccount => self.login_per_account,
            Limit::RegisterPerIp => self.register_per_ip,
            Limit::RegisterPerIdentity => self.register_per_identity,
            Limit::PasswordChangePerIp => self.password_change_per_ip,
            Limit::PasswordChangePerAccount => self.password_change_per_account,
            Limit::MessagePerIp => self.message_per_ip,
            Limit::MessagePerAccount => self.message_per_account,
            Limit::VerifyPerIp => self.verify_per_ip,
        }
    }

    /// Every count multiplied by `factor` (load benchmarks send everything from 127.0.0.1).
    pub fn scaled(mut self, factor: u32) -> Self {
        let f = factor.max(1);
        for r in [
            &mut self.login_per_ip,
            &mut self.login_per_account,
            &mut self.register_per_ip,
            &mut self.register_per_identity,
            &mut self.password_change_per_ip,
            &mut self.password_change_per_account,
            &mut self.message_per_ip,
            &mut self.message_per_account,
            &mut self.verify_per_ip,
        ] {
            r.count = r.count.saturating_mul(f);
        }
        self
    }
}

/// The answer of a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; `first` is true for the first refusal of this key in a minute (the one audited).
    Refused {
        retry_after_secs: u64,
        first: bool,
    },
}

/// Counts requests per limit and key. Implementations must be shared by every request of a node.
pub trait RateLimiter: Send + Sync {
    fn check<'a>(&'a self, limit: Limit, key: &'a str) -> BoxFuture<'a, anyhow::Result<Decision>>;
}

type Keyed = Gcra<String, DefaultKeyedStateStore<String>, crate::clock::Clock, NoOpMiddleware<Duration>>;

/// The in-process limiter: one GCRA state per limit and key, in memory, timed by the
/// application's clock.
pub struct InProcess {
    limiters: HashMap<Limit, Keyed>,
    /// When each key's refusal was last audited, in Unix milliseconds.
    reported: Mutex<HashMap<(Limit, String), i64>>,
    clock: crate::clock::Clock,
}

/// Keys kept before stale ones are dropped (bounds memory under a spray of addresses).
const PRUNE_OVER: usize = 100_000;
const REPORT_EVERY_MS: i64 = 60_000;

impl InProcess {
    pub fn new(limits: &RateLimits, clock: crate::clock::Clock) -> Self {
        let mut limiters = HashMap::new();
        for limit in Limit::ALL {
            let r = limits.rate(limit);
            let count = NonZeroU32::new(r.count.max(1)).unwrap_or(NonZeroU32::MIN);
            let period = Duration::from_secs(r.per_secs.max(1)) / count.get();
            let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                .unwrap_or_else(|| Quota::per_second(count))
                .allow_burst(count);
            limiters.insert(limit, Gcra::new(quota, DefaultKeyedStateStore::default(), clock.clone()));
        }
        InProcess { limiters, reported: Mutex::new(HashMap::new()), clock }
    }

    fn decide(&self, limit: Limit, key: &str) -> Decision {
        let Some(limiter) = self.limiters.get(&limit) else {
            return Decision::Allowed;
        };
        if limiter.len() > PRUNE_OVER {
            limiter.retain_recent();
        }
        let Err(not_until) = limiter.check_key(&key.to_owned()) else {
            return Decision::Allowed;
        };
        let wait = not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()));
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let now = self.clock.now_ms();
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        if reported.len() > PRUNE_OVER {
            reported.retain(|_, at| now - *at < REPORT_EVERY_MS);
        }
        let first = match reported.get(&(limit, key.to_owned())) {
            Some(at) if now - *at < REPORT_EVERY_MS => false,
            _ => {
                reported.insert((limit, key.to_owned()), now);
                true
            }
        };
        Decision::Refused { retry_after_secs: retry_after_secs.max(1), first }
    }
}

impl RateLimiter for InProcess {
    fn check<'a>(&'a self, limit: Limit, key: &'a str) -> BoxFuture<'a, anyhow::Result<Decision>> {
        Box::pin(async move { Ok(self.decide(limit, key)) })
    }
}

/// Counts one request against `limit` for `key`; a refusal is audited (the first of each key
/// in a minute) and returned as `Throttled`. `ip` and `actor` are for the audit record.
pub async fn enforce(core: &Core, limit: Limit, key: &str, ip: &str, actor: Option<&Actor>) -> Result<(), AppError> {
    match core.limiter.check(limit, key).await? {
        Decision::Allowed => Ok(()),
        Decision::Refused { retry_after_secs, first } => {
            if first {
                let detail = format!("{}超过限额，后续同类请求一分钟内不再逐条记录", limit.label());
                // The key may be what a stranger typed: keep it short.
                let object: String = key.chars().take(64).collect();
                let entry = NewEntry {
                    actor_id: actor.map(|a| a.user_id).filter(|id| *id > 0),
                    actor: actor.map_or("anonymous", |a| a.username.as_str()),
                    ip,
                    action: "rate.limited",
                    object: &object,
                    outcome: Outcome::Denied,
                    detail: &detail,
                };
                let mut tx = core.db.begin().await?;
                audit::append(&mut tx, &entry, core.clock.now_ms()).await?;
                tx.commit().await?;
            }
            Err(AppError::Throttled { retry_after_secs })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_with_a_wait_and_reports_once() {
        let limits = RateLimits { login_per_account: rate(3, 60), ..RateLimits::default() };
        let time = crate::clock::TestClock::at(1_795_656_600_000);
        let l = InProcess::new(&limits, time.clone().into());
        for _ in 0..3 {
            assert_eq!(l.decide(Limit::LoginPerAccount, "alice"), Decision::Allowed);
        }
        let fourth = l.decide(Limit::LoginPerAccount, "alice");
        assert!(matches!(fourth, Decision::Refused { first: true, .. }), "{fourth:?}");
        if let Decision::Refused { retry_after_secs, .. } = fourth {
            assert!((1..=20).contains(&retry_after_secs), "{retry_after_secs}");
        }
        assert!(matches!(l.decide(Limit::LoginPerAccount, "alice"), Decision::Refused { first: false, .. }));
        // Other keys and other limits are counted apart.
        assert_eq!(l.decide(Limit::LoginPerAccount, "bob"), Decision::Allowed);
        assert_eq!(l.decide(Limit::LoginPerIp, "alice"), Decision::Allowed);
        // The limit is timed by the application's clock: a minute later the burst is back, and
        // the next refusal is audited again.
        time.advance(Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(l.decide(Limit::LoginPerAccount, "alice"), Decision::Allowed);
        }
        assert!(matches!(l.decide(Limit::LoginPerAccount, "alice"), Decision::Refused { first: true, .. }));
    }

    #[test]
    fn scaling_multiplies_every_count() {
        let scaled = RateLimits::default().scaled(1000);
        for limit in Limit::ALL {
            assert_eq!(scaled.rate(limit).count, RateLimits::default().rate(limit).count * 1000);
        }
    }
}

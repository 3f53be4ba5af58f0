//! Wall-clock time. Stored as Unix milliseconds; shown in China Standard Time (UTC+8).
//!
//! Every "now" of the application is read from a [`Clock`] carried by `app::Core`: the system
//! clock in production, a [`TestClock`] in tests, which move time forward instead of rewriting
//! rows. This file is the only place that reads the system's wall time (`tests/clock_guard.rs`
//! holds the rest of `src` to that).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Utc};
use tongban_domain::day::Day;

/// Where "now" comes from. Cloning shares the source: a test and the server it started see the
/// same time.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The operating system's wall clock.
    #[default]
    System,
    /// A clock that moves only when told to.
    Test(TestClock),
}

impl Clock {
    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => Utc::now().timestamp_millis(),
            Clock::Test(t) => t.now_ms(),
        }
    }

    /// Now, as a UTC date-time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.now_ms()).single().unwrap_or_default()
    }

    /// Today's date in China.
    pub fn today(&self) -> Day {
        day_of(self.now_ms())
    }
}

/// The rate limiters' time source. GCRA counts durations from an arbitrary start: on the system
/// clock a monotonic one (a step back of the wall clock must not hold requests back), on a test
/// clock its time, so that a test moves the limits with the rest of the application.
impl governor::clock::Clock for Clock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        match self {
            Clock::System => {
                static START: OnceLock<Instant> = OnceLock::new();
                START.get_or_init(Instant::now).elapsed()
            }
            Clock::Test(t) => Duration::from_millis(u64::try_from(t.now_ms()).unwrap_or(0)),
        }
    }
}

/// A shared, settable time for tests. It starts where it is told and moves only by
/// [`TestClock::advance`] and [`TestClock::set`].
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// A clock standing at `ms` (Unix milliseconds).
    pub fn at(ms: i64) -> Self {
        TestClock(Arc::new(AtomicI64::new(ms)))
    }

    /// A clock standing at the system's current time.
    pub fn starting_now() -> Self {
        Self::at(Clock::System.now_ms())
    }

    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Today's date in China, on this clock.
    pub fn today(&self) -> Day {
        day_of(self.now_ms())
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the time to `ms` (Unix milliseconds), forward or back.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl From<TestClock> for Clock {
    fn from(t: TestClock) -> Self {
        Clock::Test(t)
    }
}

pub fn china() -> FixedOffset {
    // UTC+8 is a valid offset; the fallback is unreachable but keeps this total.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

pub fn to_china(ms: i64) -> DateTime<FixedOffset> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().with_timezone(&china())
}

/// The date in China at `ms`.
pub fn day_of(ms: i64) -> Day {
    Day::from_naive(to_china(ms).date_naive()).unwrap_or(Day::MIN)
}

/// The instant `hour`:00 China time on `day` (for tests and jobs that move to a given day).
pub fn at_hour(day: Day, hour: u32) -> i64 {
    day.naive()
        .and_hms_opt(hour.min(23), 0, 0)
        .and_then(|t| t.and_local_timezone(china()).single())
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// RFC 3339 with the +08:00 offset, as the API conventions require.
pub fn rfc3339(ms: i64) -> String {
    to_china(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `2026-11-26 09:30:00`, for pages.
pub fn display(ms: i64) -> String {
    to_china(ms).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `09:30`, for messages such as "请于 09:45 后再试".
pub fn hour_minute(ms: i64) -> String {
    to_china(ms).format("%H:%M").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tongban_domain::day::Day;

    #[test]
    fn shows_china_time() {
        // 2026-11-26T01:30:00Z
        assert_eq!(super::rfc3339(1_795_656_600_000), "2026-11-26T09:30:00+08:00");
        assert_eq!(super::display(1_795_656_600_000), "2026-11-26 09:30:00");
    }

    #[test]
    fn a_test_clock_is_shared_by_its_clones_and_moves_only_when_told() {
        let t = super::TestClock::at(1_795_656_600_000);
        let clock = super::Clock::from(t.clone());
        assert_eq!(clock.now_ms(), 1_795_656_600_000);
        t.advance(std::time::Duration::from_secs(16 * 3600));
        assert_eq!(clock.now_ms(), 1_795_656_600_000 + 16 * 3_600_000);
        // 2026-11-26T17:30Z is already the 27th in China.
        assert_eq!(clock.today(), Day::from_ymd(2026, 11, 27).unwrap());
        t.set(0);
        assert_eq!(clock.now().timestamp_millis(), 0);
    }
}

//! Wall-clock time. Stored as Unix milliseconds; shown in China Standard Time (UTC+8).

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn china() -> FixedOffset {
    // UTC+8 is a valid offset; the fallback is unreachable but keeps this total.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

pub fn to_china(ms: i64) -> DateTime<FixedOffset> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().with_timezone(&china())
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
mod tests {
    #[test]
    fn shows_china_time() {
        // 2026-11-26T01:30:00Z
        assert_eq!(super::rfc3339(1_795_656_600_000), "2026-11-26T09:30:00+08:00");
        assert_eq!(super::display(1_795_656_600_000), "2026-11-26 09:30:00");
    }
}

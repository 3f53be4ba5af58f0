//! A calendar date (日期) in China's civil calendar: what deadlines, licence validity and the
//! work calendar count in. Every layer holds dates as [`Day`]; its text form `YYYY-MM-DD` (in
//! the database, the API, forms and CSV files) is written and read here and nowhere else.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A date without a time. Ordered, copyable, and always within the years 1..=9999 so that its
/// text form is exactly `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

/// Why a text is not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("日期格式应为 YYYY-MM-DD，例如 2026-01-31")]
pub struct NotADay;

impl Day {
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        NaiveDate::from_ymd_opt(year, month, day).and_then(Day::checked)
    }

    /// `YYYY-MM-DD` (surrounding spaces ignored); nothing else, not even `2026-1-5`.
    pub fn parse(text: &str) -> Option<Day> {
        let text = text.trim();
        let b = text.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return None;
        }
        let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok());
        let year = i32::try_from(number(0..4)?).ok()?;
        Day::from_ymd(year, number(5..7)?, number(8..10)?)
    }

    /// What people type: also `2026-1-5` (no leading zeros), for form fields; stored and shown
    /// as [`Day`]'s own text form afterwards.
    pub fn parse_loose(text: &str) -> Option<Day> {
        let text = text.trim();
        if !text.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
            return None;
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(Day::checked)
    }

    /// `YYYYMMDD`, as in application and case numbers.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.0.year(), self.0.month(), self.0.day())
    }

    /// `2026年12月4日`, as pages show a deadline to people.
    pub fn chinese(self) -> String {
        format!("{}年{}月{}日", self.0.year(), self.0.month(), self.0.day())
    }

    /// The date of a `NaiveDate` (the clock's "today", chrono's arithmetic), when its year has
    /// four digits.
    pub fn from_naive(date: NaiveDate) -> Option<Day> {
        Day::checked(date)
    }

    fn checked(date: NaiveDate) -> Option<Day> {
        (1..=9999).contains(&date.year()).then_some(Day(date))
    }

    pub fn naive(self) -> NaiveDate {
        self.0
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    pub fn month(self) -> u32 {
        self.0.month()
    }

    pub fn day_of_month(self) -> u32 {
        self.0.day()
    }

    pub fn weekday(self) -> chrono::Weekday {
        self.0.weekday()
    }

    /// `n` days later; the last representable day when that would pass the year 9999.
    pub fn plus_days(self, n: u64) -> Day {
        self.0.checked_add_days(Days::new(n)).and_then(Day::checked).unwrap_or(Day::MAX)
    }

    /// `n` days earlier; the first representable day when that would pass the year 1.
    pub fn minus_days(self, n: u64) -> Day {
        self.0.checked_sub_days(Days::new(n)).and_then(Day::checked).unwrap_or(Day::MIN)
    }

    /// The next day.
    pub fn succ(self) -> Day {
        self.plus_days(1)
    }

    /// The days after this one, in order, up to the year 9999.
    pub fn following(self) -> impl Iterator<Item = Day> {
        self.0.iter_days().skip(1).map_while(Day::checked)
    }

    /// Days since 0001-01-01 (day 1), for compact keys such as paging cursors.
    pub fn days_from_ce(self) -> i32 {
        self.0.num_days_from_ce()
    }

    pub fn from_days_from_ce(n: i32) -> Option<Day> {
        NaiveDate::from_num_days_from_ce_opt(n).and_then(Day::checked)
    }

    pub const MIN: Day = Day(NaiveDate::from_ymd_opt(1, 1, 1).expect("0001-01-01 is a date"));
    pub const MAX: Day = Day(NaiveDate::from_ymd_opt(9999, 12, 31).expect("9999-12-31 is a date"));
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month(), self.0.day())
    }
}

impl FromStr for Day {
    type Err = NotADay;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Day::parse(s).ok_or(NotADay)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Day::parse(&text).ok_or_else(|| serde::de::Error::custom(NotADay))
    }
}

impl utoipa::PartialSchema for Day {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .description(Some("日期 YYYY-MM-DD（中国时区）"))
            .into()
    }
}

impl utoipa::ToSchema for Day {}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_form_is_exactly_yyyy_mm_dd() {
        let d = Day::parse(" 2026-02-28 ").expect("a date");
        assert_eq!(d.to_string(), "2026-02-28");
        assert_eq!(Day::from_ymd(7, 3, 9).map(|d| d.to_string()).as_deref(), Some("0007-03-09"));
        for bad in
            ["2026-2-28", "2026-02-30", "2026/02/28", "26-02-28", "2026-02-28T00", "", "２０２６-02-28", "+2026-02-2"]
        {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn loose_form_accepts_missing_zeros_only() {
        assert_eq!(Day::parse_loose("2026-1-5").map(|d| d.to_string()).as_deref(), Some("2026-01-05"));
        assert_eq!(Day::parse_loose("2026-01-05").map(Day::compact).as_deref(), Some("20260105"));
        for bad in ["2026/1/5", "2026-13-01", "+2026-01-05", "二〇二六-01-05", "2026-01-05T10"] {
            assert_eq!(Day::parse_loose(bad), None, "{bad}");
        }
    }

    #[test]
    fn arithmetic_stays_within_four_digit_years() {
        assert_eq!(Day::MAX.succ(), Day::MAX);
        assert_eq!(Day::MIN.minus_days(3), Day::MIN);
        let d = Day::from_ymd(2026, 12, 31).expect("a date");
        assert_eq!(d.succ().to_string(), "2027-01-01");
        assert_eq!(Day::from_days_from_ce(d.days_from_ce()), Some(d));
        assert_eq!(Day::from_days_from_ce(0), None);
        assert_eq!(Day::from_days_from_ce(i32::MAX), None);
    }

    #[test]
    fn json_is_the_text_form() {
        let d = Day::from_ymd(2026, 1, 5).expect("a date");
        assert_eq!(serde_json::to_string(&d).ok().as_deref(), Some("\"2026-01-05\""));
        assert_eq!(serde_json::from_str::<Day>("\"2026-01-05\"").ok(), Some(d));
        assert!(serde_json::from_str::<Day>("\"2026-1-5\"").is_err());
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(n in 1i32..=3_652_059) {
            let d = Day::from_days_from_ce(n).expect("in range");
            prop_assert_eq!(Day::parse(&d.to_string()), Some(d));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,16}") {
            let _ = Day::parse(&s);
        }
    }
}

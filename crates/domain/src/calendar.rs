//! The work calendar (工作日历): China's public holidays and make-up working days (调休). Legal
//! and promised time limits are counted in working days on it; by the usual rule for periods,
//! the day the clock starts is not counted.

use std::collections::BTreeMap;

use chrono::Weekday;

use crate::day::Day;

/// What a listed date is; unlisted dates follow the weekday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A weekday (or weekend day) on which nobody works.
    Holiday,
    /// A weekend day that is worked instead (调休).
    MakeupWorkday,
}

impl DayKind {
    pub const ALL: [DayKind; 2] = [DayKind::Holiday, DayKind::MakeupWorkday];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// What the administrators' page shows.
    pub fn label(self) -> &'static str {
        match self {
            DayKind::Holiday => "放假",
            DayKind::MakeupWorkday => "调休上班",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::MakeupWorkday => "makeup_workday",
        }
    }
}

crate::impl_code!(DayKind, "日历日类型");

#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    days: BTreeMap<Day, DayKind>,
}

/// Longest name of a listed day (元旦, 春节, 国庆节…).
pub const NAME_MAX: usize = 20;

/// The official calendar shipped with the platform (State Council notices for 2025 and 2026).
pub const BUILTIN_CSV: &str = include_str!("../../../seed/work-calendar-cn-2025-2026.csv");

impl WorkCalendar {
    pub fn new(days: impl IntoIterator<Item = (Day, DayKind)>) -> Self {
        Self { days: days.into_iter().collect() }
    }

    /// Parses `date,kind,name` lines (with a header). Returns the rows, or a message naming each
    /// bad line (a bad date or kind, a name over 20 characters, a date listed twice).
    pub fn parse_csv(text: &str) -> Result<Vec<(Day, DayKind, String)>, Vec<String>> {
        let mut rows: Vec<(Day, DayKind, String)> = Vec::new();
        let mut first_line = BTreeMap::new();
        let mut bad = Vec::new();
        for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate().skip(1) {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.splitn(3, ',');
            let (Some(date), Some(kind)) = (parts.next(), parts.next()) else {
                bad.push(format!("第 {n} 行格式不正确，应为“日期,类型,名称”"));
                continue;
            };
            let Some(date) = Day::parse(date) else {
                bad.push(format!("第 {n} 行日期不正确，应为 YYYY-MM-DD"));
                continue;
            };
            let Some(kind) = DayKind::parse(kind.trim()) else {
                bad.push(format!("第 {n} 行类型应为 holiday 或 makeup_workday"));
                continue;
            };
            let name = parts.next().unwrap_or_default().trim().to_owned();
            if name.chars().count() > NAME_MAX {
                bad.push(format!("第 {n} 行名称超过 {NAME_MAX} 个字"));
                continue;
            }
            if let Some(earlier) = first_line.insert(date, n) {
                bad.push(format!("第 {n} 行的日期 {date} 与第 {earlier} 行重复"));
                continue;
            }
            rows.push((date, kind, name));
        }
        if bad.is_empty() { Ok(rows) } else { Err(bad) }
    }

    /// The exchange format `parse_csv` reads.
    pub fn to_csv<'a>(days: impl IntoIterator<Item = (Day, &'a str, &'a str)>) -> String {
        let mut out = String::from("date,kind,name\n");
        for (day, kind, name) in days {
            out.push_str(&format!("{day},{kind},{name}\n"));
        }
        out
    }

    pub fn builtin() -> Self {
        Self::new(Self::parse_csv(BUILTIN_CSV).unwrap_or_default().into_iter().map(|(d, k, _)| (d, k)))
    }

    pub fn is_working_day(&self, date: Day) -> bool {
        match self.days.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::MakeupWorkday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `n`-th working day after `start` (`start` itself is not counted); `start` for n = 0.
    pub fn add_working_days(&self, start: Day, n: u32) -> Day {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            if date == Day::MAX {
                break;
            }
            date = date.succ();
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// Working days strictly after `from` up to and including `to` (0 when `to` ≤ `from`).
    pub fn working_days_between(&self, from: Day, to: Day) -> u32 {
        from.following().take_while(|d| *d <= to).filter(|d| self.is_working_day(*d)).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap_or(Day::MIN)
    }

    #[test]
    fn the_start_day_is_not_counted() {
        let c = WorkCalendar::builtin();
        // Wednesday 2026-11-25 + 1 working day = Thursday.
        assert_eq!(c.add_working_days(d("2026-11-25"), 1), d("2026-11-26"));
        assert_eq!(c.add_working_days(d("2026-11-25"), 0), d("2026-11-25"));
    }

    #[test]
    fn weekends_are_skipped() {
        let c = WorkCalendar::builtin();
        // Friday 2026-11-27 + 1 = Monday 2026-11-30; + 5 = Friday 2026-12-04.
        assert_eq!(c.add_working_days(d("2026-11-27"), 1), d("2026-11-30"));
        assert_eq!(c.add_working_days(d("2026-11-26"), 5), d("2026-12-03"));
    }

    #[test]
    fn the_national_day_golden_week_is_skipped_and_the_makeup_saturday_counts() {
        let c = WorkCalendar::builtin();
        // 2025-09-30 (Tue) + 1: Oct 1–8 are holidays → Thursday 2025-10-09.
        assert_eq!(c.add_working_days(d("2025-09-30"), 1), d("2025-10-09"));
        // Then Friday 10-10, and Saturday 10-11 is a make-up working day.
        assert_eq!(c.add_working_days(d("2025-09-30"), 3), d("2025-10-11"));
        // Sunday 2025-09-28 is worked: Friday 09-26 + 1 = Sunday 09-28.
        assert_eq!(c.add_working_days(d("2025-09-26"), 1), d("2025-09-28"));
    }

    #[test]
    fn the_spring_festival_of_2026_is_skipped() {
        let c = WorkCalendar::builtin();
        // Friday 2026-02-13; Saturday 02-14 is worked; 02-15..02-23 are holidays.
        assert_eq!(c.add_working_days(d("2026-02-13"), 1), d("2026-02-14"));
        assert_eq!(c.add_working_days(d("2026-02-13"), 2), d("2026-02-24"));
        assert_eq!(c.working_days_between(d("2026-02-13"), d("2026-02-24")), 2);
    }

    #[test]
    fn bad_csv_lines_are_named() {
        let text = "date,kind,name\n2026-13-01,holiday,x\n2026-10-01,rest,x\n2026-10-02,holiday,国庆节\n\
                    2026-10-02,holiday,国庆节\nnonsense\n";
        let bad = WorkCalendar::parse_csv(text).err().unwrap_or_default();
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[0].starts_with("第 2 行") && bad[1].starts_with("第 3 行"), "{bad:?}");
        assert!(bad[2].contains("第 4 行") && bad[2].starts_with("第 5 行"), "{bad:?}");
        assert!(bad[3].starts_with("第 6 行"), "{bad:?}");
        assert_eq!(WorkCalendar::parse_csv(BUILTIN_CSV).map(|r| r.len()).unwrap_or(0), BUILTIN_CSV.lines().count() - 1);
    }

    #[test]
    fn the_exported_csv_reads_back() {
        let rows = WorkCalendar::parse_csv(BUILTIN_CSV).unwrap_or_default();
        let csv = WorkCalendar::to_csv(rows.iter().map(|(d, k, n)| (*d, k.name(), n.as_str())));
        assert_eq!(WorkCalendar::parse_csv(&csv).unwrap_or_default(), rows);
    }
}

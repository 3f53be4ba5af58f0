//! Workflows as versioned data: states, the actions between them, who may take each action,
//! what an action needs (a comment, an attachment), and what it does to the legal clock. One
//! function, `Workflow::transition`, decides every move; nothing else changes a case's state.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::day::Day;
use super::permission::Permission;

/// What an action does to the legal clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockOp {
    /// Nothing.
    Keep,
    /// The clock starts (acceptance): counting from the next working day.
    Start,
    /// The clock pauses (supplement requested, hearing, expert review).
    Pause,
    /// The clock runs again after a pause.
    Resume,
    /// The time limit grows once, by the workflow's extension days.
    Extend,
    /// The case is concluded: the clock stops for good.
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDef {
    pub name: String,
    pub label: String,
    /// The work queue a case in this state stands in (`intake`, `supplement`, `examine`,
    /// `decide`, `suspended`, `deliver`, `concluded`).
    pub queue: String,
    #[serde(default)]
    pub terminal: bool,
    /// Working days a case may stay in this state before the legal clock starts (受理时限).
    #[serde(default)]
    pub limit_days: Option<u32>,
}

/// The queues a state may name, with their labels, in the order the office shows them.
pub const QUEUES: &[(&str, &str)] = &[
    ("intake", "待受理"),
    ("examine", "待审查"),
    ("decide", "待决定"),
    ("supplement", "补正中"),
    ("suspended", "中止"),
    ("deliver", "待送达"),
    ("concluded", "已办结"),
];

/// What an action needs besides the actor's permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// An opinion or reason (意见、理由).
    Comment,
    /// The legal basis (法律依据), e.g. for 不予受理.
    LegalBasis,
    /// The materials asked for, each with what is wrong (一次性告知).
    Materials,
    /// How the result reaches the applicant (送达方式).
    Delivery,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDef {
    pub name: String,
    pub label: String,
    pub from: Vec<String>,
    /// The state the case moves to; `.` keeps it where it is.
    pub to: String,
    /// The permission the actor must hold.
    pub permission: String,
    /// Taken by the applicant (resubmission, withdrawal), never offered to staff.
    #[serde(default)]
    pub by_applicant: bool,
    #[serde(default)]
    pub requires: Vec<Requirement>,
    /// May be taken only once per case (延期).
    #[serde(default)]
    pub once: bool,
    pub clock: ClockOp,
}

impl ActionDef {
    pub fn requires(&self, r: Requirement) -> bool {
        self.requires.contains(&r)
    }

    /// Why the action's permission cannot stand, if it cannot: staff actions need a
    /// case-handling permission (a viewer must never decide), the applicant's need their own.
    pub fn permission_problem(&self, field: &str) -> Option<FieldError> {
        let Ok(permission) = self.permission.parse::<Permission>() else {
            return Some(FieldError::new(
                field,
                "unknown_permission",
                format!("操作“{}”的权限 {} 不存在", self.label, self.permission),
            ));
        };
        if self.by_applicant && !permission.is_applicant_action() {
            return Some(FieldError::new(
                field,
                "not_applicant_permission",
                format!("申请人操作“{}”的权限须为 {}，不能是 {}", self.label, Permission::PortalMine, permission),
            ));
        }
        if !self.by_applicant && !permission.is_case_handling() {
            let allowed: Vec<&str> =
                Permission::ALL.iter().filter(|p| p.is_case_handling()).map(|p| p.name()).collect();
            return Some(FieldError::new(
                field,
                "not_case_permission",
                format!(
                    "操作“{}”的权限 {}（{}）不是办件权限，只能是 {} 之一",
                    self.label,
                    permission,
                    permission.label(),
                    allowed.join("、")
                ),
            ));
        }
        None
    }

    /// The state after the action, taken from `state`.
    pub fn target<'a>(&'a self, state: &'a str) -> &'a str {
        if self.to == "." { state } else { &self.to }
    }
}

/// The workflows shipped with the platform: 承诺件 and 即办件.
pub const SHIPPED: &[&str] =
    &[include_str!("../../../seed/workflows/promised.json"), include_str!("../../../seed/workflows/immediate.json")];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub code: String,
    pub name: String,
    pub version: u32,
    /// The state every case starts in.
    pub initial: String,
    pub states: Vec<StateDef>,
    pub actions: Vec<ActionDef>,
    /// Working days an extension (延期) adds.
    #[serde(default)]
    pub extension_days: u32,
}

/// Why a move was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("当前状态下不能执行该操作")]
    NotAllowedNow,
    #[error("没有这个操作")]
    UnknownAction,
}

impl Workflow {
    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.name == name)
    }

    /// The action taken from `state`, if the workflow allows it there.
    pub fn transition(&self, state: &str, action: &str) -> Result<&ActionDef, TransitionError> {
        let candidates: Vec<&ActionDef> = self.actions.iter().filter(|a| a.name == action).collect();
        if candidates.is_empty() {
            return Err(TransitionError::UnknownAction);
        }
        candidates.into_iter().find(|a| a.from.iter().any(|f| f == state)).ok_or(TransitionError::NotAllowedNow)
    }

    /// The label of a state, or its name when the workflow does not define it.
    pub fn label<'a>(&'a self, state: &'a str) -> &'a str {
        self.state(state).map_or(state, |s| s.label.as_str())
    }

    /// Actions available in a state (before any permission check).
    pub fn actions_from<'a>(&'a self, state: &'a str) -> impl Iterator<Item = &'a ActionDef> + 'a {
        self.actions.iter().filter(move |a| a.from.iter().any(|f| f == state))
    }

    /// Every problem with the definition, checked when it is saved and at start-up.
    pub fn problems(&self) -> Vec<String> {
        self.field_problems().into_iter().map(|e| e.message).collect()
    }

    /// Every problem with the definition, each with the field (JSON path) it is in.
    pub fn field_problems(&self) -> Vec<FieldError> {
        let mut p = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (i, s) in self.states.iter().enumerate() {
            let field = format!("states[{i}]");
            if s.name.is_empty() || names.contains(&s.name.as_str()) {
                p.push(FieldError::new(&field, "invalid", format!("状态“{}”为空或重复", s.name)));
            }
            if !QUEUES.iter().any(|(q, _)| *q == s.queue) {
                p.push(FieldError::new(&field, "invalid", format!("状态“{}”的队列 {} 不存在", s.label, s.queue)));
            }
            names.push(&s.name);
        }
        if self.state(&self.initial).is_none() {
            p.push(FieldError::new("initial", "invalid", format!("初始状态 {} 不存在", self.initial)));
        }
        for (i, a) in self.actions.iter().enumerate() {
            let field = format!("actions[{i}]");
            for f in &a.from {
                match self.state(f) {
                    None => {
                        p.push(FieldError::new(&field, "invalid", format!("操作“{}”的起始状态 {f} 不存在", a.label)))
                    }
                    Some(s) if s.terminal => {
                        p.push(FieldError::new(&field, "invalid", format!("操作“{}”不能从终结状态 {f} 出发", a.label)))
                    }
                    Some(_) => {}
                }
            }
            if a.to != "." && self.state(&a.to).is_none() {
                p.push(FieldError::new(&field, "invalid", format!("操作“{}”的目标状态 {} 不存在", a.label, a.to)));
            }
            if let Some(e) = a.permission_problem(&format!("{field}.permission")) {
                p.push(e);
            }
            if a.from.is_empty() {
                p.push(FieldError::new(&field, "invalid", format!("操作“{}”没有起始状态", a.label)));
            }
        }
        // Every state must be reachable from the initial one, and every non-terminal state must
        // lead somewhere: no case may get stuck.
        let mut reached = vec![self.initial.as_str()];
        let mut i = 0;
        while i < reached.len() {
            let here = reached[i];
            for a in self.actions_from(here) {
                let to = a.target(here);
                if !reached.contains(&to) {
                    reached.push(to);
                }
            }
            i += 1;
        }
        for (i, s) in self.states.iter().enumerate() {
            let field = format!("states[{i}]");
            if !reached.contains(&s.name.as_str()) {
                p.push(FieldError::new(&field, "unreachable", format!("状态“{}”无法到达", s.label)));
            }
            if !s.terminal && self.actions_from(&s.name).next().is_none() {
                p.push(FieldError::new(&field, "dead_end", format!("非终结状态“{}”没有后续操作", s.label)));
            }
        }
        p
    }
}

/// The legal clock of a case, in working days on the work calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalClock {
    pub started_on: Option<Day>,
    pub paused_since: Option<Day>,
    /// Working days spent paused so far (they never count against the limit).
    pub paused_days: u32,
    pub extended_days: u32,
    pub stopped_on: Option<Day>,
}

impl LegalClock {
    /// Applies an action's clock effect on `today`.
    pub fn apply(&mut self, op: ClockOp, today: Day, extension_days: u32, calendar: &super::calendar::WorkCalendar) {
        match op {
            ClockOp::Keep => {}
            ClockOp::Start => {
                if self.started_on.is_none() {
                    self.started_on = Some(today);
                }
            }
            ClockOp::Pause => {
                if self.started_on.is_some() && self.paused_since.is_none() && self.stopped_on.is_none() {
                    self.paused_since = Some(today);
                }
            }
            ClockOp::Resume => {
                if let Some(since) = self.paused_since.take() {
                    self.paused_days += calendar.working_days_between(since, today);
                }
            }
            ClockOp::Extend => {
                if self.extended_days == 0 {
                    self.extended_days = extension_days;
                }
            }
            ClockOp::Stop => {
                if let Some(since) = self.paused_since.take() {
                    self.paused_days += calendar.working_days_between(since, today);
                }
                if self.stopped_on.is_none() {
                    self.stopped_on = Some(today);
                }
            }
        }
    }

    /// The deadline for a limit of `days` working days, or `None` before the clock starts.
    /// While paused, the days from the pause on do not count: the deadline moves with today.
    pub fn deadline(&self, days: u32, today: Day, calendar: &super::calendar::WorkCalendar) -> Option<Day> {
        let start = self.started_on?;
        let running_pause = match self.paused_since {
            Some(since) => calendar.working_days_between(since, today),
            None => 0,
        };
        Some(calendar.add_working_days(start, days + self.extended_days + self.paused_days + running_pause))
    }

    /// Working days the clock has run (excluding pauses) up to `today`.
    pub fn used(&self, today: Day, calendar: &super::calendar::WorkCalendar) -> u32 {
        let Some(start) = self.started_on else { return 0 };
        let end = self.stopped_on.unwrap_or(today);
        let paused_now = match self.paused_since {
            Some(since) => calendar.working_days_between(since, end),
            None => 0,
        };
        calendar.working_days_between(start, end).saturating_sub(self.paused_days + paused_now)
    }
}

/// Warning level of a running case: yellow within `yellow_days` working days of the deadline,
/// red once past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    None,
    Yellow,
    Red,
}

impl Warning {
    pub const ALL: [Warning; 3] = [Warning::None, Warning::Yellow, Warning::Red];

    /// The spelling of the JSON and the deadline jobs' payloads.
    pub fn name(self) -> &'static str {
        match self {
            Warning::None => "none",
            Warning::Yellow => "yellow",
            Warning::Red => "red",
        }
    }
}

crate::impl_code!(Warning, "预警等级");

pub fn warning(deadline: Day, today: Day, yellow_days: u32, calendar: &super::calendar::WorkCalendar) -> Warning {
    if today > deadline {
        Warning::Red
    } else if calendar.working_days_between(today, deadline) <= yellow_days {
        Warning::Yellow
    } else {
        Warning::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkCalendar;
    use proptest::prelude::*;

    fn shipped() -> Vec<Workflow> {
        SHIPPED.iter().filter_map(|json| serde_json::from_str(json).ok()).collect()
    }

    fn sample() -> Workflow {
        shipped().remove(0)
    }

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap_or(Day::MIN)
    }

    #[test]
    fn the_sample_workflow_is_valid_and_bad_ones_are_explained() {
        assert_eq!(shipped().len(), SHIPPED.len(), "every shipped workflow parses");
        for w in shipped() {
            assert_eq!(w.problems(), Vec::<String>::new(), "{}", w.code);
        }
        let mut w = sample();
        w.actions.retain(|a| a.name != "resume");
        let p = w.problems();
        assert!(p.iter().any(|m| m.contains("中止")), "{p:?}");
        let mut w = sample();
        w.actions[0].permission = "nope".into();
        w.actions[2].to = "nowhere".into();
        let p = w.problems();
        // The bad permission, the missing target, and the state only that action reached.
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|m| m.contains("nope")) && p.iter().any(|m| m.contains("nowhere")));
    }

    #[test]
    fn an_action_needs_a_case_handling_permission() {
        let mut w = sample();
        let approve = w.actions.iter().position(|a| a.name == "approve").unwrap_or_default();
        w.actions[approve].permission = "office.view".into();
        let p = w.field_problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, format!("actions[{approve}].permission"));
        assert!(p[0].message.contains("准予许可") && p[0].message.contains("office.view"), "{p:?}");
        let mut w = sample();
        let withdraw = w.actions.iter().position(|a| a.by_applicant).unwrap_or_default();
        w.actions[withdraw].permission = "case.decide".into();
        assert_eq!(w.field_problems().len(), 1);
    }

    #[test]
    fn moves_are_checked_against_the_current_state() {
        let w = sample();
        assert_eq!(w.transition("submitted", "accept").map(|a| a.to.as_str()), Ok("accepted"));
        assert_eq!(w.transition("approved", "accept").err(), Some(TransitionError::NotAllowedNow));
        assert_eq!(w.transition("submitted", "fly").err(), Some(TransitionError::UnknownAction));
    }

    #[test]
    fn pauses_do_not_count_and_an_extension_adds_days() {
        let cal = WorkCalendar::builtin();
        let mut c = LegalClock::default();
        c.apply(ClockOp::Start, d("2026-11-02"), 10, &cal); // Monday
        assert_eq!(c.deadline(5, d("2026-11-02"), &cal), Some(d("2026-11-09")));
        c.apply(ClockOp::Pause, d("2026-11-03"), 10, &cal);
        // Paused for the working days Wed..Fri: the deadline moves with them.
        assert_eq!(c.deadline(5, d("2026-11-06"), &cal), Some(d("2026-11-12")));
        c.apply(ClockOp::Resume, d("2026-11-06"), 10, &cal);
        assert_eq!(c.paused_days, 3);
        assert_eq!(c.deadline(5, d("2026-11-20"), &cal), Some(d("2026-11-12")));
        c.apply(ClockOp::Extend, d("2026-11-06"), 10, &cal);
        c.apply(ClockOp::Extend, d("2026-11-06"), 10, &cal);
        assert_eq!(c.extended_days, 10, "an extension is granted once");
        assert_eq!(c.deadline(5, d("2026-11-06"), &cal), Some(d("2026-11-26")));
    }

    #[test]
    fn warnings_turn_yellow_then_red() {
        let cal = WorkCalendar::builtin();
        assert_eq!(warning(d("2026-11-30"), d("2026-11-26"), 1, &cal), Warning::None);
        assert_eq!(warning(d("2026-11-27"), d("2026-11-26"), 1, &cal), Warning::Yellow);
        assert_eq!(warning(d("2026-11-30"), d("2026-11-27"), 1, &cal), Warning::Yellow, "the weekend does not count");
        assert_eq!(warning(d("2026-11-25"), d("2026-11-26"), 1, &cal), Warning::Red);
    }

    proptest! {
        /// Whatever sequence of actions is attempted, on either shipped workflow, a case only ever
        /// stands in a state the workflow defines, moves only along defined actions, never
        /// leaves a terminal state, and is refused exactly the moves the workflow does not list.
        #[test]
        fn no_sequence_of_actions_reaches_an_undefined_state(
            which in 0usize..2,
            moves in proptest::collection::vec(0usize..16, 0..40),
        ) {
            let w = shipped().remove(which);
            let names: Vec<String> = w.actions.iter().map(|a| a.name.clone()).chain(["fly".to_owned()]).collect();
            let mut state = w.initial.clone();
            for m in moves {
                let action = &names[m % names.len()];
                let before_terminal = w.state(&state).is_some_and(|s| s.terminal);
                let listed = w.actions.iter().any(|a| &a.name == action && a.from.contains(&state));
                match w.transition(&state, action) {
                    Ok(a) => {
                        prop_assert!(listed && !before_terminal, "{} taken from {}", action, state);
                        state = a.target(&state).to_owned();
                    }
                    Err(_) => prop_assert!(!listed, "{} refused from {}", action, state),
                }
                prop_assert!(w.state(&state).is_some(), "undefined state {}", state);
            }
        }

        /// Days spent paused never count: the clock's used days equal the working days since
        /// the start minus the working days paused.
        #[test]
        fn paused_days_never_count(gaps in proptest::collection::vec(1u32..15, 1..8)) {
            let cal = WorkCalendar::builtin();
            let mut c = LegalClock::default();
            let mut day = d("2026-03-02");
            c.apply(ClockOp::Start, day, 0, &cal);
            let mut paused = 0;
            let mut running = true;
            for g in gaps {
                let next = day.plus_days(u64::from(g));
                if !running {
                    paused += cal.working_days_between(day, next);
                }
                c.apply(if running { ClockOp::Pause } else { ClockOp::Resume }, next, 0, &cal);
                running = !running;
                day = next;
            }
            let end = day.plus_days(3);
            if !running {
                paused += cal.working_days_between(day, end);
            }
            prop_assert_eq!(c.used(end, &cal), cal.working_days_between(d("2026-03-02"), end) - paused);
        }
    }
}

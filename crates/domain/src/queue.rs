//! The hall's queue (取号 / 叫号): ticket classes and states, and the rule that picks the next
//! ticket for a window. Pure: the store reads the waiting tickets and the site's rotation, this
//! module decides, the use case writes the decision back in one transaction.
//!
//! The rule, in order:
//! 1. Only tickets the window may serve: their queue service is one of the window's, and a
//!    ticket sent to one window is that window's alone.
//! 2. **Ageing cap.** A ticket that has waited longer than its service's target wait plus the
//!    site's cap is called before anything else, the most overdue first. So no ticket waits
//!    beyond the cap while others are being called.
//! 3. **Weighted interleaving.** Otherwise the priority classes (green channel, appointment,
//!    ordinary) take turns by the site's weights (e.g. 2 : 2 : 1), with smooth weighted
//!    round-robin: over any run in which every class has someone waiting, each class gets its
//!    share of calls exactly, and the turns are spread evenly (A A B, not A A … B B). A class
//!    with nobody waiting for this window sits the turn out and gains no credit.
//! 4. Within a class, first come first called (a parked ticket keeps its original place).

use serde::{Deserialize, Serialize};

/// A ticket's priority class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketClass {
    /// 绿色通道: the elderly, the disabled, the pregnant.
    GreenChannel,
    /// An appointment checked in on time.
    Appointment,
    Ordinary,
}

impl TicketClass {
    pub const ALL: [TicketClass; 3] = [TicketClass::GreenChannel, TicketClass::Appointment, TicketClass::Ordinary];

    pub fn name(self) -> &'static str {
        match self {
            TicketClass::GreenChannel => "green_channel",
            TicketClass::Appointment => "appointment",
            TicketClass::Ordinary => "ordinary",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketClass::GreenChannel => "绿色通道",
            TicketClass::Appointment => "预约",
            TicketClass::Ordinary => "普通",
        }
    }

    fn index(self) -> usize {
        match self {
            TicketClass::GreenChannel => 0,
            TicketClass::Appointment => 1,
            TicketClass::Ordinary => 2,
        }
    }
}

crate::impl_code!(TicketClass, "取号类别");

/// Where a ticket is in its life; every change is written to the ticket's period log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Called,
    Serving,
    /// 暂挂: the person fetches a document and comes back at their old place.
    Parked,
    Done,
    /// 过号: not there after the recalls.
    NoShow,
    Cancelled,
    /// Still waiting at closing time: closed by the day's rollover, never carried over.
    Expired,
}

impl TicketState {
    pub const ALL: [TicketState; 8] = [
        TicketState::Waiting,
        TicketState::Called,
        TicketState::Serving,
        TicketState::Parked,
        TicketState::Done,
        TicketState::NoShow,
        TicketState::Cancelled,
        TicketState::Expired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TicketState::Waiting => "waiting",
            TicketState::Called => "called",
            TicketState::Serving => "serving",
            TicketState::Parked => "parked",
            TicketState::Done => "done",
            TicketState::NoShow => "no_show",
            TicketState::Cancelled => "cancelled",
            TicketState::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketState::Waiting => "等候中",
            TicketState::Called => "已叫号",
            TicketState::Serving => "办理中",
            TicketState::Parked => "暂挂",
            TicketState::Done => "已办结",
            TicketState::NoShow => "过号",
            TicketState::Cancelled => "已取消",
            TicketState::Expired => "已过期",
        }
    }

    /// A ticket in a final state takes no more actions.
    pub fn is_final(self) -> bool {
        matches!(self, TicketState::Done | TicketState::NoShow | TicketState::Cancelled | TicketState::Expired)
    }
}

crate::impl_code!(TicketState, "取号状态");

/// Where a ticket was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    /// A self-service kiosk in the hall.
    Kiosk,
    /// The reception desk (导服台), by staff for the person.
    Reception,
    /// Remote queueing from the person's phone.
    Phone,
    /// An appointment checked in on arrival.
    Appointment,
}

impl TicketChannel {
    pub const ALL: [TicketChannel; 4] =
        [TicketChannel::Kiosk, TicketChannel::Reception, TicketChannel::Phone, TicketChannel::Appointment];

    pub fn name(self) -> &'static str {
        match self {
            TicketChannel::Kiosk => "kiosk",
            TicketChannel::Reception => "reception",
            TicketChannel::Phone => "phone",
            TicketChannel::Appointment => "appointment",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketChannel::Kiosk => "自助终端",
            TicketChannel::Reception => "导服台",
            TicketChannel::Phone => "手机取号",
            TicketChannel::Appointment => "预约签到",
        }
    }
}

crate::impl_code!(TicketChannel, "取号渠道");

/// The site's weights of the classes: how many calls each gets per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    pub green_channel: u32,
    pub appointment: u32,
    pub ordinary: u32,
}

impl Weights {
    fn of(&self, class: TicketClass) -> i64 {
        i64::from(match class {
            TicketClass::GreenChannel => self.green_channel,
            TicketClass::Appointment => self.appointment,
            TicketClass::Ordinary => self.ordinary,
        })
    }

    /// Weights of zero are refused: a class that is never called would wait forever (the ageing
    /// cap would then be the only way out).
    pub fn validate(&self) -> Result<(), &'static str> {
        if TicketClass::ALL.iter().any(|c| self.of(*c) == 0) {
            return Err("各类别的叫号权重须为正整数");
        }
        if TicketClass::ALL.iter().any(|c| self.of(*c) > 100) {
            return Err("叫号权重不得大于 100");
        }
        Ok(())
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self { green_channel: 2, appointment: 2, ordinary: 1 }
    }
}

/// The site's round-robin credits, one per class, kept between calls (stored with the site).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation(pub [i64; 3]);

/// A waiting ticket as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub class: TicketClass,
    pub service_id: i64,
    /// When it took its place in the queue (kept when parked and back).
    pub queued_at_ms: i64,
    /// The window it was sent to, if any: no other window calls it.
    pub window_id: Option<i64>,
    /// Its service's target wait.
    pub target_wait_ms: i64,
}

/// Why a ticket was chosen: shown on the workbench ("为什么叫这个号").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Reason {
    /// Waited past its target plus the cap.
    Overdue { over_target_ms: i64 },
    /// Its class's turn by the weights.
    Turn { class: TicketClass },
}

impl Reason {
    pub fn explain(&self, weights: &Weights) -> String {
        match self {
            Reason::Overdue { over_target_ms } => {
                format!("已超过目标等候时间 {} 分钟，优先叫号", (*over_target_ms).max(0) / 60_000)
            }
            Reason::Turn { class } => format!(
                "轮到“{}”类（叫号比例 绿色通道 {} : 预约 {} : 普通 {}），本类最早取号",
                class.label(),
                weights.green_channel,
                weights.appointment,
                weights.ordinary
            ),
        }
    }
}

/// The site's calling rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub weights: Weights,
    /// How long past its target a ticket may wait before it goes first.
    pub ageing_cap_ms: i64,
}

/// The decision: the ticket, why, and the site's rotation after the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub ticket_id: i64,
    pub reason: Reason,
    pub rotation: Rotation,
}

/// Chooses the next ticket for a window serving `services` (see the module's rule), or `None`
/// when nobody is waiting for it.
pub fn next_ticket(
    policy: &Policy,
    rotation: Rotation,
    window_id: i64,
    services: &[i64],
    waiting: &[Candidate],
    now_ms: i64,
) -> Option<Pick> {
    let eligible =
        waiting.iter().filter(|t| services.contains(&t.service_id) && t.window_id.is_none_or(|w| w == window_id));
    // Per class, the earliest; and the most overdue overall.
    let mut first: [Option<&Candidate>; 3] = [None; 3];
    let mut overdue: Option<(&Candidate, i64)> = None;
    for t in eligible {
        let slot = &mut first[t.class.index()];
        if slot.is_none_or(|f| (t.queued_at_ms, t.id) < (f.queued_at_ms, f.id)) {
            *slot = Some(t);
        }
        let over = now_ms - t.queued_at_ms - t.target_wait_ms;
        if over > policy.ageing_cap_ms && overdue.is_none_or(|(o, ov)| (over, -t.id) > (ov, -o.id)) {
            overdue = Some((t, over));
        }
    }
    if let Some((t, over)) = overdue {
        return Some(Pick { ticket_id: t.id, reason: Reason::Overdue { over_target_ms: over }, rotation });
    }
    // Smooth weighted round-robin over the classes that have someone waiting.
    let present: Vec<TicketClass> = TicketClass::ALL.into_iter().filter(|c| first[c.index()].is_some()).collect();
    if present.is_empty() {
        return None;
    }
    let mut credits = rotation.0;
    let total: i64 = present.iter().map(|c| policy.weights.of(*c)).sum();
    for c in &present {
        credits[c.index()] += policy.weights.of(*c);
    }
    // The highest credit; ties go to the higher priority (the order of ALL).
    let mut chosen = present[0];
    for c in &present[1..] {
        if credits[c.index()] > credits[chosen.index()] {
            chosen = *c;
        }
    }
    credits[chosen.index()] -= total;
    // Classes absent now keep their credit but never pile it up: bounded by one round.
    let bound = i64::from(policy.weights.green_channel + policy.weights.appointment + policy.weights.ordinary);
    for c in &mut credits {
        *c = (*c).clamp(-bound, bound);
    }
    let ticket = first[chosen.index()]?;
    Some(Pick { ticket_id: ticket.id, reason: Reason::Turn { class: chosen }, rotation: Rotation(credits) })
}

/// A ticket's number as shown and called: the service's prefix and three digits ("A012").
pub fn ticket_label(prefix: &str, number: i64) -> String {
    format!("{prefix}{number:03}")
}

/// The sentence a hall screen speaks for a call.
pub fn announcement(label: &str, window_name: &str) -> String {
    format!("请 {label} 号到 {window_name} 办理")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    fn policy() -> Policy {
        Policy { weights: Weights::default(), ageing_cap_ms: 30 * MIN }
    }

    fn ticket(id: i64, class: TicketClass, queued_at_ms: i64) -> Candidate {
        Candidate { id, class, service_id: 1, queued_at_ms, window_id: None, target_wait_ms: 20 * MIN }
    }

    /// Calls until nobody is left, returning the classes in call order.
    fn drain(policy: &Policy, mut waiting: Vec<Candidate>, now_ms: i64) -> Vec<TicketClass> {
        let mut rotation = Rotation::default();
        let mut order = Vec::new();
        while let Some(pick) = next_ticket(policy, rotation, 1, &[1], &waiting, now_ms) {
            rotation = pick.rotation;
            let at = waiting.iter().position(|t| t.id == pick.ticket_id).unwrap_or(usize::MAX);
            order.push(waiting.remove(at).class);
        }
        order
    }

    #[test]
    fn with_every_class_waiting_each_round_of_five_calls_is_two_two_one_spread_out() {
        use TicketClass::*;
        let mut waiting = Vec::new();
        for i in 0..10 {
            waiting.push(ticket(i, Ordinary, i));
            waiting.push(ticket(100 + i, Appointment, i));
            waiting.push(ticket(200 + i, GreenChannel, i));
        }
        let order = drain(&policy(), waiting, 100);
        assert_eq!(&order[..5], &[GreenChannel, Appointment, Ordinary, GreenChannel, Appointment]);
        assert_eq!(order.len(), 30);
    }

    #[test]
    fn within_a_class_the_earliest_is_called_first_and_nobody_is_called_when_nobody_waits() {
        let waiting = vec![ticket(1, TicketClass::Ordinary, 50), ticket(2, TicketClass::Ordinary, 10)];
        let pick = next_ticket(&policy(), Rotation::default(), 1, &[1], &waiting, 100);
        assert_eq!(pick.map(|p| p.ticket_id), Some(2));
        assert_eq!(next_ticket(&policy(), Rotation::default(), 1, &[1], &[], 100), None);
    }

    #[test]
    fn a_window_calls_only_its_services_and_tickets_sent_to_it() {
        let mut other_service = ticket(1, TicketClass::GreenChannel, 0);
        other_service.service_id = 2;
        let mut other_window = ticket(2, TicketClass::GreenChannel, 0);
        other_window.window_id = Some(9);
        let mut mine = ticket(3, TicketClass::Ordinary, 5);
        mine.window_id = Some(1);
        let waiting = vec![other_service, other_window, mine];
        let pick = next_ticket(&policy(), Rotation::default(), 1, &[1], &waiting, 100);
        assert_eq!(pick.map(|p| p.ticket_id), Some(3));
    }

    #[test]
    fn a_ticket_past_its_target_and_the_cap_goes_first_and_says_why() {
        let now = 1000 * MIN;
        // Ordinary, waited 55 min: target 20 + cap 30 exceeded by 5.
        let waiting =
            vec![ticket(1, TicketClass::GreenChannel, now - MIN), ticket(2, TicketClass::Ordinary, now - 55 * MIN)];
        let pick = next_ticket(&policy(), Rotation::default(), 1, &[1], &waiting, now);
        assert_eq!(pick.as_ref().map(|p| p.ticket_id), Some(2));
        let reason = pick.map(|p| p.reason.explain(&policy().weights));
        assert_eq!(reason.as_deref(), Some("已超过目标等候时间 35 分钟，优先叫号"));
    }

    #[test]
    fn weights_of_zero_are_refused() {
        assert!(Weights { green_channel: 0, appointment: 1, ordinary: 1 }.validate().is_err());
        assert!(Weights::default().validate().is_ok());
    }

    #[test]
    fn labels_and_announcements() {
        assert_eq!(ticket_label("A", 12), "A012");
        assert_eq!(ticket_label("B", 1234), "B1234");
        assert_eq!(announcement("A012", "3号窗口"), "请 A012 号到 3号窗口 办理");
    }

    fn class() -> impl Strategy<Value = TicketClass> {
        prop_oneof![Just(TicketClass::GreenChannel), Just(TicketClass::Appointment), Just(TicketClass::Ordinary)]
    }

    proptest! {
        /// Over any run in which every class keeps someone waiting, each class's share of calls
        /// is its weight's share, to within one call of each class per run.
        #[test]
        fn the_ratio_holds_over_any_long_run(g in 1u32..6, a in 1u32..6, o in 1u32..6, calls in 10usize..300) {
            let policy = Policy { weights: Weights { green_channel: g, appointment: a, ordinary: o }, ageing_cap_ms: i64::MAX / 4 };
            let mut waiting = Vec::new();
            for i in 0..calls as i64 {
                for (k, c) in TicketClass::ALL.into_iter().enumerate() {
                    waiting.push(ticket(i * 3 + k as i64, c, i));
                }
            }
            let mut rotation = Rotation::default();
            let mut counts = [0i64; 3];
            for _ in 0..calls {
                let pick = next_ticket(&policy, rotation, 1, &[1], &waiting, 0).ok_or_else(|| TestCaseError::fail("nobody"))?;
                rotation = pick.rotation;
                let at = waiting.iter().position(|t| t.id == pick.ticket_id).ok_or_else(|| TestCaseError::fail("unknown"))?;
                counts[waiting.remove(at).class.index()] += 1;
            }
            let total = i64::from(g + a + o);
            for (k, w) in [g, a, o].into_iter().enumerate() {
                let expected = calls as i64 * i64::from(w);
                // |count·total − calls·weight| ≤ total: off by at most one call.
                prop_assert!((counts[k] * total - expected).abs() <= total, "class {k}: {counts:?} of {calls} at {g}:{a}:{o}");
            }
        }

        /// Arrivals and calls in any order: a ticket is never called while another eligible one
        /// has waited past its target plus the cap longer than it, and no ticket is called twice.
        #[test]
        fn no_ticket_waits_past_the_cap_while_others_are_called(
            events in proptest::collection::vec((class(), 0i64..4, any::<bool>()), 1..200),
        ) {
            let policy = Policy { weights: Weights::default(), ageing_cap_ms: 10 * MIN };
            let mut waiting: Vec<Candidate> = Vec::new();
            let mut called = std::collections::HashSet::new();
            let mut rotation = Rotation::default();
            let mut now = 0;
            for (id, (c, minutes, call)) in events.into_iter().enumerate() {
                now += minutes * MIN;
                let mut t = ticket(id as i64, c, now);
                t.target_wait_ms = 5 * MIN;
                waiting.push(t);
                if !call { continue; }
                let Some(pick) = next_ticket(&policy, rotation, 1, &[1], &waiting, now) else { continue };
                rotation = pick.rotation;
                prop_assert!(called.insert(pick.ticket_id));
                let at = waiting.iter().position(|t| t.id == pick.ticket_id).ok_or_else(|| TestCaseError::fail("unknown"))?;
                let chosen = waiting.remove(at);
                let over = |t: &Candidate| now - t.queued_at_ms - t.target_wait_ms;
                for other in &waiting {
                    if over(other) > policy.ageing_cap_ms {
                        prop_assert!(over(&chosen) >= over(other), "{other:?} waited longer past the cap than {chosen:?}");
                    }
                }
            }
        }
    }
}

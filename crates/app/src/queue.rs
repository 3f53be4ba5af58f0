//! The hall's queue (取号 / 叫号): taking a ticket, a window's session, calling by the site's
//! fair rule (`domain::queue`), the moves of a ticket, and the day's rollover. Every change of a
//! ticket's state is written to its period log in the same transaction as the change.
//!
//! Who may do what: window staff (`hall.call`) act only on tickets of their own site, at the
//! window they are signed in at; the reception desk (`hall.ticket`) gives tickets at its own
//! site; a person (`ticket.take`) takes an ordinary ticket for themself from the phone and sees
//! only their own tickets.

use sqlx::AnyConnection;
use tongban_domain::day::Day;
use tongban_domain::permission::Permission;
use tongban_domain::queue::{self as rule, Reason, TicketChannel, TicketClass, TicketState};
use tongban_store::audit::Outcome;
use tongban_store::jobs::Job;
use tongban_store::org;
use tongban_store::queue::{self as store, Move, TicketEvent};

use crate::jobs::{BoxFuture, JobKind, Periodic};
use crate::{Actor, AppError, Core, audit_in, authorize};

pub use tongban_store::queue::{HallWindow, QueueService, Ticket};

const MINUTE_MS: i64 = 60_000;

/// What a person or the reception asks for.
#[derive(Debug, Clone)]
pub struct TakeTicket {
    pub site_code: String,
    pub service_code: String,
    pub class: TicketClass,
    pub channel: TicketChannel,
}

/// A ticket with where it stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TicketStatus {
    pub ticket: Ticket,
    /// Waiting tickets of the same service ahead of it (0 when it is next or no longer waits).
    pub ahead: i64,
    /// The estimated wait in minutes, from the service's recent service times and the windows
    /// open for it; `None` when there is nothing to estimate from.
    pub estimate_minutes: Option<i64>,
}

/// Takes a ticket: from the phone (the person's own, ordinary), or at the reception desk of the
/// staff member's own site (any class: the desk decides the green channel).
pub async fn take(core: &Core, actor: &Actor, req: &TakeTicket) -> Result<TicketStatus, AppError> {
    let object = format!("site:{}", req.site_code.chars().take(40).collect::<String>());
    audited(core, actor, &object, take_ticket(core, actor, req).await).await
}

async fn take_ticket(core: &Core, actor: &Actor, req: &TakeTicket) -> Result<TicketStatus, AppError> {
    let user_id = match req.channel {
        TicketChannel::Phone => {
            authorize(core, actor, Permission::TicketTake, "ticket").await?;
            if req.class != TicketClass::Ordinary {
                return Err(AppError::Conflict("手机取号为普通号；绿色通道请到导服台出示证件取号".into()));
            }
            Some(actor.user_id)
        }
        TicketChannel::Reception => {
            authorize(core, actor, Permission::HallTicket, "ticket").await?;
            None
        }
        TicketChannel::Kiosk | TicketChannel::Appointment => {
            return Err(AppError::Conflict("该取号方式尚未开通".into()));
        }
    };
    let now = core.clock.now_ms();
    let today = core.clock.today();
    let mut tx = core.db.begin().await?;
    let site = org::site_by_code(&mut tx, &req.site_code).await?.ok_or(AppError::NotFound)?;
    if req.channel == TicketChannel::Reception && actor.site.as_ref().map(|s| s.id) != Some(site.id) {
        return Err(AppError::Forbidden);
    }
    let service = store::service_by_code(&mut tx, site.id, &req.service_code).await?.ok_or(AppError::NotFound)?;
    let policy = store::policy(&mut tx, site.id).await?.ok_or_else(|| AppError::Conflict("本大厅未开通取号".into()))?;
    let calendar = crate::calendar::load_shared(core).await?;
    if !calendar.is_working_day(today) {
        return Err(AppError::Conflict("今天不是工作日，大厅不办理业务".into()));
    }
    if minute_of_day(now) >= policy.closing_minute {
        return Err(AppError::Conflict(format!(
            "今日取号已结束（{} 停止取号），请于下一个工作日再来",
            clock_text(policy.closing_minute)
        )));
    }
    if let Some(user_id) = user_id {
        let open = store::open_ticket_of_user(&mut tx, user_id, site.id, today, service.id).await?;
        if let Some(t) = open {
            return Err(AppError::Conflict(format!("您已取得 {} 号，正在排队，请勿重复取号", t.label)));
        }
    }
    store::touch(&mut tx, site.id).await?;
    let number = store::next_number(&mut tx, site.id, today, service.id).await?;
    let label = rule::ticket_label(&service.prefix, number);
    let id = store::insert_ticket(
        &mut tx,
        &store::NewTicket {
            site_id: site.id,
            day: today,
            service_id: service.id,
            number,
            label: &label,
            class: req.class,
            channel: req.channel,
            user_id,
            at: now,
        },
    )
    .await?;
    log_event(&mut tx, id, now, "take", TicketState::Waiting, None, actor, req.channel.label()).await?;
    tx.commit().await?;
    status_of(core, id).await
}

/// A ticket's status for its holder: the person's own ticket, or any of the site's for its staff.
pub async fn status(core: &Core, actor: &Actor, ticket_id: i64) -> Result<TicketStatus, AppError> {
    let status = status_of(core, ticket_id).await?;
    let own = status.ticket.user_id == Some(actor.user_id) && actor.can(Permission::TicketTake);
    let staff = (actor.can(Permission::HallCall) || actor.can(Permission::HallTicket))
        && actor.site.as_ref().map(|s| s.id) == Some(status.ticket.site_id);
    if !own && !staff {
        authorize(core, actor, Permission::HallCall, &format!("ticket:{ticket_id}")).await?;
        return Err(AppError::NotFound);
    }
    Ok(status)
}

/// The person's tickets of today, newest first.
pub async fn mine(core: &Core, actor: &Actor) -> Result<Vec<TicketStatus>, AppError> {
    authorize(core, actor, Permission::TicketTake, "ticket").await?;
    let ids = {
        let mut conn = core.db.conn().await?;
        store::tickets_of_user(&mut conn, actor.user_id, core.clock.today()).await?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(status_of(core, id).await?);
    }
    Ok(out)
}

async fn status_of(core: &Core, ticket_id: i64) -> Result<TicketStatus, AppError> {
    let mut conn = core.db.conn().await?;
    let ticket = store::ticket(&mut conn, ticket_id).await?.ok_or(AppError::NotFound)?;
    let (ahead, estimate_minutes) = if ticket.state == TicketState::Waiting {
        let ahead = store::ahead_of(&mut conn, &ticket).await?;
        let windows = store::open_windows_for(&mut conn, ticket.service_id).await?.max(1);
        let per = store::recent_service_ms(&mut conn, ticket.service_id, ticket.day).await?;
        (ahead, per.map(|ms| (ahead * ms / windows + MINUTE_MS - 1) / MINUTE_MS))
    } else {
        (0, None)
    };
    Ok(TicketStatus { ticket, ahead, estimate_minutes })
}

/// The person cancels their own waiting ticket.
pub async fn cancel(core: &Core, actor: &Actor, ticket_id: i64) -> Result<(), AppError> {
    authorize(core, actor, Permission::TicketTake, "ticket").await?;
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let t = store::ticket(&mut tx, ticket_id).await?.filter(|t| t.user_id == Some(actor.user_id));
    let t = t.ok_or(AppError::NotFound)?;
    if !matches!(t.state, TicketState::Waiting | TicketState::Parked) {
        return Err(AppError::Conflict(format!("{} 号{}，不能取消", t.label, t.state.label())));
    }
    store::touch(&mut tx, t.site_id).await?;
    let mut m = Move::new(t.id, t.state, TicketState::Cancelled, now);
    m.finished = true;
    apply(&mut tx, &m, "cancel", actor, "").await?;
    tx.commit().await?;
    Ok(())
}

/// The window staff member's place: the window they are signed in at, with its ticket in hand.
#[derive(Debug, Clone)]
pub struct Desk {
    pub window: Option<HallWindow>,
    pub windows: Vec<HallWindow>,
    pub current: Option<Ticket>,
    pub services: Vec<QueueService>,
    /// Waiting tickets of the site today, per service: (service, count).
    pub waiting: Vec<(QueueService, usize)>,
    pub parked: Vec<Ticket>,
}

/// The workbench's state for a window staff member.
pub async fn desk(core: &Core, actor: &Actor) -> Result<Desk, AppError> {
    authorize(core, actor, Permission::HallCall, "hall").await?;
    let site = actor.site.as_ref().ok_or_else(|| AppError::Conflict("您的账户未分配服务大厅".into()))?;
    let mut conn = core.db.conn().await?;
    let window = store::window_of_user(&mut conn, actor.user_id).await?;
    let current = match &window {
        Some(w) => store::current_of_window(&mut conn, w.id).await?,
        None => None,
    };
    let services = store::services_of_site(&mut conn, site.id).await?;
    let today = core.clock.today();
    let waiting_tickets = store::tickets_in_state(&mut conn, site.id, today, TicketState::Waiting).await?;
    let waiting =
        services.iter().map(|s| (s.clone(), waiting_tickets.iter().filter(|t| t.service_id == s.id).count())).collect();
    let parked = store::tickets_in_state(&mut conn, site.id, today, TicketState::Parked).await?;
    let windows = store::windows_of_site(&mut conn, site.id).await?;
    Ok(Desk { window, windows, current, services, waiting, parked })
}

/// Signs the staff member in at a window of their own site.
pub async fn sign_in(core: &Core, actor: &Actor, window_id: i64) -> Result<HallWindow, AppError> {
    authorize(core, actor, Permission::HallCall, "window").await?;
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let window = store::window(&mut tx, window_id).await?.ok_or(AppError::NotFound)?;
    if actor.site.as_ref().map(|s| s.id) != Some(window.site_id) {
        return Err(AppError::Forbidden);
    }
    if window.user_id.is_some_and(|u| u != actor.user_id) {
        return Err(AppError::Conflict(format!("{}已有其他工作人员签到", window.name)));
    }
    if let Some(old) = store::window_of_user(&mut tx, actor.user_id).await?
        && let Some(t) = store::current_of_window(&mut tx, old.id).await?
    {
        return Err(AppError::Conflict(format!("请先处理{}的当前号 {}", old.name, t.label)));
    }
    store::sign_in(&mut tx, window.id, actor.user_id, now).await?;
    audit_in(&mut tx, &core.clock, actor, "window.sign_in", &window.code, Outcome::Success, "").await?;
    tx.commit().await?;
    let mut conn = core.db.conn().await?;
    store::window(&mut conn, window_id).await?.ok_or(AppError::NotFound)
}

pub async fn sign_out(core: &Core, actor: &Actor) -> Result<(), AppError> {
    authorize(core, actor, Permission::HallCall, "window").await?;
    let mut tx = core.db.begin().await?;
    let window = store::window_of_user(&mut tx, actor.user_id).await?.ok_or_else(not_signed_in)?;
    if let Some(t) = store::current_of_window(&mut tx, window.id).await? {
        return Err(AppError::Conflict(format!("请先处理当前号 {} 再签退", t.label)));
    }
    store::sign_out(&mut tx, actor.user_id).await?;
    audit_in(&mut tx, &core.clock, actor, "window.sign_out", &window.code, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Pauses the staff member's window (a break, with its reason) or resumes it (`None`).
pub async fn pause(core: &Core, actor: &Actor, reason: Option<&str>) -> Result<(), AppError> {
    authorize(core, actor, Permission::HallCall, "window").await?;
    let reason = reason.map(str::trim);
    if reason.is_some_and(|r| r.is_empty() || r.chars().count() > 50) {
        return Err(AppError::Invalid(vec![crate::FieldError::new(
            "reason",
            "invalid",
            "请填写暂停原因（不超过 50 字）",
        )]));
    }
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let window = store::window_of_user(&mut tx, actor.user_id).await?.ok_or_else(not_signed_in)?;
    store::set_pause(&mut tx, actor.user_id, reason.map(|r| (now, r))).await?;
    let action = if reason.is_some() { "window.pause" } else { "window.resume" };
    audit_in(&mut tx, &core.clock, actor, action, &window.code, Outcome::Success, reason.unwrap_or("")).await?;
    tx.commit().await?;
    Ok(())
}

/// A call: the ticket and why it was next.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Called {
    pub ticket: Ticket,
    pub window: String,
    pub reason: String,
    /// What the hall screen says.
    pub announcement: String,
}

/// Calls the next ticket for the staff member's window by the site's rule.
pub async fn call_next(core: &Core, actor: &Actor) -> Result<Called, AppError> {
    authorize(core, actor, Permission::HallCall, "ticket").await?;
    let now = core.clock.now_ms();
    let today = core.clock.today();
    let mut tx = core.db.begin().await?;
    let window = store::window_of_user(&mut tx, actor.user_id).await?.ok_or_else(not_signed_in)?;
    if window.paused_at.is_some() {
        return Err(AppError::Conflict("窗口暂停中，请先恢复叫号".into()));
    }
    if let Some(t) = store::current_of_window(&mut tx, window.id).await? {
        return Err(AppError::Conflict(format!("请先处理当前号 {}", t.label)));
    }
    // The site's turn first: calls at one site take place one after another.
    let site_policy = store::take_calling_turn(&mut tx, window.site_id)
        .await?
        .ok_or_else(|| AppError::Conflict("本大厅未开通叫号".into()))?;
    let services = store::window_services(&mut tx, window.id).await?;
    if services.is_empty() {
        return Err(AppError::Conflict(format!("{}未配置可办理的业务，请联系大厅管理员", window.name)));
    }
    let candidates = store::candidates(&mut tx, window.site_id, today).await?;
    let pick = rule::next_ticket(&site_policy.policy, site_policy.rotation, window.id, &services, &candidates, now)
        .ok_or_else(|| AppError::Conflict("暂无等候".into()))?;
    let mut m = Move::new(pick.ticket_id, TicketState::Waiting, TicketState::Called, now);
    m.window_id = Some(window.id);
    m.staff_id = Some(actor.user_id);
    m.called = true;
    if !store::move_ticket(&mut tx, &m).await? {
        return Err(AppError::Conflict("该号已被其他窗口叫走，请重试".into()));
    }
    store::set_rotation(&mut tx, window.site_id, pick.rotation).await?;
    let reason = pick.reason.explain(&site_policy.policy.weights);
    log_event(&mut tx, pick.ticket_id, now, "call", TicketState::Called, Some(window.id), actor, &reason).await?;
    tx.commit().await?;
    called(core, pick.ticket_id, &window, pick.reason, &site_policy.policy.weights).await
}

async fn called(
    core: &Core,
    ticket_id: i64,
    window: &HallWindow,
    reason: Reason,
    w: &rule::Weights,
) -> Result<Called, AppError> {
    let mut conn = core.db.conn().await?;
    let ticket = store::ticket(&mut conn, ticket_id).await?.ok_or(AppError::NotFound)?;
    let announcement = rule::announcement(&ticket.label, &window.name);
    Ok(Called { ticket, window: window.name.clone(), reason: reason.explain(w), announcement })
}

/// What a window does with the ticket in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 重呼: call it again (up to the site's number of recalls).
    Recall,
    /// The person has come: service begins.
    Start,
    /// 暂挂: the person fetches a document; they return at their old place.
    Park,
    /// 过号: not there.
    NoShow,
    Done,
    /// 转移: to another service of the site (optionally to one window of it).
    Transfer {
        service_code: String,
        window_id: Option<i64>,
        note: String,
    },
}

/// Applies `action` to a ticket at the staff member's window.
pub async fn act(core: &Core, actor: &Actor, ticket_id: i64, action: &Action) -> Result<Ticket, AppError> {
    let object = format!("ticket:{ticket_id}");
    authorize(core, actor, Permission::HallCall, &object).await?;
    audited(core, actor, &object, act_in_hand(core, actor, ticket_id, action).await).await
}

async fn act_in_hand(core: &Core, actor: &Actor, ticket_id: i64, action: &Action) -> Result<Ticket, AppError> {
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let t = site_ticket(&mut tx, actor, ticket_id).await?;
    let window = store::window_of_user(&mut tx, actor.user_id).await?.ok_or_else(not_signed_in)?;
    if t.state.is_final() {
        return Err(AppError::Conflict(format!("{} 号{}，不能再操作", t.label, t.state.label())));
    }
    let in_hand = matches!(t.state, TicketState::Called | TicketState::Serving) && t.window_id == Some(window.id);
    if !in_hand {
        return Err(AppError::Conflict(format!("{} 号不在本窗口办理（{}）", t.label, t.state.label())));
    }
    let policy =
        store::policy(&mut tx, t.site_id).await?.ok_or_else(|| AppError::Conflict("本大厅未开通叫号".into()))?;
    store::touch(&mut tx, t.site_id).await?;
    let mut m = Move::new(t.id, t.state, t.state, now);
    m.window_id = Some(window.id);
    let (name, note) = match action {
        Action::Recall => {
            if t.state != TicketState::Called {
                return Err(AppError::Conflict("办理中的号无需重呼".into()));
            }
            if t.recalls >= policy.recalls_before_no_show {
                return Err(AppError::Conflict(format!("已重呼 {} 次，请标记过号", t.recalls)));
            }
            m.called = true;
            m.recall = true;
            ("recall", format!("第 {} 次重呼", t.recalls + 1))
        }
        Action::Start => {
            if t.state != TicketState::Called {
                return Err(AppError::Conflict("该号已在办理中".into()));
            }
            m.to = TicketState::Serving;
            m.served = true;
            ("start", String::new())
        }
        Action::Park => {
            m.to = TicketState::Parked;
            m.window_id = None;
            ("park", format!("{} 分钟内回到原位", policy.park_limit_ms / MINUTE_MS))
        }
        Action::NoShow => {
            if t.state != TicketState::Called {
                return Err(AppError::Conflict("办理中的号不能标记过号".into()));
            }
            m.to = TicketState::NoShow;
            m.finished = true;
            ("no_show", format!("重呼 {} 次未到", t.recalls))
        }
        Action::Done => {
            m.to = TicketState::Done;
            m.served = t.served_at.is_none();
            m.finished = true;
            ("done", String::new())
        }
        Action::Transfer { service_code, window_id, note } => {
            let to = store::service_by_code(&mut tx, t.site_id, service_code)
                .await?
                .ok_or_else(|| AppError::Conflict("没有这项业务".into()))?;
            if to.id == t.service_id && window_id.is_none() {
                return Err(AppError::Conflict("已在该业务队列中".into()));
            }
            if let Some(w) = window_id {
                let target = store::window(&mut tx, *w).await?.filter(|x| x.site_id == t.site_id);
                let target = target.ok_or_else(|| AppError::Conflict("没有这个窗口".into()))?;
                if target.user_id.is_none() || target.paused_at.is_some() || *w == window.id {
                    return Err(AppError::Conflict(format!("{}未开放，不能转入", target.name)));
                }
                if !store::window_services(&mut tx, *w).await?.contains(&to.id) {
                    return Err(AppError::Conflict(format!("{}不办理“{}”", target.name, to.name)));
                }
            } else if !store::service_is_open(&mut tx, to.id).await? {
                return Err(AppError::Conflict(format!("当前没有开放的窗口办理“{}”，不能转移", to.name)));
            }
            if note.chars().count() > 100 {
                return Err(AppError::Invalid(vec![crate::FieldError::new(
                    "note",
                    "too_long",
                    "转移说明不超过 100 字",
                )]));
            }
            m.to = TicketState::Waiting;
            m.window_id = *window_id;
            m.service_id = Some(to.id);
            (
                "transfer",
                format!(
                    "转至“{}”{}",
                    to.name,
                    if note.trim().is_empty() { String::new() } else { format!("：{}", note.trim()) }
                ),
            )
        }
    };
    if !store::move_ticket(&mut tx, &m).await? {
        return Err(AppError::Conflict("该号状态已变化，请刷新".into()));
    }
    log_event(&mut tx, t.id, now, name, m.to, Some(window.id), actor, &note).await?;
    tx.commit().await?;
    let mut conn = core.db.conn().await?;
    store::ticket(&mut conn, t.id).await?.ok_or(AppError::NotFound)
}

/// A parked ticket comes back to its old place in the queue (by the window staff or the
/// reception desk), within the site's limit; or a no-show rejoins once, at the end of the queue.
pub async fn rejoin(core: &Core, actor: &Actor, ticket_id: i64) -> Result<TicketStatus, AppError> {
    let object = format!("ticket:{ticket_id}");
    if !actor.can(Permission::HallTicket) {
        authorize(core, actor, Permission::HallCall, &object).await?;
    }
    audited(core, actor, &object, rejoin_queue(core, actor, ticket_id).await).await
}

async fn rejoin_queue(core: &Core, actor: &Actor, ticket_id: i64) -> Result<TicketStatus, AppError> {
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let t = site_ticket(&mut tx, actor, ticket_id).await?;
    let policy =
        store::policy(&mut tx, t.site_id).await?.ok_or_else(|| AppError::Conflict("本大厅未开通叫号".into()))?;
    store::touch(&mut tx, t.site_id).await?;
    let since = store::last_event_at(&mut tx, t.id).await?.unwrap_or(t.taken_at);
    let mut m = Move::new(t.id, t.state, TicketState::Waiting, now);
    let (name, note) = match t.state {
        TicketState::Parked => {
            if now - since > policy.park_limit_ms {
                return Err(AppError::Conflict(format!(
                    "{} 号暂挂已超过 {} 分钟，请重新取号",
                    t.label,
                    policy.park_limit_ms / MINUTE_MS
                )));
            }
            ("return", "回到原排队位置".to_owned())
        }
        TicketState::NoShow => {
            if t.rejoined {
                return Err(AppError::Conflict(format!("{} 号已补过一次号，请重新取号", t.label)));
            }
            if now - since > policy.park_limit_ms {
                return Err(AppError::Conflict(format!(
                    "{} 号过号已超过 {} 分钟，请重新取号",
                    t.label,
                    policy.park_limit_ms / MINUTE_MS
                )));
            }
            m.queued_at = Some(now);
            m.rejoined = true;
            ("rejoin", "过号补号一次，排到队尾".to_owned())
        }
        _ => return Err(AppError::Conflict(format!("{} 号{}，无需回到队列", t.label, t.state.label()))),
    };
    if t.day != core.clock.today() {
        return Err(AppError::Conflict(format!("{} 号不是今天的号", t.label)));
    }
    if !store::move_ticket(&mut tx, &m).await? {
        return Err(AppError::Conflict("该号状态已变化，请刷新".into()));
    }
    log_event(&mut tx, t.id, now, name, TicketState::Waiting, None, actor, &note).await?;
    tx.commit().await?;
    status_of(core, t.id).await
}

/// Links the case taken in at the window (帮办收件) to its ticket.
pub async fn link_case(tx: &mut AnyConnection, ticket_id: i64, case_id: i64) -> Result<(), AppError> {
    store::link_case(tx, ticket_id, case_id).await?;
    Ok(())
}

/// A ticket's period log, for its site's staff.
pub async fn history(core: &Core, actor: &Actor, ticket_id: i64) -> Result<Vec<TicketEvent>, AppError> {
    let object = format!("ticket:{ticket_id}");
    authorize(core, actor, Permission::HallCall, &object).await?;
    let mut conn = core.db.conn().await?;
    let r = match site_ticket(&mut conn, actor, ticket_id).await {
        Ok(t) => Ok(store::events(&mut conn, t.id).await?),
        Err(e) => Err(e),
    };
    drop(conn);
    audited(core, actor, &object, r).await
}

/// A ticket of the actor's site; a ticket of another site is refused (403; the public use case
/// audits the refusal through [`audited`], once its transaction is over).
async fn site_ticket(c: &mut AnyConnection, actor: &Actor, ticket_id: i64) -> Result<Ticket, AppError> {
    let t = store::ticket(c, ticket_id).await?.ok_or(AppError::NotFound)?;
    if actor.site.as_ref().map(|s| s.id) != Some(t.site_id) {
        return Err(AppError::Forbidden);
    }
    Ok(t)
}

/// Records a refusal of the use case in the audit log (after its transaction has ended: on
/// SQLite the audit's own transaction waits for the writer turn the use case held).
async fn audited<T>(core: &Core, actor: &Actor, object: &str, r: Result<T, AppError>) -> Result<T, AppError> {
    if matches!(r, Err(AppError::Forbidden)) {
        crate::audit::record_denial(core, Some(actor), &actor.ip, "hall.call", object).await?;
    }
    r
}

/// Closes every ticket still open at a site's closing time, and every one of an earlier day:
/// they expire, counted in one audit record per site, and are never carried into tomorrow
/// (numbering restarts by day anyway). Returns how many were closed.
pub async fn rollover_in(tx: &mut AnyConnection, core: &Core) -> Result<usize, AppError> {
    let now = core.clock.now_ms();
    let today = core.clock.today();
    let system = Actor { username: "system".into(), ip: "job".into(), ..Actor::console() };
    let mut total = 0;
    for site_id in store::queue_sites(tx).await? {
        let Some(policy) = store::policy(tx, site_id).await? else { continue };
        let until = if minute_of_day(now) >= policy.closing_minute { today } else { yesterday(today) };
        store::touch(tx, site_id).await?;
        let open = store::open_until(tx, site_id, until).await?;
        for (id, state) in &open {
            let mut m = Move::new(*id, *state, TicketState::Expired, now);
            m.finished = true;
            if store::move_ticket(tx, &m).await? {
                log_event(tx, *id, now, "expire", TicketState::Expired, None, &system, "闭厅时仍未办理，自动过期")
                    .await?;
            }
        }
        if !open.is_empty() {
            audit_in(
                tx,
                &core.clock,
                &system,
                "ticket.expire",
                &format!("site:{site_id}"),
                Outcome::Success,
                &format!("{} 张", open.len()),
            )
            .await?;
        }
        total += open.len();
    }
    Ok(total)
}

fn yesterday(day: Day) -> Day {
    day.minus_days(1)
}

/// The kind of [`RolloverJob`]; stored in job rows, never to change.
pub const ROLLOVER_JOB: &str = "ticket_rollover";
/// How often the rollover runs: every five minutes, so closing time is met within five.
pub const ROLLOVER_SECONDS: i64 = 300;

/// Expires the tickets left open at closing time.
pub struct RolloverJob;

impl JobKind for RolloverJob {
    const KIND: &'static str = ROLLOVER_JOB;
    const LABEL: &'static str = "闭厅时关闭未办理的取号";
    type Payload = Periodic;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        _: Periodic,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move { rollover_in(tx, core).await.map(|_| ()) })
    }
}

fn not_signed_in() -> AppError {
    AppError::Conflict("请先签到窗口".into())
}

fn minute_of_day(ms: i64) -> i64 {
    use chrono::Timelike;
    let t = crate::clock::to_china(ms);
    i64::from(t.hour() * 60 + t.minute())
}

fn clock_text(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

async fn apply(tx: &mut AnyConnection, m: &Move, action: &str, actor: &Actor, note: &str) -> Result<(), AppError> {
    if !store::move_ticket(tx, m).await? {
        return Err(AppError::Conflict("该号状态已变化，请刷新".into()));
    }
    log_event(tx, m.id, m.at, action, m.to, m.window_id, actor, note).await
}

#[allow(clippy::too_many_arguments)]
async fn log_event(
    tx: &mut AnyConnection,
    ticket_id: i64,
    at: i64,
    action: &str,
    state: TicketState,
    window_id: Option<i64>,
    actor: &Actor,
    note: &str,
) -> Result<(), AppError> {
    let e = TicketEvent {
        at,
        action: action.to_owned(),
        state,
        window_id,
        actor_id: Some(actor.user_id).filter(|id| *id > 0),
        note: note.to_owned(),
    };
    store::log(tx, ticket_id, &e).await?;
    Ok(())
}

/// Setting up a site's queue (the demo, tests, and the hall's administration to come).
pub mod setup {
    use super::*;

    pub struct ServiceSpec<'a> {
        pub code: &'a str,
        pub name: &'a str,
        pub prefix: &'a str,
        pub target_wait_minutes: i64,
    }

    /// Opens queueing at a site: its policy (defaults) and its services; returns the services' ids.
    pub async fn open_site(
        tx: &mut AnyConnection,
        site_id: i64,
        services: &[ServiceSpec<'_>],
    ) -> Result<Vec<i64>, AppError> {
        store::ensure_policy(tx, site_id).await?;
        let mut ids = Vec::new();
        for (sort, s) in services.iter().enumerate() {
            let id = store::insert_service(
                tx,
                &store::NewService {
                    site_id,
                    code: s.code,
                    name: s.name,
                    prefix: s.prefix,
                    department_id: None,
                    target_wait_minutes: s.target_wait_minutes,
                    sort: sort as i64,
                },
            )
            .await?;
            ids.push(id);
        }
        Ok(ids)
    }

    pub async fn serve(tx: &mut AnyConnection, window_id: i64, service_id: i64) -> Result<(), AppError> {
        store::add_window_service(tx, window_id, service_id).await?;
        Ok(())
    }

    pub async fn set_weights(
        tx: &mut AnyConnection,
        site_id: i64,
        weights: rule::Weights,
        ageing_cap_minutes: i64,
    ) -> Result<(), AppError> {
        weights.validate().map_err(|m| AppError::Invalid(vec![crate::FieldError::new("weights", "invalid", m)]))?;
        store::set_weights(tx, site_id, weights, ageing_cap_minutes).await?;
        Ok(())
    }
}

/// What a hall screen shows: the last calls and the waiting count per service. Public: ticket
/// numbers and window names only, never a name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Screen {
    pub site_id: i64,
    pub site_name: String,
    /// Moves with every change at the site; a screen redraws when it does.
    pub version: i64,
    pub calls: Vec<ScreenCall>,
    pub waiting: Vec<ScreenQueue>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScreenCall {
    pub label: String,
    pub window: String,
    /// `09:30`.
    pub at: String,
    pub at_ms: i64,
    /// What the screen says aloud.
    pub announcement: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScreenQueue {
    pub name: String,
    pub prefix: String,
    pub waiting: usize,
}

/// A site by its code, for its screens: (id, name); 404 for a site without queueing.
pub async fn screen_site(core: &Core, site_code: &str) -> Result<(i64, String), AppError> {
    let mut conn = core.db.conn().await?;
    let site = org::site_by_code(&mut conn, site_code).await?.ok_or(AppError::NotFound)?;
    store::policy(&mut conn, site.id).await?.ok_or(AppError::NotFound)?;
    Ok((site.id, site.name))
}

/// The site's change count (cheap: one row by key), for screens to poll.
pub async fn screen_version(core: &Core, site_id: i64) -> Result<i64, AppError> {
    let mut conn = core.db.conn().await?;
    Ok(store::changes(&mut conn, site_id).await?.unwrap_or(0))
}

/// The screen's content now.
pub async fn screen(core: &Core, site_id: i64, site_name: &str) -> Result<Screen, AppError> {
    let today = core.clock.today();
    let mut conn = core.db.conn().await?;
    let version = store::changes(&mut conn, site_id).await?.unwrap_or(0);
    let calls = store::recent_calls(&mut conn, site_id, today, 6)
        .await?
        .into_iter()
        .map(|(label, window, at_ms)| ScreenCall {
            announcement: rule::announcement(&label, &window),
            label,
            window,
            at: crate::clock::hour_minute(at_ms),
            at_ms,
        })
        .collect();
    let services = store::services_of_site(&mut conn, site_id).await?;
    let waiting_tickets = store::tickets_in_state(&mut conn, site_id, today, TicketState::Waiting).await?;
    let waiting = services
        .into_iter()
        .map(|s| ScreenQueue {
            waiting: waiting_tickets.iter().filter(|t| t.service_id == s.id).count(),
            name: s.name,
            prefix: s.prefix,
        })
        .collect();
    Ok(Screen { site_id, site_name: site_name.to_owned(), version, calls, waiting })
}

/// A hall where tickets can be taken, with its queue services.
#[derive(Debug, Clone)]
pub struct OpenHall {
    pub code: String,
    pub name: String,
    pub services: Vec<QueueService>,
}

/// The halls with queueing, in the district's order (for the person's 取号 page).
pub async fn halls(core: &Core) -> Result<Vec<OpenHall>, AppError> {
    let mut conn = core.db.conn().await?;
    let open = store::queue_sites(&mut conn).await?;
    let mut out = Vec::new();
    for site in org::list_sites(&mut conn).await? {
        if open.contains(&site.id) {
            let services = store::services_of_site(&mut conn, site.id).await?;
            out.push(OpenHall { code: site.code, name: site.name, services });
        }
    }
    Ok(out)
}

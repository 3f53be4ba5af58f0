//! The hall's queue: queue services, window sessions, each site's calling rule, tickets and
//! their period log (`ticket_events`). The rule itself is `domain::queue`; the use cases are
//! `app::queue`.

use sqlx::{AnyConnection, Row};
use tongban_domain::day::Day;
use tongban_domain::queue::{Candidate, Policy, Rotation, TicketChannel, TicketClass, TicketState, Weights};

use crate::AnyRow;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueService {
    pub id: i64,
    pub site_id: i64,
    pub code: String,
    pub name: String,
    pub prefix: String,
    pub target_wait_minutes: i64,
}

fn service_from_row(r: &AnyRow) -> sqlx::Result<QueueService> {
    Ok(QueueService {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        target_wait_minutes: r.try_get("target_wait_minutes")?,
    })
}

pub struct NewService<'a> {
    pub site_id: i64,
    pub code: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub department_id: Option<i64>,
    pub target_wait_minutes: i64,
    pub sort: i64,
}

pub async fn insert_service(c: &mut AnyConnection, s: &NewService<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO queue_services (site_id, code, name, prefix, department_id, target_wait_minutes, sort) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(s.site_id)
    .bind(s.code)
    .bind(s.name)
    .bind(s.prefix)
    .bind(s.department_id)
    .bind(s.target_wait_minutes)
    .bind(s.sort)
    .fetch_one(c)
    .await?
    .try_get("id")
}

pub async fn services_of_site(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Vec<QueueService>> {
    let rows = sqlx::query(
        "SELECT id, site_id, code, name, prefix, target_wait_minutes FROM queue_services WHERE site_id = $1 \
         ORDER BY sort, code",
    )
    .bind(site_id)
    .fetch_all(c)
    .await?;
    rows.iter().map(service_from_row).collect()
}

pub async fn service_by_code(c: &mut AnyConnection, site_id: i64, code: &str) -> sqlx::Result<Option<QueueService>> {
    let row = sqlx::query(
        "SELECT id, site_id, code, name, prefix, target_wait_minutes FROM queue_services \
         WHERE site_id = $1 AND code = $2",
    )
    .bind(site_id)
    .bind(code)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(service_from_row).transpose()
}

pub async fn add_window_service(c: &mut AnyConnection, window_id: i64, service_id: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO window_services (window_id, service_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(window_id)
        .bind(service_id)
        .execute(c)
        .await?;
    Ok(())
}

/// The services a window calls for.
pub async fn window_services(c: &mut AnyConnection, window_id: i64) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query("SELECT service_id FROM window_services WHERE window_id = $1 ORDER BY service_id")
        .bind(window_id)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| r.try_get("service_id")).collect()
}

/// True when some window with a staff member signed in and not paused serves the service.
pub async fn service_is_open(c: &mut AnyConnection, service_id: i64) -> sqlx::Result<bool> {
    Ok(open_windows_for(c, service_id).await? > 0)
}

/// A window of a site, with whoever is signed in at it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HallWindow {
    pub id: i64,
    pub site_id: i64,
    pub code: String,
    pub name: String,
    pub user_id: Option<i64>,
    pub paused_at: Option<i64>,
    pub pause_reason: String,
}

macro_rules! window_columns {
    () => {
        "SELECT w.id, w.site_id, w.code, w.name, s.user_id, s.paused_at, \
     COALESCE(s.pause_reason, '') AS pause_reason FROM windows w LEFT JOIN window_sessions s ON s.window_id = w.id"
    };
}

fn window_from_row(r: &AnyRow) -> sqlx::Result<HallWindow> {
    Ok(HallWindow {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        user_id: r.try_get("user_id")?,
        paused_at: r.try_get("paused_at")?,
        pause_reason: r.try_get("pause_reason")?,
    })
}

pub async fn windows_of_site(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Vec<HallWindow>> {
    let rows = sqlx::query(concat!(window_columns!(), " WHERE w.site_id = $1 ORDER BY w.code"))
        .bind(site_id)
        .fetch_all(c)
        .await?;
    rows.iter().map(window_from_row).collect()
}

pub async fn window(c: &mut AnyConnection, window_id: i64) -> sqlx::Result<Option<HallWindow>> {
    let row = sqlx::query(concat!(window_columns!(), " WHERE w.id = $1")).bind(window_id).fetch_optional(c).await?;
    row.as_ref().map(window_from_row).transpose()
}

/// The window the user is signed in at.
pub async fn window_of_user(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<Option<HallWindow>> {
    let row = sqlx::query(concat!(window_columns!(), " WHERE s.user_id = $1")).bind(user_id).fetch_optional(c).await?;
    row.as_ref().map(window_from_row).transpose()
}

/// Signs the user in at the window, leaving any other window they were at.
pub async fn sign_in(c: &mut AnyConnection, window_id: i64, user_id: i64, at: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM window_sessions WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
    sqlx::query("INSERT INTO window_sessions (window_id, user_id, signed_in_at) VALUES ($1, $2, $3)")
        .bind(window_id)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn sign_out(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM window_sessions WHERE user_id = $1").bind(user_id).execute(c).await?;
    Ok(())
}

/// Pauses (with a reason) or resumes (`None`) the user's window.
pub async fn set_pause(c: &mut AnyConnection, user_id: i64, pause: Option<(i64, &str)>) -> sqlx::Result<()> {
    sqlx::query("UPDATE window_sessions SET paused_at = $2, pause_reason = $3 WHERE user_id = $1")
        .bind(user_id)
        .bind(pause.map(|p| p.0))
        .bind(pause.map_or("", |p| p.1))
        .execute(c)
        .await?;
    Ok(())
}

/// A site's calling rule and the rest of its queue settings.
#[derive(Debug, Clone, Copy)]
pub struct SitePolicy {
    pub policy: Policy,
    pub rotation: Rotation,
    pub recalls_before_no_show: i64,
    pub park_limit_ms: i64,
    /// Minutes after midnight (China time) at which waiting tickets expire.
    pub closing_minute: i64,
}

macro_rules! policy_columns {
    () => {
        "weight_green_channel, weight_appointment, weight_ordinary, ageing_cap_minutes, \
     recalls_before_no_show, park_limit_minutes, closing_minute, credit_green_channel, credit_appointment, \
     credit_ordinary"
    };
}

fn policy_from_row(r: &AnyRow) -> sqlx::Result<SitePolicy> {
    let weight = |column: &str| -> sqlx::Result<u32> {
        let w: i64 = r.try_get(column)?;
        u32::try_from(w).map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) })
    };
    Ok(SitePolicy {
        policy: Policy {
            weights: Weights {
                green_channel: weight("weight_green_channel")?,
                appointment: weight("weight_appointment")?,
                ordinary: weight("weight_ordinary")?,
            },
            ageing_cap_ms: r.try_get::<i64, _>("ageing_cap_minutes")? * MINUTE_MS,
        },
        rotation: Rotation([
            r.try_get("credit_green_channel")?,
            r.try_get("credit_appointment")?,
            r.try_get("credit_ordinary")?,
        ]),
        recalls_before_no_show: r.try_get("recalls_before_no_show")?,
        park_limit_ms: r.try_get::<i64, _>("park_limit_minutes")? * MINUTE_MS,
        closing_minute: r.try_get("closing_minute")?,
    })
}

/// Creates the site's policy row with the defaults when it has none.
pub async fn ensure_policy(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO queue_policies (site_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(site_id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn policy(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Option<SitePolicy>> {
    let row = sqlx::query(concat!("SELECT ", policy_columns!(), " FROM queue_policies WHERE site_id = $1"))
        .bind(site_id)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(policy_from_row).transpose()
}

/// Takes the site's calling turn: the first statement of every call, an update of the site's
/// policy row, so that calls at one site run one after another (PostgreSQL holds the row lock
/// to the end of the transaction, across server processes; SQLite has one writer anyway).
pub async fn take_calling_turn(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Option<SitePolicy>> {
    let row = sqlx::query(concat!(
        "UPDATE queue_policies SET changes = changes + 1 WHERE site_id = $1 RETURNING ",
        policy_columns!()
    ))
    .bind(site_id)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(policy_from_row).transpose()
}

/// Counts a change at the site (the screens' version) and takes the site's row lock: the first
/// write of every transaction that changes the site's tickets, so they lock in one order.
pub async fn touch(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE queue_policies SET changes = changes + 1 WHERE site_id = $1").bind(site_id).execute(c).await?;
    Ok(())
}

/// The site's change count: a screen redraws when it moves.
pub async fn changes(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Option<i64>> {
    let row =
        sqlx::query("SELECT changes FROM queue_policies WHERE site_id = $1").bind(site_id).fetch_optional(c).await?;
    row.map(|r| r.try_get("changes")).transpose()
}

pub async fn set_rotation(c: &mut AnyConnection, site_id: i64, rotation: Rotation) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE queue_policies SET credit_green_channel = $2, credit_appointment = $3, credit_ordinary = $4 \
         WHERE site_id = $1",
    )
    .bind(site_id)
    .bind(rotation.0[0])
    .bind(rotation.0[1])
    .bind(rotation.0[2])
    .execute(c)
    .await?;
    Ok(())
}

pub async fn set_weights(c: &mut AnyConnection, site_id: i64, w: Weights, ageing_cap_minutes: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE queue_policies SET weight_green_channel = $2, weight_appointment = $3, weight_ordinary = $4, \
         ageing_cap_minutes = $5 WHERE site_id = $1",
    )
    .bind(site_id)
    .bind(i64::from(w.green_channel))
    .bind(i64::from(w.appointment))
    .bind(i64::from(w.ordinary))
    .bind(ageing_cap_minutes)
    .execute(c)
    .await?;
    Ok(())
}

/// The next number of a service at a site on a day (1 for the day's first).
pub async fn next_number(c: &mut AnyConnection, site_id: i64, day: Day, service_id: i64) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO ticket_numbers (site_id, day, service_id, last) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (site_id, day, service_id) DO UPDATE SET last = ticket_numbers.last + 1 RETURNING last",
    )
    .bind(site_id)
    .bind(day.to_string())
    .bind(service_id)
    .fetch_one(c)
    .await?
    .try_get("last")
}

pub struct NewTicket<'a> {
    pub site_id: i64,
    pub day: Day,
    pub service_id: i64,
    pub number: i64,
    pub label: &'a str,
    pub class: TicketClass,
    pub channel: TicketChannel,
    pub user_id: Option<i64>,
    pub at: i64,
}

pub async fn insert_ticket(c: &mut AnyConnection, t: &NewTicket<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO tickets (site_id, day, service_id, number, label, class, state, channel, user_id, taken_at, \
         queued_at) VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $9, $9) RETURNING id",
    )
    .bind(t.site_id)
    .bind(t.day.to_string())
    .bind(t.service_id)
    .bind(t.number)
    .bind(t.label)
    .bind(t.class.name())
    .bind(t.channel.name())
    .bind(t.user_id)
    .bind(t.at)
    .fetch_one(c)
    .await?
    .try_get("id")
}

/// A ticket as the workbench, the person and the screens see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ticket {
    pub id: i64,
    pub site_id: i64,
    pub day: Day,
    pub service_id: i64,
    pub service_name: String,
    pub label: String,
    pub class: TicketClass,
    pub state: TicketState,
    pub channel: TicketChannel,
    pub user_id: Option<i64>,
    pub taken_at: i64,
    pub queued_at: i64,
    pub window_id: Option<i64>,
    pub window_name: Option<String>,
    pub staff_id: Option<i64>,
    pub called_at: Option<i64>,
    pub served_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub recalls: i64,
    pub rejoined: bool,
    pub case_id: Option<i64>,
    pub target_wait_minutes: i64,
}

macro_rules! ticket_columns {
    () => {
        "SELECT t.id, t.site_id, t.day, t.service_id, q.name AS service_name, t.label, t.class, \
     t.state, t.channel, t.user_id, t.taken_at, t.queued_at, t.window_id, w.name AS window_name, t.staff_id, \
     t.called_at, t.served_at, t.finished_at, t.recalls, t.rejoined, t.case_id, q.target_wait_minutes \
     FROM tickets t JOIN queue_services q ON q.id = t.service_id LEFT JOIN windows w ON w.id = t.window_id"
    };
}

fn ticket_from_row(r: &AnyRow) -> sqlx::Result<Ticket> {
    Ok(Ticket {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        day: crate::day(r, "day")?,
        service_id: r.try_get("service_id")?,
        service_name: r.try_get("service_name")?,
        label: r.try_get("label")?,
        class: crate::code(r, "class")?,
        state: crate::code(r, "state")?,
        channel: crate::code(r, "channel")?,
        user_id: r.try_get("user_id")?,
        taken_at: r.try_get("taken_at")?,
        queued_at: r.try_get("queued_at")?,
        window_id: r.try_get("window_id")?,
        window_name: r.try_get("window_name")?,
        staff_id: r.try_get("staff_id")?,
        called_at: r.try_get("called_at")?,
        served_at: r.try_get("served_at")?,
        finished_at: r.try_get("finished_at")?,
        recalls: r.try_get("recalls")?,
        rejoined: crate::flag(r, "rejoined")?,
        case_id: r.try_get("case_id")?,
        target_wait_minutes: r.try_get("target_wait_minutes")?,
    })
}

pub async fn ticket(c: &mut AnyConnection, id: i64) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(concat!(ticket_columns!(), " WHERE t.id = $1")).bind(id).fetch_optional(c).await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// The ticket a window has in hand (called or being served), if any.
pub async fn current_of_window(c: &mut AnyConnection, window_id: i64) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(concat!(
        ticket_columns!(),
        " WHERE t.window_id = $1 AND t.state IN ('called', 'serving') ORDER BY t.called_at DESC LIMIT 1"
    ))
    .bind(window_id)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// A site's tickets of a day in a state, in queue order.
pub async fn tickets_in_state(
    c: &mut AnyConnection,
    site_id: i64,
    day: Day,
    state: TicketState,
) -> sqlx::Result<Vec<Ticket>> {
    let rows = sqlx::query(concat!(
        ticket_columns!(),
        " WHERE t.site_id = $1 AND t.day = $2 AND t.state = $3 ORDER BY t.queued_at, t.id"
    ))
    .bind(site_id)
    .bind(day.to_string())
    .bind(state.name())
    .fetch_all(c)
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// The site's waiting tickets of the day, as the calling rule sees them.
pub async fn candidates(c: &mut AnyConnection, site_id: i64, day: Day) -> sqlx::Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT t.id, t.class, t.service_id, t.queued_at, t.window_id, q.target_wait_minutes \
         FROM tickets t JOIN queue_services q ON q.id = t.service_id \
         WHERE t.site_id = $1 AND t.day = $2 AND t.state = 'waiting'",
    )
    .bind(site_id)
    .bind(day.to_string())
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                id: r.try_get("id")?,
                class: crate::code(r, "class")?,
                service_id: r.try_get("service_id")?,
                queued_at_ms: r.try_get("queued_at")?,
                window_id: r.try_get("window_id")?,
                target_wait_ms: r.try_get::<i64, _>("target_wait_minutes")? * MINUTE_MS,
            })
        })
        .collect()
}

/// Moves a ticket from one state to another, setting what the move sets; false when the ticket
/// was no longer in `from` (another window got there first), and nothing changed.
pub struct Move {
    pub id: i64,
    pub from: TicketState,
    pub to: TicketState,
    pub at: i64,
    /// The window it is now at or sent to (`None` clears it).
    pub window_id: Option<i64>,
    pub staff_id: Option<i64>,
    /// Sets `called_at` (a call or a recall), `served_at`, `finished_at`.
    pub called: bool,
    pub served: bool,
    pub finished: bool,
    /// Adds one to the recalls (a recall).
    pub recall: bool,
    /// A new service (a transfer) and a new place in the queue (`queued_at`).
    pub service_id: Option<i64>,
    pub queued_at: Option<i64>,
    pub rejoined: bool,
}

impl Move {
    pub fn new(id: i64, from: TicketState, to: TicketState, at: i64) -> Self {
        Self {
            id,
            from,
            to,
            at,
            window_id: None,
            staff_id: None,
            called: false,
            served: false,
            finished: false,
            recall: false,
            service_id: None,
            queued_at: None,
            rejoined: false,
        }
    }
}

pub async fn move_ticket(c: &mut AnyConnection, m: &Move) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE tickets SET state = $3, window_id = $5, staff_id = COALESCE($6, staff_id), \
         called_at = CASE WHEN $7 = 1 THEN $4 ELSE called_at END, \
         served_at = CASE WHEN $8 = 1 THEN $4 ELSE served_at END, \
         finished_at = CASE WHEN $9 = 1 THEN $4 ELSE finished_at END, \
         recalls = CASE WHEN $10 = 1 THEN recalls + 1 WHEN $7 = 1 THEN 0 ELSE recalls END, \
         service_id = COALESCE($11, service_id), queued_at = COALESCE($12, queued_at), \
         rejoined = CASE WHEN $13 = 1 THEN 1 ELSE rejoined END \
         WHERE id = $1 AND state = $2",
    )
    .bind(m.id)
    .bind(m.from.name())
    .bind(m.to.name())
    .bind(m.at)
    .bind(m.window_id)
    .bind(m.staff_id)
    .bind(i64::from(m.called && !m.recall))
    .bind(i64::from(m.served))
    .bind(i64::from(m.finished))
    .bind(i64::from(m.recall))
    .bind(m.service_id)
    .bind(m.queued_at)
    .bind(i64::from(m.rejoined))
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn link_case(c: &mut AnyConnection, ticket_id: i64, case_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE tickets SET case_id = $2 WHERE id = $1").bind(ticket_id).bind(case_id).execute(c).await?;
    Ok(())
}

/// One line of a ticket's period log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TicketEvent {
    pub at: i64,
    pub action: String,
    pub state: TicketState,
    pub window_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub note: String,
}

pub async fn log(c: &mut AnyConnection, ticket_id: i64, e: &TicketEvent) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ticket_events (ticket_id, at, action, state, window_id, actor_id, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ticket_id)
    .bind(e.at)
    .bind(&e.action)
    .bind(e.state.name())
    .bind(e.window_id)
    .bind(e.actor_id)
    .bind(&e.note)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn events(c: &mut AnyConnection, ticket_id: i64) -> sqlx::Result<Vec<TicketEvent>> {
    let rows = sqlx::query(
        "SELECT at, action, state, window_id, actor_id, note FROM ticket_events WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TicketEvent {
                at: r.try_get("at")?,
                action: r.try_get("action")?,
                state: crate::code(r, "state")?,
                window_id: r.try_get("window_id")?,
                actor_id: r.try_get("actor_id")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

/// The site's tickets still open on or before `day` (waiting, parked, called, serving): what a
/// rollover closes.
pub async fn open_until(c: &mut AnyConnection, site_id: i64, day: Day) -> sqlx::Result<Vec<(i64, TicketState)>> {
    let rows = sqlx::query(
        "SELECT id, state FROM tickets WHERE site_id = $1 AND day <= $2 \
         AND state IN ('waiting', 'parked', 'called', 'serving') ORDER BY id",
    )
    .bind(site_id)
    .bind(day.to_string())
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, crate::code(r, "state")?))).collect()
}

/// Sites with a queue policy (the sites whose queues a rollover visits).
pub async fn queue_sites(c: &mut AnyConnection) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query("SELECT site_id FROM queue_policies ORDER BY site_id").fetch_all(c).await?;
    rows.iter().map(|r| r.try_get("site_id")).collect()
}

/// The position of a waiting ticket among the waiting tickets of its service (1 = next of its
/// service), by place in the queue.
pub async fn ahead_of(c: &mut AnyConnection, t: &Ticket) -> sqlx::Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM tickets WHERE site_id = $1 AND day = $2 AND service_id = $3 \
         AND state = 'waiting' AND (queued_at < $4 OR (queued_at = $4 AND id < $5))",
    )
    .bind(t.site_id)
    .bind(t.day.to_string())
    .bind(t.service_id)
    .bind(t.queued_at)
    .bind(t.id)
    .fetch_one(c)
    .await?;
    row.try_get("n")
}

/// The last calls of a site's day, newest first: (label, window name, called at).
pub async fn recent_calls(
    c: &mut AnyConnection,
    site_id: i64,
    day: Day,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT t.label, w.name AS window_name, t.called_at FROM tickets t JOIN windows w ON w.id = t.window_id \
         WHERE t.site_id = $1 AND t.day = $2 AND t.called_at IS NOT NULL AND t.state IN ('called', 'serving') \
         ORDER BY t.called_at DESC, t.id DESC LIMIT $3",
    )
    .bind(site_id)
    .bind(day.to_string())
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("label")?, r.try_get("window_name")?, r.try_get("called_at")?))).collect()
}

/// Mean service time of the service's last finished tickets today (ms), for estimates.
pub async fn recent_service_ms(c: &mut AnyConnection, service_id: i64, day: Day) -> sqlx::Result<Option<i64>> {
    let rows = sqlx::query(
        "SELECT finished_at - called_at AS ms FROM tickets WHERE service_id = $1 AND day = $2 AND state = 'done' \
         AND called_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20",
    )
    .bind(service_id)
    .bind(day.to_string())
    .fetch_all(c)
    .await?;
    let times: Vec<i64> = rows.iter().map(|r| r.try_get("ms")).collect::<sqlx::Result<_>>()?;
    Ok((!times.is_empty()).then(|| times.iter().sum::<i64>() / times.len() as i64))
}

/// The person's open ticket of a service at a site today, if any (one at a time).
pub async fn open_ticket_of_user(
    c: &mut AnyConnection,
    user_id: i64,
    site_id: i64,
    day: Day,
    service_id: i64,
) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(concat!(
        ticket_columns!(),
        " WHERE t.user_id = $1 AND t.site_id = $2 AND t.day = $3 AND t.service_id = $4 \
         AND t.state IN ('waiting', 'called', 'serving', 'parked') LIMIT 1"
    ))
    .bind(user_id)
    .bind(site_id)
    .bind(day.to_string())
    .bind(service_id)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// The ids of the person's tickets of a day, newest first.
pub async fn tickets_of_user(c: &mut AnyConnection, user_id: i64, day: Day) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query("SELECT id FROM tickets WHERE user_id = $1 AND day = $2 ORDER BY taken_at DESC, id DESC")
        .bind(user_id)
        .bind(day.to_string())
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// How many windows are signed in, not paused, and serve the service.
pub async fn open_windows_for(c: &mut AnyConnection, service_id: i64) -> sqlx::Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM window_services ws JOIN window_sessions s ON s.window_id = ws.window_id \
         WHERE ws.service_id = $1 AND s.paused_at IS NULL",
    )
    .bind(service_id)
    .fetch_one(c)
    .await?;
    row.try_get("n")
}

/// When the ticket's state last changed.
pub async fn last_event_at(c: &mut AnyConnection, ticket_id: i64) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query("SELECT MAX(at) AS at FROM ticket_events WHERE ticket_id = $1")
        .bind(ticket_id)
        .fetch_one(c)
        .await?;
    row.try_get("at")
}

//! Notifications: the message centre (站内消息) for every logged-in user, and a text message
//! through a pluggable [`Sender`] for users with a phone number, queued as a job in the same
//! transaction as the change being told about.

use sqlx::AnyConnection;

use super::jobs::{BoxFuture, JobKind, enqueue};
use super::paging::{Cursor, Page, PageRequest};
use super::{Actor, AppError, Core, authorize};
use tongban_domain::mask;
use tongban_domain::permission::Permission;
use tongban_store::jobs::Job;
use tongban_store::notifications::{self as store, Notification};

/// The job kind that sends one text message.
pub const NOTIFY_JOB: &str = "notify";

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// Hands a message to an SMS gateway or mail server. Called inside the job's transaction, after
/// the send is recorded: an error rolls the record back and the job is retried.
pub trait Sender: Send + Sync {
    fn send<'a>(&'a self, channel: Channel, recipient: &'a str, body: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The default sender: writes each message to the log, with the recipient masked.
pub struct LoggingSender;

impl Sender for LoggingSender {
    fn send<'a>(&'a self, channel: Channel, recipient: &'a str, body: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(channel = channel.name(), recipient = %mask::phone(recipient), body = %mask::in_text(body), "message sent");
            Ok(())
        })
    }
}

/// Tells a user something: a message-centre entry and, when the user has a phone number, a text
/// message queued in the same transaction. `link` is a path on this site ("" for none).
/// (`core` is taken so that channel settings can be consulted later without changing callers.)
pub async fn notify_in(
    tx: &mut AnyConnection,
    core: &Core,
    user_id: i64,
    title: &str,
    body: &str,
    link: &str,
) -> Result<(), AppError> {
    // The body may quote staff's free text (a notice's reasons): sealed, like the text message.
    store::insert(tx, user_id, title, &core.cipher.encrypt(body), link, core.clock.now_ms()).await?;
    let has_phone = tongban_store::users::by_id(tx, user_id).await?.is_some_and(|u| u.phone_enc.is_some());
    if has_phone {
        let message = TextMessage { user_id, text: format!("【通办】{title}：{body}") };
        enqueue::<SendText>(tx, core, &message, core.clock.now_ms(), None).await?;
    }
    Ok(())
}

/// One text message to a user (sealed at rest: the text may quote personal details).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct TextMessage {
    pub user_id: i64,
    pub text: String,
}

/// Sends the text message of a `notify` job to the user's current phone number.
pub struct SendText;

impl JobKind for SendText {
    const KIND: &'static str = NOTIFY_JOB;
    const LABEL: &'static str = "发送短信";
    const SEALED: bool = true;
    type Payload = TextMessage;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        job: &'a Job,
        p: TextMessage,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let user = tongban_store::users::by_id(tx, p.user_id).await?;
            // The number is read at send time: a user who removed it since is not texted.
            let Some(encrypted) = user.and_then(|u| u.phone_enc) else {
                return Ok(());
            };
            let phone = core.cipher.decrypt(&encrypted)?;
            // Recorded first: the unique job id refuses a second send before it happens.
            tongban_store::jobs::insert_sent_message(
                tx,
                job.id,
                Channel::Sms.name(),
                &mask::phone(&phone),
                &core.cipher.encrypt(&p.text),
                core.clock.now_ms(),
            )
            .await?;
            core.sender.send(Channel::Sms, &phone, &p.text).await?;
            Ok(())
        })
    }
}

/// One page of the caller's messages, newest first, and the unread count of all pages.
pub async fn list_mine(
    core: &Core,
    actor: &Actor,
    request: &PageRequest,
) -> Result<(Page<Notification>, i64), AppError> {
    authorize(core, actor, Permission::AccountSelf, "messages").await?;
    let mut conn = core.db.conn().await?;
    let before = request.after().map(Cursor::key).transpose()?;
    // One row more than asked for tells whether a next page exists.
    let (total, mut rows) =
        store::page_for_user(&mut conn, actor.user_id, before, request.offset(), request.size + 1).await?;
    for n in &mut rows {
        n.body = core.cipher.open_or_plain(&n.body)?;
    }
    let unread = store::unread_count(&mut conn, actor.user_id).await?;
    Ok((Page::from_rows(rows, request.size, total, |n| Cursor::after_key(n.id)), unread))
}

/// Unread messages of a user (the menu's badge); no permission check: it is the user's own count.
pub async fn unread_count(core: &Core, user_id: i64) -> Result<i64, AppError> {
    Ok(store::unread_count(&mut *core.db.conn().await?, user_id).await?)
}

/// Marks one of the caller's messages read and returns it; someone else's is "not found".
pub async fn mark_read(core: &Core, actor: &Actor, id: i64) -> Result<Notification, AppError> {
    authorize(core, actor, Permission::AccountSelf, "messages").await?;
    let mut tx = core.db.begin().await?;
    store::mark_read(&mut tx, actor.user_id, id, core.clock.now_ms()).await?;
    let found = store::own(&mut tx, actor.user_id, id).await?;
    tx.commit().await?;
    let mut n = found.ok_or(AppError::NotFound)?;
    n.body = core.cipher.open_or_plain(&n.body)?;
    Ok(n)
}

pub async fn mark_all_read(core: &Core, actor: &Actor) -> Result<u64, AppError> {
    authorize(core, actor, Permission::AccountSelf, "messages").await?;
    let mut tx = core.db.begin().await?;
    let n = store::mark_all_read(&mut tx, actor.user_id, core.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(n)
}

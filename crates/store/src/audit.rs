//! The audit log: append-only, each record SM3-hashed together with the previous record's hash.
//! Appending takes the single `audit_head` row first, which serialises appenders on both
//! backends, so the chain has no forks.

use sqlx::{AnyConnection, Row};

use tongban_crypto::sm3_hex;

/// The outcome recorded with an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// A record to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub ip: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    pub outcome: Outcome,
    pub detail: &'a str,
}

/// A stored record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub result: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The hash this record must carry, given the previous record's hash.
    pub fn expected_hash(&self, prev_hash: &str) -> String {
        chain_hash(
            prev_hash,
            self.seq,
            self.at,
            self.actor_id,
            &self.actor,
            &self.ip,
            &self.action,
            &self.object,
            &self.result,
            &self.detail,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_hash(
    prev: &str,
    seq: i64,
    at: i64,
    actor_id: Option<i64>,
    actor: &str,
    ip: &str,
    action: &str,
    object: &str,
    result: &str,
    detail: &str,
) -> String {
    // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
    let body = serde_json::json!([seq, at, actor_id, actor, ip, action, object, result, detail]).to_string();
    let mut input = String::with_capacity(prev.len() + body.len());
    input.push_str(prev);
    input.push_str(&body);
    sm3_hex(input.as_bytes())
}

/// Appends a record; call it inside the transaction of the change it records.
pub async fn append(c: &mut AnyConnection, e: &NewEntry<'_>, now: i64) -> sqlx::Result<i64> {
    let head =
        sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").fetch_one(&mut *c).await?;
    let seq: i64 = head.try_get("seq")?;
    let prev: String = head.try_get("hash")?;
    let hash = chain_hash(&prev, seq, now, e.actor_id, e.actor, e.ip, e.action, e.object, e.outcome.name(), e.detail);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_id, actor, ip, action, object, result, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(now)
    .bind(e.actor_id)
    .bind(e.actor)
    .bind(e.ip)
    .bind(e.action)
    .bind(e.object)
    .bind(e.outcome.name())
    .bind(e.detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut *c).await?;
    Ok(seq)
}

/// Filters for the audit log; empty strings and zeros mean "any".
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub actor: String,
    pub action: String,
    pub result: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

macro_rules! audit_filter {
    () => {
        "($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR result = $3) \
         AND ($4 = 0 OR at >= $4) AND ($5 = 0 OR at < $5)"
    };
}

/// One page of the records the filter keeps, newest first, with their total: `limit` records
/// from `offset`, or, with `before`, the records after that sequence number (keyset: the
/// primary key read backwards from there, however deep the page).
pub async fn list(
    c: &mut AnyConnection,
    f: &Filter,
    before: Option<i64>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(i64, Vec<Entry>)> {
    const COUNT: &str = concat!("SELECT COUNT(*) AS n FROM audit_log WHERE ", audit_filter!());
    const PAGE: &str = concat!(
        "SELECT seq, at, actor_id, actor, ip, action, object, result, detail, prev_hash, hash FROM audit_log WHERE ",
        audit_filter!(),
        " AND seq < $6 ORDER BY seq DESC LIMIT $7 OFFSET $8"
    );
    let total: i64 = sqlx::query(COUNT)
        .bind(&f.actor)
        .bind(&f.action)
        .bind(&f.result)
        .bind(f.from_ms)
        .bind(f.to_ms)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(PAGE)
        .bind(&f.actor)
        .bind(&f.action)
        .bind(&f.result)
        .bind(f.from_ms)
        .bind(f.to_ms)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *c)
        .await?;
    Ok((total, rows.iter().map(entry_from_row).collect::<sqlx::Result<_>>()?))
}

/// Records in chain order, `limit` at a time after `after_seq` (for verification).
pub async fn chunk(c: &mut AnyConnection, after_seq: i64, limit: i64) -> sqlx::Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor_id, actor, ip, action, object, result, detail, prev_hash, hash FROM audit_log \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The chain head: the last sequence number and hash.
pub async fn head(c: &mut AnyConnection) -> sqlx::Result<(i64, String)> {
    let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(c).await?;
    Ok((r.try_get("seq")?, r.try_get("hash")?))
}

/// Number of successful logins since `since_ms` (for the dashboard).
pub async fn count_action_since(c: &mut AnyConnection, action: &str, since_ms: i64) -> sqlx::Result<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = $1 AND at >= $2")
        .bind(action)
        .bind(since_ms)
        .fetch_one(c)
        .await?
        .try_get("n")
}

fn entry_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Entry> {
    Ok(Entry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor_id: r.try_get("actor_id")?,
        actor: r.try_get("actor")?,
        ip: r.try_get("ip")?,
        action: r.try_get("action")?,
        object: r.try_get("object")?,
        result: r.try_get("result")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

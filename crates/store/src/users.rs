//! Accounts: staff, persons (自然人) and organisations (法人).

use sqlx::{AnyConnection, Row};

use super::flag;
use super::org::{Department, Site};

/// Which kind of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    Staff,
    Person,
    Organisation,
}

impl UserKind {
    pub const ALL: [UserKind; 3] = [UserKind::Staff, UserKind::Person, UserKind::Organisation];

    pub fn name(self) -> &'static str {
        match self {
            UserKind::Staff => "staff",
            UserKind::Person => "person",
            UserKind::Organisation => "organisation",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserKind::Staff => "工作人员",
            UserKind::Person => "自然人",
            UserKind::Organisation => "法人",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

tongban_domain::impl_code!(UserKind, "账号类型");

/// An account as stored, with its department and site.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: UserKind,
    pub department: Option<Department>,
    pub site: Option<Site>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub failed_attempts: i64,
    pub locked_until: Option<i64>,
    pub id_number_enc: Option<String>,
    pub phone_enc: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: Option<String>,
    pub created_at: i64,
    /// When the current password was set (the account's creation for accounts older than
    /// migration 0009).
    pub password_changed_at: i64,
    /// Seeded by the demo, with the published password.
    pub demo_account: bool,
}

/// `SELECT … FROM users … WHERE <condition>` as one literal, so that the SQL stays static text.
macro_rules! select_user_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT u.id, u.username, u.display_name, u.kind, u.password_hash, \
             u.must_change_password, u.disabled, u.failed_attempts, u.locked_until, u.id_number_enc, \
             u.phone_enc, u.credit_code, u.contact_name, u.created_at, \
             COALESCE(u.password_changed_at, u.created_at) AS password_changed_at, u.demo_account, \
             d.id AS d_id, d.code AS d_code, d.name AS d_name, \
             s.id AS s_id, s.code AS s_code, s.name AS s_name, s.kind AS s_kind, \
             s.subdistrict AS s_subdistrict, s.address AS s_address \
             FROM users u LEFT JOIN departments d ON d.id = u.department_id \
             LEFT JOIN sites s ON s.id = u.site_id WHERE ",
            $($condition)+
        )
    };
}

pub async fn by_username(c: &mut AnyConnection, username: &str) -> sqlx::Result<Option<User>> {
    const SQL: &str = select_user_where!("u.username = $1");
    let row = sqlx::query(SQL).bind(username).fetch_optional(c).await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn by_id(c: &mut AnyConnection, id: i64) -> sqlx::Result<Option<User>> {
    const SQL: &str = select_user_where!("u.id = $1");
    let row = sqlx::query(SQL).bind(id).fetch_optional(c).await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Filters for the administrators' user list.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub q: String,
    pub kind: String,
    pub offset: i64,
    pub limit: i64,
}

pub async fn list(c: &mut AnyConnection, f: &UserFilter) -> sqlx::Result<(i64, Vec<User>)> {
    macro_rules! filter {
        () => {
            "($1 = '' OR u.username LIKE $2 OR u.display_name LIKE $2) AND ($3 = '' OR u.kind = $3)"
        };
    }
    const COUNT: &str = concat!("SELECT COUNT(*) AS n FROM users u WHERE ", filter!());
    const PAGE: &str = select_user_where!(concat!(filter!(), " ORDER BY u.kind DESC, u.username LIMIT $4 OFFSET $5"));
    let like = format!("%{}%", f.q.replace(['%', '_'], ""));
    let total: i64 = sqlx::query(COUNT).bind(&f.q).bind(&like).bind(&f.kind).fetch_one(&mut *c).await?.try_get("n")?;
    let rows =
        sqlx::query(PAGE).bind(&f.q).bind(&like).bind(&f.kind).bind(f.limit).bind(f.offset).fetch_all(&mut *c).await?;
    Ok((total, rows.iter().map(user_from_row).collect::<sqlx::Result<_>>()?))
}

pub async fn count_by_kind(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM users GROUP BY kind ORDER BY kind").fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("n")?))).collect()
}

pub async fn staff_of_department(c: &mut AnyConnection, department_id: i64) -> sqlx::Result<Vec<User>> {
    const SQL: &str = select_user_where!("u.department_id = $1 AND u.kind = 'staff' ORDER BY u.username");
    let rows = sqlx::query(SQL).bind(department_id).fetch_all(c).await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn staff_of_site(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Vec<User>> {
    const SQL: &str = select_user_where!("u.site_id = $1 AND u.kind = 'staff' ORDER BY u.username");
    let rows = sqlx::query(SQL).bind(site_id).fetch_all(c).await?;
    rows.iter().map(user_from_row).collect()
}

/// What a new account holds.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub kind: UserKind,
    pub department_id: Option<i64>,
    pub site_id: Option<i64>,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub id_number_enc: Option<String>,
    pub id_number_digest: Option<String>,
    pub phone_enc: Option<String>,
    pub credit_code: Option<&'a str>,
    pub contact_name: Option<&'a str>,
    pub now: i64,
}

/// Inserts an account; its first password goes into its password history too.
pub async fn insert(c: &mut AnyConnection, u: &NewUser<'_>) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO users (username, display_name, kind, department_id, site_id, password_hash, \
         must_change_password, id_number_enc, id_number_digest, phone_enc, credit_code, contact_name, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
    )
    .bind(u.username)
    .bind(u.display_name)
    .bind(u.kind.name())
    .bind(u.department_id)
    .bind(u.site_id)
    .bind(u.password_hash)
    .bind(i64::from(u.must_change_password))
    .bind(&u.id_number_enc)
    .bind(&u.id_number_digest)
    .bind(&u.phone_enc)
    .bind(u.credit_code)
    .bind(u.contact_name)
    .bind(u.now)
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    remember_password(c, id, u.password_hash, u.now).await?;
    Ok(id)
}

/// The person with this ID number (looked up by its keyed digest; the number itself is stored
/// encrypted).
pub async fn by_id_number_digest(c: &mut AnyConnection, digest: &str) -> sqlx::Result<Option<User>> {
    const SQL: &str = select_user_where!("u.id_number_digest = $1");
    let row = sqlx::query(SQL).bind(digest).fetch_optional(c).await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Active staff of a department who may decide its cases (they receive escalations).
pub async fn deciders_of_department(c: &mut AnyConnection, department_id: i64) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id \
         JOIN role_permissions rp ON rp.role_code = ur.role_code \
         WHERE u.department_id = $1 AND rp.permission = 'case.decide' AND u.disabled = 0 ORDER BY u.id",
    )
    .bind(department_id)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// The organisation with this credit code.
pub async fn by_credit_code(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<User>> {
    const SQL: &str = select_user_where!("u.credit_code = $1");
    let row = sqlx::query(SQL).bind(code).fetch_optional(c).await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn username_taken(c: &mut AnyConnection, username: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("SELECT 1 AS one FROM users WHERE username = $1").bind(username).fetch_optional(c).await?.is_some())
}

/// Counts one more failed login and returns the new count (atomic under concurrency).
pub async fn record_failure(c: &mut AnyConnection, id: i64, now: i64) -> sqlx::Result<i64> {
    sqlx::query("UPDATE users SET failed_attempts = failed_attempts + 1, updated_at = $2 WHERE id = $1 RETURNING failed_attempts")
        .bind(id)
        .bind(now)
        .fetch_one(c)
        .await?
        .try_get("failed_attempts")
}

pub async fn lock_until(c: &mut AnyConnection, id: i64, until: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET locked_until = $2, failed_attempts = 0, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(until)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn clear_failures(c: &mut AnyConnection, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET failed_attempts = 0, locked_until = NULL, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// Sets a new password (and whether it must be changed at next login), clears the failures and
/// the lock, and records it in the password history, of which only the latest are kept.
pub async fn set_password(c: &mut AnyConnection, id: i64, hash: &str, must_change: bool, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, must_change_password = $3, failed_attempts = 0, \
         locked_until = NULL, password_changed_at = $4, demo_account = 0, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(i64::from(must_change))
    .bind(now)
    .execute(&mut *c)
    .await?;
    remember_password(c, id, hash, now).await
}

async fn remember_password(c: &mut AnyConnection, id: i64, hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO password_history (user_id, password_hash, set_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(&mut *c)
        .await?;
    // Older hashes are of no use and are residual information: delete them.
    sqlx::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(id)
    .bind(PASSWORD_HISTORY_KEPT)
    .execute(c)
    .await?;
    Ok(())
}

/// Hashes kept per account: the current password and the four before it.
const PASSWORD_HISTORY_KEPT: i64 = tongban_domain::password::HISTORY as i64;

/// The hashes of the account's latest passwords, newest first (the current one included).
pub async fn recent_password_hashes(c: &mut AnyConnection, id: i64) -> sqlx::Result<Vec<String>> {
    let rows = sqlx::query("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2")
        .bind(id)
        .bind(PASSWORD_HISTORY_KEPT)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| r.try_get("password_hash")).collect()
}

/// Marks an account as seeded by the demo (its password is published).
pub async fn mark_demo(c: &mut AnyConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET demo_account = 1 WHERE id = $1").bind(id).execute(c).await?;
    Ok(())
}

/// Requires a new password at the next page (an expired or published one).
pub async fn require_password_change(c: &mut AnyConnection, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET must_change_password = 1, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_disabled(c: &mut AnyConnection, id: i64, disabled: bool, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(disabled))
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

fn user_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<User> {
    let department = match r.try_get::<Option<i64>, _>("d_id")? {
        Some(id) => Some(Department { id, code: r.try_get("d_code")?, name: r.try_get("d_name")? }),
        None => None,
    };
    let site = match r.try_get::<Option<i64>, _>("s_id")? {
        Some(id) => Some(Site {
            id,
            code: r.try_get("s_code")?,
            name: r.try_get("s_name")?,
            kind: crate::code(r, "s_kind")?,
            subdistrict: r.try_get("s_subdistrict")?,
            address: r.try_get("s_address")?,
        }),
        None => None,
    };
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        kind: crate::code(r, "kind")?,
        department,
        site,
        password_hash: r.try_get("password_hash")?,
        must_change_password: flag(r, "must_change_password")?,
        disabled: flag(r, "disabled")?,
        failed_attempts: r.try_get("failed_attempts")?,
        locked_until: r.try_get("locked_until")?,
        id_number_enc: r.try_get("id_number_enc")?,
        phone_enc: r.try_get("phone_enc")?,
        credit_code: r.try_get("credit_code")?,
        contact_name: r.try_get("contact_name")?,
        created_at: r.try_get("created_at")?,
        password_changed_at: r.try_get("password_changed_at")?,
        demo_account: flag(r, "demo_account")?,
    })
}

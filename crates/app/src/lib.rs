//! Use cases: each combines domain rules and store calls, and checks the caller's permission
//! itself — the web layer's route guard is never the only guard.

pub mod accounts;
pub mod application_view;
pub mod applications;
pub mod at_rest;
pub mod audit;
pub mod auth;
pub mod bundles;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod catalogue_io;
pub mod clock;
pub mod deadlines;
pub mod jobs;
pub mod licences;
pub mod materials;
pub mod notifications;
pub mod paging;
pub mod passwords;
pub mod queue;
pub mod rate_limit;
pub mod roles;
pub mod search;
pub mod throttle;
pub mod users;
pub mod views;
pub mod workflows;

use std::collections::BTreeSet;
use std::sync::Arc;

use tongban_crypto::FieldCipher;
use tongban_domain::permission::Permission;
use tongban_domain::role::DataScope;
use tongban_store::Db;
use tongban_store::audit::{NewEntry, Outcome};
use tongban_store::org::{Department, Site};
use tongban_store::users::UserKind;

/// What every use case needs: the database, the field cipher, the login throttle, the node's
/// search index and calendar cache, the file store, the job handlers, the message sender and the
/// licence signing keys.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    pub cipher: FieldCipher,
    pub throttle: Arc<throttle::LoginThrottle>,
    pub search: Arc<search::SearchIndex>,
    pub blobs: tongban_store::blobs::Blobs,
    pub workflows: Arc<workflows::WorkflowCache>,
    pub calendar: Arc<calendar::CalendarCache>,
    pub jobs: Arc<jobs::Registry>,
    pub sender: Arc<dyn notifications::Sender>,
    /// The SM2 keys that sign electronic licences.
    pub licence_keys: Arc<tongban_crypto::signing::KeyRing>,
    /// Password verification (with the dummy hash for unknown users).
    pub passwords: Arc<passwords::Checker>,
    /// The rate limits' counters.
    pub limiter: Arc<dyn rate_limit::RateLimiter>,
    /// Password age limits and whether this is a demo.
    pub account_rules: Arc<AccountRules>,
    /// Where every "now" comes from: the system clock, or a test's clock.
    pub clock: crate::clock::Clock,
}

/// How long a password may be used, per kind of account, in days; 0 means no limit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordMaxAge {
    /// Staff, administrators included (等保: privileged accounts change regularly).
    pub staff: u32,
    pub person: u32,
    pub organisation: u32,
}

impl Default for PasswordMaxAge {
    fn default() -> Self {
        PasswordMaxAge { staff: 90, person: 0, organisation: 0 }
    }
}

impl PasswordMaxAge {
    /// The limit for a kind of account, in milliseconds.
    pub fn for_kind(&self, kind: UserKind) -> Option<i64> {
        let days = match kind {
            UserKind::Staff => self.staff,
            UserKind::Person => self.person,
            UserKind::Organisation => self.organisation,
        };
        (days > 0).then(|| i64::from(days) * 86_400_000)
    }
}

/// The identification rules a node runs with.
#[derive(Debug, Clone, Default)]
pub struct AccountRules {
    pub password_max_age: PasswordMaxAge,
    /// `serve --demo`: the demo's accounts keep their published password without being asked to
    /// change it (and without an age limit). Outside demo mode they must change it.
    pub demo: bool,
}

/// Errors a use case reports; each boundary (pages, API) renders them its own way.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("未找到")]
    NotFound,
    #[error("请先登录")]
    Unauthenticated,
    #[error("没有权限")]
    Forbidden,
    #[error("请先修改初始密码")]
    PasswordChangeRequired,
    #[error("{0}")]
    Conflict(String),
    #[error("提交的内容有误")]
    Invalid(Vec<FieldError>),
    #[error("用户名或密码不正确")]
    InvalidCredentials { remaining: i64 },
    #[error("账户已锁定")]
    Locked { until_ms: i64 },
    #[error("账户已停用")]
    Disabled,
    /// Too many requests; the client may retry after this many seconds.
    #[error("尝试过于频繁")]
    Throttled { retry_after_secs: u64 },
    /// A file or body over its limit; the message names the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A file whose content is not of an accepted type; the message says which are.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL refuses text it cannot hold (a NUL character, bytes outside UTF-8): the
        // input's fault, reported as such, never a server error. The transaction rolls back.
        let refused_text = e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "22021" || c == "22P05");
        if refused_text {
            return AppError::Invalid(vec![FieldError::new("", "invalid_character", INVALID_CHARACTER)]);
        }
        AppError::Internal(e.into())
    }
}

/// The message for input holding a character that cannot be stored (a NUL).
pub const INVALID_CHARACTER: &str = "输入中含有无法处理的字符（如空字符），请删除后重试";

pub use tongban_domain::FieldError;

/// Collects field errors so that every problem is reported at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.0)) }
    }
}

/// A role as held by the current user: the scope it was given applies to its own permissions
/// only.
#[derive(Debug, Clone)]
pub struct HeldRole {
    pub code: String,
    pub name: String,
    pub scope: DataScope,
    pub permissions: BTreeSet<Permission>,
}

/// The logged-in user, as every use case sees them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: UserKind,
    pub department: Option<Department>,
    pub site: Option<Site>,
    pub roles: Vec<HeldRole>,
    pub permissions: BTreeSet<Permission>,
    pub must_change_password: bool,
    pub ip: String,
}

impl Actor {
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// The data scope in which the actor may exercise `p`: the broadest scope among the roles
    /// that grant `p` (a role's scope never widens another role's permissions); `None` when no
    /// role grants it.
    pub fn scope_for(&self, p: Permission) -> Option<DataScope> {
        self.roles.iter().filter(|r| r.permissions.contains(&p)).map(|r| r.scope).min()
    }

    /// Whether this is the console operator (no account has id 0).
    pub fn is_console(&self) -> bool {
        self.user_id == 0
    }

    /// The operator at the server's console (`tongban user …`): whoever can run the binary
    /// against the database already holds every power, so the console is the root of trust.
    /// Its actions are audited as `console`; the 三员分立 checks on the result still apply.
    pub fn console() -> Self {
        Actor {
            user_id: 0,
            username: "console".into(),
            display_name: "控制台".into(),
            kind: UserKind::Staff,
            department: None,
            site: None,
            roles: Vec::new(),
            permissions: Permission::ALL.iter().copied().collect(),
            must_change_password: false,
            ip: "console".into(),
        }
    }
}

/// Where a request comes from, for the audit log when nobody is logged in.
#[derive(Debug, Clone)]
pub struct Origin {
    pub ip: String,
}

/// Checks a permission; a denial is audited in its own transaction and returned as Forbidden.
pub async fn authorize(core: &Core, actor: &Actor, permission: Permission, object: &str) -> Result<(), AppError> {
    if actor.can(permission) {
        return Ok(());
    }
    audit::record_denial(core, Some(actor), &actor.ip, permission.name(), object).await?;
    Err(AppError::Forbidden)
}

/// Appends an audit record inside `tx` on behalf of `actor`, timed by `clock`.
pub async fn audit_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    action: &str,
    object: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), AppError> {
    let entry = NewEntry {
        actor_id: Some(actor.user_id).filter(|id| *id > 0),
        actor: &actor.username,
        ip: &actor.ip,
        action,
        object,
        outcome,
        detail,
    };
    tongban_store::audit::append(tx, &entry, clock.now_ms()).await?;
    Ok(())
}

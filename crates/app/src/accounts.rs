//! Self-registration of citizens (自然人) and businesses (法人).

use tracing::instrument;

use super::rate_limit::{self, Limit};
use super::{AppError, Core, Origin, Problems, passwords};
use tongban_domain::identity::{CreditCode, IdNumber, Phone};
use tongban_domain::password::policy_violations;
use tongban_store::audit::{NewEntry, Outcome};
use tongban_store::users::{NewUser, UserKind};
use tongban_store::{audit, is_unique_violation, roles, users};

/// What a registration form carries; which fields apply depends on `kind`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// `person` (自然人) or `organisation` (法人).
    pub kind: String,
    pub username: String,
    /// The person's name, or the organisation's name.
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub credit_code: String,
    #[serde(default)]
    pub contact_name: String,
    pub phone: String,
    pub password: String,
    #[serde(default)]
    pub password_confirm: Option<String>,
}

/// Checks a username's shape; returns the problem in Chinese.
pub fn username_problem(username: &str) -> Option<&'static str> {
    let len = username.chars().count();
    if !(4..=32).contains(&len) {
        return Some("用户名长度应为 4–32 位");
    }
    if !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Some("用户名只能包含字母、数字、下划线、点和连字符");
    }
    None
}

/// What a registration answers, made or not: whether an ID number, credit code or username
/// already has an account is never told to the person registering (it would tell anyone whose
/// ID number is registered). The real owner is told how to go on, and gets a message.
pub const NEUTRAL_ANSWER: &str = "注册申请已受理。如果所填信息无误且此前未注册，账户已开通，请用所填用户名和密码登录。\
如果无法登录，说明该证件或用户名已有账户：请用原账户登录（忘记密码可到任一服务大厅重置），或换一个用户名重新注册。";

/// Registers a citizen or a business. Problems with what was typed are listed at once; an
/// identity or name that already has an account gets the same answer as a new account
/// ([`NEUTRAL_ANSWER`]), is audited, and its owner is told.
#[instrument(skip_all, fields(kind = %r.kind))]
pub async fn register(core: &Core, origin: &Origin, r: &Registration) -> Result<(), AppError> {
    let mut p = Problems::default();
    let kind = match r.kind.as_str() {
        "person" => UserKind::Person,
        "organisation" => UserKind::Organisation,
        _ => {
            p.add("kind", "invalid", "请选择注册类型：个人或企业");
            return Err(AppError::Invalid(p.0));
        }
    };
    let username = r.username.trim();
    if let Some(m) = username_problem(username) {
        p.add("username", "invalid", m);
    }
    let name = r.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        p.add("name", "required", if kind == UserKind::Person { "请填写姓名" } else { "请填写单位名称" });
    }
    let phone = match Phone::parse(&r.phone) {
        Ok(ph) => Some(ph),
        Err(e) => {
            p.add("phone", "invalid", format!("手机号码{e}"));
            None
        }
    };
    let mut id_number = None;
    let mut credit_code = None;
    if kind == UserKind::Person {
        match IdNumber::parse(&r.id_number) {
            Ok(id) => id_number = Some(id),
            Err(e) => p.add("id_number", "invalid", format!("身份证号{e}")),
        }
    } else {
        match CreditCode::parse(&r.credit_code) {
            Ok(c) => credit_code = Some(c),
            Err(e) => p.add("credit_code", "invalid", format!("统一社会信用代码{e}")),
        }
        if r.contact_name.trim().is_empty() {
            p.add("contact_name", "required", "请填写联系人姓名");
        }
    }
    for m in policy_violations(username, &r.password) {
        p.add("password", "weak_password", m);
    }
    if let Some(confirm) = &r.password_confirm
        && confirm != &r.password
    {
        p.add("password_confirm", "mismatch", "两次输入的密码不一致");
    }
    p.into_result()?;
    let id_digest = id_number.as_ref().map(|id| core.cipher.index(id.as_str()));
    // Per identity, whoever asks: a stranger testing ID numbers meets the limit from any address.
    let identity_keys = [
        Some(format!("username:{}", username.to_lowercase())),
        id_digest.as_ref().map(|d| format!("id:{d}")),
        credit_code.as_ref().map(|c| format!("credit:{}", c.as_str())),
    ];
    for key in identity_keys.iter().flatten() {
        rate_limit::enforce(core, Limit::RegisterPerIdentity, key, &origin.ip, None).await?;
    }
    // Hashed whether or not the account will be made, so that both answers take as long.
    let hash = passwords::hash(r.password.clone()).await?;
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let mut taken: Vec<&str> = Vec::new();
    let mut owner = None;
    if users::username_taken(&mut tx, username).await? {
        taken.push("用户名已被使用");
    }
    if let Some(d) = &id_digest
        && let Some(u) = users::by_id_number_digest(&mut tx, d).await?
    {
        taken.push("身份证号已注册");
        owner = Some((u.id, "身份证号"));
    }
    if let Some(c) = &credit_code
        && let Some(u) = users::by_credit_code(&mut tx, c.as_str()).await?
    {
        taken.push("统一社会信用代码已注册");
        owner = Some((u.id, "统一社会信用代码"));
    }
    if !taken.is_empty() {
        refuse_in(&mut tx, core, origin, username, &taken.join("、"), owner).await?;
        tx.commit().await?;
        return Ok(());
    }
    let contact = r.contact_name.trim();
    let new = NewUser {
        username,
        display_name: name,
        kind,
        department_id: None,
        site_id: None,
        password_hash: &hash,
        must_change_password: false,
        id_number_enc: id_number.as_ref().map(|id| core.cipher.encrypt(id.as_str())),
        id_number_digest: id_digest,
        phone_enc: phone.as_ref().map(|ph| core.cipher.encrypt(ph.as_str())),
        credit_code: credit_code.as_ref().map(CreditCode::as_str),
        contact_name: (!contact.is_empty()).then_some(contact),
        now,
    };
    let id = match users::insert(&mut tx, &new).await {
        Ok(id) => id,
        // Two registrations racing for the same name or number: the loser gets the same
        // neutral answer.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let mut tx = core.db.begin().await?;
            refuse_in(&mut tx, core, origin, username, "用户名或证件已注册（并发注册）", None).await?;
            tx.commit().await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let role = if kind == UserKind::Person { "citizen" } else { "business" };
    roles::set_user_roles(&mut tx, id, &[(role.to_owned(), "own".to_owned())]).await?;
    let entry = NewEntry {
        actor_id: Some(id),
        actor: username,
        ip: &origin.ip,
        action: "user.register",
        object: username,
        outcome: Outcome::Success,
        detail: kind.label(),
    };
    audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a registration that made no account (the name or the identity already has one) and
/// tells the owner of the identity, who may be the person trying: the message centre and, with
/// a phone, a text message.
async fn refuse_in(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    origin: &Origin,
    username: &str,
    why: &str,
    owner: Option<(i64, &str)>,
) -> Result<(), AppError> {
    let typed: String = username.chars().take(64).collect();
    let entry = NewEntry {
        actor_id: None,
        actor: &typed,
        ip: &origin.ip,
        action: "user.register_refused",
        object: &typed,
        outcome: Outcome::Denied,
        detail: why,
    };
    audit::append(tx, &entry, core.clock.now_ms()).await?;
    if let Some((owner_id, what)) = owner {
        let body = format!(
            "有人用您的{what}申请注册新账户，未予注册。如是您本人，请用原账户登录（忘记密码可到任一服务大厅重置）；如非本人操作，无须处理。"
        );
        super::notifications::notify_in(tx, core, owner_id, "注册提醒", &body, "/login").await?;
    }
    Ok(())
}

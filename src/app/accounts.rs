//! Self-registration of citizens (自然人) and businesses (法人).

use tracing::instrument;

use super::{AppError, Core, Origin, Problems, passwords};
use crate::clock::now_ms;
use crate::domain::identity::{CreditCode, IdNumber, Phone};
use crate::domain::password::policy_violations;
use crate::store::audit::{NewEntry, Outcome};
use crate::store::users::{NewUser, UserKind};
use crate::store::{audit, is_unique_violation, roles, users};

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

#[instrument(skip_all, fields(kind = %r.kind))]
pub async fn register(core: &Core, origin: &Origin, r: &Registration) -> Result<String, AppError> {
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
    let id_digest = id_number.as_ref().map(|id| core.cipher.index(id.as_str()));
    {
        let mut conn = core.db.conn().await?;
        if !p.has("username") && users::username_taken(&mut conn, username).await? {
            p.add("username", "taken", "该用户名已被使用，请换一个");
        }
        if let Some(d) = &id_digest
            && users::id_number_taken(&mut conn, d).await?
        {
            p.add("id_number", "taken", "该身份证号已注册，请直接登录或找回密码");
        }
        if let Some(c) = &credit_code
            && users::credit_code_taken(&mut conn, c.as_str()).await?
        {
            p.add("credit_code", "taken", "该统一社会信用代码已注册");
        }
    }
    p.into_result()?;
    let hash = passwords::hash(r.password.clone()).await?;
    let now = now_ms();
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
    let mut tx = core.db.begin().await?;
    let id = match users::insert(&mut tx, &new).await {
        Ok(id) => id,
        // Two registrations racing for the same name: the loser gets the same field error.
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Invalid(vec![super::FieldError::new("username", "taken", "该用户名或证件已注册")]));
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
    Ok(username.to_owned())
}

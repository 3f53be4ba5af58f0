//! Sharing with other departments' systems (GB/T 36906 spirit): API clients and their scopes,
//! verification, holder queries and signed documents for them, each audited and logged in the
//! holders' use logs.

use super::store;
use super::verification::{Document, Verification, document, verification_of, verify_identifier};
use crate::{Actor, AppError, Core, Problems, audit_in, authorize};
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::licences::NewUse;
use tongban_store::org;
use tongban_store::users::UserKind;

/// Scopes an API client may hold.
pub const SCOPES: &[(&str, &str)] = &[
    ("licence.verify", "按证照标识核验"),
    ("licence.query", "按持证主体和证照类型查询（须持证人授权或法定依据）"),
    ("licence.document", "获取已授权证照的签名文件"),
];

/// An authenticated API client of another department, acting as an `Actor` for audit purposes.
#[derive(Debug, Clone)]
pub struct Client {
    pub client: store::ApiClient,
    pub actor: Actor,
}

/// Registers an API client; returns (client id, secret). The secret is shown once; only its
/// SM3 digest is kept.
pub async fn create_client(
    core: &Core,
    actor: &Actor,
    name: &str,
    department: &str,
    scopes: &[String],
) -> Result<(String, String), AppError> {
    authorize(core, actor, Permission::LicenceManage, "api_clients").await?;
    let mut p = Problems::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        p.add("name", "required", "请填写系统名称（不超过 60 字）");
    }
    for s in scopes {
        if !SCOPES.iter().any(|(k, _)| k == s) {
            p.add("scopes", "invalid", format!("未知的权限范围 {s}"));
        }
    }
    let mut tx = core.db.begin().await?;
    let dept = org::department_by_code(&mut tx, department.trim()).await?;
    if dept.is_none() {
        p.add("department", "invalid", "请选择所属部门");
    }
    p.into_result()?;
    let Some(dept) = dept else { return Err(AppError::NotFound) };
    let client_id = format!("client-{}", tongban_crypto::random_token().chars().take(12).collect::<String>());
    let secret = tongban_crypto::random_token();
    let hash = tongban_crypto::sm3_hex(secret.as_bytes());
    store::insert_client(&mut tx, &client_id, name, dept.id, &hash, &scopes.join(","), core.clock.now_ms()).await?;
    audit_in(&mut tx, &core.clock, actor, "api_client.create", &client_id, Outcome::Success, &scopes.join(",")).await?;
    tx.commit().await?;
    Ok((client_id, secret))
}

/// Authenticates an `Authorization: Bearer <secret>` header; `Unauthenticated` otherwise.
pub async fn authenticate_client(core: &Core, authorization: Option<&str>, ip: &str) -> Result<Client, AppError> {
    let secret = authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|s| !s.is_empty());
    let Some(secret) = secret else { return Err(AppError::Unauthenticated) };
    let hash = tongban_crypto::sm3_hex(secret.as_bytes());
    let client = store::client_by_secret_hash(&mut *core.db.conn().await?, &hash)
        .await?
        .filter(|c| !c.disabled)
        .ok_or(AppError::Unauthenticated)?;
    let actor = Actor {
        user_id: 0,
        username: client.client_id.clone(),
        display_name: client.name.clone(),
        kind: UserKind::Staff,
        department: Some(client.department.clone()),
        site: None,
        roles: Vec::new(),
        permissions: Default::default(),
        must_change_password: false,
        ip: ip.to_owned(),
    };
    Ok(Client { client, actor })
}

async fn require_scope(core: &Core, c: &Client, scope: &str, object: &str) -> Result<(), AppError> {
    if c.client.scopes.iter().any(|s| s == scope) {
        return Ok(());
    }
    crate::audit::record_denial(core, Some(&c.actor), &c.actor.ip, scope, object).await?;
    Err(AppError::Forbidden)
}

/// A client verifies a licence by identifier (scope `licence.verify`); audited.
pub async fn client_verify(core: &Core, c: &Client, raw: &str) -> Result<Verification, AppError> {
    require_scope(core, c, "licence.verify", raw).await?;
    let v = verify_identifier(core, raw).await?;
    let mut tx = core.db.begin().await?;
    audit_in(&mut tx, &core.clock, &c.actor, "licence.share.verify", &v.identifier, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(v)
}

/// A client queries the licences of a holder (ID number or credit code) of one type (scope
/// `licence.query`), with the holder's grant to its department or a stated legal basis; every
/// query is audited and logged in the holders' use logs.
pub async fn client_query(
    core: &Core,
    c: &Client,
    holder_code: &str,
    type_code: &str,
    legal_basis: &str,
) -> Result<Vec<Verification>, AppError> {
    require_scope(core, c, "licence.query", type_code).await?;
    let code = holder_code.trim().to_ascii_uppercase();
    let digest = core.cipher.index(&code);
    let mut conn = core.db.conn().await?;
    let rows = store::of_holder_code_and_type(&mut conn, &digest, type_code.trim()).await?;
    let now = core.clock.now_ms();
    let legal_basis = legal_basis.trim();
    let mut allowed = Vec::new();
    for r in rows {
        if !legal_basis.is_empty() || store::has_grant(&mut conn, r.id, c.client.department.id, now).await? {
            allowed.push(r);
        }
    }
    let mut out = Vec::new();
    for r in &allowed {
        out.push(verification_of(core, &mut conn, r).await?);
    }
    drop(conn);
    let purpose = if legal_basis.is_empty() {
        "共享查询（持证人授权）".to_owned()
    } else {
        format!("共享查询（法定依据：{legal_basis}）")
    };
    let mut tx = core.db.begin().await?;
    for r in &allowed {
        let u = NewUse {
            licence_id: r.id,
            department_id: Some(c.client.department.id),
            reference: "",
            purpose: &purpose,
            actor: &c.client.name,
            at: now,
        };
        store::insert_use(&mut tx, &u).await?;
    }
    let object = format!("{type_code}:{}", tongban_domain::mask::id_number(&code));
    let detail = format!("{purpose}；返回 {} 张", allowed.len());
    audit_in(&mut tx, &core.clock, &c.actor, "licence.share.query", &object, Outcome::Success, &detail).await?;
    tx.commit().await?;
    Ok(out)
}

/// A client fetches a licence's signed document (scope `licence.document` and the holder's
/// grant to its department; otherwise 404). Audited and logged.
pub async fn client_document(core: &Core, c: &Client, raw: &str) -> Result<Document, AppError> {
    require_scope(core, c, "licence.document", raw).await?;
    document(core, &c.actor, raw).await
}

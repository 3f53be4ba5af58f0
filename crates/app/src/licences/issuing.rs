//! Issuance: from an approved case (inside the decision's transaction) or by hand, and the
//! canonical form, SM2 signature and insert that every issuance (import and change too) shares.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use tongban_domain::day::Day;
use tracing::instrument;

use super::{TypeView, store, type_by_code};
use crate::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::licence::{self as rules, LicenceIdentifier, Metadata};
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::licences::NewLicence;
use tongban_store::users::{self, UserKind};

/// A licence just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub identifier: String,
    pub number: String,
    pub key_id: String,
}

/// Who a licence belongs to.
#[derive(Debug, Clone)]
pub(super) struct Holder {
    pub(super) user_id: Option<i64>,
    pub(super) name: String,
    pub(super) code: String,
    pub(super) code_type: &'static str,
}

async fn holder_of_user(
    c: &mut sqlx::AnyConnection,
    core: &Core,
    user_id: i64,
    ty: &TypeView,
) -> Result<Holder, AppError> {
    let u = users::by_id(c, user_id).await?.ok_or(AppError::NotFound)?;
    if u.kind.name() != ty.row.holder_kind {
        return Err(AppError::Invalid(vec![FieldError::new(
            "holder",
            "wrong_kind",
            format!("「{}」只能签发给{}", ty.row.name, ty.holder_kind_label()),
        )]));
    }
    let (code, code_type) = match u.kind {
        UserKind::Person => {
            let enc = u.id_number_enc.as_deref().ok_or_else(|| {
                AppError::Invalid(vec![FieldError::new("holder", "no_id_number", "持证人账户没有身份证号")])
            })?;
            (core.cipher.decrypt(enc)?, "id_number")
        }
        UserKind::Organisation => (
            u.credit_code.clone().ok_or_else(|| {
                AppError::Invalid(vec![FieldError::new("holder", "no_credit_code", "持证单位账户没有统一社会信用代码")])
            })?,
            "credit_code",
        ),
        UserKind::Staff => {
            return Err(AppError::Invalid(vec![FieldError::new("holder", "staff", "工作人员账户不能作为持证主体")]));
        }
    };
    Ok(Holder { user_id: Some(u.id), name: u.display_name, code, code_type })
}

/// Everything needed to sign and store one licence.
pub(super) struct Draft<'a> {
    pub(super) ty: &'a TypeView,
    pub(super) holder: &'a Holder,
    pub(super) face: Map<String, Value>,
    pub(super) number: Option<String>,
    pub(super) related_item: Option<&'a str>,
    pub(super) case_number: Option<&'a str>,
    pub(super) issued_on: Day,
    pub(super) valid_from: Day,
    pub(super) valid_to: Option<Day>,
    /// The serial and version for a change (变更); a fresh serial and version 1 otherwise.
    pub(super) serial_version: Option<(String, u32)>,
}

/// Builds the canonical form, signs it and inserts the licence inside `tx`.
pub(super) async fn sign_and_insert(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    d: &Draft<'_>,
) -> Result<(i64, Issued), AppError> {
    let ty = &d.ty.row;
    let issuer_code = ty.department_credit_code.as_deref().ok_or_else(|| {
        AppError::Conflict(format!("发证部门“{}”没有登记统一社会信用代码，不能签发证照", ty.department.name))
    })?;
    let (serial, version) = d.serial_version.clone().unwrap_or_else(|| (rules::random_serial(&mut rand::rng()), 1));
    let identifier = LicenceIdentifier::new(&ty.catalog_code, issuer_code, &serial, version)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("building an identifier: {e}")))?;
    let number = d.number.clone().unwrap_or_else(|| format!("{}{}", d.issued_on.year(), serial));
    let metadata = Metadata {
        identifier: identifier.to_string(),
        type_code: ty.catalog_code.clone(),
        type_name: ty.name.clone(),
        number: number.clone(),
        issued_on: d.issued_on.to_string(),
        issuer_name: ty.department.name.clone(),
        issuer_code: issuer_code.to_owned(),
        valid_from: d.valid_from.to_string(),
        valid_to: d.valid_to.map(|d| d.to_string()),
        holder_name: d.holder.name.clone(),
        holder_code: d.holder.code.clone(),
        holder_code_type: d.holder.code_type.to_owned(),
        related_item: d.related_item.map(str::to_owned),
        version,
    };
    let payload = rules::canonical_payload(&metadata, &d.face);
    let (key_id, signature) = core.licence_keys.sign(payload.as_bytes())?;
    // The face holds the holder's name and numbers: sealed like the signed payload.
    let face_json = core.cipher.encrypt(&Value::Object(d.face.clone()).to_string());
    let new = NewLicence {
        identifier: &metadata.identifier,
        serial: &serial,
        version: i64::from(version),
        type_id: ty.id,
        number: &number,
        issuer_id: ty.department.id,
        holder_user_id: d.holder.user_id,
        holder_name: &d.holder.name,
        holder_code_enc: &core.cipher.encrypt(&d.holder.code),
        holder_code_digest: &core.cipher.index(&d.holder.code),
        holder_code_type: d.holder.code_type,
        related_item: d.related_item,
        case_number: d.case_number,
        face_data: &face_json,
        payload_enc: &core.cipher.encrypt(&payload),
        signature: &STANDARD.encode(&signature),
        key_id: &key_id,
        issued_on: d.issued_on,
        valid_from: d.valid_from,
        valid_to: d.valid_to,
        now: core.clock.now_ms(),
    };
    let id = store::insert(tx, &new).await?;
    Ok((id, Issued { identifier: metadata.identifier, number, key_id }))
}

/// The face data from the values at hand, checked against the type's schema.
pub(super) fn face_from(ty: &TypeView, sources: &[&Map<String, Value>]) -> Result<Map<String, Value>, AppError> {
    let mut face = Map::new();
    for f in &ty.face_fields {
        if let Some(v) = sources.iter().find_map(|s| s.get(&f.name).filter(|v| !v.is_null())) {
            face.insert(f.name.clone(), v.clone());
        }
    }
    rules::check_face(&ty.face_fields, &face).map_err(AppError::Invalid)
}

/// The licence an approved case produced, if any.
pub async fn issued_for_case(core: &Core, holder_user_id: i64, case_number: &str) -> Result<Option<String>, AppError> {
    Ok(store::identifier_for_case(&mut *core.db.conn().await?, holder_user_id, case_number).await?)
}

/// The face fields of a licence type (for the approver's form).
pub async fn face_fields(core: &Core, code: &str) -> Result<Vec<tongban_domain::licence::FaceField>, AppError> {
    Ok(type_by_code(&mut *core.db.conn().await?, code).await?.face_fields)
}

/// A licence to issue for an approved case.
pub struct CaseIssue<'a> {
    pub case_number: &'a str,
    pub item_code: &'a str,
    /// The licence type code the item produces (`ItemDefinition::licence_type`).
    pub licence_type: &'a str,
    pub holder_user_id: i64,
    /// The applicant's answers; face fields are taken from here by name.
    pub form_data: &'a Map<String, Value>,
    /// Fields the approver filled in; they take precedence over the form data.
    pub extra_fields: &'a Map<String, Value>,
    pub today: Day,
}

/// Issues the licence for an approved case inside the caller's transaction, so that the
/// decision and the licence commit together. The caller has authorised the decision; this
/// audits the issuance as the same actor. Errors with `AppError::Invalid` (fields
/// `face.<name>`) when the face data is incomplete, and `NotFound` for an unknown type.
#[instrument(skip_all, fields(case = %req.case_number, licence_type = %req.licence_type))]
pub async fn issue_in(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    actor: &Actor,
    req: &CaseIssue<'_>,
) -> Result<Issued, AppError> {
    let ty = type_by_code(tx, req.licence_type).await?;
    let holder = holder_of_user(tx, core, req.holder_user_id, &ty).await?;
    let mut automatic = Map::new();
    automatic.insert("holder_name".into(), Value::String(holder.name.clone()));
    let face = face_from(&ty, &[req.extra_fields, req.form_data, &automatic])?;
    let draft = Draft {
        ty: &ty,
        holder: &holder,
        face,
        number: None,
        related_item: Some(req.item_code),
        case_number: Some(req.case_number),
        issued_on: req.today,
        valid_from: req.today,
        valid_to: ty.validity.until(req.today),
        serial_version: None,
    };
    let (_, issued) = sign_and_insert(tx, core, &draft).await?;
    audit_in(tx, &core.clock, actor, "licence.issue", &issued.identifier, Outcome::Success, req.case_number).await?;
    Ok(issued)
}

/// A licence issued by hand by an administrator.
#[derive(Debug, Clone, Default)]
pub struct HandIssue {
    pub licence_type: String,
    /// The holder's account (username).
    pub holder: String,
    pub face: Map<String, Value>,
    /// Defaults to today.
    pub valid_from: Option<Day>,
}

#[instrument(skip_all, fields(licence_type = %req.licence_type))]
pub async fn issue_by_hand(core: &Core, actor: &Actor, req: &HandIssue) -> Result<Issued, AppError> {
    authorize(core, actor, Permission::LicenceManage, &req.licence_type).await?;
    let mut tx = core.db.begin().await?;
    let ty = match store::type_by_code(&mut tx, &req.licence_type).await? {
        Some(row) => TypeView::from_row(row)?,
        None => return Err(AppError::Invalid(vec![FieldError::new("licence_type", "unknown", "请选择证照类型")])),
    };
    let holder = match users::by_username(&mut tx, req.holder.trim()).await? {
        Some(u) => holder_of_user(&mut tx, core, u.id, &ty).await?,
        None => return Err(AppError::Invalid(vec![FieldError::new("holder", "unknown", "找不到该持证人账户")])),
    };
    let mut automatic = Map::new();
    automatic.insert("holder_name".into(), Value::String(holder.name.clone()));
    let face = face_from(&ty, &[&req.face, &automatic])?;
    let today = core.clock.today();
    let valid_from = req.valid_from.unwrap_or(today);
    let draft = Draft {
        ty: &ty,
        holder: &holder,
        face,
        number: None,
        related_item: None,
        case_number: None,
        issued_on: today,
        valid_from,
        valid_to: ty.validity.until(valid_from),
        serial_version: None,
    };
    let (_, issued) = sign_and_insert(&mut tx, core, &draft).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.issue", &issued.identifier, Outcome::Success, "手工签发").await?;
    tx.commit().await?;
    Ok(issued)
}

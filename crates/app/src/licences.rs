//! Electronic licences (电子证照): the licence catalogue, issuance (from an approved case, by
//! hand, or by bulk import of historical licences), SM2 signatures over the canonical form,
//! verification for anyone, the holder's wallet and use log, reuse instead of paper
//! (两个免于提交), sharing with other departments' systems, and the lifecycle (suspend,
//! restore, revoke, cancel, change, expire).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use serde_json::{Map, Value};
use tracing::instrument;

use super::{Actor, AppError, Core, FieldError, Problems, audit_in, authorize};
use tongban_domain::item::ItemDefinition;
use tongban_domain::licence::{
    self as rules, FaceField, IdentifierError, LicenceIdentifier, LicenceStatus, Metadata, Validity,
};
use tongban_domain::mask;
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::licences::{self as store, LicenceRow, LicenceType, NewLicence, NewUse, UseRow};
use tongban_store::org::{self, Department};
use tongban_store::users::{self, UserKind};

/// Scopes an API client may hold.
pub const SCOPES: &[(&str, &str)] = &[
    ("licence.verify", "按证照标识核验"),
    ("licence.query", "按持证主体和证照类型查询（须持证人授权或法定依据）"),
    ("licence.document", "获取已授权证照的签名文件"),
];

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A licence type with its face schema and validity parsed.
#[derive(Debug, Clone)]
pub struct TypeView {
    pub row: LicenceType,
    pub face_fields: Vec<FaceField>,
    pub validity: Validity,
}

impl TypeView {
    fn from_row(row: LicenceType) -> Result<Self, AppError> {
        let face_fields: Vec<FaceField> = serde_json::from_str(&row.face_fields)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("licence type {} face fields: {e}", row.code)))?;
        let validity = Validity::parse(&row.validity)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("licence type {} validity", row.code)))?;
        Ok(Self { row, face_fields, validity })
    }

    pub fn holder_kind_label(&self) -> &'static str {
        if self.row.holder_kind == "person" { "自然人" } else { "法人" }
    }
}

async fn type_by_code(c: &mut sqlx::AnyConnection, code: &str) -> Result<TypeView, AppError> {
    let row = store::type_by_code(c, code).await?.ok_or(AppError::NotFound)?;
    TypeView::from_row(row)
}

// ---------------------------------------------------------------------------------------------
// The licence catalogue (证照目录)

/// What an administrator enters for a licence type. Face fields are one per line:
/// `字段名|标签|必填` (the third part optional; `必填` or `选填`).
#[derive(Debug, Clone, Default)]
pub struct TypeForm {
    pub code: String,
    pub catalog_code: String,
    pub name: String,
    pub department: String,
    pub holder_kind: String,
    pub face_fields: String,
    pub validity: String,
    pub template: String,
    pub public: bool,
}

/// Face templates the platform can render.
pub const TEMPLATES: &[(&str, &str)] = &[("standard", "标准证照（表格式）"), ("certificate", "证书式（居中排版）")];

/// Parses the face-field lines of a type form.
pub fn parse_face_fields(text: &str) -> Result<Vec<FaceField>, String> {
    let mut out: Vec<FaceField> = Vec::new();
    for (i, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, label) = match parts.as_slice() {
            [name, label] | [name, label, _] => (*name, *label),
            _ => return Err(format!("第 {} 行应为“字段名|标签|必填”", i + 1)),
        };
        if name.is_empty()
            || name.len() > 40
            || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!("第 {} 行的字段名只能包含小写字母、数字和下划线", i + 1));
        }
        if label.is_empty() {
            return Err(format!("第 {} 行缺少标签", i + 1));
        }
        if out.iter().any(|f| f.name == name) {
            return Err(format!("字段名 {name} 重复"));
        }
        let required = parts.get(2).is_some_and(|r| *r == "必填" || *r == "required");
        out.push(FaceField { name: name.to_owned(), label: label.to_owned(), required });
    }
    if out.is_empty() {
        return Err("请至少列出一个照面字段".into());
    }
    Ok(out)
}

/// The form text for a type's face fields (the inverse of `parse_face_fields`).
pub fn face_fields_text(fields: &[FaceField]) -> String {
    fields
        .iter()
        .map(|f| format!("{}|{}|{}", f.name, f.label, if f.required { "必填" } else { "选填" }))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn list_types(core: &Core, actor: &Actor) -> Result<Vec<TypeView>, AppError> {
    authorize(core, actor, Permission::LicenceManage, "licence_types").await?;
    let rows = store::list_types(&mut *core.db.conn().await?).await?;
    rows.into_iter().map(TypeView::from_row).collect()
}

pub async fn type_for_admin(core: &Core, actor: &Actor, code: &str) -> Result<TypeView, AppError> {
    authorize(core, actor, Permission::LicenceManage, code).await?;
    type_by_code(&mut *core.db.conn().await?, code).await
}

/// Creates (`existing` false) or updates a licence type; every problem at once.
pub async fn save_type(core: &Core, actor: &Actor, form: &TypeForm, existing: bool) -> Result<(), AppError> {
    authorize(core, actor, Permission::LicenceManage, &form.code).await?;
    let mut tx = core.db.begin().await?;
    save_type_in(&mut tx, &core.clock, actor, form, existing).await?;
    tx.commit().await?;
    Ok(())
}

/// `save_type` inside the caller's transaction (the demo seeds types this way).
pub async fn save_type_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    form: &TypeForm,
    existing: bool,
) -> Result<(), AppError> {
    let mut p = Problems::default();
    let code = form.code.trim();
    if code.is_empty()
        || code.len() > 64
        || !code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        p.add("code", "invalid", "证照类型编码只能包含大写字母、数字和下划线，最长 64 位");
    }
    let catalog_code = form.catalog_code.trim();
    if catalog_code.is_empty()
        || catalog_code.len() > 32
        || !catalog_code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        p.add("catalog_code", "invalid", "证照类型代码只能包含大写字母和数字，最长 32 位");
    }
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        p.add("name", "required", "请填写证照名称（不超过 60 字）");
    }
    let department = org::department_by_code(tx, form.department.trim()).await?;
    if department.is_none() {
        p.add("department", "invalid", "请选择发证部门");
    }
    if !["person", "organisation"].contains(&form.holder_kind.as_str()) {
        p.add("holder_kind", "invalid", "请选择持证主体类型");
    }
    let face = match parse_face_fields(&form.face_fields) {
        Ok(f) => f,
        Err(m) => {
            p.add("face_fields", "invalid", m);
            Vec::new()
        }
    };
    let validity = Validity::parse(&form.validity);
    if validity.is_none() {
        p.add("validity", "invalid", "有效期应为“长期”或 1–100 年");
    }
    if !TEMPLATES.iter().any(|(t, _)| *t == form.template) {
        p.add("template", "invalid", "请选择照面模板");
    }
    p.into_result()?;
    let (Some(department), Some(validity)) = (department, validity) else {
        return Err(AppError::Invalid(Vec::new()));
    };
    let face_json = serde_json::to_string(&face).map_err(|e| AppError::Internal(e.into()))?;
    let validity = validity.name();
    let fields = store::TypeFields {
        code,
        catalog_code,
        name,
        department_id: department.id,
        holder_kind: &form.holder_kind,
        face_fields: &face_json,
        validity: &validity,
        template: &form.template,
        public: form.public,
        now: clock.now_ms(),
    };
    if existing {
        if !store::update_type(tx, &fields).await? {
            return Err(AppError::NotFound);
        }
        audit_in(tx, clock, actor, "licence_type.update", code, Outcome::Success, name).await?;
    } else {
        match store::insert_type(tx, &fields).await {
            Ok(_) => {}
            Err(e) if tongban_store::is_unique_violation(&e) => {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "code",
                    "taken",
                    "证照类型编码或类型代码已被使用",
                )]));
            }
            Err(e) => return Err(e.into()),
        }
        audit_in(tx, clock, actor, "licence_type.create", code, Outcome::Success, name).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Issuance

/// A licence just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub identifier: String,
    pub number: String,
    pub key_id: String,
}

/// Who a licence belongs to.
#[derive(Debug, Clone)]
struct Holder {
    user_id: Option<i64>,
    name: String,
    code: String,
    code_type: &'static str,
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
struct Draft<'a> {
    ty: &'a TypeView,
    holder: &'a Holder,
    face: Map<String, Value>,
    number: Option<String>,
    related_item: Option<&'a str>,
    case_number: Option<&'a str>,
    issued_on: NaiveDate,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    /// The serial and version for a change (变更); a fresh serial and version 1 otherwise.
    serial_version: Option<(String, u32)>,
}

/// Builds the canonical form, signs it and inserts the licence inside `tx`.
async fn sign_and_insert(tx: &mut sqlx::AnyConnection, core: &Core, d: &Draft<'_>) -> Result<(i64, Issued), AppError> {
    let ty = &d.ty.row;
    let issuer_code = ty.department_credit_code.as_deref().ok_or_else(|| {
        AppError::Conflict(format!("发证部门“{}”没有登记统一社会信用代码，不能签发证照", ty.department.name))
    })?;
    let (serial, version) = d.serial_version.clone().unwrap_or_else(|| (rules::random_serial(&mut rand::rng()), 1));
    let identifier = LicenceIdentifier::new(&ty.catalog_code, issuer_code, &serial, version)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("building an identifier: {e}")))?;
    let number = d.number.clone().unwrap_or_else(|| format!("{}{}", d.issued_on.format("%Y"), serial));
    let metadata = Metadata {
        identifier: identifier.to_string(),
        type_code: ty.catalog_code.clone(),
        type_name: ty.name.clone(),
        number: number.clone(),
        issued_on: ymd(d.issued_on),
        issuer_name: ty.department.name.clone(),
        issuer_code: issuer_code.to_owned(),
        valid_from: ymd(d.valid_from),
        valid_to: d.valid_to.map(ymd),
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
    let valid_to = d.valid_to.map(ymd);
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
        issued_on: &metadata.issued_on,
        valid_from: &metadata.valid_from,
        valid_to: valid_to.as_deref(),
        now: core.clock.now_ms(),
    };
    let id = store::insert(tx, &new).await?;
    Ok((id, Issued { identifier: metadata.identifier, number, key_id }))
}

/// The face data from the values at hand, checked against the type's schema.
fn face_from(ty: &TypeView, sources: &[&Map<String, Value>]) -> Result<Map<String, Value>, AppError> {
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
    pub today: NaiveDate,
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
    pub valid_from: Option<NaiveDate>,
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

/// One bad row of an import: its number in the file (the header is row 1) and every problem.
#[derive(Debug, Clone)]
pub struct RowReport {
    pub row: usize,
    pub problems: Vec<String>,
}

/// The result of an import.
#[derive(Debug)]
pub enum Imported {
    Done { licences: usize },
    Rejected { rows: usize, report: Vec<RowReport> },
}

/// One checked row of an import, ready to sign.
struct ImportRow {
    ty: TypeView,
    holder: Holder,
    face: Map<String, Value>,
    number: Option<String>,
    issued_on: NaiveDate,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
}

/// Columns of the historical licence import (历史证照归集). Face fields are columns named
/// `face.<field name>`.
pub const IMPORT_COLUMNS: &[&str] =
    &["licence_type", "holder_name", "holder_code", "number", "issued_on", "valid_from", "valid_to"];

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Imports historical licences from an XLSX (or CSV) file: every row is checked first; one bad
/// row and nothing is imported, with a row-by-row report. Good files are signed and stored in
/// one transaction. Holders are linked to their accounts by ID number or credit code.
#[instrument(skip_all)]
pub async fn import(core: &Core, actor: &Actor, bytes: &[u8]) -> Result<Imported, AppError> {
    authorize(core, actor, Permission::LicenceManage, "licence_import").await?;
    let rows = super::catalogue_io::read_table(bytes, &["licence_type", "holder_name", "holder_code"])
        .map_err(|m| AppError::Invalid(vec![FieldError::new("file", "unreadable", m)]))?;
    if rows.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new("file", "empty", "文件中没有证照数据")]));
    }
    let mut conn = core.db.conn().await?;
    let mut types: HashMap<String, Option<TypeView>> = HashMap::new();
    let mut report = Vec::new();
    let mut drafts: Vec<ImportRow> = Vec::new();
    let today = core.clock.today();
    for (i, row) in rows.iter().enumerate() {
        let get = |k: &str| row.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
        let mut problems = Vec::new();
        let code = get("licence_type");
        if !types.contains_key(&code) {
            let ty = store::type_by_code(&mut conn, &code).await?.map(TypeView::from_row).transpose()?;
            types.insert(code.clone(), ty);
        }
        let ty = types.get(&code).cloned().flatten();
        if ty.is_none() {
            problems.push(format!("证照类型“{code}”不存在"));
        }
        let holder_name = get("holder_name");
        if holder_name.is_empty() {
            problems.push("缺少持证主体名称".to_owned());
        }
        let holder_code = get("holder_code").to_ascii_uppercase();
        let code_type = match ty.as_ref().map(|t| t.row.holder_kind.as_str()) {
            Some("person") => {
                if tongban_domain::identity::IdNumber::parse(&holder_code).is_err() {
                    problems.push("持证人身份证号不正确".to_owned());
                }
                "id_number"
            }
            _ => {
                if ty.is_some() && tongban_domain::identity::CreditCode::parse(&holder_code).is_err() {
                    problems.push("统一社会信用代码不正确".to_owned());
                }
                "credit_code"
            }
        };
        let date = |k: &str, label: &str, problems: &mut Vec<String>| -> Option<NaiveDate> {
            let v = get(k);
            if v.is_empty() {
                return None;
            }
            let d = parse_date(&v);
            if d.is_none() {
                problems.push(format!("{label}“{v}”应为日期，格式 2020-01-31"));
            }
            d
        };
        let issued_on = date("issued_on", "发证日期", &mut problems);
        if get("issued_on").is_empty() {
            problems.push("缺少发证日期".to_owned());
        }
        let valid_from = date("valid_from", "有效期起", &mut problems).or(issued_on);
        let valid_to = date("valid_to", "有效期至", &mut problems);
        if let (Some(f), Some(t)) = (valid_from, valid_to)
            && t < f
        {
            problems.push("有效期至早于有效期起".to_owned());
        }
        if issued_on.is_some_and(|d| d > today) {
            problems.push("发证日期晚于今天".to_owned());
        }
        let mut face_in = Map::new();
        for (k, v) in row {
            if let Some(name) = k.strip_prefix("face.") {
                face_in.insert(name.to_owned(), Value::String(v.trim().to_owned()));
            }
        }
        face_in.entry("holder_name").or_insert_with(|| Value::String(holder_name.clone()));
        let face = match &ty {
            Some(t) => match rules::check_face(&t.face_fields, &face_in) {
                Ok(f) => Some(f),
                Err(e) => {
                    problems.extend(e.into_iter().map(|p| p.message));
                    None
                }
            },
            None => None,
        };
        let number = Some(get("number")).filter(|n| !n.is_empty());
        if number.as_ref().is_some_and(|n| n.chars().count() > 64) {
            problems.push("证照编号不能超过 64 位".to_owned());
        }
        if !problems.is_empty() {
            report.push(RowReport { row: i + 2, problems });
            continue;
        }
        if let (Some(ty), Some(face), Some(issued_on), Some(valid_from)) = (ty, face, issued_on, valid_from) {
            let valid_to = valid_to.or_else(|| ty.validity.until(valid_from));
            let digest = core.cipher.index(&holder_code);
            let user_id = store::account_of_holder(&mut conn, code_type, &holder_code, &digest).await?;
            let holder = Holder { user_id, name: holder_name, code: holder_code, code_type };
            drafts.push(ImportRow { ty, holder, face, number, issued_on, valid_from, valid_to });
        }
    }
    drop(conn);
    if !report.is_empty() {
        return Ok(Imported::Rejected { rows: rows.len(), report });
    }
    let mut tx = core.db.begin().await?;
    let mut expired = Vec::new();
    for r in &drafts {
        let draft = Draft {
            ty: &r.ty,
            holder: &r.holder,
            face: r.face.clone(),
            number: r.number.clone(),
            related_item: None,
            case_number: None,
            issued_on: r.issued_on,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            serial_version: None,
        };
        let (id, _) = sign_and_insert(&mut tx, core, &draft).await?;
        if r.valid_to.is_some_and(|t| t < today) {
            expired.push(id);
        }
    }
    let now = core.clock.now_ms();
    for id in expired {
        store::set_status(&mut tx, id, "valid", "expired", "有效期届满（归集时已过期）", now).await?;
    }
    let detail = format!("归集历史证照 {} 张", drafts.len());
    audit_in(&mut tx, &core.clock, actor, "licence.import", "licences", Outcome::Success, &detail).await?;
    tx.commit().await?;
    Ok(Imported::Done { licences: drafts.len() })
}

// ---------------------------------------------------------------------------------------------
// Verification

/// What anyone may learn about a licence from its identifier.
#[derive(Debug, Clone)]
pub struct Verification {
    pub identifier: String,
    pub valid: bool,
    pub status: LicenceStatus,
    pub status_reason: String,
    pub type_name: String,
    pub number: String,
    /// `张*，3101**********123X`
    pub holder: String,
    pub issuer: String,
    pub issued_on: String,
    pub valid_from: String,
    pub expires_on: Option<String>,
    pub version: i64,
    /// The newer version that replaced this one, if any.
    pub superseded_by: Option<String>,
}

/// Parses an identifier as a visitor typed or scanned it: 422 with a reason when malformed.
pub fn parse_identifier(raw: &str) -> Result<LicenceIdentifier, AppError> {
    LicenceIdentifier::parse(raw).map_err(|e| {
        let code = match e {
            IdentifierError::Format => "format",
            IdentifierError::Check => "check_character",
        };
        AppError::Invalid(vec![FieldError::new("identifier", code, e.to_string())])
    })
}

/// The effective status on `today`: a valid licence past its last day is expired even before
/// the expiry job has run.
fn effective_status(row: &LicenceRow, today: &str) -> LicenceStatus {
    let stored = LicenceStatus::parse(&row.status).unwrap_or(LicenceStatus::Suspended);
    match (&stored, &row.valid_to) {
        (LicenceStatus::Valid | LicenceStatus::Suspended, Some(to)) if to.as_str() < today => LicenceStatus::Expired,
        _ => stored,
    }
}

fn masked_holder(core: &Core, row: &LicenceRow) -> String {
    let code = core.cipher.decrypt(&row.holder_code_enc).unwrap_or_default();
    let name =
        if row.holder_code_type == "credit_code" { row.holder_name.clone() } else { mask::name(&row.holder_name) };
    format!("{name}，{}", rules::mask_holder_code(&code))
}

async fn verification_of(core: &Core, c: &mut sqlx::AnyConnection, row: &LicenceRow) -> Result<Verification, AppError> {
    let today = ymd(core.clock.today());
    let status = effective_status(row, &today);
    let superseded_by = if status == LicenceStatus::Superseded {
        let ty = store::type_by_code(c, &row.type_code).await?;
        match ty {
            Some(t) => store::latest_of_serial(c, &row.serial, t.id).await?.filter(|id| *id != row.identifier),
            None => None,
        }
    } else {
        None
    };
    Ok(Verification {
        identifier: row.identifier.clone(),
        valid: status == LicenceStatus::Valid,
        status,
        status_reason: row.status_reason.clone(),
        type_name: row.type_name.clone(),
        number: row.number.clone(),
        holder: masked_holder(core, row),
        issuer: row.issuer.name.clone(),
        issued_on: row.issued_on.clone(),
        valid_from: row.valid_from.clone(),
        expires_on: row.valid_to.clone(),
        version: row.version,
        superseded_by,
    })
}

/// Verifies a licence by its identifier, for anyone (the QR code's page and API). Malformed →
/// `Invalid` (422); unknown → `NotFound`.
pub async fn verify_identifier(core: &Core, raw: &str) -> Result<Verification, AppError> {
    let id = parse_identifier(raw)?;
    let mut conn = core.db.conn().await?;
    let row = store::facts_by_identifier(&mut conn, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    verification_of(core, &mut conn, &row).await
}

// ---------------------------------------------------------------------------------------------
// Signed documents

/// The signed document of a licence: the exact canonical text that was signed, the base64 DER
/// signature, the key id and the algorithm.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Document {
    pub payload: String,
    pub signature: String,
    pub key_id: String,
    pub algorithm: String,
}

fn document_of(core: &Core, row: &LicenceRow) -> Result<Document, AppError> {
    Ok(Document {
        payload: core.cipher.decrypt(&row.payload_enc)?,
        signature: row.signature.clone(),
        key_id: row.key_id.clone(),
        algorithm: tongban_crypto::signing::ALGORITHM.to_owned(),
    })
}

/// The signed document, for its holder or for staff of a department the holder granted use to.
/// Anyone else gets "not found": whether someone else's licence exists is not revealed.
pub async fn document(core: &Core, actor: &Actor, raw: &str) -> Result<Document, AppError> {
    let id = LicenceIdentifier::parse(raw).map_err(|_| AppError::NotFound)?;
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if row.holder_user_id.is_some() && row.holder_user_id == Some(actor.user_id) {
        return document_of(core, &row);
    }
    let Some(department) = actor.department.as_ref() else { return Err(AppError::NotFound) };
    if !store::has_grant(&mut conn, row.id, department.id, core.clock.now_ms()).await? {
        return Err(AppError::NotFound);
    }
    drop(conn);
    let doc = document_of(core, &row)?;
    let mut tx = core.db.begin().await?;
    let purpose = "获取证照签名文件（持证人已授权）";
    let u = NewUse {
        licence_id: row.id,
        department_id: Some(department.id),
        reference: "",
        purpose,
        actor: &actor.display_name,
        at: core.clock.now_ms(),
    };
    store::insert_use(&mut tx, &u).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.document", &row.identifier, Outcome::Success, purpose).await?;
    tx.commit().await?;
    Ok(doc)
}

/// The result of checking a submitted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCheck {
    /// The signature matches the payload under the named key of this platform.
    pub signature_valid: bool,
    /// The signature is valid and the licence is valid today.
    pub valid: bool,
    pub identifier: Option<String>,
    pub status: Option<LicenceStatus>,
}

/// Checks a downloaded document (as JSON): its signature, then the licence's current status.
/// Anything malformed, tampered or truncated is simply `signature_valid: false`.
pub async fn verify_document(core: &Core, doc: &Value) -> Result<DocumentCheck, AppError> {
    let invalid = DocumentCheck { signature_valid: false, valid: false, identifier: None, status: None };
    let (Some(payload), Some(signature), Some(key_id)) = (
        doc.get("payload").and_then(Value::as_str),
        doc.get("signature").and_then(Value::as_str),
        doc.get("key_id").and_then(Value::as_str),
    ) else {
        return Ok(invalid);
    };
    let Ok(der) = STANDARD.decode(signature.trim()) else { return Ok(invalid) };
    if !core.licence_keys.verify(key_id, payload.as_bytes(), &der) {
        return Ok(invalid);
    }
    let identifier = serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| v.get("metadata")?.get("identifier")?.as_str().map(str::to_owned));
    let Some(identifier) = identifier else {
        return Ok(DocumentCheck { signature_valid: true, ..invalid });
    };
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &identifier).await?;
    let status = row.as_ref().map(|r| effective_status(r, &ymd(core.clock.today())));
    Ok(DocumentCheck {
        signature_valid: true,
        valid: status == Some(LicenceStatus::Valid),
        identifier: Some(identifier),
        status,
    })
}

/// The published public keys: (key id, PEM, current).
pub fn public_keys(core: &Core) -> Vec<tongban_crypto::signing::PublicKeyInfo> {
    core.licence_keys.public_keys()
}

/// Rotates the issuing key (console or licence administrators); returns the new key id.
pub async fn rotate_key(core: &Core, actor: &Actor) -> Result<String, AppError> {
    authorize(core, actor, Permission::LicenceManage, "licence_keys").await?;
    let key_id = core.licence_keys.rotate()?;
    let mut tx = core.db.begin().await?;
    audit_in(&mut tx, &core.clock, actor, "licence.rotate_key", &key_id, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(key_id)
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/// A status change by the issuing department.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Suspend,
    Restore,
    Revoke,
    Cancel,
}

impl Lifecycle {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "suspend" => Some(Lifecycle::Suspend),
            "restore" => Some(Lifecycle::Restore),
            "revoke" => Some(Lifecycle::Revoke),
            "cancel" => Some(Lifecycle::Cancel),
            _ => None,
        }
    }

    fn target(self) -> LicenceStatus {
        match self {
            Lifecycle::Suspend => LicenceStatus::Suspended,
            Lifecycle::Restore => LicenceStatus::Valid,
            Lifecycle::Revoke => LicenceStatus::Revoked,
            Lifecycle::Cancel => LicenceStatus::Cancelled,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Lifecycle::Suspend => "licence.suspend",
            Lifecycle::Restore => "licence.restore",
            Lifecycle::Revoke => "licence.revoke",
            Lifecycle::Cancel => "licence.cancel",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Lifecycle::Suspend => "暂停",
            Lifecycle::Restore => "恢复",
            Lifecycle::Revoke => "吊销",
            Lifecycle::Cancel => "注销",
        }
    }
}

/// Suspends, restores, revokes or cancels a licence, with a reason (not needed to restore).
/// Only the head of the issuing department may (`licence.revoke` and the same department);
/// anyone else is refused with 403, audited.
#[instrument(skip_all, fields(identifier = %raw, action = ?action))]
pub async fn change_status(
    core: &Core,
    actor: &Actor,
    raw: &str,
    action: Lifecycle,
    reason: &str,
) -> Result<Verification, AppError> {
    authorize(core, actor, Permission::LicenceRevoke, raw).await?;
    let id = parse_identifier(raw)?;
    let mut tx = core.db.begin().await?;
    let row = store::by_identifier(&mut tx, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if actor.department.as_ref().map(|d| d.id) != Some(row.issuer.id) {
        drop(tx);
        super::audit::record_denial(core, Some(actor), &actor.ip, "licence.revoke（非发证部门）", &row.identifier)
            .await?;
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim();
    if action != Lifecycle::Restore && reason.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "reason",
            "required",
            format!("请填写{}原因", action.label()),
        )]));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::Invalid(vec![FieldError::new("reason", "too_long", "原因不能超过 500 字")]));
    }
    let current = effective_status(&row, &ymd(core.clock.today()));
    let target = action.target();
    if !current.can_become(target) {
        return Err(AppError::Conflict(format!("证照当前状态为「{}」，不能{}", current.label(), action.label())));
    }
    if !store::set_status(&mut tx, row.id, &row.status, target.name(), reason, core.clock.now_ms()).await? {
        return Err(AppError::Conflict("证照状态已变化，请刷新后重试".into()));
    }
    audit_in(&mut tx, &core.clock, actor, action.action(), &row.identifier, Outcome::Success, reason).await?;
    let updated = store::by_id(&mut tx, row.id).await?.ok_or(AppError::NotFound)?;
    let v = verification_of(core, &mut tx, &updated).await?;
    tx.commit().await?;
    Ok(v)
}

/// Changes a licence (变更): a new version with the changed face data is signed and issued, and
/// the old version is superseded, in one transaction. Licence administrators only.
pub async fn change(
    core: &Core,
    actor: &Actor,
    raw: &str,
    changes: &Map<String, Value>,
    reason: &str,
) -> Result<Issued, AppError> {
    authorize(core, actor, Permission::LicenceManage, raw).await?;
    let id = parse_identifier(raw)?;
    let next = id.next_version().map_err(|_| AppError::Conflict("证照版本已达上限".into()))?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Invalid(vec![FieldError::new("reason", "required", "请填写变更原因（不超过 500 字）")]));
    }
    let mut tx = core.db.begin().await?;
    let row = store::by_identifier(&mut tx, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if effective_status(&row, &ymd(core.clock.today())) != LicenceStatus::Valid {
        return Err(AppError::Conflict("只有有效的证照可以变更".into()));
    }
    let ty = type_by_code(&mut tx, &row.type_code).await?;
    let old_face: Map<String, Value> =
        serde_json::from_str(&core.cipher.open_or_plain(&row.face_data)?).unwrap_or_default();
    let face = face_from(&ty, &[changes, &old_face])?;
    let holder = Holder {
        user_id: row.holder_user_id,
        name: row.holder_name.clone(),
        code: core.cipher.decrypt(&row.holder_code_enc)?,
        code_type: if row.holder_code_type == "id_number" { "id_number" } else { "credit_code" },
    };
    let today = core.clock.today();
    let valid_from = parse_date(&row.valid_from).unwrap_or(today);
    let draft = Draft {
        ty: &ty,
        holder: &holder,
        face,
        number: Some(row.number.clone()),
        related_item: row.related_item.as_deref(),
        case_number: row.case_number.as_deref(),
        issued_on: today,
        valid_from,
        valid_to: row.valid_to.as_deref().and_then(parse_date),
        serial_version: Some((row.serial.clone(), next.version())),
    };
    let now = core.clock.now_ms();
    if !store::set_status(&mut tx, row.id, "valid", "superseded", reason, now).await? {
        return Err(AppError::Conflict("证照状态已变化，请刷新后重试".into()));
    }
    let (_, issued) = sign_and_insert(&mut tx, core, &draft).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.change", &row.identifier, Outcome::Success, &issued.identifier)
        .await?;
    tx.commit().await?;
    Ok(issued)
}

/// Marks every licence whose validity ended before `today` as expired (the expiry job calls
/// this daily); returns how many changed. One audit record names them all.
pub async fn expire_due(core: &Core, today: NaiveDate) -> Result<usize, AppError> {
    let mut tx = core.db.begin().await?;
    let n = expire_due_in(&mut tx, &core.clock, today).await?;
    tx.commit().await?;
    Ok(n)
}

/// The same inside the caller's transaction (the `licence_expire` job's).
pub async fn expire_due_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let expired = store::expire_due(tx, &ymd(today), clock.now_ms()).await?;
    if !expired.is_empty() {
        let system = Actor { username: "system".into(), ip: "job".into(), ..Actor::console() };
        let detail = expired.join(",");
        audit_in(tx, clock, &system, "licence.expire", &format!("{} 张", expired.len()), Outcome::Success, &detail)
            .await?;
    }
    Ok(expired.len())
}

/// Marks licences past their validity as expired, every hour.
pub struct ExpireJob;

/// The job kind of [`ExpireJob`].
pub const EXPIRE_JOB: &str = "licence_expire";

impl super::jobs::JobHandler for ExpireJob {
    fn run<'a>(
        &'a self,
        tx: &'a mut sqlx::AnyConnection,
        core: &'a Core,
        _: &'a tongban_store::jobs::Job,
    ) -> super::jobs::BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move { expire_due_in(tx, &core.clock, core.clock.today()).await.map(|_| ()) })
    }
}

// ---------------------------------------------------------------------------------------------
// The holder's wallet (我的证照) and use log

/// The caller's licences, newest first.
pub async fn wallet(core: &Core, actor: &Actor) -> Result<Vec<(LicenceRow, LicenceStatus)>, AppError> {
    authorize(core, actor, Permission::PortalMine, "licences").await?;
    let rows = store::of_holder(&mut *core.db.conn().await?, actor.user_id).await?;
    let today = ymd(core.clock.today());
    Ok(rows
        .into_iter()
        .map(|r| {
            let s = effective_status(&r, &today);
            (r, s)
        })
        .collect())
}

/// One of the caller's licences with its face (label, value), verification and use log.
pub struct MyLicence {
    pub row: LicenceRow,
    pub face: Vec<(String, String)>,
    pub verification: Verification,
    pub uses: Vec<UseRow>,
}

pub async fn my_licence(core: &Core, actor: &Actor, raw: &str) -> Result<MyLicence, AppError> {
    authorize(core, actor, Permission::PortalMine, raw).await?;
    let id = LicenceIdentifier::parse(raw).map_err(|_| AppError::NotFound)?;
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &id.to_string())
        .await?
        .filter(|r| r.holder_user_id == Some(actor.user_id))
        .ok_or(AppError::NotFound)?;
    let ty = type_by_code(&mut conn, &row.type_code).await?;
    let values: Map<String, Value> =
        serde_json::from_str(&core.cipher.open_or_plain(&row.face_data)?).unwrap_or_default();
    let face = ty
        .face_fields
        .iter()
        .filter_map(|f| values.get(&f.name).and_then(Value::as_str).map(|v| (f.label.clone(), v.to_owned())))
        .collect();
    let verification = verification_of(core, &mut conn, &row).await?;
    let uses = store::uses_of_licence(&mut conn, row.id).await?;
    Ok(MyLicence { row, face, verification, uses })
}

/// The use log of all the caller's licences (用证记录), newest first.
pub async fn use_log(core: &Core, actor: &Actor) -> Result<Vec<UseRow>, AppError> {
    authorize(core, actor, Permission::PortalMine, "licence_uses").await?;
    Ok(store::uses_of_holder(&mut *core.db.conn().await?, actor.user_id, 200).await?)
}

/// The holder grants a department use of one licence (授权用证), e.g. for a case there.
pub async fn grant(core: &Core, actor: &Actor, raw: &str, department: &str, purpose: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::PortalMine, raw).await?;
    let id = LicenceIdentifier::parse(raw).map_err(|_| AppError::NotFound)?;
    let mut tx = core.db.begin().await?;
    let row = store::by_identifier(&mut tx, &id.to_string())
        .await?
        .filter(|r| r.holder_user_id == Some(actor.user_id))
        .ok_or(AppError::NotFound)?;
    let mut p = Problems::default();
    let dept = org::department_by_code(&mut tx, department.trim()).await?;
    if dept.is_none() {
        p.add("department", "invalid", "请选择授权的部门");
    }
    let purpose = purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 200 {
        p.add("purpose", "required", "请填写用途（不超过 200 字）");
    }
    p.into_result()?;
    let Some(dept) = dept else { return Err(AppError::NotFound) };
    store::insert_grant(&mut tx, row.id, dept.id, purpose, core.clock.now_ms(), None).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.grant", &row.identifier, Outcome::Success, &dept.code).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reuse instead of paper (两个免于提交)

/// For each material of an item that a licence type can replace, the caller's valid licences of
/// that type: (material code, licences).
pub async fn usable_for(
    core: &Core,
    actor: &Actor,
    def: &ItemDefinition,
) -> Result<Vec<(String, Vec<LicenceRow>)>, AppError> {
    let mut conn = core.db.conn().await?;
    let today = ymd(core.clock.today());
    let mut out = Vec::new();
    for m in &def.materials {
        if let Some(t) = &m.licence_type {
            let held = store::valid_of_holder_and_type(&mut conn, actor.user_id, t, &today).await?;
            if !held.is_empty() {
                out.push((m.code.clone(), held));
            }
        }
    }
    Ok(out)
}

/// Records the licences the applicant picked instead of uploads (material code, identifier)
/// inside the application's transaction; each must be the applicant's own, valid, and of the
/// type the material accepts. An empty identifier withdraws the material's earlier pick. Returns the codes of every material an earlier or a new pick
/// satisfies, and the problems with picks that could not be used.
pub async fn pick_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    def: &ItemDefinition,
    application_id: i64,
    picks: &[(String, String)],
) -> Result<(Vec<String>, Vec<FieldError>), AppError> {
    let mut problems = Problems::default();
    let today = ymd(clock.today());
    let now = clock.now_ms();
    for (code, raw) in picks {
        let field = format!("material:{code}");
        let Some(material) = def.materials.iter().find(|m| &m.code == code) else {
            problems.add(&field, "unknown_material", format!("本事项没有编号为 {code} 的材料"));
            continue;
        };
        if raw.trim().is_empty() {
            store::unpick_material(tx, application_id, code).await?;
            continue;
        }
        let row = match LicenceIdentifier::parse(raw) {
            Ok(id) => store::by_identifier(tx, &id.to_string()).await?,
            Err(_) => None,
        };
        let usable = row.filter(|r| {
            r.holder_user_id == Some(actor.user_id)
                && Some(&r.type_code) == material.licence_type.as_ref()
                && effective_status(r, &today) == LicenceStatus::Valid
        });
        match usable {
            Some(r) => store::pick_for_material(tx, application_id, code, r.id, now).await?,
            None => problems.add(
                &field,
                "licence_unusable",
                format!("所选电子证照不能用于「{}」，请重新选择或上传材料", material.name),
            ),
        }
    }
    let picked = store::picked_in_application(tx, application_id).await?.into_iter().map(|(code, _)| code).collect();
    Ok((picked, problems.0))
}

/// Writes the use log (用证记录) for the licences picked in an application, at submission,
/// inside the submission's transaction.
pub async fn record_uses_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    def: &ItemDefinition,
    application_id: i64,
    number: &str,
) -> Result<(), AppError> {
    let picked = store::picked_in_application(tx, application_id).await?;
    let department = org::department_by_code(tx, &def.department).await?;
    let now = clock.now_ms();
    for (code, licence) in picked {
        let material = def.materials.iter().find(|m| m.code == code).map_or(code.as_str(), |m| m.name.as_str());
        let purpose = format!("申请「{}」，代替提交「{material}」", def.name);
        let u = NewUse {
            licence_id: licence.id,
            department_id: department.as_ref().map(|d| d.id),
            reference: number,
            purpose: &purpose,
            actor: &actor.display_name,
            at: now,
        };
        store::insert_use(tx, &u).await?;
        audit_in(tx, clock, actor, "licence.use", &licence.identifier, Outcome::Success, number).await?;
    }
    Ok(())
}

/// A licence used in an application, verified for the reviewer.
#[derive(Debug, Clone)]
pub struct UsedLicence {
    pub material_code: String,
    pub identifier: String,
    pub type_name: String,
    pub number: String,
    pub holder_name: String,
    pub issuer: String,
    pub status: LicenceStatus,
    /// The stored signature verifies against the stored payload.
    pub signature_valid: bool,
    /// Signature valid and licence valid today.
    pub valid: bool,
}

/// The licences used in an application (for the reviewer's case page), each verified: status
/// today and signature.
pub async fn used_in_application(core: &Core, application_id: i64) -> Result<Vec<UsedLicence>, AppError> {
    let picked = store::picked_in_application(&mut *core.db.conn().await?, application_id).await?;
    let today = ymd(core.clock.today());
    Ok(picked
        .into_iter()
        .map(|(material_code, row)| {
            let status = effective_status(&row, &today);
            let signature_valid = match (core.cipher.decrypt(&row.payload_enc), STANDARD.decode(&row.signature)) {
                (Ok(payload), Ok(der)) => core.licence_keys.verify(&row.key_id, payload.as_bytes(), &der),
                _ => false,
            };
            UsedLicence {
                material_code,
                identifier: row.identifier,
                type_name: row.type_name,
                number: row.number,
                holder_name: row.holder_name,
                issuer: row.issuer.name,
                status,
                signature_valid,
                valid: signature_valid && status == LicenceStatus::Valid,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Sharing with other departments' systems (GB/T 36906 spirit)

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
    super::audit::record_denial(core, Some(&c.actor), &c.actor.ip, scope, object).await?;
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

/// Departments, for the grant form.
pub async fn departments(core: &Core) -> Result<Vec<Department>, AppError> {
    Ok(org::list_departments(&mut *core.db.conn().await?).await?)
}

/// Licences of the actor's department (heads) or of all departments (licence administrators).
pub async fn list_for_staff(
    core: &Core,
    actor: &Actor,
    filter: &store::Filter,
) -> Result<(i64, Vec<(LicenceRow, LicenceStatus)>), AppError> {
    let mut f = filter.clone();
    if !actor.can(Permission::LicenceManage) {
        authorize(core, actor, Permission::LicenceRevoke, "licences").await?;
        f.issuer_id = Some(actor.department.as_ref().map_or(-1, |d| d.id));
    }
    let (total, rows) = store::list(&mut *core.db.conn().await?, &f).await?;
    let today = ymd(core.clock.today());
    Ok((
        total,
        rows.into_iter()
            .map(|r| {
                let s = effective_status(&r, &today);
                (r, s)
            })
            .collect(),
    ))
}

/// A licence with its type's face schema and its current face values, for the change form.
pub async fn for_change(
    core: &Core,
    actor: &Actor,
    raw: &str,
) -> Result<(LicenceRow, Verification, TypeView, Map<String, Value>), AppError> {
    authorize(core, actor, Permission::LicenceManage, raw).await?;
    let (row, v) = for_staff(core, actor, raw).await?;
    let ty = type_by_code(&mut *core.db.conn().await?, &row.type_code).await?;
    let face = serde_json::from_str(&core.cipher.open_or_plain(&row.face_data)?).unwrap_or_default();
    Ok((row, v, ty, face))
}

/// One licence for staff (the issuing department's heads or licence administrators).
pub async fn for_staff(core: &Core, actor: &Actor, raw: &str) -> Result<(LicenceRow, Verification), AppError> {
    if !actor.can(Permission::LicenceManage) {
        authorize(core, actor, Permission::LicenceRevoke, raw).await?;
    }
    let id = parse_identifier(raw)?;
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if !actor.can(Permission::LicenceManage) && actor.department.as_ref().map(|d| d.id) != Some(row.issuer.id) {
        return Err(AppError::NotFound);
    }
    let v = verification_of(core, &mut conn, &row).await?;
    Ok((row, v))
}

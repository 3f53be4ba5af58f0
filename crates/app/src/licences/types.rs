//! The licence catalogue (证照目录): licence types, their face schema, validity and template,
//! administered by licence administrators.

use super::{TypeView, store, type_by_code};
use crate::{Actor, AppError, Core, FieldError, Problems, audit_in, authorize};
use tongban_domain::licence::{FaceField, Validity};
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::org;

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

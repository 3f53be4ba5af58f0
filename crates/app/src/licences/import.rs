//! The bulk import of historical licences (历史证照归集) from an XLSX or CSV file: checked
//! row by row, then signed and stored in one transaction.

use std::collections::HashMap;
use tongban_domain::day::Day;

use serde_json::{Map, Value};
use tracing::instrument;

use super::issuing::{Draft, Holder, sign_and_insert};
use super::{TypeView, store};
use crate::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::licence as rules;
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;

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
    issued_on: Day,
    valid_from: Day,
    valid_to: Option<Day>,
}

/// Columns of the historical licence import (历史证照归集). Face fields are columns named
/// `face.<field name>`.
pub const IMPORT_COLUMNS: &[&str] =
    &["licence_type", "holder_name", "holder_code", "number", "issued_on", "valid_from", "valid_to"];

/// Imports historical licences from an XLSX (or CSV) file: every row is checked first; one bad
/// row and nothing is imported, with a row-by-row report. Good files are signed and stored in
/// one transaction. Holders are linked to their accounts by ID number or credit code.
#[instrument(skip_all)]
pub async fn import(core: &Core, actor: &Actor, bytes: &[u8]) -> Result<Imported, AppError> {
    authorize(core, actor, Permission::LicenceManage, "licence_import").await?;
    let rows = crate::catalogue_io::read_table(bytes, &["licence_type", "holder_name", "holder_code"])
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
        let date = |k: &str, label: &str, problems: &mut Vec<String>| -> Option<Day> {
            let v = get(k);
            if v.is_empty() {
                return None;
            }
            let d = Day::parse(&v);
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
        store::set_status(
            &mut tx,
            id,
            rules::LicenceStatus::Valid,
            rules::LicenceStatus::Expired,
            "有效期届满（归集时已过期）",
            now,
        )
        .await?;
    }
    let detail = format!("归集历史证照 {} 张", drafts.len());
    audit_in(&mut tx, &core.clock, actor, "licence.import", "licences", Outcome::Success, &detail).await?;
    tx.commit().await?;
    Ok(Imported::Done { licences: drafts.len() })
}

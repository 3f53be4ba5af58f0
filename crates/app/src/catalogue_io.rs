//! Bulk import (XLSX or CSV) and export (XLSX) of the catalogue. An import with any bad row
//! changes nothing: the whole file is checked first and a row-by-row report comes back.

use std::collections::HashMap;

use super::{Actor, AppError, Core, authorize};
use tongban_domain::item::{CaseKind, Fee, ItemDefinition, Sites, Subject};
use tongban_domain::permission::Permission;
use tongban_store::{catalogue, org};

/// The columns of the exchange format, in order. Lists are one entry per line within a cell;
/// materials, form and FAQ are JSON in the same shape as the items API.
pub const COLUMNS: &[&str] = &[
    "code",
    "name",
    "item_type",
    "department",
    "subjects",
    "legal_days",
    "promised_days",
    "case_kind",
    "workflow",
    "visits_required",
    "fully_online",
    "citywide",
    "sites",
    "fee_fen",
    "fee_basis",
    "legal_basis",
    "conditions",
    "process",
    "consult_phone",
    "complaint_phone",
    "keywords",
    "faq_json",
    "materials_json",
    "form_json",
    "licence_type",
];

/// One bad row: its number in the file (the header is row 1), its code, and every problem.
#[derive(Debug, Clone)]
pub struct RowReport {
    pub row: usize,
    pub code: String,
    pub problems: Vec<String>,
}

/// The result of an import.
#[derive(Debug)]
pub enum Imported {
    Done { items: usize },
    Rejected { rows: usize, report: Vec<RowReport> },
}

/// Reads the rows of an uploaded catalogue file: XLSX (by content) or CSV (UTF-8, with header).
pub fn read_rows(bytes: &[u8]) -> Result<Vec<HashMap<String, String>>, String> {
    read_table(bytes, &["code", "name", "department"])
}

/// Reads the rows of an uploaded XLSX (by content) or CSV (UTF-8) file whose first row names
/// the columns, `required` among them; each row maps column names to cell text.
pub fn read_table(bytes: &[u8], required: &[&str]) -> Result<Vec<HashMap<String, String>>, String> {
    let table: Vec<Vec<String>> = if bytes.starts_with(b"PK\x03\x04") {
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| format!("无法读取 XLSX 文件：{e}"))?;
        let range =
            book.worksheet_range_at(0).ok_or("XLSX 文件中没有工作表")?.map_err(|e| format!("无法读取工作表：{e}"))?;
        range.rows().map(|r| r.iter().map(cell_text).collect()).collect()
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| "CSV 文件须为 UTF-8 编码".to_owned())?;
        let text = text.trim_start_matches('\u{feff}');
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_owned).collect()).map_err(|e| format!("CSV 格式错误：{e}")))
            .collect::<Result<_, _>>()?
    };
    let mut rows = table.into_iter();
    let header: Vec<String> = rows.next().ok_or("文件是空的")?.into_iter().map(|h| h.trim().to_owned()).collect();
    let missing: Vec<&str> = required.iter().copied().filter(|c| !header.iter().any(|h| h == c)).collect();
    if !missing.is_empty() {
        return Err(format!("表头缺少列：{}（第一行应为列名，见导出文件）", missing.join("、")));
    }
    Ok(rows
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .map(|r| header.iter().cloned().zip(r.into_iter().chain(std::iter::repeat(String::new()))).collect())
        .collect())
}

fn cell_text(d: &calamine::Data) -> String {
    match d {
        calamine::Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn flag(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "true" | "是" | "TRUE" | "True" => Ok(true),
        "0" | "false" | "否" | "" | "FALSE" | "False" => Ok(false),
        other => Err(format!("“{other}”应为 是/否")),
    }
}

/// Builds a definition from one row, or lists what is wrong with it.
pub fn row_to_definition(row: &HashMap<String, String>) -> Result<ItemDefinition, Vec<String>> {
    let mut p = Vec::new();
    let get = |k: &str| row.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    let number = |k: &str, p: &mut Vec<String>| -> u32 {
        get(k).parse::<u32>().unwrap_or_else(|_| {
            p.push(format!("{k} 应为非负整数"));
            0
        })
    };
    let legal_days = number("legal_days", &mut p);
    let promised_days = number("promised_days", &mut p);
    let visits_required = number("visits_required", &mut p);
    let subjects: Vec<Subject> = get("subjects")
        .split([',', '，', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| match s {
            "person" | "个人" | "自然人" => Some(Subject::Person),
            "organisation" | "法人" | "企业" => Some(Subject::Organisation),
            other => {
                p.push(format!("服务对象“{other}”应为 person 或 organisation"));
                None
            }
        })
        .collect();
    let case_kind = match get("case_kind").as_str() {
        "immediate" | "即办件" => CaseKind::Immediate,
        "promised" | "承诺件" | "" => CaseKind::Promised,
        other => {
            p.push(format!("办件类型“{other}”应为 immediate 或 promised"));
            CaseKind::Promised
        }
    };
    let mut yes_no = |k: &str| {
        flag(&get(k)).unwrap_or_else(|m| {
            p.push(format!("{k}：{m}"));
            false
        })
    };
    let fully_online = yes_no("fully_online");
    let citywide = yes_no("citywide");
    let sites = match get("sites").as_str() {
        "" | "all" => Sites::All("all".into()),
        list => Sites::Listed(
            list.split([',', '，', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        ),
    };
    let fee = match get("fee_fen").as_str() {
        "" | "0" => None,
        n => match n.parse::<i64>() {
            Ok(amount_fen) if amount_fen > 0 => Some(Fee { amount_fen, basis: get("fee_basis") }),
            _ => {
                p.push("fee_fen 应为以分为单位的正整数".into());
                None
            }
        },
    };
    let mut json = |k: &str| -> serde_json::Value {
        let raw = get(k);
        if raw.is_empty() {
            return serde_json::Value::Array(vec![]);
        }
        serde_json::from_str(&raw).unwrap_or_else(|e| {
            p.push(format!("{k} 不是有效的 JSON：{e}"));
            serde_json::Value::Null
        })
    };
    let (faq, materials, form) = (json("faq_json"), json("materials_json"), json("form_json"));
    let faq = serde_json::from_value(faq).unwrap_or_else(|e| {
        p.push(format!("faq_json 格式不正确：{e}"));
        Vec::new()
    });
    let materials = serde_json::from_value(materials).unwrap_or_else(|e| {
        p.push(format!("materials_json 格式不正确：{e}"));
        Vec::new()
    });
    let form = if form.as_array().is_some_and(|a| a.is_empty()) {
        Default::default()
    } else {
        serde_json::from_value(form).unwrap_or_else(|e| {
            p.push(format!("form_json 格式不正确：{e}"));
            Default::default()
        })
    };
    let def = ItemDefinition {
        code: get("code"),
        name: get("name"),
        item_type: get("item_type"),
        department: get("department"),
        subjects,
        legal_days,
        promised_days,
        case_kind,
        visits_required,
        fully_online,
        citywide,
        sites,
        fee,
        legal_basis: lines(&get("legal_basis")),
        conditions: lines(&get("conditions")),
        process: lines(&get("process")),
        consult_phone: get("consult_phone"),
        complaint_phone: get("complaint_phone"),
        faq,
        keywords: lines(&get("keywords")),
        materials,
        form,
        life_events: Vec::new(),
        workflow: Some(get("workflow")).filter(|w| !w.is_empty()),
        licence_type: Some(get("licence_type")).filter(|t| !t.is_empty()),
    };
    p.extend(def.problems().into_iter().map(|e| e.message));
    if p.is_empty() { Ok(def) } else { Err(p) }
}

/// Checks every row; publishes all of them in one transaction only when every row is good.
pub async fn import(core: &Core, actor: &Actor, bytes: &[u8]) -> Result<Imported, AppError> {
    authorize(core, actor, Permission::CatalogEdit, "import").await?;
    let rows = read_rows(bytes)
        .map_err(|m| AppError::Invalid(vec![tongban_domain::FieldError::new("file", "unreadable", m)]))?;
    if rows.is_empty() {
        return Err(AppError::Invalid(vec![tongban_domain::FieldError::new("file", "empty", "文件中没有数据行")]));
    }
    let departments: Vec<String> =
        org::list_departments(&mut *core.db.conn().await?).await?.into_iter().map(|d| d.code).collect();
    let mut report = Vec::new();
    let mut defs = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        let code = row.get("code").cloned().unwrap_or_default();
        let mut problems = match row_to_definition(row) {
            Ok(def) => {
                defs.push(def);
                Vec::new()
            }
            Err(p) => p,
        };
        let department = row.get("department").map(|d| d.trim()).unwrap_or_default();
        if !department.is_empty() && !departments.iter().any(|d| d == department) {
            problems.push(format!("实施部门代码 {department} 不存在"));
        }
        if let Some(first) = seen.insert(code.clone(), line) {
            problems.push(format!("事项编码与第 {first} 行重复"));
        }
        if !problems.is_empty() {
            report.push(RowReport { row: line, code, problems });
        }
    }
    if !report.is_empty() {
        return Ok(Imported::Rejected { rows: rows.len(), report });
    }
    let mut tx = core.db.begin().await?;
    for def in &defs {
        super::catalogue::publish_in(&mut tx, &core.clock, actor, def).await?;
    }
    catalogue::bump_revision(&mut tx).await?;
    tx.commit().await?;
    Ok(Imported::Done { items: defs.len() })
}

/// The whole catalogue (latest version of every item) as an XLSX workbook in the import format.
pub async fn export_xlsx(core: &Core, actor: &Actor) -> Result<Vec<u8>, AppError> {
    authorize(core, actor, Permission::CatalogEdit, "export").await?;
    let items = catalogue::all_with_latest(&mut *core.db.conn().await?).await?;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let xl = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.into());
    for (c, name) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *name).map_err(xl)?;
    }
    for (r, (_, json)) in items.iter().enumerate() {
        let def: ItemDefinition = serde_json::from_str(json).map_err(|e| AppError::Internal(e.into()))?;
        for (c, value) in definition_cells(&def, false).iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, value).map_err(xl)?;
        }
    }
    book.save_to_buffer().map_err(xl)
}

/// A definition as exchange cells, in `COLUMNS` order; `pretty` indents the JSON cells (for
/// editing in a form) instead of keeping them compact (for a spreadsheet).
pub fn definition_cells(d: &ItemDefinition, pretty: bool) -> Vec<String> {
    let json = |v: serde_json::Value| {
        if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap_or_default()
    };
    let subjects: Vec<&str> = d
        .subjects
        .iter()
        .map(|s| match s {
            Subject::Person => "person",
            Subject::Organisation => "organisation",
        })
        .collect();
    let sites = match &d.sites {
        Sites::All(_) => "all".to_owned(),
        Sites::Listed(l) => l.join(","),
    };
    let yes = |b: bool| if b { "是" } else { "否" }.to_owned();
    vec![
        d.code.clone(),
        d.name.clone(),
        d.item_type.clone(),
        d.department.clone(),
        subjects.join(","),
        d.legal_days.to_string(),
        d.promised_days.to_string(),
        if d.case_kind == CaseKind::Immediate { "immediate" } else { "promised" }.to_owned(),
        d.workflow.clone().unwrap_or_default(),
        d.visits_required.to_string(),
        yes(d.fully_online),
        yes(d.citywide),
        sites,
        d.fee.as_ref().map(|f| f.amount_fen.to_string()).unwrap_or_default(),
        d.fee.as_ref().map(|f| f.basis.clone()).unwrap_or_default(),
        d.legal_basis.join("\n"),
        d.conditions.join("\n"),
        d.process.join("\n"),
        d.consult_phone.clone(),
        d.complaint_phone.clone(),
        d.keywords.join("\n"),
        json(serde_json::to_value(&d.faq).unwrap_or_default()),
        json(serde_json::to_value(&d.materials).unwrap_or_default()),
        json(serde_json::to_value(&d.form).unwrap_or_default()),
        d.licence_type.clone().unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_row_round_trips_and_bad_rows_list_every_problem() {
        let csv = "code,name,item_type,department,subjects,legal_days,promised_days,case_kind,visits_required,fully_online,citywide\n\
                   T-1,测试事项,公共服务,SCJGJ,person,5,3,promised,0,是,否\n\
                   T-2,,不存在的类型,SCJGJ,alien,x,3,promised,1,是,否\n";
        let rows = read_rows(csv.as_bytes()).unwrap_or_default();
        assert_eq!(rows.len(), 2);
        let def = row_to_definition(&rows[0]).ok();
        assert_eq!(def.as_ref().map(|d| d.promised_days), Some(3));
        let problems = row_to_definition(&rows[1]).err().unwrap_or_default();
        assert!(problems.len() >= 4, "{problems:?}");
        assert!(read_rows(b"name\nx\n").is_err(), "missing columns are named");
    }
}

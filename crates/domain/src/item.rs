//! Service items (政务服务事项) as the national catalogue (实施清单) describes them: the guide's
//! facts, the materials (申请材料) and the application form schema. An item definition is one
//! version's content; the store keeps every published version.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FieldError;
use super::identity::{CreditCode, IdNumber, Phone};

pub const ITEM_TYPES: &[&str] = &["行政许可", "行政确认", "行政给付", "行政裁决", "其他行政权力", "公共服务"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Person,
    Organisation,
}

impl Subject {
    pub fn label(self) -> &'static str {
        match self {
            Subject::Person => "个人",
            Subject::Organisation => "法人",
        }
    }
}

/// Where an item is in the catalogue: a draft until first published; suspended (暂停办理) items
/// keep their guide but take no applications; cancelled (取消) items are kept for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Draft,
    Published,
    Suspended,
    Cancelled,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 4] =
        [ItemStatus::Draft, ItemStatus::Published, ItemStatus::Suspended, ItemStatus::Cancelled];

    pub fn name(self) -> &'static str {
        match self {
            ItemStatus::Draft => "draft",
            ItemStatus::Published => "published",
            ItemStatus::Suspended => "suspended",
            ItemStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemStatus::Draft => "草稿",
            ItemStatus::Published => "已发布",
            ItemStatus::Suspended => "暂停办理",
            ItemStatus::Cancelled => "已取消",
        }
    }

    /// Whether the public sees the item's guide (a suspended item says why it takes no
    /// applications).
    pub fn is_listed(self) -> bool {
        matches!(self, ItemStatus::Published | ItemStatus::Suspended)
    }
}

crate::impl_code!(ItemStatus, "事项状态");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// 即办件: decided on the spot.
    Immediate,
    /// 承诺件: decided within the promised days.
    Promised,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fee {
    pub amount_fen: i64,
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Faq {
    pub q: String,
    pub a: String,
}

/// Sites that handle an item: every hall, or the listed site codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Sites {
    /// The string "all".
    All(String),
    Listed(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaterialForm {
    Original,
    Copy,
    Electronic,
}

impl MaterialForm {
    pub fn label(self) -> &'static str {
        match self {
            MaterialForm::Original => "原件",
            MaterialForm::Copy => "复印件",
            MaterialForm::Electronic => "电子材料",
        }
    }
}

/// 申请材料.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Material {
    pub code: String,
    pub name: String,
    pub required: bool,
    pub form: MaterialForm,
    pub count: u32,
    #[serde(default)]
    pub notes: String,
    /// The licence type whose electronic licence may replace this material.
    #[serde(default)]
    pub licence_type: Option<String>,
    /// Accepted MIME types, checked against the file's content.
    pub accept: Vec<String>,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Textarea,
    Number,
    Date,
    Select,
    Checkbox,
    IdNumber,
    CreditCode,
    Phone,
    Email,
    Address,
    Table,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Column {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShowIf {
    pub field: String,
    pub equals: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    #[serde(default)]
    pub hint: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormSchema {
    pub fields: Vec<Field>,
}

/// The content of one version of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemDefinition {
    pub code: String,
    pub name: String,
    pub item_type: String,
    /// Department code (实施主体).
    pub department: String,
    pub subjects: Vec<Subject>,
    pub legal_days: u32,
    pub promised_days: u32,
    pub case_kind: CaseKind,
    pub visits_required: u32,
    pub fully_online: bool,
    pub citywide: bool,
    pub sites: Sites,
    pub fee: Option<Fee>,
    #[serde(default)]
    pub legal_basis: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<String>,
    #[serde(default)]
    pub process: Vec<String>,
    #[serde(default)]
    pub consult_phone: String,
    #[serde(default)]
    pub complaint_phone: String,
    #[serde(default)]
    pub faq: Vec<Faq>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub materials: Vec<Material>,
    pub form: FormSchema,
    #[serde(default)]
    pub life_events: Vec<String>,
    /// The workflow its cases follow; by default the one of its case kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// The licence type (证照目录编码) an approved case of this item produces, if any.
    #[serde(default)]
    pub licence_type: Option<String>,
}

const MIME_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png"];

impl ItemDefinition {
    /// The code of the workflow its cases follow.
    pub fn workflow_code(&self) -> &str {
        match (&self.workflow, self.case_kind) {
            (Some(w), _) if !w.is_empty() => w,
            (_, CaseKind::Promised) => "promised",
            (_, CaseKind::Immediate) => "immediate",
        }
    }

    /// Every problem with the definition itself (for administrators' edits and imports).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut p = Vec::new();
        let mut add = |f: &str, m: String| p.push(FieldError::new(f, "invalid", m));
        if self.code.trim().is_empty()
            || self.code.len() > 64
            || !self.code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            add("code", "事项编码只能包含字母、数字和连字符，最长 64 位".into());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            add("name", "请填写事项名称（不超过 100 字）".into());
        }
        if !ITEM_TYPES.contains(&self.item_type.as_str()) {
            add("item_type", format!("事项类型应为：{}", ITEM_TYPES.join("、")));
        }
        if self.subjects.is_empty() {
            add("subjects", "请至少选择一类服务对象".into());
        }
        if self.promised_days > self.legal_days {
            add("promised_days", "承诺时限不能超过法定时限".into());
        }
        if self.case_kind == CaseKind::Immediate && self.promised_days != 0 {
            add("promised_days", "即办件的承诺时限应为 0".into());
        }
        if self.case_kind == CaseKind::Promised && self.promised_days == 0 {
            add("promised_days", "承诺件须有承诺时限".into());
        }
        if self.visits_required > 2 {
            add("visits_required", "到现场次数应为 0–2".into());
        }
        if self.fully_online && self.visits_required != 0 {
            add("visits_required", "全程网办事项的到现场次数应为 0".into());
        }
        if let Sites::All(s) = &self.sites
            && s != "all"
        {
            add("sites", "办理站点应为 all 或站点代码列表".into());
        }
        let mut codes = Vec::new();
        for m in &self.materials {
            if m.code.trim().is_empty() || codes.contains(&m.code) {
                add("materials", format!("材料编码「{}」为空或重复", m.code));
            }
            codes.push(m.code.clone());
            if m.accept.is_empty() || m.accept.iter().any(|t| !MIME_TYPES.contains(&t.as_str())) {
                add("materials", format!("材料「{}」的文件类型只能是 PDF、JPEG、PNG", m.name));
            }
            if m.max_bytes == 0 || m.max_bytes > 50 * 1024 * 1024 {
                add("materials", format!("材料「{}」的大小上限应在 1 字节到 50 MB 之间", m.name));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for f in &self.form.fields {
            if f.name.is_empty() || names.contains(&f.name.as_str()) {
                add("form", format!("表单字段名「{}」为空或重复", f.name));
            }
            names.push(&f.name);
            if f.kind == FieldType::Select && f.options.is_empty() {
                add("form", format!("下拉字段「{}」须有选项", f.label));
            }
            if f.kind == FieldType::Table && f.columns.is_empty() {
                add("form", format!("表格字段「{}」须有列", f.label));
            }
        }
        for f in &self.form.fields {
            if let Some(cond) = &f.show_if
                && !self.form.fields.iter().any(|o| o.name == cond.field && o.name != f.name)
            {
                add("form", format!("字段「{}」的显示条件引用了不存在的字段 {}", f.label, cond.field));
            }
        }
        p
    }

    pub fn case_kind_label(&self) -> &'static str {
        match self.case_kind {
            CaseKind::Immediate => "即办件",
            CaseKind::Promised => "承诺件",
        }
    }
}

impl FormSchema {
    /// Whether a field applies given the other answers (its show-if condition holds).
    pub fn applies(&self, field: &Field, values: &Map<String, Value>) -> bool {
        match &field.show_if {
            None => true,
            Some(c) => values.get(&c.field).map(value_text).as_deref() == Some(c.equals.as_str()),
        }
    }

    /// Validates answers against the schema; returns the normalised answers (only fields that
    /// apply, identifiers canonicalised) or every problem at once.
    pub fn validate(&self, values: &Map<String, Value>) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut out = Map::new();
        let mut problems = Vec::new();
        for field in &self.fields {
            if !self.applies(field, values) {
                continue;
            }
            let raw = values.get(&field.name).cloned().unwrap_or(Value::Null);
            match check_value(field.kind, &field.label, &field.options, &field.columns, &raw) {
                Ok(None) if field.required => {
                    problems.push(FieldError::new(&field.name, "required", format!("请填写{}", field.label)));
                }
                Ok(None) => {}
                Ok(Some(v)) => {
                    out.insert(field.name.clone(), v);
                }
                Err(message) => problems.push(FieldError::new(&field.name, "invalid", message)),
            }
        }
        if problems.is_empty() { Ok(out) } else { Err(problems) }
    }
}

pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Checks one value; `Ok(None)` means empty.
fn check_value(
    kind: FieldType,
    label: &str,
    options: &[String],
    columns: &[Column],
    raw: &Value,
) -> Result<Option<Value>, String> {
    if kind == FieldType::Table {
        let rows = match raw {
            Value::Null => return Ok(None),
            Value::Array(rows) => rows,
            _ => return Err(format!("{label}格式不正确")),
        };
        let mut out = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let Value::Object(row) = row else {
                return Err(format!("{label}第 {} 行格式不正确", i + 1));
            };
            let mut clean = Map::new();
            for c in columns {
                let v = row.get(&c.name).cloned().unwrap_or(Value::Null);
                match check_value(c.kind, &c.label, &[], &[], &v) {
                    Ok(Some(v)) => {
                        clean.insert(c.name.clone(), v);
                    }
                    Ok(None) => {}
                    Err(m) => return Err(format!("{label}第 {} 行：{m}", i + 1)),
                }
            }
            if !clean.is_empty() {
                out.push(Value::Object(clean));
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    if kind == FieldType::Checkbox {
        return match raw {
            Value::Bool(true) => Ok(Some(Value::Bool(true))),
            Value::String(s) if matches!(s.as_str(), "true" | "on" | "1" | "yes") => Ok(Some(Value::Bool(true))),
            _ => Ok(None),
        };
    }
    let text = value_text(raw);
    if text.is_empty() {
        return Ok(None);
    }
    let limit = if kind == FieldType::Textarea { 2000 } else { 200 };
    if text.chars().count() > limit {
        return Err(format!("{label}不能超过 {limit} 字"));
    }
    let v = match kind {
        FieldType::Number => {
            let n: f64 = text.parse().map_err(|_| format!("{label}应为数字"))?;
            if !n.is_finite() {
                return Err(format!("{label}应为数字"));
            }
            serde_json::Number::from_f64(n).map(Value::Number).ok_or_else(|| format!("{label}应为数字"))?
        }
        FieldType::Date => {
            let day = crate::day::Day::parse_loose(&text).ok_or_else(|| format!("{label}格式应为 2026-01-31"))?;
            Value::String(day.to_string())
        }
        FieldType::Select => {
            if !options.contains(&text) {
                return Err(format!("请从选项中选择{label}"));
            }
            Value::String(text)
        }
        FieldType::IdNumber => {
            Value::String(IdNumber::parse(&text).map_err(|e| format!("{label}{e}"))?.as_str().to_owned())
        }
        FieldType::CreditCode => {
            Value::String(CreditCode::parse(&text).map_err(|e| format!("{label}{e}"))?.as_str().to_owned())
        }
        FieldType::Phone => Value::String(Phone::parse(&text).map_err(|e| format!("{label}{e}"))?.as_str().to_owned()),
        FieldType::Email => {
            let ok = text.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'));
            if !ok {
                return Err(format!("{label}格式不正确，例如 name@example.com"));
            }
            Value::String(text)
        }
        _ => Value::String(text),
    };
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> FormSchema {
        serde_json::from_value(json!({"fields": [
            {"name": "applicant", "label": "申请人姓名", "type": "text", "required": true},
            {"name": "id_number", "label": "身份证号", "type": "id_number", "required": true},
            {"name": "married", "label": "婚姻状况", "type": "select", "required": true, "options": ["未婚", "已婚"]},
            {"name": "spouse", "label": "配偶姓名", "type": "text", "required": true, "show_if": {"field": "married", "equals": "已婚"}},
            {"name": "members", "label": "家庭成员", "type": "table", "required": false,
             "columns": [{"name": "name", "label": "姓名", "type": "text"}, {"name": "phone", "label": "电话", "type": "phone"}]},
            {"name": "agree", "label": "承诺", "type": "checkbox", "required": true}
        ]}))
        .unwrap_or_default()
    }

    #[test]
    fn reports_every_problem_at_once() {
        let values = json!({"id_number": "110105194912310021", "married": "离异"});
        let problems = schema().validate(values.as_object().unwrap_or(&Map::new())).err().unwrap_or_default();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["applicant", "id_number", "married", "agree"]);
    }

    #[test]
    fn conditional_fields_apply_only_when_their_condition_holds() {
        let single = json!({"applicant": "张三", "id_number": "11010519491231002x", "married": "未婚", "agree": "on", "spouse": "ignored"});
        let out = schema().validate(single.as_object().unwrap_or(&Map::new())).unwrap_or_default();
        assert_eq!(out.get("id_number"), Some(&json!("11010519491231002X")));
        assert!(!out.contains_key("spouse"));
        let married = json!({"applicant": "张三", "id_number": "11010519491231002X", "married": "已婚", "agree": true});
        let problems = schema().validate(married.as_object().unwrap_or(&Map::new())).err().unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "spouse");
    }

    #[test]
    fn table_cells_are_checked() {
        let values = json!({"applicant": "张三", "id_number": "11010519491231002X", "married": "未婚", "agree": true,
            "members": [{"name": "李四", "phone": "12"}]});
        let problems = schema().validate(values.as_object().unwrap_or(&Map::new())).err().unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("第 1 行"));
    }
}

//! Masking of personal data for screens, API responses, exports and logs.

use std::fmt;

use serde_json::{Map, Value};

use super::identity::{IdNumber, Phone};
use super::item::{FieldType, FormSchema};

// Personal data never reaches logs in full, not even through `{:?}`: the identifiers' `Debug`
// is masked here, beside the masking rules, so that `identity` needs nothing from this module.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", id_number(self.as_str()))
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", phone(self.as_str()))
    }
}

/// `110105********002X`-style: keeps the first 6 (region) and last 4 characters.
pub fn id_number(s: &str) -> String {
    keep_ends(s, 6, 4)
}

/// `138****5678`.
pub fn phone(s: &str) -> String {
    keep_ends(s, 3, 4)
}

/// `张*` / `欧阳**`: keeps the family name (first character).
pub fn name(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// Masks a form's answers for display: ID numbers and phones (also inside table rows) keep only
/// their ends. Staff see the full values only through the audited 查看完整信息 action.
pub fn form_values(form: &FormSchema, values: &Map<String, Value>) -> Map<String, Value> {
    let mut out = values.clone();
    for field in &form.fields {
        match (field.kind, out.get_mut(&field.name)) {
            (kind, Some(Value::String(s))) if sensitive(kind) => *s = by_kind(kind, s),
            (FieldType::Table, Some(Value::Array(rows))) => {
                for row in rows.iter_mut().filter_map(Value::as_object_mut) {
                    for column in field.columns.iter().filter(|c| sensitive(c.kind)) {
                        if let Some(Value::String(s)) = row.get_mut(&column.name) {
                            *s = by_kind(column.kind, s);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Whatever the form says, a value shaped like an ID number or a mobile number is masked too
    // (a draft has no snapshot of its form; a text field may hold a number).
    for value in out.values_mut() {
        mask_shapes(value);
    }
    out
}

/// Masks a text when it is shaped like an ID number or a mobile number; other text is unchanged.
pub fn text(s: &str) -> String {
    let mut v = Value::String(s.to_owned());
    mask_shapes(&mut v);
    match v {
        Value::String(s) => s,
        _ => String::new(),
    }
}

/// Masks every ID number and mobile number inside free text (for logs): runs of digits (an ID
/// number may end in X) that parse as one.
pub fn in_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], 'X' | 'x')) {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        out.push_str(&text(&run));
    }
    out
}

fn mask_shapes(v: &mut Value) {
    match v {
        Value::String(s) => {
            if IdNumber::parse(s).is_ok() {
                *s = id_number(s);
            } else if Phone::parse(s).is_ok() {
                *s = phone(s);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_shapes),
        Value::Object(map) => map.values_mut().for_each(mask_shapes),
        _ => {}
    }
}

/// True for the kinds of answer that are masked by default.
pub fn sensitive(kind: FieldType) -> bool {
    matches!(kind, FieldType::IdNumber | FieldType::Phone)
}

fn by_kind(kind: FieldType, s: &str) -> String {
    if kind == FieldType::Phone { phone(s) } else { id_number(s) }
}

fn keep_ends(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let middle = chars.len() - head - tail;
    chars[..head].iter().chain(std::iter::repeat_n(&'*', middle)).chain(&chars[chars.len() - tail..]).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(super::id_number("11010519491231002X"), "110105********002X");
        assert_eq!(super::phone("13812345678"), "138****5678");
        assert_eq!(super::name("张三"), "张*");
        assert_eq!(super::phone("123"), "***");
    }

    #[test]
    fn numbers_inside_free_text_are_masked() {
        assert_eq!(
            super::in_text("请致电13800138001，证件310112198503121235；编号 2026001"),
            "请致电138****8001，证件310112********1235；编号 2026001"
        );
    }

    #[test]
    fn form_answers_are_masked_by_field_type_also_in_table_rows() {
        let form: super::FormSchema = serde_json::from_value(serde_json::json!({"fields": [
            {"name": "id_number", "label": "身份证号", "type": "id_number", "required": true},
            {"name": "phone", "label": "手机", "type": "phone", "required": true},
            {"name": "shop", "label": "名称", "type": "text", "required": true},
            {"name": "members", "label": "成员", "type": "table", "required": false, "columns": [
                {"name": "id", "label": "身份证号", "type": "id_number"},
                {"name": "tel", "label": "电话", "type": "phone"}]}
        ]}))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let values = serde_json::json!({"id_number": "310112198503121235", "phone": "13800138001", "shop": "小店",
            "members": [{"id": "31011219920708456X", "tel": "13900139002"}], "note": "13700137003"});
        let masked = super::form_values(&form, values.as_object().unwrap_or_else(|| unreachable!()));
        assert_eq!(
            serde_json::Value::Object(masked),
            serde_json::json!({"id_number": "310112********1235", "phone": "138****8001", "shop": "小店",
                "members": [{"id": "310112********456X", "tel": "139****9002"}], "note": "137****7003"})
        );
    }
}

// Over 600 lines on purpose: one cohesive rule set (identifier, statuses, validity, canonical form) and its tests.
//! Electronic licences (电子证照): the identifier of GB/T 36904, the metadata of GB/T 36903, the
//! lifecycle statuses, the validity rule of a licence type, and the canonical form that is
//! signed. Pure rules, no I/O.

use std::fmt;

use crate::day::Day;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The fixed root of every licence identifier (GB/T 36904: 1.2.156.3005.2 is the national
/// electronic licence arc).
pub const IDENTIFIER_ROOT: &str = "1.2.156.3005.2";

/// The alphabet of the check character and of the checked characters: ISO 7064 works on the
/// 36 characters 0–9 and A–Z.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Why an identifier was rejected (shown to people, so in Chinese).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("证照标识格式不正确，应为 1.2.156.3005.2.类型代码.发证机关代码.流水号.版本号.校验位")]
    Format,
    #[error("证照标识的校验位不正确，请核对是否输错")]
    Check,
}

/// A licence identifier (证照标识), GB/T 36904 layout:
///
/// `1.2.156.3005.2.<type code>.<issuer credit code>.<serial>.<version>.<check character>`
///
/// - type code: the licence type's catalogue code (证照类型代码), 1–32 of `0-9A-Z`;
/// - issuer credit code: the issuing authority's unified social credit code, 18 characters;
/// - serial: 1–20 of `0-9A-Z`, random so that identifiers cannot be enumerated;
/// - version: three digits, `001` for the first issue, incremented by each change (变更);
/// - check character: **ISO/IEC 7064 MOD 37,36** (the hybrid system over the 36 characters
///   `0-9A-Z`) computed over the concatenation of every character before it with the dots
///   removed (`12156300 52` + type code + credit code + serial + version). With `p = 36`,
///   each character value `v` (0–9 for digits, 10–35 for A–Z) updates
///   `s = (p + v) mod 36` (0 becomes 36) and `p = 2s mod 37`; the check character is the one
///   whose value is `(37 − p) mod 36`, so that running the same step over it leaves `s = 1`.
///   It catches every single-character substitution.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct LicenceIdentifier {
    type_code: String,
    issuer_code: String,
    serial: String,
    version: u32,
    check: char,
}

fn is_code_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase()
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|a| *a == c).map(|p| p as u32)
}

/// The ISO 7064 MOD 37,36 running value over `chars` (each of `0-9A-Z`).
fn mod37_36(chars: impl Iterator<Item = u8>) -> Option<u32> {
    let mut p = 36u32;
    for c in chars {
        let v = value_of(c)?;
        let mut s = (p + v) % 36;
        if s == 0 {
            s = 36;
        }
        p = (2 * s) % 37;
    }
    Some(p)
}

/// The check character for `body` (the checked characters, dots already removed).
pub fn check_character(body: &str) -> Option<char> {
    let p = mod37_36(body.bytes())?;
    Some(char::from(ALPHABET[((37 - p) % 36) as usize]))
}

impl LicenceIdentifier {
    /// Builds an identifier from its parts, computing the check character.
    pub fn new(type_code: &str, issuer_code: &str, serial: &str, version: u32) -> Result<Self, IdentifierError> {
        let ok = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.chars().all(is_code_char);
        if !ok(type_code, 32) || issuer_code.len() != 18 || !ok(issuer_code, 18) || !ok(serial, 20) {
            return Err(IdentifierError::Format);
        }
        if !(1..=999).contains(&version) {
            return Err(IdentifierError::Format);
        }
        let mut id = Self {
            type_code: type_code.to_owned(),
            issuer_code: issuer_code.to_owned(),
            serial: serial.to_owned(),
            version,
            check: '0',
        };
        id.check = check_character(&id.checked_body()).ok_or(IdentifierError::Format)?;
        Ok(id)
    }

    /// Parses an identifier as printed or scanned (surrounding spaces ignored, letters
    /// upper-cased). A well-formed identifier with a wrong check character is `Check`.
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s = input.trim().to_ascii_uppercase();
        let rest = s.strip_prefix(IDENTIFIER_ROOT).and_then(|r| r.strip_prefix('.')).ok_or(IdentifierError::Format)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(IdentifierError::Format);
        };
        if version.len() != 3 || !version.chars().all(|c| c.is_ascii_digit()) || check.len() != 1 {
            return Err(IdentifierError::Format);
        }
        let version: u32 = version.parse().map_err(|_| IdentifierError::Format)?;
        let id = Self::new(type_code, issuer, serial, version)?;
        let given = check.chars().next().ok_or(IdentifierError::Format)?;
        if !is_code_char(given) {
            return Err(IdentifierError::Format);
        }
        if given != id.check {
            return Err(IdentifierError::Check);
        }
        Ok(id)
    }

    fn checked_body(&self) -> String {
        format!(
            "{}{}{}{}{:03}",
            IDENTIFIER_ROOT.replace('.', ""),
            self.type_code,
            self.issuer_code,
            self.serial,
            self.version
        )
    }

    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    pub fn issuer_code(&self) -> &str {
        &self.issuer_code
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The identifier of the next version (a change, 变更): same serial, version + 1.
    pub fn next_version(&self) -> Result<Self, IdentifierError> {
        Self::new(&self.type_code, &self.issuer_code, &self.serial, self.version + 1)
    }
}

impl std::str::FromStr for LicenceIdentifier {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for LicenceIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{IDENTIFIER_ROOT}.{}.{}.{}.{:03}.{}",
            self.type_code, self.issuer_code, self.serial, self.version, self.check
        )
    }
}

/// A random serial of 12 digits (not sequential: identifiers are public).
pub fn random_serial(rng: &mut impl rand::RngCore) -> String {
    (0..12).map(|_| char::from(b'0' + (rng.next_u32() % 10) as u8)).collect()
}

/// Where a licence is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    Valid,
    Suspended,
    /// 吊销: withdrawn as a sanction.
    Revoked,
    /// 注销: ended at the holder's request or because its subject ceased.
    Cancelled,
    Expired,
    /// Replaced by a newer version (变更).
    Superseded,
}

impl LicenceStatus {
    pub const ALL: [LicenceStatus; 6] = [
        LicenceStatus::Valid,
        LicenceStatus::Suspended,
        LicenceStatus::Revoked,
        LicenceStatus::Cancelled,
        LicenceStatus::Expired,
        LicenceStatus::Superseded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LicenceStatus::Valid => "valid",
            LicenceStatus::Suspended => "suspended",
            LicenceStatus::Revoked => "revoked",
            LicenceStatus::Cancelled => "cancelled",
            LicenceStatus::Expired => "expired",
            LicenceStatus::Superseded => "superseded",
        }
    }

    /// What the public verification page says.
    pub fn label(self) -> &'static str {
        match self {
            LicenceStatus::Valid => "有效",
            LicenceStatus::Suspended => "已暂停",
            LicenceStatus::Revoked => "已吊销",
            LicenceStatus::Cancelled => "已注销",
            LicenceStatus::Expired => "已过期",
            LicenceStatus::Superseded => "已变更（有新版本）",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The one transition rule: which status may follow which. Ended licences (revoked,
    /// cancelled, expired, superseded) stay ended.
    pub fn can_become(self, next: LicenceStatus) -> bool {
        use LicenceStatus::*;
        matches!(
            (self, next),
            (Valid, Suspended | Revoked | Cancelled | Expired | Superseded)
                | (Suspended, Valid | Revoked | Cancelled | Expired)
        )
    }
}

crate::impl_code!(LicenceStatus, "证照状态");

/// How long licences of a type are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Permanent,
    Years(u32),
}

impl Validity {
    /// `permanent` or `years:N` (1–100).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "permanent" => Some(Validity::Permanent),
            other => {
                let n: u32 = other.strip_prefix("years:")?.parse().ok()?;
                (1..=100).contains(&n).then_some(Validity::Years(n))
            }
        }
    }

    pub fn name(self) -> String {
        match self {
            Validity::Permanent => "permanent".into(),
            Validity::Years(n) => format!("years:{n}"),
        }
    }

    pub fn label(self) -> String {
        match self {
            Validity::Permanent => "长期有效".into(),
            Validity::Years(n) => format!("{n} 年"),
        }
    }

    /// The last valid day for a licence valid from `from`: N years later, the day before.
    pub fn until(self, from: Day) -> Option<Day> {
        match self {
            Validity::Permanent => None,
            Validity::Years(n) => {
                let year = from.year().checked_add(i32::try_from(n).ok()?)?;
                let same_day = Day::from_ymd(year, from.month(), from.day_of_month())
                    .or_else(|| Day::from_ymd(year, from.month(), 28))?;
                Some(same_day.minus_days(1))
            }
        }
    }
}

/// The GB/T 36903 metadata that is signed with the face data. Status is not part of it: it
/// changes over a licence's life and is answered by verification instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub identifier: String,
    pub type_code: String,
    pub type_name: String,
    /// 证照编号, as printed on the face.
    pub number: String,
    /// `YYYY-MM-DD`
    pub issued_on: String,
    pub issuer_name: String,
    pub issuer_code: String,
    pub valid_from: String,
    /// `None` for licences valid without limit (长期).
    pub valid_to: Option<String>,
    pub holder_name: String,
    pub holder_code: String,
    /// `id_number` or `credit_code`.
    pub holder_code_type: String,
    /// The service item that produced the licence, if any.
    pub related_item: Option<String>,
    pub version: u32,
}

/// The canonical form that is signed: `{"face":{…},"metadata":{…}}` with every object's keys
/// sorted, UTF-8, no insignificant whitespace.
pub fn canonical_payload(metadata: &Metadata, face: &Map<String, Value>) -> String {
    let metadata = serde_json::to_value(metadata).unwrap_or(Value::Null);
    let doc = serde_json::json!({ "face": Value::Object(face.clone()), "metadata": metadata });
    canonical_json(&doc)
}

/// JSON text with every object's keys sorted (by their UTF-8 bytes) and no whitespace, whatever
/// order the map kept them in.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(k) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// One field on a licence's face (照面), as a licence type's schema lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FaceField {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

/// The face data for a schema: every required field filled, nothing outside the schema; every
/// problem at once.
pub fn check_face(
    schema: &[FaceField],
    face: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<super::FieldError>> {
    let mut problems = Vec::new();
    let mut clean = Map::new();
    for f in schema {
        let text = match face.get(&f.name) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "是" } else { "否" }.to_owned(),
            _ => String::new(),
        };
        if text.is_empty() {
            if f.required {
                problems.push(super::FieldError::new(
                    &format!("face.{}", f.name),
                    "required",
                    format!("请填写照面信息「{}」", f.label),
                ));
            }
            continue;
        }
        if text.chars().count() > 500 {
            problems.push(super::FieldError::new(
                &format!("face.{}", f.name),
                "too_long",
                format!("「{}」不能超过 500 字", f.label),
            ));
        }
        clean.insert(f.name.clone(), Value::String(text));
    }
    if problems.is_empty() { Ok(clean) } else { Err(problems) }
}

/// Masks a holder code for public pages: `3101**********123X` (first 4 and last 4 kept).
pub fn mask_holder_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    chars[..4].iter().chain(std::iter::repeat_n(&'*', chars.len() - 8)).chain(&chars[chars.len() - 4..]).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISSUER: &str = "11310112MB0000013X";

    #[test]
    fn formats_and_parses_the_gb_t_36904_layout() {
        let id = LicenceIdentifier::new("310112SCJGJ001", ISSUER, "000123456789", 1).unwrap();
        let text = id.to_string();
        assert!(text.starts_with("1.2.156.3005.2.310112SCJGJ001.11310112MB0000013X.000123456789.001."), "{text}");
        assert_eq!(LicenceIdentifier::parse(&text), Ok(id.clone()));
        assert_eq!(LicenceIdentifier::parse(&format!("  {}  ", text.to_lowercase())), Ok(id));
    }

    #[test]
    fn the_check_character_is_iso_7064_mod_37_36() {
        // Hand-computed with the recurrence in the doc comment: body "0", p starts at 36,
        // s = 36, p = 72 mod 37 = 35, check value (37 - 35) mod 36 = 2.
        assert_eq!(check_character("0"), Some('2'));
        // Running the recurrence over body + check leaves s = 1, i.e. p = 2.
        for body in ["0", "A1B2", "1215630052310112SCJGJ00111310112MB0000013X000123456789001"] {
            let check = check_character(body).unwrap();
            let p = mod37_36(body.bytes().chain(std::iter::once(check as u8))).unwrap();
            assert_eq!(p, 2, "{body}");
        }
        assert_eq!(check_character("a"), None);
    }

    #[test]
    fn a_wrong_check_character_and_bad_layouts_are_told_apart() {
        let id = LicenceIdentifier::new("DLZ", ISSUER, "42", 3).unwrap().to_string();
        let last = id.chars().last().unwrap();
        let wrong = if last == '0' { '1' } else { '0' };
        let bad = format!("{}{wrong}", &id[..id.len() - 1]);
        assert_eq!(LicenceIdentifier::parse(&bad), Err(IdentifierError::Check));
        for s in [
            "",
            "1.2.156.3005.2",
            "1.2.156.3005.3.DLZ.11310112MB0000013X.42.003.0",
            "1.2.156.3005.2.DLZ.SHORT.42.003.0",
            "1.2.156.3005.2.DLZ.11310112MB0000013X.42.3.0",
            "1.2.156.3005.2.DL-Z.11310112MB0000013X.42.003.0",
            "1.2.156.3005.2.DLZ.11310112MB0000013X.42.003.00",
        ] {
            assert_eq!(LicenceIdentifier::parse(s), Err(IdentifierError::Format), "{s}");
        }
    }

    #[test]
    fn the_next_version_keeps_the_serial() {
        let id = LicenceIdentifier::new("DLZ", ISSUER, "42", 1).unwrap();
        let next = id.next_version().unwrap();
        assert_eq!(next.serial(), "42");
        assert_eq!(next.version(), 2);
        assert!(next.to_string().contains(".002."));
    }

    proptest! {
        #[test]
        fn every_single_character_substitution_is_caught(
            type_code in "[0-9A-Z]{1,16}",
            serial in "[0-9A-Z]{1,20}",
            version in 1u32..999,
            pos in 0usize..200,
            replacement in 0usize..36,
        ) {
            let id = LicenceIdentifier::new(&type_code, ISSUER, &serial, version).unwrap();
            let text = id.to_string();
            prop_assert_eq!(LicenceIdentifier::parse(&text), Ok(id));
            // Substitute one checked character (after the fixed root) by another of the alphabet.
            let bytes = text.as_bytes();
            let candidates: Vec<usize> =
                (IDENTIFIER_ROOT.len() + 1..bytes.len()).filter(|i| bytes[*i] != b'.').collect();
            let i = candidates[pos % candidates.len()];
            let new = ALPHABET[replacement];
            prop_assume!(new != bytes[i]);
            let mut changed = bytes.to_vec();
            changed[i] = new;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert!(LicenceIdentifier::parse(&changed).is_err(), "{} accepted", changed);
        }

        #[test]
        fn canonical_json_is_independent_of_key_order(keys in proptest::collection::vec("[a-z\u{4e00}-\u{4e10}]{1,6}", 1..8)) {
            let mut forward = Map::new();
            for (i, k) in keys.iter().enumerate() {
                forward.insert(k.clone(), Value::from(i as i64));
            }
            let mut backward = Map::new();
            for k in keys.iter().rev() {
                backward.insert(k.clone(), forward[k].clone());
            }
            prop_assert_eq!(canonical_json(&Value::Object(forward)), canonical_json(&Value::Object(backward)));
        }
    }

    #[test]
    fn the_canonical_form_sorts_keys_and_has_no_whitespace() {
        let meta = Metadata {
            identifier: "1.2.156.3005.2.DLZ.11310112MB0000013X.42.001.X".into(),
            type_code: "DLZ".into(),
            type_name: "个体工商户营业执照".into(),
            number: "No.1".into(),
            issued_on: "2026-11-30".into(),
            issuer_name: "区市场监管局".into(),
            issuer_code: ISSUER.into(),
            valid_from: "2026-11-30".into(),
            valid_to: None,
            holder_name: "张三".into(),
            holder_code: "31011219850312123X".into(),
            holder_code_type: "id_number".into(),
            related_item: Some("310112-SCJGJ-001".into()),
            version: 1,
        };
        let mut face = Map::new();
        face.insert("z_last".into(), Value::String("末 尾".into()));
        face.insert("a_first".into(), serde_json::json!({"b": 1, "a": [2, {"d": null, "c": true}]}));
        let text = canonical_payload(&meta, &face);
        assert!(
            text.starts_with(
                r#"{"face":{"a_first":{"a":[2,{"c":true,"d":null}],"b":1},"z_last":"末 尾"},"metadata":{"holder_code":"#
            ),
            "{text}"
        );
        assert!(text.contains(r#""type_name":"个体工商户营业执照""#), "UTF-8, not \\u escapes: {text}");
        assert!(text.contains(r#""valid_to":null"#));
        assert!(!text.contains(": ") && !text.contains(", ") && !text.contains('\n'));
        // Round trip: parsing and re-canonicalising gives the same bytes.
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(canonical_json(&parsed), text);
    }

    #[test]
    fn validity_rules() {
        let d = |s: &str| Day::parse(s).unwrap();
        assert_eq!(Validity::parse("permanent"), Some(Validity::Permanent));
        assert_eq!(Validity::parse("years:5"), Some(Validity::Years(5)));
        assert_eq!(Validity::parse("years:0"), None);
        assert_eq!(Validity::parse("5"), None);
        assert_eq!(Validity::Years(5).until(d("2026-11-30")), Some(d("2031-11-29")));
        assert_eq!(Validity::Years(1).until(d("2028-02-29")), Some(d("2029-02-27")));
        assert_eq!(Validity::Permanent.until(d("2026-11-30")), None);
    }

    #[test]
    fn status_transitions_end_for_good() {
        use LicenceStatus::*;
        assert!(Valid.can_become(Revoked));
        assert!(Suspended.can_become(Valid));
        for ended in [Revoked, Cancelled, Expired, Superseded] {
            for next in LicenceStatus::ALL {
                assert!(!ended.can_become(next), "{ended:?} -> {next:?}");
            }
        }
        for s in LicenceStatus::ALL {
            assert_eq!(LicenceStatus::parse(s.name()), Some(s));
        }
    }

    #[test]
    fn face_data_is_checked_against_the_schema() {
        let schema = vec![
            FaceField { name: "name".into(), label: "名称".into(), required: true },
            FaceField { name: "scope".into(), label: "经营范围".into(), required: false },
        ];
        let mut face = Map::new();
        face.insert("other".into(), Value::String("x".into()));
        let problems = check_face(&schema, &face).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "face.name");
        face.insert("name".into(), Value::String(" 张记小吃 ".into()));
        let clean = check_face(&schema, &face).unwrap();
        assert_eq!(clean.get("name"), Some(&Value::String("张记小吃".into())));
        assert!(!clean.contains_key("other"));
    }

    #[test]
    fn holder_codes_are_masked_for_the_public() {
        assert_eq!(mask_holder_code("31011219850312123X"), "3101**********123X");
        assert_eq!(mask_holder_code("1234"), "****");
    }
}

//! Cases (办件): the public case number and how a result is delivered (送达).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::reference::NUMBER_CHARS;

/// A case number: `BJ` + the submission date + 6 random characters. Never a database id.
pub fn new_number(date: crate::day::Day, rng: &mut impl Rng) -> String {
    let suffix: String = (0..6).map(|_| NUMBER_CHARS[rng.random_range(0..NUMBER_CHARS.len())] as char).collect();
    format!("BJ{}{}", date.compact(), suffix)
}

/// True when `s` has the shape of a case number (cheap check before a lookup).
pub fn looks_like_number(s: &str) -> bool {
    super::reference::CaseNumber::parse(s).is_ok()
}

/// How the result reaches the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Delivery {
    /// 网上下载 (the electronic result, e.g. the licence in the wallet).
    Download,
    /// 窗口自取 at a hall, by its site code.
    Pickup { site: String },
    /// 邮寄 to an address.
    Mail { address: String },
}

impl Delivery {
    pub fn describe(&self, site_name: Option<&str>) -> String {
        match self {
            Delivery::Download => "网上下载".to_owned(),
            Delivery::Pickup { site } => format!("窗口自取：{}", site_name.unwrap_or(site)),
            Delivery::Mail { address } => format!("邮寄：{address}"),
        }
    }
}

/// One material asked for in a one-time notice (一次性告知): which, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeItem {
    pub material_code: String,
    pub name: String,
    pub problem: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_their_shape() {
        let day = crate::day::Day::from_ymd(2026, 11, 30).unwrap_or(crate::day::Day::MIN);
        let n = new_number(day, &mut rand::rng());
        assert!(looks_like_number(&n), "{n}");
        assert!(n.starts_with("BJ20261130"));
        assert!(!looks_like_number("SQ20261130ABCDEF"));
        assert!(!looks_like_number("BJ2026113"));
    }
}

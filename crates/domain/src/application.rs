//! Applications (申请): what a citizen or business submits. Staff work on cases (a later
//! issue); here an application is a draft, submitted, or withdrawn before acceptance.

use rand::Rng;

/// Canonical statuses an application passes through before case handling takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Submitted,
    Withdrawn,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Status::Draft, Status::Submitted, Status::Withdrawn].into_iter().find(|x| x.name() == s)
    }
}

/// The Chinese label of any application status name (later issues add more statuses).
pub fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "草稿（未提交）",
        "submitted" => "已提交，等待受理",
        "withdrawn" => "已撤回",
        "supplement_requested" => "待补正材料",
        "accepted" => "已受理",
        "refused" => "不予受理",
        "suspended" => "中止",
        "approved" => "已办结（准予）",
        "denied" => "已办结（不予）",
        "delivered" => "已送达",
        "examined" => "审查通过，待决定",
        "processing" => "各部门办理中",
        "concluded" => "已全部办结",
        _ => "处理中",
    }
}

/// The Chinese label of a timeline event kind.
pub fn event_label(kind: &str) -> &'static str {
    match kind {
        "created" => "保存草稿",
        "submitted" => "提交申请",
        "withdrawn" | "case.withdraw" => "撤回申请",
        "case.accept" => "已受理",
        "case.refuse" => "不予受理",
        "case.request_supplement" => "一次性告知：请补正材料",
        "case.resubmit" => "已补正材料",
        "case.examine" => "审查通过",
        "case.suspend" => "中止办理",
        "case.resume" => "恢复办理",
        "case.extend" => "延期办理",
        "case.approve" => "准予许可，已办结",
        "case.deny" => "不予许可，已办结",
        "case.deliver" => "结果已送达",
        _ => "办理进展",
    }
}

/// Whether the applicant may withdraw now: only before acceptance.
pub fn can_withdraw(status: &str) -> bool {
    status == Status::Submitted.name() || status == "supplement_requested"
}

use super::reference::NUMBER_CHARS;

/// A public application number: `SQ` + the date + 6 random characters (no 0/O/1/I, easy to
/// read out over the phone). Never a database id, and not guessable from another number.
pub fn new_number(date: crate::day::Day, rng: &mut impl Rng) -> String {
    let suffix: String = (0..6).map(|_| NUMBER_CHARS[rng.random_range(0..NUMBER_CHARS.len())] as char).collect();
    format!("SQ{}{}", date.compact(), suffix)
}

/// True when `s` has the shape of an application number (cheap check before a lookup).
pub fn looks_like_number(s: &str) -> bool {
    super::reference::ApplicationNumber::parse(s).is_ok()
}

/// The content type of an uploaded file, from its first bytes (never from its name).
pub fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// A file name safe to store and show: no path, no control characters, at most 100 characters.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'' | '`')).take(100).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { "未命名文件".to_owned() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_the_documented_shape() {
        let mut rng = rand::rng();
        let date = crate::day::Day::from_ymd(2026, 11, 26).unwrap_or(crate::day::Day::MIN);
        for _ in 0..100 {
            let n = new_number(date, &mut rng);
            assert!(looks_like_number(&n), "{n}");
            assert!(n.starts_with("SQ20261126"));
        }
        assert!(!looks_like_number("SQ20261126ABCDE0"));
        assert!(!looks_like_number("1"));
    }

    #[test]
    fn content_is_sniffed_not_named() {
        assert_eq!(sniff_content_type(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff_content_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_content_type(b"MZ\x90\x00 pretending.pdf"), None);
    }

    #[test]
    fn hostile_file_names_are_tamed() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\x\\身份证.jpg"), "身份证.jpg");
        assert_eq!(clean_file_name("<script>alert(1)</script>.pdf"), "script.pdf");
        assert_eq!(clean_file_name(".."), "未命名文件");
        assert_eq!(clean_file_name("a\u{0}b\nc.png"), "abc.png");
    }
}

//! The password policy (等保 2.0 level 3, identification and authentication): length, three of
//! four character classes, not a common password, not the username. (The last five passwords
//! are refused too; that needs the stored hashes, so `app::auth` checks it.)
//!
//! The common passwords are `seed/common-passwords.txt`, shipped inside the binary: the 10,000
//! most frequent passwords of the `passwords` list of zxcvbn (MIT; counted from Mark Burnett's
//! 10 million passwords), plus Chinese favourites (woaini1314, 5201314, qq123456 …) and generic
//! account words (admin, root, test …). A password is refused when, compared without case, it
//! is on the list — as typed, without its trailing symbols, or without its leading and trailing
//! digits and symbols, each also with common character swaps undone (`@`→a, `0`→o, `$`→s …);
//! and when what is left between leading and trailing digits and symbols is under four
//! characters. So `Password123`, `P@ssw0rd`, `Admin@123` and `Qwer1234!` are all refused.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Shortest password accepted: 等保 2.0 level 3 practice, as issue 12 states it (≥ 8).
pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;
/// How many of the latest passwords of an account a new one may not repeat.
pub const HISTORY: usize = 5;

const COMMON: &str = include_str!("../../../seed/common-passwords.txt");

/// Checks a new password and lists every rule it breaks, in Chinese.
pub fn policy_violations(username: &str, password: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    let length = password.chars().count();
    if length < MIN_LENGTH {
        problems.push("密码至少 8 位");
    }
    if length > MAX_LENGTH {
        problems.push("密码不能超过 128 位");
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        problems.push("密码须包含大写字母、小写字母、数字、符号中的至少 3 类");
    }
    let username = username.trim();
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        problems.push("密码不能包含用户名");
    }
    if is_common(password) {
        problems.push("密码过于常见（如 Password123、Admin@123 一类），容易被猜中，请换一个");
    }
    problems
}

/// True when the password is, or is a thin variant of, a commonly used password.
pub fn is_common(password: &str) -> bool {
    let list = common_set();
    let lower = password.to_lowercase();
    let symbol = |c: char| !c.is_alphanumeric();
    let digit_or_symbol = |c: char| !c.is_alphabetic();
    let core = lower.trim_start_matches(digit_or_symbol).trim_end_matches(digit_or_symbol);
    // Three letters or fewer wrapped in digits and symbols (`Abc@12345678`) is a pattern, not a
    // password.
    if core.chars().count() < 4 {
        return true;
    }
    let forms = [lower.as_str(), lower.trim_end_matches(symbol), lower.trim_end_matches(digit_or_symbol), core];
    forms.iter().filter(|f| !f.is_empty()).any(|f| list.contains(*f) || list.contains(&unleet(f)))
}

/// Undoes the usual look-alike swaps (`p@ssw0rd` → `password`).
fn unleet(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '$' | '5' => 's',
            '7' => 't',
            '8' => 'b',
            '9' => 'g',
            '|' => 'l',
            other => other,
        })
        .collect()
}

fn common_set() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = HashSet::new();
        for word in COMMON.lines().map(str::trim).filter(|w| !w.is_empty()) {
            let word = word.to_lowercase();
            set.insert(unleet(&word));
            set.insert(word);
        }
        set
    })
}

#[cfg(test)]
mod tests {
    use super::{is_common, policy_violations};

    #[test]
    fn accepts_a_strong_password_and_the_demo_password() {
        assert!(policy_violations("window01", "Tongban@2026").is_empty());
        assert!(policy_violations("citizen01", "Minhang#Reg2026").is_empty());
        assert!(policy_violations("abc_9", "Kq9$mZ2!vT4x").is_empty());
    }

    #[test]
    fn eight_characters_of_three_classes_are_enough_and_seven_are_not() {
        assert!(policy_violations("someone", "Kx7#mQpz").is_empty());
        assert!(policy_violations("someone", "kx7mqpzr").len() == 1, "two classes only");
        assert!(policy_violations("someone", "Kx7#mQp").iter().any(|m| m.contains("至少 8 位")));
    }

    #[test]
    fn lists_every_broken_rule_at_once() {
        let problems = policy_violations("abc", "abc");
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn rejects_two_classes_and_the_username() {
        assert!(!policy_violations("x", "abcdefghij12").is_empty());
        assert!(!policy_violations("zhangsan", "Zhangsan@2026").is_empty());
        assert!(!policy_violations("ZhangSan", "my#ZHANGSAN#2026").is_empty());
    }

    #[test]
    fn refuses_common_passwords_and_their_thin_variants() {
        for p in [
            "Password123",
            "P@ssw0rd",
            "P@ssw0rd2026!",
            "Admin@123",
            "Admin@123456",
            "Qwer1234!",
            "1qaz2wsx!",
            "Woaini1314!",
            "Iloveyou520!",
            "Welcome@2026",
            "Abc@12345678",
            "Dragon#2026",
            "123Password!",
        ] {
            assert!(is_common(p), "{p} is common");
            assert!(policy_violations("someone", p).iter().any(|m| m.contains("常见")), "{p}");
        }
    }

    #[test]
    fn the_common_list_is_shipped_and_large() {
        assert!(super::common_set().len() >= 10_000);
    }

    #[test]
    fn unicode_passwords_are_judged_without_panicking() {
        assert!(policy_violations("用户", "密码密码密码密码密码1A!").is_empty());
        assert!(!policy_violations("用户", "用户的密码Abc123!").is_empty());
        assert!(!is_common("é́é́é́é́!!"));
    }
}

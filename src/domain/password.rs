//! The password policy (等保 2.0: complexity, no username inside).

/// Checks a new password and lists every rule it breaks, in Chinese.
pub fn policy_violations(username: &str, password: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if password.chars().count() < 10 {
        problems.push("密码至少 10 位");
    }
    if password.chars().count() > 128 {
        problems.push("密码不能超过 128 位");
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        problems.push("密码须包含大写字母、小写字母、数字、符号中的至少 3 类");
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        problems.push("密码不能包含用户名");
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::policy_violations;

    #[test]
    fn accepts_a_strong_password() {
        assert!(policy_violations("window01", "Tongban@2026").is_empty());
    }

    #[test]
    fn lists_every_broken_rule_at_once() {
        let problems = policy_violations("abc", "abc");
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn rejects_two_classes_and_the_username() {
        assert!(!policy_violations("x", "abcdefghij12").is_empty());
        assert!(!policy_violations("zhangsan", "Zhangsan@2026").is_empty());
    }
}

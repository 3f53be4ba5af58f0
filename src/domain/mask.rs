//! Masking of personal data for screens and logs.

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
}

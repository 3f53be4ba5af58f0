//! Public references that arrive in URLs (application and case numbers, item codes), parsed
//! into validated types at the edge. Untrusted text is only ever looked at char by char: a
//! multibyte character anywhere is a wrong shape, never a panic.

use std::fmt;
use std::str::FromStr;

/// The characters of the random part of a public number (no 0/O/1/I: easy to read aloud).
pub const NUMBER_CHARS: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Why a reference was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("编号格式不正确")]
pub struct BadReference;

/// True when `s` is `prefix` + 8 digits (a date) + 6 of [`NUMBER_CHARS`], by characters.
fn has_number_shape(s: &str, prefix: &str) -> bool {
    let Some(rest) = s.strip_prefix(prefix) else { return false };
    let mut chars = rest.chars();
    let date_ok = chars.by_ref().take(8).filter(char::is_ascii_digit).count() == 8;
    let tail: Vec<char> = chars.collect();
    date_ok && tail.len() == 6 && tail.iter().all(|c| c.is_ascii() && NUMBER_CHARS.contains(&(*c as u8)))
}

macro_rules! public_number {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn parse(s: &str) -> Result<Self, BadReference> {
                if has_number_shape(s, $prefix) { Ok(Self(s.to_owned())) } else { Err(BadReference) }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = BadReference;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

public_number!(
    /// A public application number (申请编号): `SQ` + the submission date + 6 random characters.
    ApplicationNumber,
    "SQ"
);

public_number!(
    /// A public case number (办件编号): `BJ` + the submission date + 6 random characters.
    CaseNumber,
    "BJ"
);

/// A catalogue code (事项编码, also used for life events and licence types): 1–64 ASCII
/// letters, digits and hyphens.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ItemCode(String);

impl ItemCode {
    pub fn parse(s: &str) -> Result<Self, BadReference> {
        let ok = !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok { Ok(Self(s.to_owned())) } else { Err(BadReference) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ItemCode {
    type Err = BadReference;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::ops::Deref for ItemCode {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn numbers_are_parsed_by_their_shape() {
        assert!(CaseNumber::parse("BJ20261130ABC234").is_ok());
        assert!(ApplicationNumber::parse("SQ20261130ABC234").is_ok());
        assert!(CaseNumber::parse("SQ20261130ABC234").is_err());
        assert!(CaseNumber::parse("BJ20261130ABC23O").is_err());
        assert!(CaseNumber::parse("BJ2026113").is_err());
        assert!(ItemCode::parse("310112-GT-001").is_ok());
        assert!(ItemCode::parse("").is_err());
        assert!(ItemCode::parse("a b").is_err());
    }

    #[test]
    fn a_multibyte_character_at_byte_ten_is_a_wrong_shape_not_a_panic() {
        assert!(ApplicationNumber::parse("SQ2026113é12345").is_err());
        assert!(CaseNumber::parse("BJ20261130é2345").is_err());
        assert!(CaseNumber::parse("BJ2026113０ABCDEF").is_err());
        assert!(ItemCode::parse("事项").is_err());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(s in "\\PC{0,40}", prefix in prop_oneof![Just("SQ"), Just("BJ")]) {
            let candidate = format!("{prefix}{s}");
            let _ = ApplicationNumber::parse(&candidate);
            let _ = CaseNumber::parse(&candidate);
            let _ = ItemCode::parse(&candidate);
        }

        #[test]
        fn what_parses_is_sixteen_ascii_characters(s in "(SQ|BJ)[0-9]{8}[2-9A-Z]{6}") {
            let ok = ApplicationNumber::parse(&s).is_ok() || CaseNumber::parse(&s).is_ok();
            let letters_ok = s[10..].bytes().all(|b| NUMBER_CHARS.contains(&b));
            prop_assert_eq!(ok, letters_ok);
        }
    }
}

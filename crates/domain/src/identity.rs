//! National identifiers and contact details, parsed once at the boundary (parse, don't validate).
/// Why an identifier was rejected; the message is shown to people, so it is Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("应为 18 位，前 17 位为数字，最后一位为数字或 X")]
    IdNumberFormat,
    #[error("出生日期不正确")]
    IdNumberBirthDate,
    #[error("校验位不正确，请核对是否输错")]
    IdNumberCheck,
    #[error("应为 18 位，由数字和大写字母组成（不含 I、O、Z、S、V）")]
    CreditCodeFormat,
    #[error("校验位不正确，请核对是否输错")]
    CreditCodeCheck,
    #[error("应为 11 位中国大陆手机号码，以 1 开头")]
    Phone,
}

/// A resident identity card number (公民身份号码), GB 11643-1999, with a verified check character.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses an ID number; surrounding spaces are ignored and a lower-case `x` is accepted.
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdentifierError::IdNumberFormat);
        }
        let digit = |i: usize| u32::from(bytes[i] - b'0');
        let year = (6..10).fold(0, |acc, i| acc * 10 + digit(i));
        let month = digit(10) * 10 + digit(11);
        let day = digit(12) * 10 + digit(13);
        if chrono::NaiveDate::from_ymd_opt(year as i32, month, day).is_none() || year < 1900 {
            return Err(IdentifierError::IdNumberBirthDate);
        }
        if bytes[17] != id_number_check_char(&bytes[..17]) {
            return Err(IdentifierError::IdNumberCheck);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 7064 MOD 11-2 check character over the first 17 digits.
fn id_number_check_char(first17: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

/// A unified social credit code (统一社会信用代码), GB 32100-2015, with a verified check character.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CreditCode(String);

const CREDIT_CODE_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

impl CreditCode {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 {
            return Err(IdentifierError::CreditCodeFormat);
        }
        let mut values = [0u32; 18];
        for (i, b) in bytes.iter().enumerate() {
            values[i] =
                CREDIT_CODE_CHARSET.iter().position(|c| c == b).ok_or(IdentifierError::CreditCodeFormat)? as u32;
        }
        if bytes[17] != credit_code_check_char(&values[..17]) {
            return Err(IdentifierError::CreditCodeCheck);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// GB 32100-2015 check character: weights 3^i mod 31, check = 31 - (sum mod 31).
fn credit_code_check_char(first17: &[u32]) -> u8 {
    const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    CREDIT_CODE_CHARSET[((31 - sum % 31) % 31) as usize]
}

/// A mainland China mobile number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let s = s.strip_prefix("+86").unwrap_or(&s).to_owned();
        let b = s.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit) {
            Ok(Self(s))
        } else {
            Err(IdentifierError::Phone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Builds a valid ID number from its first 17 digits (demo data and tests).
pub fn id_number_with_check(first17: &str) -> Option<String> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(format!("{first17}{}", id_number_check_char(b) as char))
}

/// Builds a valid credit code from its first 17 characters (demo data and tests).
pub fn credit_code_with_check(first17: &str) -> Option<String> {
    let values: Option<Vec<u32>> =
        first17.bytes().map(|b| CREDIT_CODE_CHARSET.iter().position(|c| *c == b).map(|p| p as u32)).collect();
    let values = values.filter(|v| v.len() == 17)?;
    Some(format!("{first17}{}", credit_code_check_char(&values) as char))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_gb11643_example_number() {
        // The worked example from GB 11643-1999 appendix.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse(" 11010519491231002x ").is_ok());
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        assert_eq!(IdNumber::parse("110105194912310021"), Err(IdentifierError::IdNumberCheck));
    }

    #[test]
    fn rejects_an_impossible_birth_date() {
        let bad = id_number_with_check("31010419990230123").unwrap_or_default();
        assert_eq!(IdNumber::parse(&bad), Err(IdentifierError::IdNumberBirthDate));
    }

    #[test]
    fn rejects_malformed_id_numbers() {
        for s in ["", "123", "1101051949123100XX", "11010519491231002Y", "A1010519491231002X"] {
            assert_eq!(IdNumber::parse(s), Err(IdentifierError::IdNumberFormat), "{s}");
        }
    }

    #[test]
    fn generated_id_numbers_round_trip() {
        for n in 0..200u32 {
            let first = format!("3101121985{:02}{:02}{:03}", 1 + n % 12, 1 + n % 28, n);
            let full = id_number_with_check(&first).unwrap_or_default();
            assert!(IdNumber::parse(&full).is_ok(), "{full}");
        }
    }

    #[test]
    fn accepts_known_credit_codes() {
        // The worked example of GB 32100-2015 and a published government code.
        for code in ["91350100M000100Y43", "11100000000013127D"] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn rejects_credit_codes_with_a_wrong_check_or_charset() {
        assert_eq!(CreditCode::parse("91350100M000100Y44"), Err(IdentifierError::CreditCodeCheck));
        assert_eq!(CreditCode::parse("91350100M000100YI3"), Err(IdentifierError::CreditCodeFormat));
        assert_eq!(CreditCode::parse("9135"), Err(IdentifierError::CreditCodeFormat));
    }

    #[test]
    fn every_single_character_change_of_a_credit_code_is_caught() {
        let good = b"91350100M000100Y43";
        for i in 0..17 {
            for c in CREDIT_CODE_CHARSET {
                if *c == good[i] {
                    continue;
                }
                let mut bad = good.to_vec();
                bad[i] = *c;
                let s = String::from_utf8(bad).unwrap_or_default();
                assert!(CreditCode::parse(&s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn phones_accept_common_spellings() {
        assert_eq!(Phone::parse("138 1234 5678").map(|p| p.0), Ok("13812345678".into()));
        assert_eq!(Phone::parse("+8613812345678").map(|p| p.0), Ok("13812345678".into()));
        assert!(Phone::parse("12812345678").is_err());
        assert!(Phone::parse("1381234567").is_err());
    }

    #[test]
    fn debug_output_masks_personal_data() {
        let id = IdNumber::parse("11010519491231002X").unwrap_or_else(|_| IdNumber(String::new()));
        assert!(!format!("{id:?}").contains("19491231"));
    }
}

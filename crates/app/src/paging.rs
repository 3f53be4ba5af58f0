//! Paging for lists: a page number (kept for the pages and for compatibility) or a cursor
//! (keyset, `?after=`): the next page starts after the last row seen, so a deep page costs what
//! the first does and rows added meanwhile neither repeat nor go missing.

use super::{AppError, FieldError};

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Page `n` from 1, counted from the top with OFFSET.
    Number(i64),
    /// After the row a cursor names (see [`Page::next`]).
    After(Cursor),
}

/// An opaque position in a list: what the API hands out as `next` and takes back as `after`.
/// It names the last row of a page by its sort key — one value (messages: the id; audit: the
/// sequence number) or a pair (cases: the due day, possibly none, and the id; licences: the
/// creation time and the id). A client must not build one.
///
/// The text form is `c`, the key's values in base 36 (`-` for none) each followed by `.`, and a
/// check of six hex digits over them: `c2s.`…`1a3f9c`. The check is not a signature (anyone who
/// reads this code can make one); it turns an edited or truncated cursor into a field error
/// instead of a seek to some other row. A cursor grants nothing either way: every list still
/// reads only the caller's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<Option<i64>>);

/// The field error of a cursor the server did not make, or made for another list.
pub fn invalid_cursor() -> AppError {
    AppError::Invalid(vec![FieldError::new("after", "invalid_cursor", "翻页位置无效，请从第一页重新开始")])
}

/// The most values a cursor holds, and the longest text it has.
const MAX_KEYS: usize = 3;
const MAX_TEXT: usize = 64;

impl Cursor {
    /// The cursor after a row whose (unique) key is `key`.
    pub fn after_key(key: i64) -> Self {
        Cursor(vec![Some(key)])
    }

    /// The cursor after a row whose key is `first` (which may be none) and then its unique `id`.
    pub fn after_pair(first: Option<i64>, id: i64) -> Self {
        Cursor(vec![first, Some(id)])
    }

    /// The key of a one-value cursor (a positive id or sequence number); any other cursor is a
    /// field error.
    pub fn key(&self) -> Result<i64, AppError> {
        match self.0.as_slice() {
            [Some(k)] if *k > 0 => Ok(*k),
            _ => Err(invalid_cursor()),
        }
    }

    /// The key of a pair cursor: the first value (none allowed) and a positive id; any other
    /// cursor is a field error.
    pub fn pair(&self) -> Result<(Option<i64>, i64), AppError> {
        match self.0.as_slice() {
            [first, Some(id)] if *id > 0 => Ok((*first, *id)),
            _ => Err(invalid_cursor()),
        }
    }

    /// The text form (see the type's documentation).
    pub fn encode(&self) -> String {
        let values = values_text(&self.0);
        format!("c{values}{}", check(&values))
    }

    /// Reads a cursor given back by a client; anything else is a field error on `after`.
    pub fn decode(text: &str) -> Result<Self, AppError> {
        let body = text.strip_prefix('c').filter(|b| b.len() <= MAX_TEXT).ok_or_else(invalid_cursor)?;
        let split = body.rfind('.').map(|i| i + 1).ok_or_else(invalid_cursor)?;
        let (values, given) = body.split_at(split);
        if given != check(values) {
            return Err(invalid_cursor());
        }
        let keys = values
            .strip_suffix('.')
            .unwrap_or(values)
            .split('.')
            .map(|v| match v {
                "-" => Ok(None),
                _ if (1..=13).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()) => {
                    i64::from_str_radix(v, 36).map(Some).map_err(|_| invalid_cursor())
                }
                _ => Err(invalid_cursor()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.len() > MAX_KEYS {
            return Err(invalid_cursor());
        }
        Ok(Cursor(keys))
    }
}

/// Each value in base 36 (`-` for none), each followed by `.`.
fn values_text(keys: &[Option<i64>]) -> String {
    keys.iter().map(|k| format!("{}.", k.map_or_else(|| "-".to_owned(), radix36))).collect()
}

/// Six hex digits of SM3 over the values' text.
fn check(values: &str) -> String {
    tongban_crypto::sm3_hex(format!("tongban-cursor/{values}").as_bytes()).chars().take(6).collect()
}

/// `n` in base 36 (negative values, which no key has, are written as 0).
fn radix36(n: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = n.max(0);
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[usize::try_from(n % 36).unwrap_or(0)]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// What a list is asked for: where to start and how many rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub position: Position,
    pub size: i64,
}

impl PageRequest {
    /// The largest page any list serves.
    pub const MAX_SIZE: i64 = 100;
    /// The last page number a list accepts (an offset beyond it would overflow).
    pub const MAX_NUMBER: i64 = 1_000_000;

    /// From the API's `page`, `page_size` and `after` (API.md: pages from 1, at most 100 rows,
    /// 20 by default; `after` wins over `page`).
    pub fn from_query(page: Option<i64>, page_size: Option<i64>, after: Option<&str>) -> Result<Self, AppError> {
        let size = page_size.unwrap_or(20);
        let number = page.unwrap_or(1);
        if !(1..=Self::MAX_NUMBER).contains(&number) || !(1..=Self::MAX_SIZE).contains(&size) {
            return Err(AppError::Invalid(vec![FieldError::new(
                "page_size",
                "out_of_range",
                "页码从 1 开始，每页条数应为 1–100",
            )]));
        }
        let position = match after.filter(|a| !a.is_empty()) {
            Some(text) => Position::After(Cursor::decode(text)?),
            None => Position::Number(number),
        };
        Ok(PageRequest { position, size })
    }

    /// Page `number` of `size` rows.
    pub fn number(number: i64, size: i64) -> Self {
        PageRequest {
            position: Position::Number(number.clamp(1, Self::MAX_NUMBER)),
            size: size.clamp(1, Self::MAX_SIZE),
        }
    }

    /// The OFFSET of a numbered page (0 for a cursor).
    pub fn offset(&self) -> i64 {
        match self.position {
            Position::Number(n) => (n - 1).saturating_mul(self.size),
            Position::After(_) => 0,
        }
    }

    /// The cursor the page starts after, if it was asked for with one.
    pub fn after(&self) -> Option<&Cursor> {
        match &self.position {
            Position::After(c) => Some(c),
            Position::Number(_) => None,
        }
    }

    /// The page number shown beside a numbered page (a cursor's page has none).
    pub fn page_number(&self) -> Option<i64> {
        match self.position {
            Position::Number(n) => Some(n),
            Position::After(_) => None,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Rows in the whole list.
    pub total: i64,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page of rows fetched with one row more than asked for (`size + 1`): that extra row,
    /// if present, says there is a next page, which starts after the last row kept (`cursor`
    /// names a row's position).
    pub fn from_rows(mut rows: Vec<T>, size: i64, total: i64, cursor: impl Fn(&T) -> Cursor) -> Self {
        let size = usize::try_from(size).unwrap_or(0);
        let more = rows.len() > size;
        rows.truncate(size);
        let next = if more { rows.last().map(cursor) } else { None };
        Page { items: rows, total, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, next: self.next }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        for key in [1, 35, 36, 1_000_000, i64::MAX] {
            let c = Cursor::after_key(key);
            assert_eq!(Cursor::decode(&c.encode()).unwrap(), c, "{key}");
            assert_eq!(Cursor::decode(&c.encode()).unwrap().key().unwrap(), key);
        }
        for (first, id) in [(None, 1), (Some(0), 7), (Some(739_000), 42), (Some(1_764_800_000_000), i64::MAX)] {
            let c = Cursor::after_pair(first, id);
            let text = c.encode();
            assert!(text.len() <= MAX_TEXT, "{text}");
            assert_eq!(Cursor::decode(&text).unwrap().pair().unwrap(), (first, id), "{text}");
        }
    }

    #[test]
    fn an_edited_truncated_or_made_up_cursor_is_refused() {
        let good = Cursor::after_pair(Some(739_000), 42).encode();
        for bad in ["", "c", "1", "cZ", "c-1", "c0", "c🙂", "c1234567890abcd", "c%00", "c1.", "c1.000000", "c-.-.x"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?}");
        }
        // Every one-character edit and every truncation of a real cursor.
        for i in 1..good.len() {
            assert!(Cursor::decode(&good[..i]).is_err(), "{}", &good[..i]);
            for c in ['0', '9', 'a', 'z', '-', '.'] {
                let mut edited = good.clone().into_bytes();
                if edited[i] == c as u8 {
                    continue;
                }
                edited[i] = c as u8;
                let edited = String::from_utf8(edited).unwrap();
                assert!(Cursor::decode(&edited).is_err(), "{edited}");
            }
        }
        // Well made, but for a list with another key.
        let one = Cursor::decode(&Cursor::after_key(5).encode()).unwrap();
        assert!(one.pair().is_err());
        let pair = Cursor::decode(&good).unwrap();
        assert!(pair.key().is_err());
        assert!(Cursor::after_key(0).key().is_err() && Cursor::after_pair(None, 0).pair().is_err());
    }

    #[test]
    fn a_page_read_with_one_row_more_knows_whether_another_follows() {
        let p = Page::from_rows(vec![9, 8, 7], 2, 3, |r| Cursor::after_key(*r));
        assert_eq!(p.items, vec![9, 8]);
        assert_eq!(p.next, Some(Cursor::after_key(8)));
        let last = Page::from_rows(vec![7], 2, 3, |r| Cursor::after_key(*r));
        assert_eq!(last.next, None);
    }

    #[test]
    fn after_wins_over_page_and_bad_sizes_are_refused() {
        let c1 = Cursor::after_key(1).encode();
        let r = PageRequest::from_query(Some(3), Some(10), Some(&c1)).unwrap();
        assert_eq!(r.position, Position::After(Cursor::after_key(1)));
        assert_eq!(r.page_number(), None);
        assert_eq!(PageRequest::from_query(Some(3), Some(10), None).unwrap().offset(), 20);
        assert_eq!(PageRequest::from_query(Some(3), Some(10), Some("")).unwrap().page_number(), Some(3));
        assert!(PageRequest::from_query(Some(0), None, None).is_err());
        assert!(PageRequest::from_query(None, Some(101), None).is_err());
        assert!(PageRequest::from_query(None, Some(101), Some(&c1)).is_err(), "the size is checked with a cursor too");
        assert!(PageRequest::from_query(None, None, Some("c1")).is_err());
    }
}

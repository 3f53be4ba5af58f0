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
/// It names the last row of a page by its sort key; a client must not build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(i64);

impl Cursor {
    /// The cursor after a row whose (unique, descending) key is `key`.
    pub fn after_key(key: i64) -> Self {
        Cursor(key)
    }

    pub fn key(&self) -> i64 {
        self.0
    }

    /// The text form: `c` and the key in base 36, so that it reads as a token, not a number
    /// to count with.
    pub fn encode(&self) -> String {
        format!("c{}", radix36(self.0))
    }

    /// Reads a cursor given back by a client; anything else is a field error on `after`.
    pub fn decode(text: &str) -> Result<Self, AppError> {
        let bad =
            || AppError::Invalid(vec![FieldError::new("after", "invalid_cursor", "翻页位置无效，请从第一页重新开始")]);
        let digits = text.strip_prefix('c').ok_or_else(bad)?;
        if digits.is_empty()
            || digits.len() > 13
            || !digits.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        {
            return Err(bad());
        }
        i64::from_str_radix(digits, 36).ok().filter(|k| *k > 0).map(Cursor).ok_or_else(bad)
    }
}

fn radix36(mut n: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[usize::try_from(n.rem_euclid(36)).unwrap_or(0)]);
        n /= 36;
        if n <= 0 {
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
    /// if present, says there is a next page, which starts after the last row kept.
    pub fn from_rows(mut rows: Vec<T>, size: i64, total: i64, key: impl Fn(&T) -> i64) -> Self {
        let size = usize::try_from(size).unwrap_or(0);
        let more = rows.len() > size;
        rows.truncate(size);
        let next = if more { rows.last().map(|r| Cursor::after_key(key(r))) } else { None };
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
    fn a_cursor_reads_back_what_it_wrote_and_nothing_else() {
        for key in [1, 35, 36, 1_000_000, i64::MAX] {
            let c = Cursor::after_key(key);
            assert_eq!(Cursor::decode(&c.encode()).unwrap(), c, "{key}");
        }
        for bad in ["", "c", "1", "cZ", "c-1", "c0", "c🙂", "c1234567890abcd", "c%00"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_page_read_with_one_row_more_knows_whether_another_follows() {
        let p = Page::from_rows(vec![9, 8, 7], 2, 3, |r| *r);
        assert_eq!(p.items, vec![9, 8]);
        assert_eq!(p.next, Some(Cursor::after_key(8)));
        let last = Page::from_rows(vec![7], 2, 3, |r| *r);
        assert_eq!(last.next, None);
    }

    #[test]
    fn after_wins_over_page_and_bad_sizes_are_refused() {
        let r = PageRequest::from_query(Some(3), Some(10), Some("c1")).unwrap();
        assert_eq!(r.position, Position::After(Cursor::after_key(1)));
        assert_eq!(PageRequest::from_query(Some(3), Some(10), None).unwrap().offset(), 20);
        assert!(PageRequest::from_query(Some(0), None, None).is_err());
        assert!(PageRequest::from_query(None, Some(101), None).is_err());
    }
}

//! Form helpers: field errors for templates (summary at the top, message beside each field).

use tongban_app::FieldError;

/// The problems of a submitted form, in the order found.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All messages for one field, joined (shown beside the field).
    pub fn get(&self, field: &str) -> Option<String> {
        let msgs: Vec<&str> = self.0.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect();
        (!msgs.is_empty()).then(|| msgs.join("；"))
    }

    /// `true`/`false` for `aria-invalid`.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.0.iter().any(|e| e.field == field) { "true" } else { "false" }
    }

    pub fn items(&self) -> &[FieldError] {
        &self.0
    }

    pub fn single(field: &str, code: &str, message: impl Into<String>) -> Self {
        FormErrors(vec![FieldError::new(field, code, message)])
    }
}

/// Collects every value of a repeated form key (`permissions=a&permissions=b`).
pub fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
}

/// The first value of a form key, or "".
pub fn value(pairs: &[(String, String)], key: &str) -> String {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// The one decision on what a same-site path is, for every redirect target that comes from
/// input (`next`, stored links, path parameters echoed back). `Some` is a path-absolute
/// reference that every browser resolves on this origin, re-serialised so that it is plain
/// visible ASCII (safe in a `Location` header); anything else is `None`.
///
/// Browsers drop tabs and line breaks anywhere in a URL and read `\` as `/`, so any control
/// character or backslash is refused outright rather than guessed at; the rest is resolved
/// with the WHATWG URL parser (the `url` crate, as browsers do) against a fixed origin and
/// must stay on it.
pub fn same_site_path(input: &str) -> Option<String> {
    if input.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if !input.starts_with('/') || input.starts_with("//") {
        return None;
    }
    let base = url::Url::parse("https://same-site.invalid/").ok()?;
    let resolved = base.join(input).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut out = resolved.path().to_owned();
    if let Some(q) = resolved.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = resolved.fragment() {
        out.push('#');
        out.push_str(f);
    }
    // Dot segments can leave a path that starts with `//` (`/.//evil`): that would be read as
    // another host.
    (out.starts_with('/') && !out.starts_with("//") && out.bytes().all(|b| b.is_ascii_graphic())).then_some(out)
}

/// A `next` target that stays on this site (no open redirects): the home page otherwise.
pub fn safe_next(next: &str) -> String {
    same_site_path(next).unwrap_or_else(|| "/".to_owned())
}

/// A 303 redirect to a path on this site. Every redirect goes through here, so that input in
/// a target (a path parameter, a `next`) can neither leave the site nor break the header.
pub fn redirect(target: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::response::Redirect::to(&safe_next(target)).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::same_site_path;

    #[test]
    fn next_targets_stay_on_site() {
        assert_eq!(super::safe_next("/admin?x=1"), "/admin?x=1");
        assert_eq!(super::safe_next("/my/applications/SQ1?submitted=1#top"), "/my/applications/SQ1?submitted=1#top");
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "\\\\evil.example",
            "/.//evil.example",
            "javascript:alert(1)",
            "http:/evil.example",
            "",
            "evil.example",
        ] {
            assert_eq!(super::safe_next(evil), "/", "{evil:?}");
        }
        assert_eq!(super::safe_next("/a\r\nSet-Cookie: x=1"), "/");
        assert_eq!(super::safe_next("/事项?q=开饭店"), "/%E4%BA%8B%E9%A1%B9?q=%E5%BC%80%E9%A5%AD%E5%BA%97");
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/".to_owned()),
            Just("\\".to_owned()),
            Just("\t".to_owned()),
            Just("\r".to_owned()),
            Just("\n".to_owned()),
            Just(" ".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("%2F".to_owned()),
            Just("%5C".to_owned()),
            Just("%09".to_owned()),
            Just("%2e".to_owned()),
            Just("@".to_owned()),
            Just(":".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just("user:pass@".to_owned()),
            Just("https:".to_owned()),
            Just("http://".to_owned()),
            Just("javascript:".to_owned()),
            Just("evil.example".to_owned()),
            Just("\u{3002}".to_owned()),
            Just("\u{FF0F}".to_owned()),
            Just("\u{2044}".to_owned()),
            Just("\u{202E}".to_owned()),
            Just("\u{0}".to_owned()),
            "\\PC{0,3}",
        ]
    }

    proptest! {
        /// Whatever the input, an accepted target is header-safe and resolves, as a browser
        /// resolves it, on this origin — from any page of the site.
        #[test]
        fn accepted_targets_never_leave_the_origin(pieces in prop::collection::vec(piece(), 0..8)) {
            let input: String = pieces.concat();
            if let Some(out) = same_site_path(&input) {
                prop_assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{out:?}");
                for page in ["https://site.example/", "https://site.example/a/b?c=d"] {
                    let base = url::Url::parse(page).unwrap();
                    prop_assert_eq!(base.join(&out).unwrap().origin(), base.origin(), "{:?} → {:?}", input, out);
                    prop_assert_eq!(base.join(&input).unwrap().origin(), base.origin(), "{:?}", input);
                }
            }
        }
    }
}

/// Pagination state for list pages; links keep the current filters.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    pub fn new(base: &str, filters: &[(&str, &str)], page: i64, page_size: i64, total: i64) -> Self {
        let pages = ((total + page_size - 1) / page_size).max(1);
        let href = |p: i64| {
            let mut pairs: Vec<(&str, String)> =
                filters.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, (*v).to_owned())).collect();
            pairs.push(("page", p.to_string()));
            format!("{base}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
        };
        Pager {
            page,
            pages,
            total,
            prev_href: (page > 1).then(|| href(page - 1)),
            next_href: (page < pages).then(|| href(page + 1)),
        }
    }
}

/// A 1-based page number from a query string value; bad values mean page 1.
pub fn page_number(raw: &str) -> i64 {
    raw.parse::<i64>().ok().filter(|p| *p >= 1 && *p <= 1_000_000).unwrap_or(1)
}

/// A submitted form's outcome: the use case's `result`, then `done` with its value (usually a
/// redirect), or, when the input was invalid, the page `again` builds with every problem, answered
/// 422 so that nothing typed is lost; any other error is the error page.
pub async fn settle<T, P: askama::Template>(
    result: Result<T, tongban_app::AppError>,
    done: impl FnOnce(T) -> axum::response::Response,
    again: impl AsyncFnOnce(FormErrors) -> super::error::WebResult<P>,
) -> super::error::WebResult {
    match result {
        Ok(value) => Ok(done(value)),
        Err(tongban_app::AppError::Invalid(problems)) => {
            let page = again(FormErrors(problems)).await?;
            Ok(super::shell::render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

//! Form helpers: field errors for templates (summary at the top, message beside each field).

use crate::app::FieldError;

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

/// A `next` target that stays on this site (no open redirects).
pub fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.contains("://") {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_targets_stay_on_site() {
        assert_eq!(super::safe_next("/admin?x=1"), "/admin?x=1");
        assert_eq!(super::safe_next("//evil.example"), "/");
        assert_eq!(super::safe_next("https://evil.example"), "/");
        assert_eq!(super::safe_next("/\\evil"), "/");
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
    result: Result<T, crate::app::AppError>,
    done: impl FnOnce(T) -> axum::response::Response,
    again: impl AsyncFnOnce(FormErrors) -> super::error::WebResult<P>,
) -> super::error::WebResult {
    match result {
        Ok(value) => Ok(done(value)),
        Err(crate::app::AppError::Invalid(problems)) => {
            let page = again(FormErrors(problems)).await?;
            Ok(super::shell::render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

//! What every API resource shares: the error body and paging parameters.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use tongban_app::FieldError;

/// The error body of every failed call.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// Stable snake_case code, e.g. `invalid_credentials`, `account_locked`, `forbidden`.
    pub code: String,
    /// Chinese, for people.
    pub message: String,
    /// Field problems (422), all at once.
    pub details: Option<Vec<FieldError>>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// Paging of a long list: `page` and `page_size` as everywhere, or `after`, the `next` of the
/// previous page (keyset: stable while rows are added, the same cost at any depth).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct CursorParams {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Page and page size per API.md: pages from 1, at most 100 per page (default 20); see
/// [`tongban_app::paging::PageRequest`], which the cursor-paged lists take whole.
pub fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64), tongban_app::AppError> {
    let request = tongban_app::paging::PageRequest::from_query(page, page_size, None)?;
    Ok((request.page_number().unwrap_or(1), request.size))
}

#[derive(Serialize, ToSchema)]
pub struct OrgRef {
    pub code: String,
    pub name: String,
}

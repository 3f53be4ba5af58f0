//! What every API resource shares: the error body and paging parameters.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::FieldError;

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

/// The last page number a list accepts: beyond it an offset would overflow (and no list is
/// that long).
pub const MAX_PAGE: i64 = 1_000_000;

/// Page and page size per API.md: pages from 1 (to [`MAX_PAGE`]), at most 100 per page
/// (default 20).
pub fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64), crate::app::AppError> {
    let page = page.unwrap_or(1);
    let page_size = page_size.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&page) || !(1..=100).contains(&page_size) {
        return Err(crate::app::AppError::Invalid(vec![FieldError::new(
            "page_size",
            "out_of_range",
            "页码从 1 开始，每页条数应为 1–100",
        )]));
    }
    Ok((page, page_size))
}

#[derive(Serialize, ToSchema)]
pub struct OrgRef {
    pub code: String,
    pub name: String,
}

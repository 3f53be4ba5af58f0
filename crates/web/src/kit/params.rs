//! Path parameters parsed into validated domain types at the edge: a handler only ever sees a
//! `CaseNumber`, an `ApplicationNumber`, an `ItemCode`… A value of the wrong shape is "not
//! found" in the usual error shape (a page or API JSON), before any use case runs.

use std::str::FromStr;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::WebError;
use tongban_app::AppError;

/// The single path parameter of a route, parsed as `T`.
#[derive(Debug, Clone)]
pub struct Ref<T>(pub T);

impl<S, T> FromRequestParts<S> for Ref<T>
where
    S: Send + Sync,
    T: FromStr + Send,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| WebError(AppError::NotFound))?;
        raw.parse().map(Ref).map_err(|_| WebError(AppError::NotFound))
    }
}

/// Parses one of several path parameters (routes with two parameters extract a tuple).
pub fn parse<T: FromStr>(raw: &str) -> Result<T, WebError> {
    raw.parse().map_err(|_| WebError(AppError::NotFound))
}

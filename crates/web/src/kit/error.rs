//! One error type for every handler. It renders as a marker on the response; the
//! `render_errors` middleware turns it into a Chinese page for people or JSON for the API,
//! with the request id — never internal error text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use tongban_app::clock::hour_minute;
use tongban_app::{AppError, FieldError};

/// What the error renderer needs; attached to the response as an extension.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
}

#[derive(Debug)]
pub struct WebError(pub AppError);

impl<E: Into<AppError>> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError(e.into())
    }
}

pub type WebResult<T = Response> = Result<T, WebError>;

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, code, message, details) = match self.0 {
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "您访问的页面或资源不存在".to_owned(), vec![]),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录".to_owned(), vec![]),
            AppError::Forbidden => {
                (StatusCode::FORBIDDEN, "forbidden", "您没有访问此页面或执行此操作的权限".to_owned(), vec![])
            }
            AppError::PasswordChangeRequired => (
                StatusCode::FORBIDDEN,
                "password_change_required",
                "首次登录、密码被重置或已过有效期，请先修改密码".to_owned(),
                vec![],
            ),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m, vec![]),
            AppError::Invalid(d) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", "提交的内容有误，请按提示修改".to_owned(), d)
            }
            AppError::InvalidCredentials { remaining } => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                format!("用户名或密码不正确。再错 {remaining} 次，账户将被锁定 15 分钟"),
                vec![],
            ),
            AppError::Locked { until_ms } => (
                StatusCode::FORBIDDEN,
                "account_locked",
                format!("密码连续输错 5 次，账户已锁定，请于 {} 后再试，或联系管理员解锁", hour_minute(until_ms)),
                vec![],
            ),
            AppError::Disabled => {
                (StatusCode::FORBIDDEN, "account_disabled", "账户已停用，请联系管理员".to_owned(), vec![])
            }
            AppError::Throttled { retry_after_secs } => {
                let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                let info =
                    ErrorInfo { code: "throttled", message: throttled_message(retry_after_secs), details: vec![] };
                response.extensions_mut().insert(info);
                return response;
            }
            AppError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m, vec![]),
            AppError::UnsupportedMediaType(m) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", m, vec![])
            }
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "系统繁忙，请稍后再试".to_owned(), vec![])
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorInfo { code, message, details });
        response
    }
}

/// What a 429 says: how long to wait, in words.
pub fn throttled_message(retry_after_secs: u64) -> String {
    if retry_after_secs >= 120 {
        format!("操作过于频繁，请约 {} 分钟后再试", retry_after_secs.div_ceil(60))
    } else {
        format!("操作过于频繁，请 {retry_after_secs} 秒后再试")
    }
}

/// The fallback for unknown routes.
pub async fn not_found() -> WebError {
    WebError(AppError::NotFound)
}

/// The error a bare status (from axum's own rejections, limits and timeouts) stands for.
pub fn info_for_status(status: StatusCode) -> ErrorInfo {
    let (code, message) = match status.as_u16() {
        400 => ("bad_request", "请求格式不正确"),
        401 => ("unauthenticated", "请先登录"),
        403 => ("forbidden", "没有权限"),
        404 => ("not_found", "您访问的页面或资源不存在"),
        405 => ("method_not_allowed", "不支持该请求方式"),
        408 => ("timeout", "请求超时，请重试"),
        409 => ("conflict", "操作与当前状态冲突，请刷新后重试"),
        413 => ("payload_too_large", "提交的内容过大（上限 2 MB）"),
        415 => ("unsupported_media_type", "不支持的内容类型"),
        422 => ("invalid", "提交的内容不符合要求"),
        429 => ("throttled", "请求过于频繁，请稍后再试"),
        503 => ("unavailable", "系统繁忙，请稍后再试"),
        s if s >= 500 => ("internal", "系统繁忙，请稍后再试"),
        _ => ("bad_request", "请求无法处理"),
    };
    ErrorInfo { code, message: message.to_owned(), details: vec![] }
}

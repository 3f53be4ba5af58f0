//! The JSON API under `/api/v1` (conventions in shared/API.md), documented at
//! `/api/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::error::WebResult;
use super::middleware::{append_cookie, expired_session_cookie, session_cookie};
use super::shell::{CurrentUser, Visitor};
use super::{AppState, Routes};
use crate::app::accounts::Registration;
use crate::app::{self, FieldError, Origin};

pub fn routes(r: Routes) -> Routes {
    r.post("/api/v1/auth/login", login)
        .post("/api/v1/auth/register", register)
        .post("/api/v1/auth/logout", logout)
        .get("/api/v1/me", me)
        .post("/api/v1/account/password", change_password)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "通办 Tongban API",
        description = "一网通办政务服务平台接口。错误统一为 {code, message, details}。"
    ),
    paths(login, register, logout, me, change_password),
    components(schemas(
        LoginRequest,
        LoginResponse,
        Registration,
        RegisterResponse,
        Me,
        OrgRef,
        PasswordChange,
        ApiErrorBody,
        FieldError
    ))
)]
pub struct ApiDoc;

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

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub username: String,
    pub display_name: String,
    /// True when an initial or reset password must be changed before anything else.
    pub must_change_password: bool,
}

/// Log in; the session cookie `tb_session` is set on success.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong username or password (`invalid_credentials`)", body = ApiErrorBody),
        (status = 403, description = "`account_locked` or `account_disabled`", body = ApiErrorBody),
        (status = 429, description = "too many failures from this address", body = ApiErrorBody),
    ))]
async fn login(State(state): State<AppState>, visitor: Visitor, Json(req): Json<LoginRequest>) -> WebResult {
    let logged_in = app::auth::login(&state.core, &Origin { ip: visitor.ip }, &req.username, &req.password).await?;
    let body = LoginResponse {
        username: logged_in.user.username.clone(),
        display_name: logged_in.user.display_name.clone(),
        must_change_password: logged_in.user.must_change_password,
    };
    let mut response = Json(body).into_response();
    append_cookie(
        &mut response,
        session_cookie(logged_in.token, state.settings.secure_cookies),
    );
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    pub username: String,
}

/// Register a citizen (`kind: person`, with `id_number`) or a business (`kind: organisation`,
/// with `credit_code` and `contact_name`).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = Registration,
    responses((status = 201, body = RegisterResponse), (status = 422, description = "every problem at once", body = ApiErrorBody)))]
async fn register(State(state): State<AppState>, visitor: Visitor, Json(r): Json<Registration>) -> WebResult {
    let username = app::accounts::register(&state.core, &Origin { ip: visitor.ip }, &r).await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { username })).into_response())
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ApiErrorBody)))]
async fn logout(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    app::auth::logout(&state.core, &user.actor, &user.token).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    append_cookie(&mut response, expired_session_cookie(state.settings.secure_cookies));
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct OrgRef {
    pub code: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    /// `staff`, `person` or `organisation`.
    pub kind: String,
    /// Role codes, e.g. `reviewer`.
    pub roles: Vec<String>,
    /// Permission names, e.g. `office.view`.
    pub permissions: Vec<String>,
    pub department: Option<OrgRef>,
    pub site: Option<OrgRef>,
    pub must_change_password: bool,
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ApiErrorBody)))]
async fn me(user: CurrentUser) -> Json<Me> {
    let a = user.actor;
    Json(Me {
        username: a.username,
        display_name: a.display_name,
        kind: a.kind.name().to_owned(),
        roles: a.roles.iter().map(|r| r.code.clone()).collect(),
        permissions: a.permissions.iter().map(|p| p.name().to_owned()).collect(),
        department: a.department.map(|d| OrgRef {
            code: d.code,
            name: d.name,
        }),
        site: a.site.map(|s| OrgRef {
            code: s.code,
            name: s.name,
        }),
        must_change_password: a.must_change_password,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password (required first when `must_change_password` is true).
#[utoipa::path(post, path = "/api/v1/account/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<PasswordChange>,
) -> WebResult {
    app::auth::change_password(
        &state.core,
        &user.actor,
        &user.token,
        &req.current_password,
        &req.new_password,
        &req.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The OpenAPI document.
pub fn openapi_json() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

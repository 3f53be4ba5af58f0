//! Login, registration, logout, the current user and the password (`/api/v1/auth`, `/api/v1/me`, `/api/v1/account`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{ApiErrorBody, OrgRef};
use crate::AppState;
use crate::kit::cookies::{append_cookie, expired_session_cookie, session_cookie};
use crate::kit::error::WebResult;
use crate::kit::shell::{CurrentUser, Visitor};
use tongban_app::accounts::Registration;
use tongban_app::{self as app, Origin};

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
        (status = 429, description = "too many attempts from this address or for this account (`throttled`, with `Retry-After`)", body = ApiErrorBody),
    ))]
pub(crate) async fn login(State(state): State<AppState>, visitor: Visitor, Json(req): Json<LoginRequest>) -> WebResult {
    let origin = Origin { ip: visitor.ip };
    let logged_in = app::auth::login(&state.core, &origin, &req.username, &req.password).await?;
    // A session this client had before (another account's, or one planted) ends now.
    if let Some(previous) = &visitor.session_token {
        app::auth::end_session(&state.core, previous, &origin).await?;
    }
    let body = LoginResponse {
        username: logged_in.user.username.clone(),
        display_name: logged_in.user.display_name.clone(),
        must_change_password: logged_in.user.must_change_password,
    };
    let mut response = Json(body).into_response();
    append_cookie(&mut response, session_cookie(logged_in.token, &state.settings));
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    /// The username asked for.
    pub username: String,
    /// The same neutral answer whether or not an account was made (an ID number, credit code
    /// or username that already has an account is never told): log in to find out.
    pub message: String,
}

/// Register a citizen (`kind: person`, with `id_number`) or a business (`kind: organisation`,
/// with `credit_code` and `contact_name`). Problems with the input are listed at once (422);
/// otherwise the answer is 202 whether an account was made or the identity or username already
/// had one (its owner is told).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = Registration,
    responses(
        (status = 202, body = RegisterResponse),
        (status = 422, description = "every problem at once", body = ApiErrorBody),
        (status = 429, description = "too many registrations from this address or for this identity", body = ApiErrorBody),
    ))]
pub(crate) async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    Json(r): Json<Registration>,
) -> WebResult {
    app::accounts::register(&state.core, &Origin { ip: visitor.ip }, &r).await?;
    let body =
        RegisterResponse { username: r.username.trim().to_owned(), message: app::accounts::NEUTRAL_ANSWER.to_owned() };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ApiErrorBody)))]
pub(crate) async fn logout(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    app::auth::logout(&state.core, &user.actor, &user.token).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    append_cookie(&mut response, expired_session_cookie(&state.settings));
    Ok(response)
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
pub(crate) async fn me(user: CurrentUser) -> Json<Me> {
    let a = user.actor;
    Json(Me {
        username: a.username,
        display_name: a.display_name,
        kind: a.kind.name().to_owned(),
        roles: a.roles.iter().map(|r| r.code.clone()).collect(),
        permissions: a.permissions.iter().map(|p| p.name().to_owned()).collect(),
        department: a.department.map(|d| OrgRef { code: d.code, name: d.name }),
        site: a.site.map(|s| OrgRef { code: s.code, name: s.name }),
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
    responses(
        (status = 204),
        (status = 422, body = ApiErrorBody),
        (status = 429, description = "too many attempts (`throttled`, with `Retry-After`)", body = ApiErrorBody),
    ))]
pub(crate) async fn change_password(
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

//! The JSON API under `/api/v1` (conventions in shared/API.md), documented at
//! `/api/openapi.json`: one sub-module per resource; this module only routes and documents
//! them (the sub-modules never import it — what they share is in `common`).

pub mod applications;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod common;
pub mod licences;
pub mod messages;

use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::app::FieldError;
use crate::app::accounts::Registration;
use crate::web::Routes;
use applications::*;
use auth::*;
use calendar::*;
use catalogue::*;
use common::{ApiErrorBody, OrgRef};
use messages::*;

pub fn routes(r: Routes) -> Routes {
    let r = licences::routes(cases::routes(r));
    r.post("/api/v1/auth/login", login)
        .post("/api/v1/auth/register", register)
        .post("/api/v1/auth/logout", logout)
        .get("/api/v1/me", me)
        .post("/api/v1/account/password", change_password)
        .get("/api/v1/items", list_items)
        .get("/api/v1/items/{code}", get_item)
        .post_upload("/api/v1/applications", create_application)
        .get("/api/v1/applications", list_applications)
        .get("/api/v1/applications/{number}", get_application)
        .post("/api/v1/applications/{number}/withdraw", withdraw_application)
        .get("/api/v1/calendar/deadline", deadline)
        .get("/api/v1/messages", list_messages)
        .post("/api/v1/messages/{id}/read", read_message)
        .get("/api/openapi.json", openapi_document)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "通办 Tongban API", description = "一网通办政务服务平台接口。错误统一为 {code, message, details}。"),
    paths(
        login,
        register,
        logout,
        me,
        change_password,
        list_items,
        get_item,
        create_application,
        list_applications,
        get_application,
        withdraw_application,
        deadline,
        list_messages,
        read_message,
        licences::list_licences,
        licences::keys,
        licences::verify_document,
        licences::verification,
        licences::document,
        licences::revoke,
        licences::share_query,
        licences::share_verify,
        licences::share_document
    ),
    components(schemas(
        LoginRequest,
        LoginResponse,
        Registration,
        RegisterResponse,
        Me,
        OrgRef,
        PasswordChange,
        ApiErrorBody,
        FieldError,
        ItemList,
        ItemSummary,
        ItemDetail,
        ApplicationCreated,
        ApplicationList,
        ApplicationSummary,
        ApplicationDetail,
        MaterialRef,
        TimelineEntry,
        Deadline,
        MessageList,
        Message,
        licences::LicenceVerification,
        licences::WalletLicence,
        licences::WalletList,
        licences::DocumentVerification,
        licences::RevokeRequest,
        licences::PublicKey,
        licences::PublicKeys,
        licences::ShareList,
        crate::app::licences::Document
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document.
pub fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

async fn openapi_document() -> Response {
    openapi_json()
}

/// Every API operation of every room, in one document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(cases::CasesDoc::openapi());
    doc
}

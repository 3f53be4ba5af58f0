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
pub mod tickets;

use crate::kit::registry::Access::{Account, Perm, Public, Static};
use axum::response::{IntoResponse, Response};
use tongban_domain::permission::Permission as P;
use utoipa::OpenApi;
use utoipa_axum::routes;

use crate::Routes;
use applications::*;
use auth::*;
use calendar::*;
use catalogue::*;
use common::{ApiErrorBody, OrgRef};
use messages::*;
use tickets::*;
use tongban_app::FieldError;
use tongban_app::accounts::Registration;

pub fn routes(r: Routes) -> Routes {
    let r = licences::routes(cases::routes(r));
    r.api(Public, routes!(login))
        .api(Public, routes!(register))
        .api(Account, routes!(logout))
        .api(Account, routes!(me))
        .api(Account, routes!(change_password))
        .api(Public, routes!(list_items))
        .api(Public, routes!(get_item))
        .api_upload(Perm(P::PortalMine), routes!(create_application))
        .api(Perm(P::PortalMine), routes!(list_applications))
        .api(Perm(P::PortalMine), routes!(get_application))
        .api(Perm(P::PortalMine), routes!(withdraw_application))
        .api(Public, routes!(deadline))
        .api(Perm(P::AccountSelf), routes!(list_messages))
        .api(Perm(P::AccountSelf), routes!(read_message))
        .api(Perm(P::TicketTake), routes!(take_ticket))
        .api(Perm(P::TicketTake), routes!(list_tickets))
        .api(Perm(P::TicketTake), routes!(get_ticket))
        .api(Perm(P::TicketTake), routes!(cancel_ticket))
        .get("/api/openapi.json", Static, openapi_document)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "通办 Tongban API", description = "一网通办政务服务平台接口。错误统一为 {code, message, details}。"),
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
        TicketRequest,
        TicketView,
        TicketList,
        licences::LicenceVerification,
        licences::WalletLicence,
        licences::WalletList,
        licences::DocumentVerification,
        licences::RevokeRequest,
        licences::PublicKey,
        licences::PublicKeys,
        licences::ShareList,
        tongban_app::licences::Document
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document: the API's description and shared schemas here, and every operation
/// as its room declared it (with `Routes::api`).
pub fn openapi(declared: &Routes) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(cases::CasesDoc::openapi());
    let (paths, schemas) = declared.documented();
    doc.paths.merge(paths.clone());
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        components.schemas.entry(name.clone()).or_insert_with(|| schema.clone());
    }
    doc
}

async fn openapi_document() -> Response {
    let body = crate::route_table().openapi_json.clone();
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

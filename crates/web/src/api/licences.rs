//! The licence API under `/api/v1/licences` (holders, verifiers, issuing departments) and the
//! sharing API under `/api/v1/share/licences` for other departments' systems, which
//! authenticate with `Authorization: Bearer <client secret>` and act within their scopes.

use crate::kit::registry::Access::{Account, Perm, Public};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_domain::permission::Permission as P;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::common::CursorParams;
use crate::kit::error::WebResult;
use crate::kit::shell::{CurrentUser, Visitor};
use crate::{AppState, Routes};
use tongban_app::AppError;
use tongban_app::licences::{self, Document, Lifecycle, Verification};
use tongban_app::paging::{Cursor, PageRequest};

pub fn routes(r: Routes) -> Routes {
    r.api(Perm(P::PortalMine), routes!(list_licences))
        .api(Public, routes!(keys))
        .api(Public, routes!(verify_document))
        .api(Public, routes!(verification))
        // The document is for its holder or a granted department (the use case decides; anyone
        // else gets 404).
        .api(Account, routes!(document))
        .api(Perm(P::LicenceRevoke), routes!(revoke))
        // Sharing clients authenticate with their secret, checked by the use case.
        .api(Public, routes!(share_query))
        .api(Public, routes!(share_verify))
        .api(Public, routes!(share_document))
}

/// What anyone may learn about a licence.
#[derive(Serialize, ToSchema)]
pub struct LicenceVerification {
    pub identifier: String,
    /// True when the licence is valid today.
    pub valid: bool,
    /// `valid`, `suspended`, `revoked`, `cancelled`, `expired` or `superseded`.
    pub status: String,
    /// 有效 / 已暂停 / 已吊销 / 已注销 / 已过期 / 已变更（有新版本）
    pub status_label: String,
    pub status_reason: String,
    /// Licence type name, e.g. 个体工商户营业执照.
    #[serde(rename = "type")]
    pub type_name: String,
    pub number: String,
    /// Masked holder: `张*，3101**********123X`.
    pub holder: String,
    pub issuer: String,
    /// `YYYY-MM-DD`
    pub issued_on: String,
    /// `YYYY-MM-DD`, or null for licences valid without limit.
    pub expires_on: Option<String>,
    pub version: i64,
    pub superseded_by: Option<String>,
}

impl From<Verification> for LicenceVerification {
    fn from(v: Verification) -> Self {
        LicenceVerification {
            identifier: v.identifier,
            valid: v.valid,
            status: v.status.name().to_owned(),
            status_label: v.status.label().to_owned(),
            status_reason: v.status_reason,
            type_name: v.type_name,
            number: v.number,
            holder: v.holder,
            issuer: v.issuer,
            issued_on: v.issued_on.to_string(),
            expires_on: v.expires_on.map(|d| d.to_string()),
            version: v.version,
            superseded_by: v.superseded_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WalletLicence {
    pub identifier: String,
    /// The licence type code, e.g. `INDIVIDUAL_BUSINESS_LICENCE`.
    pub licence_type: String,
    pub type_name: String,
    pub number: String,
    pub issuer: String,
    pub issued_on: String,
    pub expires_on: Option<String>,
    pub status: String,
    pub valid: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WalletList {
    pub total: i64,
    /// The page number asked for; null when the page was asked for with `after`.
    pub page: Option<i64>,
    pub page_size: i64,
    /// Give it back as `after` for the next page (keyset paging); null on the last page.
    pub next: Option<String>,
    pub items: Vec<WalletLicence>,
}

/// The caller's own licences (我的证照), newest first, superseded versions left out. By `page`
/// (20 a page unless `page_size` says otherwise, at most 100), or `after` the `next` of the
/// previous page.
#[utoipa::path(get, path = "/api/v1/licences", tag = "licences", params(CursorParams),
    responses(
        (status = 200, body = WalletList),
        (status = 401, body = super::common::ApiErrorBody),
        (status = 422, body = super::common::ApiErrorBody),
    ))]
pub async fn list_licences(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<CursorParams>,
) -> WebResult {
    let request = PageRequest::from_query(p.page, p.page_size, p.after.as_deref())?;
    let list = licences::wallet_page(&state.core, &user.actor, &request).await?;
    let items: Vec<WalletLicence> = list
        .items
        .into_iter()
        .map(|(r, s)| WalletLicence {
            identifier: r.identifier,
            licence_type: r.type_code,
            type_name: r.type_name,
            number: r.number,
            issuer: r.issuer.name,
            issued_on: r.issued_on.to_string(),
            expires_on: r.valid_to.map(|d| d.to_string()),
            status: s.name().to_owned(),
            valid: s == tongban_domain::licence::LicenceStatus::Valid,
        })
        .collect();
    Ok(Json(WalletList {
        total: list.total,
        page: request.page_number(),
        page_size: request.size,
        next: list.next.as_ref().map(Cursor::encode),
        items,
    })
    .into_response())
}

/// Verify a licence by its identifier (anyone; the QR code's link). Unknown → 404, malformed
/// or a wrong check character → 422.
#[utoipa::path(get, path = "/api/v1/licences/{identifier}/verification", tag = "licences",
    params(("identifier" = String, Path, description = "licence identifier (GB/T 36904)")),
    responses(
        (status = 200, body = LicenceVerification),
        (status = 404, description = "no such licence (查无此证)", body = super::common::ApiErrorBody),
        (status = 422, description = "malformed identifier or wrong check character", body = super::common::ApiErrorBody),
    ))]
pub async fn verification(State(state): State<AppState>, Path(identifier): Path<String>) -> WebResult {
    let v = licences::verify_identifier(&state.core, &identifier).await?;
    Ok(Json(LicenceVerification::from(v)).into_response())
}

/// The signed document: `{"payload": <the exact canonical JSON text that was signed>,
/// "signature": <base64 DER>, "key_id", "algorithm": "SM2-SM3"}`. For the holder, or staff of a
/// department the holder granted use to; anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/licences/{identifier}/document", tag = "licences",
    params(("identifier" = String, Path)),
    responses((status = 200, body = Document), (status = 404, body = super::common::ApiErrorBody)))]
pub async fn document(
    State(state): State<AppState>,
    user: CurrentUser,
    crate::kit::params::Ref(identifier): crate::kit::params::Ref<tongban_domain::licence::LicenceIdentifier>,
) -> WebResult {
    // The canonical form (parsed at the edge) is plain ASCII: safe in a header.
    let identifier = identifier.to_string();
    let doc = licences::document(&state.core, &user.actor, &identifier).await?;
    let name = format!("attachment; filename=\"licence-{identifier}.json\"");
    Ok(([(header::CONTENT_DISPOSITION, name)], Json(doc)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct DocumentVerification {
    /// The signature matches the payload under the named key of this platform.
    pub signature_valid: bool,
    /// The signature is valid and the licence is valid today.
    pub valid: bool,
    pub identifier: Option<String>,
    pub status: Option<String>,
}

/// Check a downloaded document: its SM2 signature, then the licence's status today. A document
/// whose signature does not match (tampered, truncated payload, another key) answers
/// `signature_valid: false`; a body that is not a document at all (not JSON, or without its
/// `payload`, `signature`, `key_id` strings) is refused as 400/415/422 in the API's error shape.
#[utoipa::path(post, path = "/api/v1/licences/verify", tag = "licences", request_body = Document,
    responses(
        (status = 200, body = DocumentVerification),
        (status = 400, description = "not JSON", body = super::common::ApiErrorBody),
        (status = 415, description = "not `application/json`", body = super::common::ApiErrorBody),
        (status = 422, description = "not a signed document", body = super::common::ApiErrorBody),
    ))]
pub async fn verify_document(State(state): State<AppState>, Json(doc): Json<SubmittedDocument>) -> WebResult {
    let doc = serde_json::json!({ "payload": doc.payload, "signature": doc.signature, "key_id": doc.key_id });
    let check = licences::verify_document(&state.core, &doc).await?;
    Ok(Json(DocumentVerification {
        signature_valid: check.signature_valid,
        valid: check.valid,
        identifier: check.identifier,
        status: check.status.map(|s| s.name().to_owned()),
    })
    .into_response())
}

/// The fields of a signed document that verification reads (others are ignored).
#[derive(Deserialize)]
pub struct SubmittedDocument {
    pub payload: String,
    pub signature: String,
    pub key_id: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// Why (shown on the verification page).
    pub reason: String,
    /// `revoke` (吊销, default) or `cancel` (注销).
    pub kind: Option<String>,
}

/// Revoke (吊销) or cancel (注销) a licence, with a reason. Heads of the issuing department only
/// (`licence.revoke`); another department → 403, audited.
#[utoipa::path(post, path = "/api/v1/licences/{identifier}/revoke", tag = "licences",
    params(("identifier" = String, Path)), request_body = RevokeRequest,
    responses(
        (status = 200, body = LicenceVerification),
        (status = 403, description = "not the issuing department's head", body = super::common::ApiErrorBody),
        (status = 404, body = super::common::ApiErrorBody),
        (status = 409, description = "already ended", body = super::common::ApiErrorBody),
        (status = 422, body = super::common::ApiErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Json(req): Json<RevokeRequest>,
) -> WebResult {
    let action = match req.kind.as_deref().unwrap_or("revoke") {
        "revoke" => Lifecycle::Revoke,
        "cancel" => Lifecycle::Cancel,
        _ => {
            return Err(AppError::Invalid(vec![tongban_app::FieldError::new(
                "kind",
                "invalid",
                "kind 应为 revoke 或 cancel",
            )])
            .into());
        }
    };
    let v = licences::change_status(&state.core, &user.actor, &identifier, action, &req.reason).await?;
    Ok(Json(LicenceVerification::from(v)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct PublicKey {
    pub key_id: String,
    pub public_key_pem: String,
    /// Always `SM2` (signatures: SM3 digest, distinguishing id 1234567812345678, DER).
    pub algorithm: String,
    /// True for the key that signs new licences.
    pub current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PublicKeys {
    pub keys: Vec<PublicKey>,
}

/// The public keys licences are signed with (old ones stay after a rotation).
#[utoipa::path(get, path = "/api/v1/licences/keys", tag = "licences", responses((status = 200, body = PublicKeys)))]
pub async fn keys(State(state): State<AppState>) -> WebResult {
    let keys = licences::public_keys(&state.core)
        .into_iter()
        .map(|k| PublicKey {
            key_id: k.key_id,
            public_key_pem: k.public_key_pem,
            algorithm: "SM2".to_owned(),
            current: k.current,
        })
        .collect();
    Ok(Json(PublicKeys { keys }).into_response())
}

async fn client(state: &AppState, headers: &HeaderMap, visitor: &Visitor) -> Result<licences::Client, AppError> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    licences::authenticate_client(&state.core, authorization, &visitor.ip).await
}

/// Sharing: verify a licence by identifier (scope `licence.verify`). Every call is audited;
/// without the scope → 403, audited.
#[utoipa::path(get, path = "/api/v1/share/licences/{identifier}", tag = "sharing",
    params(("identifier" = String, Path)),
    responses(
        (status = 200, body = LicenceVerification),
        (status = 401, description = "no or unknown client secret", body = super::common::ApiErrorBody),
        (status = 403, description = "scope missing", body = super::common::ApiErrorBody),
        (status = 404, body = super::common::ApiErrorBody),
    ))]
pub async fn share_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(identifier): Path<String>,
) -> WebResult {
    let c = client(&state, &headers, &visitor).await?;
    let v = licences::client_verify(&state.core, &c, &identifier).await?;
    Ok(Json(LicenceVerification::from(v)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ShareQuery {
    /// The holder's ID number or unified social credit code.
    pub holder_code: String,
    /// Licence type code, e.g. `FOOD_LICENCE`.
    pub licence_type: String,
    /// The legal basis for the query; without it only licences the holder granted to the
    /// client's department are returned.
    pub legal_basis: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ShareList {
    pub items: Vec<LicenceVerification>,
}

/// Sharing: a holder's licences of one type (scope `licence.query`), with the holder's grant
/// or a stated legal basis. Audited, and recorded in the holder's use log.
#[utoipa::path(get, path = "/api/v1/share/licences", tag = "sharing", params(ShareQuery),
    responses(
        (status = 200, body = ShareList),
        (status = 401, body = super::common::ApiErrorBody),
        (status = 403, body = super::common::ApiErrorBody),
    ))]
pub async fn share_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
    Query(q): Query<ShareQuery>,
) -> WebResult {
    let c = client(&state, &headers, &visitor).await?;
    let rows = licences::client_query(
        &state.core,
        &c,
        &q.holder_code,
        &q.licence_type,
        q.legal_basis.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(Json(ShareList { items: rows.into_iter().map(LicenceVerification::from).collect() }).into_response())
}

/// Sharing: the signed document of a licence the holder granted to the client's department
/// (scope `licence.document`); 404 otherwise. Audited and logged.
#[utoipa::path(get, path = "/api/v1/share/licences/{identifier}/document", tag = "sharing",
    params(("identifier" = String, Path)),
    responses(
        (status = 200, body = Document),
        (status = 401, body = super::common::ApiErrorBody),
        (status = 403, body = super::common::ApiErrorBody),
        (status = 404, body = super::common::ApiErrorBody),
    ))]
pub async fn share_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    visitor: Visitor,
    Path(identifier): Path<String>,
) -> WebResult {
    let c = client(&state, &headers, &visitor).await?;
    let doc = licences::client_document(&state.core, &c, &identifier).await?;
    Ok(Json(doc).into_response())
}

//! Verification for anyone (the QR code's page, the public check and the API), the signed
//! documents of licences and their check, and the signing keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tongban_domain::day::Day;

use super::{effective_status, store};
use crate::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::licence::{self as rules, IdentifierError, LicenceIdentifier, LicenceStatus};
use tongban_domain::mask;
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::licences::{LicenceRow, NewUse};

/// What anyone may learn about a licence from its identifier.
#[derive(Debug, Clone)]
pub struct Verification {
    pub identifier: String,
    pub valid: bool,
    pub status: LicenceStatus,
    pub status_reason: String,
    pub type_name: String,
    pub number: String,
    /// `张*，3101**********123X`
    pub holder: String,
    pub issuer: String,
    pub issued_on: Day,
    pub valid_from: Day,
    pub expires_on: Option<Day>,
    pub version: i64,
    /// The newer version that replaced this one, if any.
    pub superseded_by: Option<String>,
}

/// Parses an identifier as a visitor typed or scanned it: 422 with a reason when malformed.
pub fn parse_identifier(raw: &str) -> Result<LicenceIdentifier, AppError> {
    LicenceIdentifier::parse(raw).map_err(|e| {
        let code = match e {
            IdentifierError::Format => "format",
            IdentifierError::Check => "check_character",
        };
        AppError::Invalid(vec![FieldError::new("identifier", code, e.to_string())])
    })
}

fn masked_holder(core: &Core, row: &LicenceRow) -> String {
    let code = core.cipher.decrypt(&row.holder_code_enc).unwrap_or_default();
    let name =
        if row.holder_code_type == "credit_code" { row.holder_name.clone() } else { mask::name(&row.holder_name) };
    format!("{name}，{}", rules::mask_holder_code(&code))
}

pub(super) async fn verification_of(
    core: &Core,
    c: &mut sqlx::AnyConnection,
    row: &LicenceRow,
) -> Result<Verification, AppError> {
    let today = core.clock.today();
    let status = effective_status(row, today);
    let superseded_by = if status == LicenceStatus::Superseded {
        let ty = store::type_by_code(c, &row.type_code).await?;
        match ty {
            Some(t) => store::latest_of_serial(c, &row.serial, t.id).await?.filter(|id| *id != row.identifier),
            None => None,
        }
    } else {
        None
    };
    Ok(Verification {
        identifier: row.identifier.clone(),
        valid: status == LicenceStatus::Valid,
        status,
        status_reason: row.status_reason.clone(),
        type_name: row.type_name.clone(),
        number: row.number.clone(),
        holder: masked_holder(core, row),
        issuer: row.issuer.name.clone(),
        issued_on: row.issued_on,
        valid_from: row.valid_from,
        expires_on: row.valid_to,
        version: row.version,
        superseded_by,
    })
}

/// Verifies a licence by its identifier, for anyone (the QR code's page and API). Malformed →
/// `Invalid` (422); unknown → `NotFound`.
pub async fn verify_identifier(core: &Core, raw: &str) -> Result<Verification, AppError> {
    let id = parse_identifier(raw)?;
    let mut conn = core.db.conn().await?;
    let row = store::facts_by_identifier(&mut conn, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    verification_of(core, &mut conn, &row).await
}

// ---------------------------------------------------------------------------------------------
// Signed documents

/// The signed document of a licence: the exact canonical text that was signed, the base64 DER
/// signature, the key id and the algorithm.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Document {
    pub payload: String,
    pub signature: String,
    pub key_id: String,
    pub algorithm: String,
}

fn document_of(core: &Core, row: &LicenceRow) -> Result<Document, AppError> {
    Ok(Document {
        payload: core.cipher.decrypt(&row.payload_enc)?,
        signature: row.signature.clone(),
        key_id: row.key_id.clone(),
        algorithm: tongban_crypto::signing::ALGORITHM.to_owned(),
    })
}

/// The signed document, for its holder or for staff of a department the holder granted use to.
/// Anyone else gets "not found": whether someone else's licence exists is not revealed.
pub async fn document(core: &Core, actor: &Actor, raw: &str) -> Result<Document, AppError> {
    let id = LicenceIdentifier::parse(raw).map_err(|_| AppError::NotFound)?;
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if row.holder_user_id.is_some() && row.holder_user_id == Some(actor.user_id) {
        return document_of(core, &row);
    }
    let Some(department) = actor.department.as_ref() else { return Err(AppError::NotFound) };
    if !store::has_grant(&mut conn, row.id, department.id, core.clock.now_ms()).await? {
        return Err(AppError::NotFound);
    }
    drop(conn);
    let doc = document_of(core, &row)?;
    let mut tx = core.db.begin().await?;
    let purpose = "获取证照签名文件（持证人已授权）";
    let u = NewUse {
        licence_id: row.id,
        department_id: Some(department.id),
        reference: "",
        purpose,
        actor: &actor.display_name,
        at: core.clock.now_ms(),
    };
    store::insert_use(&mut tx, &u).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.document", &row.identifier, Outcome::Success, purpose).await?;
    tx.commit().await?;
    Ok(doc)
}

/// The result of checking a submitted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCheck {
    /// The signature matches the payload under the named key of this platform.
    pub signature_valid: bool,
    /// The signature is valid and the licence is valid today.
    pub valid: bool,
    pub identifier: Option<String>,
    pub status: Option<LicenceStatus>,
}

/// Checks a downloaded document (as JSON): its signature, then the licence's current status.
/// Anything malformed, tampered or truncated is simply `signature_valid: false`.
pub async fn verify_document(core: &Core, doc: &Value) -> Result<DocumentCheck, AppError> {
    let invalid = DocumentCheck { signature_valid: false, valid: false, identifier: None, status: None };
    let (Some(payload), Some(signature), Some(key_id)) = (
        doc.get("payload").and_then(Value::as_str),
        doc.get("signature").and_then(Value::as_str),
        doc.get("key_id").and_then(Value::as_str),
    ) else {
        return Ok(invalid);
    };
    let Ok(der) = STANDARD.decode(signature.trim()) else { return Ok(invalid) };
    if !core.licence_keys.verify(key_id, payload.as_bytes(), &der) {
        return Ok(invalid);
    }
    let identifier = serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| v.get("metadata")?.get("identifier")?.as_str().map(str::to_owned));
    let Some(identifier) = identifier else {
        return Ok(DocumentCheck { signature_valid: true, ..invalid });
    };
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &identifier).await?;
    let status = row.as_ref().map(|r| effective_status(r, core.clock.today()));
    Ok(DocumentCheck {
        signature_valid: true,
        valid: status == Some(LicenceStatus::Valid),
        identifier: Some(identifier),
        status,
    })
}

/// The published public keys: (key id, PEM, current).
pub fn public_keys(core: &Core) -> Vec<tongban_crypto::signing::PublicKeyInfo> {
    core.licence_keys.public_keys()
}

/// Rotates the issuing key (console or licence administrators); returns the new key id.
pub async fn rotate_key(core: &Core, actor: &Actor) -> Result<String, AppError> {
    authorize(core, actor, Permission::LicenceManage, "licence_keys").await?;
    let key_id = core.licence_keys.rotate()?;
    let mut tx = core.db.begin().await?;
    audit_in(&mut tx, &core.clock, actor, "licence.rotate_key", &key_id, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(key_id)
}

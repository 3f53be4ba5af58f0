//! Electronic licences (电子证照): the licence catalogue, issuance (from an approved case, by
//! hand, or by bulk import of historical licences), SM2 signatures over the canonical form,
//! verification for anyone, the holder's wallet and use log, reuse instead of paper
//! (两个免于提交), sharing with other departments' systems, and the lifecycle (suspend,
//! restore, revoke, cancel, change, expire).
//!
//! One file per use-case group; this module holds what they share (the parsed licence type, the
//! effective status, date formats) and re-exports every use case, so that paths stay
//! `app::licences::X`:
//! - `types`: the licence catalogue (证照目录), administered by licence administrators;
//! - `issuing`: issuance from an approved case or by hand, and the signing every issuance shares;
//! - `import`: the bulk import of historical licences (历史证照归集);
//! - `verification`: verification for anyone (QR page, API), signed documents and the keys;
//! - `lifecycle`: suspend, restore, revoke, cancel, and change (变更, a new signed version);
//! - `expiry`: expiry of licences past their validity, and its hourly job;
//! - `wallet`: the holder's own licences, use log and grants (授权用证);
//! - `reuse`: licences picked instead of uploads in applications (两个免于提交);
//! - `sharing`: API clients of other departments' systems, their queries and use records;
//! - `staff`: the licence lists and views of issuing departments and administrators.

use crate::{AppError, Core};
use tongban_domain::day::Day;
use tongban_domain::licence::{FaceField, LicenceStatus, Validity};
use tongban_store::licences::{self as store, LicenceRow, LicenceType};
use tongban_store::org::{self, Department};

mod expiry;
mod import;
mod issuing;
mod lifecycle;
mod reuse;
mod sharing;
mod staff;
mod types;
mod verification;
mod wallet;

pub use expiry::{EXPIRE_JOB, EXPIRE_SECONDS, ExpireJob, expire_due, expire_due_in};
pub use import::{IMPORT_COLUMNS, Imported, RowReport, import};
pub use issuing::{CaseIssue, HandIssue, Issued, face_fields, issue_by_hand, issue_in, issued_for_case};
pub use lifecycle::{Lifecycle, change, change_status};
pub use reuse::{UsedLicence, pick_in, record_uses_in, usable_for, used_in_application};
pub use sharing::{Client, SCOPES, authenticate_client, client_document, client_query, client_verify, create_client};
pub use staff::{for_change, for_staff, list_for_staff};
pub use types::{
    TEMPLATES, TypeForm, face_fields_text, list_types, parse_face_fields, save_type, save_type_in, type_for_admin,
};
pub use verification::{
    Document, DocumentCheck, Verification, document, parse_identifier, public_keys, rotate_key, verify_document,
    verify_identifier,
};
pub use wallet::{MyLicence, grant, my_licence, use_log, wallet, wallet_page};

/// A licence type with its face schema and validity parsed.
#[derive(Debug, Clone)]
pub struct TypeView {
    pub row: LicenceType,
    pub face_fields: Vec<FaceField>,
    pub validity: Validity,
}

impl TypeView {
    fn from_row(row: LicenceType) -> Result<Self, AppError> {
        let face_fields: Vec<FaceField> = serde_json::from_str(&row.face_fields)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("licence type {} face fields: {e}", row.code)))?;
        let validity = Validity::parse(&row.validity)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("licence type {} validity", row.code)))?;
        Ok(Self { row, face_fields, validity })
    }

    pub fn holder_kind_label(&self) -> &'static str {
        if self.row.holder_kind == "person" { "自然人" } else { "法人" }
    }
}

async fn type_by_code(c: &mut sqlx::AnyConnection, code: &str) -> Result<TypeView, AppError> {
    let row = store::type_by_code(c, code).await?.ok_or(AppError::NotFound)?;
    TypeView::from_row(row)
}

/// The effective status on `today`: a valid licence past its last day is expired even before
/// the expiry job has run.
fn effective_status(row: &LicenceRow, today: Day) -> LicenceStatus {
    match (row.status, row.valid_to) {
        (LicenceStatus::Valid | LicenceStatus::Suspended, Some(to)) if to < today => LicenceStatus::Expired,
        (stored, _) => stored,
    }
}

/// Departments, for the grant form.
pub async fn departments(core: &Core) -> Result<Vec<Department>, AppError> {
    Ok(org::list_departments(&mut *core.db.conn().await?).await?)
}

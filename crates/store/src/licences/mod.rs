//! Electronic licences: licence types (证照目录), licences, the use log, use grants, API clients
//! of other departments' systems, and licences picked in applications.
//!
//! One file per table group, re-exported so that paths stay `store::licences::X`: `types` (the
//! catalogue), `issued` (the licences: insert, reads, lists, status), `uses` (the use log and
//! grants), `clients` (API clients) and `picks` (licences picked in applications). This
//! module holds the licence row and its `SELECT`, which `issued` and `picks` share.

use sqlx::Row;
use tongban_domain::day::Day;
use tongban_domain::licence::LicenceStatus;

use super::org::Department;

/// A licence as stored, with its type and issuer.
#[derive(Debug, Clone)]
pub struct LicenceRow {
    pub id: i64,
    pub identifier: String,
    pub serial: String,
    pub version: i64,
    pub type_code: String,
    pub type_catalog_code: String,
    pub type_name: String,
    pub template: String,
    pub number: String,
    pub issuer: Department,
    pub issuer_credit_code: Option<String>,
    pub holder_user_id: Option<i64>,
    pub holder_name: String,
    pub holder_code_enc: String,
    pub holder_code_type: String,
    pub related_item: Option<String>,
    pub case_number: Option<String>,
    pub face_data: String,
    pub payload_enc: String,
    pub signature: String,
    pub key_id: String,
    pub status: LicenceStatus,
    pub status_reason: String,
    pub issued_on: Day,
    pub valid_from: Day,
    pub valid_to: Option<Day>,
    pub created_at: i64,
    pub updated_at: i64,
}

macro_rules! select_licence_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT l.id, l.identifier, l.serial, l.version, l.number, l.holder_user_id, l.holder_name, \
             l.holder_code_enc, l.holder_code_type, l.related_item, l.case_number, l.face_data, l.payload_enc, \
             l.signature, l.key_id, l.status, l.status_reason, l.issued_on, l.valid_from, l.valid_to, l.created_at, l.updated_at, \
             t.code AS t_code, t.catalog_code AS t_catalog, t.name AS t_name, t.template AS t_template, \
             d.id AS d_id, d.code AS d_code, d.name AS d_name, d.credit_code AS d_credit \
             FROM licences l JOIN licence_types t ON t.id = l.type_id JOIN departments d ON d.id = l.issuer_id WHERE ",
            $($condition)+
        )
    };
}

/// The same columns, but without the large ones (face data, signed payload, signature), which
/// come back empty: what verification needs, read thousands of times a second.
macro_rules! select_licence_facts_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT l.id, l.identifier, l.serial, l.version, l.number, l.holder_user_id, l.holder_name, \
             l.holder_code_enc, l.holder_code_type, l.related_item, l.case_number, '' AS face_data, \
             '' AS payload_enc, '' AS signature, l.key_id, l.status, l.status_reason, l.issued_on, l.valid_from, l.valid_to, l.created_at, l.updated_at, \
             t.code AS t_code, t.catalog_code AS t_catalog, t.name AS t_name, t.template AS t_template, \
             d.id AS d_id, d.code AS d_code, d.name AS d_name, d.credit_code AS d_credit \
             FROM licences l JOIN licence_types t ON t.id = l.type_id JOIN departments d ON d.id = l.issuer_id WHERE ",
            $($condition)+
        )
    };
}

fn licence_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<LicenceRow> {
    Ok(LicenceRow {
        id: r.try_get("id")?,
        identifier: r.try_get("identifier")?,
        serial: r.try_get("serial")?,
        version: r.try_get("version")?,
        type_code: r.try_get("t_code")?,
        type_catalog_code: r.try_get("t_catalog")?,
        type_name: r.try_get("t_name")?,
        template: r.try_get("t_template")?,
        number: r.try_get("number")?,
        issuer: Department { id: r.try_get("d_id")?, code: r.try_get("d_code")?, name: r.try_get("d_name")? },
        issuer_credit_code: r.try_get("d_credit")?,
        holder_user_id: r.try_get("holder_user_id")?,
        holder_name: r.try_get("holder_name")?,
        holder_code_enc: r.try_get("holder_code_enc")?,
        holder_code_type: r.try_get("holder_code_type")?,
        related_item: r.try_get("related_item")?,
        case_number: r.try_get("case_number")?,
        face_data: r.try_get("face_data")?,
        payload_enc: r.try_get("payload_enc")?,
        signature: r.try_get("signature")?,
        key_id: r.try_get("key_id")?,
        status: crate::code(r, "status")?,
        status_reason: r.try_get("status_reason")?,
        issued_on: crate::day(r, "issued_on")?,
        valid_from: crate::day(r, "valid_from")?,
        valid_to: crate::day_opt(r, "valid_to")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

// Declared after the `select_licence…` macros above, which they use (a macro is in scope only
// below its definition).
mod clients;
mod issued;
mod picks;
mod types;
mod uses;

pub use clients::{ApiClient, client_by_secret_hash, insert_client};
pub use issued::{
    Filter, NewLicence, account_of_holder, by_id, by_identifier, expire_due, facts_by_identifier, identifier_for_case,
    insert, latest_of_serial, list, of_holder, of_holder_code_and_type, of_holder_page, set_status,
    valid_of_holder_and_type,
};
pub use picks::{pick_for_material, picked_in_application, unpick_material};
pub use types::{LicenceType, TypeFields, insert_type, list_types, type_by_code, update_type};
pub use uses::{NewUse, UseRow, has_grant, insert_grant, insert_use, uses_of_holder, uses_of_licence};

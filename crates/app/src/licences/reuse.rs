//! Reuse instead of paper (两个免于提交): the applicant picks valid licences instead of
//! uploads, the submission logs their use, and the reviewer sees them verified.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{effective_status, store};
use crate::{Actor, AppError, Core, FieldError, Problems, audit_in};
use tongban_domain::item::ItemDefinition;
use tongban_domain::licence::{LicenceIdentifier, LicenceStatus};
use tongban_store::audit::Outcome;
use tongban_store::licences::{LicenceRow, NewUse};
use tongban_store::org;

/// For each material of an item that a licence type can replace, the caller's valid licences of
/// that type: (material code, licences).
pub async fn usable_for(
    core: &Core,
    actor: &Actor,
    def: &ItemDefinition,
) -> Result<Vec<(String, Vec<LicenceRow>)>, AppError> {
    let mut conn = core.db.conn().await?;
    let today = core.clock.today();
    let mut out = Vec::new();
    for m in &def.materials {
        if let Some(t) = &m.licence_type {
            let held = store::valid_of_holder_and_type(&mut conn, actor.user_id, t, today).await?;
            if !held.is_empty() {
                out.push((m.code.clone(), held));
            }
        }
    }
    Ok(out)
}

/// Records the licences the applicant picked instead of uploads (material code, identifier)
/// inside the application's transaction; each must be the applicant's own, valid, and of the
/// type the material accepts. An empty identifier withdraws the material's earlier pick. Returns the codes of every material an earlier or a new pick
/// satisfies, and the problems with picks that could not be used.
pub async fn pick_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    def: &ItemDefinition,
    application_id: i64,
    picks: &[(String, String)],
) -> Result<(Vec<String>, Vec<FieldError>), AppError> {
    let mut problems = Problems::default();
    let today = clock.today();
    let now = clock.now_ms();
    for (code, raw) in picks {
        let field = format!("material:{code}");
        let Some(material) = def.materials.iter().find(|m| &m.code == code) else {
            problems.add(&field, "unknown_material", format!("本事项没有编号为 {code} 的材料"));
            continue;
        };
        if raw.trim().is_empty() {
            store::unpick_material(tx, application_id, code).await?;
            continue;
        }
        let row = match LicenceIdentifier::parse(raw) {
            Ok(id) => store::by_identifier(tx, &id.to_string()).await?,
            Err(_) => None,
        };
        let usable = row.filter(|r| {
            r.holder_user_id == Some(actor.user_id)
                && Some(&r.type_code) == material.licence_type.as_ref()
                && effective_status(r, today) == LicenceStatus::Valid
        });
        match usable {
            Some(r) => store::pick_for_material(tx, application_id, code, r.id, now).await?,
            None => problems.add(
                &field,
                "licence_unusable",
                format!("所选电子证照不能用于「{}」，请重新选择或上传材料", material.name),
            ),
        }
    }
    let picked = store::picked_in_application(tx, application_id).await?.into_iter().map(|(code, _)| code).collect();
    Ok((picked, problems.0))
}

/// Writes the use log (用证记录) for the licences picked in an application, at submission,
/// inside the submission's transaction.
pub async fn record_uses_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    def: &ItemDefinition,
    application_id: i64,
    number: &str,
) -> Result<(), AppError> {
    let picked = store::picked_in_application(tx, application_id).await?;
    let department = org::department_by_code(tx, &def.department).await?;
    let now = clock.now_ms();
    for (code, licence) in picked {
        let material = def.materials.iter().find(|m| m.code == code).map_or(code.as_str(), |m| m.name.as_str());
        let purpose = format!("申请「{}」，代替提交「{material}」", def.name);
        let u = NewUse {
            licence_id: licence.id,
            department_id: department.as_ref().map(|d| d.id),
            reference: number,
            purpose: &purpose,
            actor: &actor.display_name,
            at: now,
        };
        store::insert_use(tx, &u).await?;
        audit_in(tx, clock, actor, "licence.use", &licence.identifier, Outcome::Success, number).await?;
    }
    Ok(())
}

/// A licence used in an application, verified for the reviewer.
#[derive(Debug, Clone)]
pub struct UsedLicence {
    pub material_code: String,
    pub identifier: String,
    pub type_name: String,
    pub number: String,
    pub holder_name: String,
    pub issuer: String,
    pub status: LicenceStatus,
    /// The stored signature verifies against the stored payload.
    pub signature_valid: bool,
    /// Signature valid and licence valid today.
    pub valid: bool,
}

/// The licences used in an application (for the reviewer's case page), each verified: status
/// today and signature.
pub async fn used_in_application(core: &Core, application_id: i64) -> Result<Vec<UsedLicence>, AppError> {
    let picked = store::picked_in_application(&mut *core.db.conn().await?, application_id).await?;
    let today = core.clock.today();
    Ok(picked
        .into_iter()
        .map(|(material_code, row)| {
            let status = effective_status(&row, today);
            let signature_valid = match (core.cipher.decrypt(&row.payload_enc), STANDARD.decode(&row.signature)) {
                (Ok(payload), Ok(der)) => core.licence_keys.verify(&row.key_id, payload.as_bytes(), &der),
                _ => false,
            };
            UsedLicence {
                material_code,
                identifier: row.identifier,
                type_name: row.type_name,
                number: row.number,
                holder_name: row.holder_name,
                issuer: row.issuer.name,
                status,
                signature_valid,
                valid: signature_valid && status == LicenceStatus::Valid,
            }
        })
        .collect())
}

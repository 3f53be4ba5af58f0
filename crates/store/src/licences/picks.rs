//! Licences picked instead of uploads for the materials of an application.

use sqlx::{AnyConnection, Row};

use super::{LicenceRow, licence_from_row};

/// Removes the licence picked for a material of an application, if any.
pub async fn unpick_material(c: &mut AnyConnection, application_id: i64, material_code: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM application_licences WHERE application_id = $1 AND material_code = $2")
        .bind(application_id)
        .bind(material_code)
        .execute(c)
        .await?;
    Ok(())
}

/// Records the licence picked for a material of an application (replacing an earlier pick).
pub async fn pick_for_material(
    c: &mut AnyConnection,
    application_id: i64,
    material_code: &str,
    licence_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    unpick_material(&mut *c, application_id, material_code).await?;
    sqlx::query(
        "INSERT INTO application_licences (application_id, material_code, licence_id, picked_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(application_id)
    .bind(material_code)
    .bind(licence_id)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// The licences picked in an application: (material code, licence).
pub async fn picked_in_application(
    c: &mut AnyConnection,
    application_id: i64,
) -> sqlx::Result<Vec<(String, LicenceRow)>> {
    const SQL: &str = select_licence_where!(
        "l.id IN (SELECT licence_id FROM application_licences WHERE application_id = $1) ORDER BY l.id"
    );
    let rows = sqlx::query(SQL).bind(application_id).fetch_all(&mut *c).await?;
    let licences: Vec<LicenceRow> = rows.iter().map(licence_from_row).collect::<sqlx::Result<_>>()?;
    let picks = sqlx::query(
        "SELECT material_code, licence_id FROM application_licences WHERE application_id = $1 ORDER BY material_code",
    )
    .bind(application_id)
    .fetch_all(c)
    .await?;
    let mut out = Vec::new();
    for p in picks {
        let licence_id: i64 = p.try_get("licence_id")?;
        if let Some(l) = licences.iter().find(|l| l.id == licence_id) {
            out.push((p.try_get("material_code")?, l.clone()));
        }
    }
    Ok(out)
}

//! An application as its pages show it (`View`: the answers, materials, timeline and the item
//! definitions it was made on), and the reads that load one: the applicant's own (我的办件), a
//! draft to resume, and by id for the staff's case page. Nobody sees another applicant's
//! application.

use serde_json::{Map, Value};

use super::catalogue::Guide;
use super::{Actor, AppError, Core, authorize};
use tongban_domain::application as rules;
use tongban_domain::item::ItemDefinition;
use tongban_domain::permission::Permission;
use tongban_store::applications::{self as store, ApplicationRow, Event, MaterialFile};

/// An application with everything its pages need.
#[derive(Debug, Clone)]
pub struct View {
    pub row: ApplicationRow,
    pub values: Map<String, Value>,
    pub materials: Vec<MaterialFile>,
    pub events: Vec<Event>,
    /// The definition applied: the submitted snapshot, or the current version for a draft.
    pub definition: Option<ItemDefinition>,
    /// For a bundle (一件事): the snapshot of every item in it.
    pub bundle_definitions: Vec<ItemDefinition>,
}

impl View {
    /// The files of one item's material (bundles keep them as `<item code>:<material code>`).
    pub fn files_of(&self, item_code: &str, material_code: &str) -> Vec<MaterialFile> {
        let keyed = format!("{item_code}:{material_code}");
        self.materials
            .iter()
            .filter(|f| f.material_code == material_code || f.material_code == keyed)
            .cloned()
            .collect()
    }

    /// Masks the answers' ID numbers and phones (by the forms' field types and by shape): how
    /// every read-only view shows them unless a full view was asked for and audited.
    pub fn mask(&mut self) {
        let mut values = std::mem::take(&mut self.values);
        let defs = self.all_definitions();
        if defs.is_empty() {
            values = tongban_domain::mask::form_values(&Default::default(), &values);
        }
        for def in &defs {
            values = tongban_domain::mask::form_values(&def.form, &values);
        }
        self.values = values;
    }

    /// Every item definition the application was made on.
    pub fn all_definitions(&self) -> Vec<ItemDefinition> {
        self.definition.iter().chain(self.bundle_definitions.iter()).cloned().collect()
    }
}

/// The applicant's draft for an item, if any (to resume it).
pub async fn draft(core: &Core, actor: &Actor, guide: &Guide) -> Result<Option<View>, AppError> {
    let mut conn = core.db.conn().await?;
    match store::draft_for(&mut conn, actor.user_id, guide.row.id).await? {
        Some(row) => Ok(Some(load_view(&mut conn, &core.cipher, row).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn load_view(
    conn: &mut sqlx::AnyConnection,
    cipher: &tongban_crypto::FieldCipher,
    row: ApplicationRow,
) -> Result<View, AppError> {
    let form = cipher.open_or_plain(&row.form_data)?;
    let values = serde_json::from_str::<Value>(&form).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let materials = store::materials(conn, row.id).await?;
    let mut events = store::events(conn, row.id).await?;
    for e in &mut events {
        e.note = cipher.open_or_plain(&e.note)?;
    }
    let snapshot = row.snapshot.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok());
    let definition =
        snapshot.as_ref().and_then(|v| serde_json::from_value::<ItemDefinition>(v.get("definition")?.clone()).ok());
    let bundle_definitions = snapshot
        .as_ref()
        .and_then(|v| serde_json::from_value::<Vec<ItemDefinition>>(v.get("bundle")?.clone()).ok())
        .unwrap_or_default();
    Ok(View { row, values, materials, events, definition, bundle_definitions })
}

/// An application by its database id (for the staff's case page).
pub async fn load_by_id(
    conn: &mut sqlx::AnyConnection,
    cipher: &tongban_crypto::FieldCipher,
    id: i64,
) -> Result<View, AppError> {
    let row = store::by_id(conn, id).await?.ok_or(AppError::NotFound)?;
    load_view(conn, cipher, row).await
}

/// One of the applicant's own applications; anybody else's is "not found".
pub async fn mine(core: &Core, actor: &Actor, number: &str) -> Result<View, AppError> {
    authorize(core, actor, Permission::PortalMine, number).await?;
    if !rules::looks_like_number(number) {
        return Err(AppError::NotFound);
    }
    let mut conn = core.db.conn().await?;
    let row = store::by_number(&mut conn, number)
        .await?
        .filter(|r| r.applicant_id == actor.user_id)
        .ok_or(AppError::NotFound)?;
    let mut view = load_view(&mut conn, &core.cipher, row).await?;
    view.mask();
    Ok(view)
}

pub async fn list_mine(
    core: &Core,
    actor: &Actor,
    page: i64,
    page_size: i64,
) -> Result<(i64, Vec<ApplicationRow>), AppError> {
    authorize(core, actor, Permission::PortalMine, "applications").await?;
    let offset = (page.max(1) - 1).saturating_mul(page_size);
    Ok(store::list_for_applicant(&mut *core.db.conn().await?, actor.user_id, offset, page_size).await?)
}

//! What the rooms' pages read that had been read in the handlers: the records they render
//! (re-exported here, so that `web` never names `store`) and the read use cases behind the
//! hall, the dashboard, the portal's home and account pages, the catalogue pages and the
//! application form's prefill. Each checks the permission it needs, as the other use cases do.

use serde_json::{Map, Value};

use super::{Actor, AppError, Core, authorize};
use tongban_domain::item::{FieldType, ItemDefinition, ItemStatus, Sites};
use tongban_domain::org::SiteKind;
use tongban_domain::permission::Permission;
use tongban_store::{audit, catalogue, org, roles, users};

pub use tongban_store::applications::{ApplicationRow, MaterialFile};
pub use tongban_store::audit::{Entry, Filter as AuditFilter};
pub use tongban_store::cases::CaseRow;
pub use tongban_store::catalogue::{AdminFilter, ItemRow, LifeEvent};
pub use tongban_store::licences::{Filter as LicenceFilter, LicenceRow, UseRow};
pub use tongban_store::notifications::Notification;
pub use tongban_store::org::{Department, Site, Window};
pub use tongban_store::roles::{Grant, Role};
pub use tongban_store::users::{User, UserFilter, UserKind};

/// The halls (every site) and the life events, for the portal's home page. Public.
pub async fn home(core: &Core) -> Result<(Vec<Site>, Vec<LifeEvent>), AppError> {
    let mut conn = core.db.conn().await?;
    Ok((org::list_sites(&mut conn).await?, catalogue::life_events(&mut conn).await?))
}

/// Every site (district centre and community centres). Public: the portal lists them.
pub async fn sites(core: &Core) -> Result<Vec<Site>, AppError> {
    Ok(org::list_sites(&mut *core.db.conn().await?).await?)
}

/// The life events (一件事). Public.
pub async fn life_events(core: &Core) -> Result<Vec<LifeEvent>, AppError> {
    Ok(catalogue::life_events(&mut *core.db.conn().await?).await?)
}

/// The departments with their number of published items. Public.
pub async fn departments_with_counts(core: &Core) -> Result<Vec<(Department, i64)>, AppError> {
    Ok(catalogue::counts_by_department(&mut *core.db.conn().await?).await?)
}

/// Whether an item with this code exists (any status), for the catalogue editor.
pub async fn item_code_taken(core: &Core, actor: &Actor, code: &str) -> Result<bool, AppError> {
    authorize(core, actor, Permission::CatalogEdit, "items").await?;
    Ok(catalogue::item_by_code(&mut *core.db.conn().await?, code).await?.is_some())
}

/// The user's own account record and role grants.
pub async fn own_account(core: &Core, actor: &Actor) -> Result<(User, Vec<Grant>), AppError> {
    let mut conn = core.db.conn().await?;
    let u = users::by_id(&mut conn, actor.user_id).await?.ok_or(AppError::NotFound)?;
    let grants = roles::grants_of(&mut conn, u.id).await?;
    Ok((u, grants))
}

/// An application form's values known from the applicant's account: ID number, credit code,
/// phone (not for an assisted intake: the applicant tells it) and name. Decrypted here, never
/// in a handler. The caller has established that `applicant_id` is the applicant (the user
/// themselves, or a walk-in identified at the window).
pub async fn prefill(
    core: &Core,
    applicant_id: i64,
    def: &ItemDefinition,
    assisted: bool,
) -> Result<Map<String, Value>, AppError> {
    let mut values = Map::new();
    let u = users::by_id(&mut *core.db.conn().await?, applicant_id).await?.ok_or(AppError::NotFound)?;
    let decrypt = |v: &Option<String>| v.as_ref().and_then(|s| core.cipher.decrypt(s).ok());
    for f in &def.form.fields {
        let v = match f.kind {
            FieldType::IdNumber if u.kind == UserKind::Person => decrypt(&u.id_number_enc),
            FieldType::CreditCode => u.credit_code.clone(),
            FieldType::Phone if !assisted => decrypt(&u.phone_enc),
            FieldType::Text
                if matches!(f.name.as_str(), "applicant_name" | "name" | "applicant") && u.kind == UserKind::Person =>
            {
                Some(u.display_name.clone())
            }
            FieldType::Text
                if matches!(f.name.as_str(), "organisation_name" | "company_name" | "org_name")
                    && u.kind == UserKind::Organisation =>
            {
                Some(u.display_name.clone())
            }
            _ => None,
        };
        if let Some(v) = v
            && !values.contains_key(&f.name)
        {
            values.insert(f.name.clone(), Value::String(v));
        }
    }
    Ok(values)
}

/// The window workbench of the user's own site.
pub struct Hall {
    pub windows: Vec<Window>,
    pub colleagues: Vec<User>,
    /// Items this hall may take for a walk-in applicant: (code, name, department).
    pub intake_items: Vec<(String, String, String)>,
}

/// The hall page: the user's site's windows and staff, and (with `case.intake`) the published
/// items for persons this site serves (citywide ones or those listing the site).
pub async fn hall(core: &Core, actor: &Actor) -> Result<Hall, AppError> {
    authorize(core, actor, Permission::HallView, "hall").await?;
    let mut conn = core.db.conn().await?;
    let mut intake_items = Vec::new();
    if let Some(site) = actor.site.as_ref().filter(|_| actor.can(Permission::CaseIntake)) {
        for (row, json) in catalogue::published_with_definitions(&mut conn).await? {
            let Ok(def) = serde_json::from_str::<ItemDefinition>(&json) else { continue };
            let here = match &def.sites {
                Sites::All(_) => true,
                Sites::Listed(codes) => codes.contains(&site.code),
            };
            if row.serves_persons() && row.status == ItemStatus::Published && (def.citywide || here) {
                intake_items.push((row.code, row.name, row.department.name));
            }
        }
    }
    let (windows, colleagues) = match &actor.site {
        Some(site) => {
            (org::windows_of_site(&mut conn, site.id).await?, users::staff_of_site(&mut conn, site.id).await?)
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok(Hall { windows, colleagues, intake_items })
}

/// The district's figures for the leaders' dashboard.
pub struct Figures {
    pub persons: i64,
    pub organisations: i64,
    pub staff: i64,
    pub departments: usize,
    pub district_centers: usize,
    pub community_centers: usize,
    pub windows: i64,
    pub logins_today: i64,
}

/// The dashboard's figures; logins are counted since midnight, China time.
pub async fn dashboard(core: &Core, actor: &Actor) -> Result<Figures, AppError> {
    authorize(core, actor, Permission::DashboardView, "dashboard").await?;
    let mut conn = core.db.conn().await?;
    let counts = users::count_by_kind(&mut conn).await?;
    let count = |k: &str| counts.iter().find(|(kind, _)| kind == k).map_or(0, |(_, n)| *n);
    let sites = org::list_sites(&mut conn).await?;
    let midnight = crate::clock::at_hour(core.clock.today(), 0);
    Ok(Figures {
        persons: count("person"),
        organisations: count("organisation"),
        staff: count("staff"),
        departments: org::list_departments(&mut conn).await?.len(),
        district_centers: sites.iter().filter(|s| s.kind == SiteKind::DistrictCenter).count(),
        community_centers: sites.iter().filter(|s| s.kind == SiteKind::CommunityCenter).count(),
        windows: org::count_windows(&mut conn).await?,
        logins_today: audit::count_action_since(&mut conn, "auth.login", midnight).await?,
    })
}

/// Every department. Public: the catalogue is browsed by department.
pub async fn departments(core: &Core) -> Result<Vec<Department>, AppError> {
    Ok(org::list_departments(&mut *core.db.conn().await?).await?)
}

/// The organisation: departments, and every site with its windows (`org.view`).
pub async fn organisation(core: &Core, actor: &Actor) -> Result<(Vec<Department>, Vec<(Site, Vec<Window>)>), AppError> {
    authorize(core, actor, Permission::OrgView, "org").await?;
    let mut conn = core.db.conn().await?;
    let departments = org::list_departments(&mut conn).await?;
    let mut sites = Vec::new();
    for site in org::list_sites(&mut conn).await? {
        let windows = org::windows_of_site(&mut conn, site.id).await?;
        sites.push((site, windows));
    }
    Ok((departments, sites))
}

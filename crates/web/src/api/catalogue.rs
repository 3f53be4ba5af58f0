//! The service catalogue (`/api/v1/items`).

use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{ApiErrorBody, OrgRef};
use crate::AppState;
use crate::kit::error::WebResult;
use crate::kit::params::Ref;
use tongban_app::paging::PageRequest;
use tongban_domain::reference::ItemCode;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ItemsParams {
    /// Search words, as people type them (社保, 开饭店, gtgsh).
    pub q: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// `person` or `organisation`.
    pub subject: Option<String>,
    pub page: Option<i64>,
    /// 1–100, default 20.
    pub page_size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemSummary {
    pub code: String,
    pub name: String,
    pub item_type: String,
    pub department: OrgRef,
    /// `person` and/or `organisation`.
    pub subjects: Vec<String>,
    pub fully_online: bool,
    pub citywide: bool,
    pub promised_days: i64,
    /// `published` or `suspended`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct ItemList {
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub items: Vec<ItemSummary>,
}

fn summary(row: tongban_app::views::ItemRow) -> ItemSummary {
    ItemSummary {
        subjects: row.subjects.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        code: row.code,
        name: row.name,
        item_type: row.item_type,
        department: OrgRef { code: row.department.code, name: row.department.name },
        fully_online: row.fully_online,
        citywide: row.citywide,
        promised_days: row.promised_days,
        status: row.status.name().to_owned(),
    }
}

/// Search or browse the public catalogue (published and suspended items), best match first.
#[utoipa::path(get, path = "/api/v1/items", tag = "catalogue", params(ItemsParams),
    responses((status = 200, body = ItemList), (status = 422, body = ApiErrorBody)))]
pub(crate) async fn list_items(State(state): State<AppState>, Query(p): Query<ItemsParams>) -> WebResult {
    let page = p.page.unwrap_or(1);
    let page_size = p.page_size.unwrap_or(20);
    let mut problems = tongban_app::Problems::default();
    if !(1..=PageRequest::MAX_NUMBER).contains(&page) {
        problems.add("page", "out_of_range", "页码应为 1–1000000");
    }
    if !(1..=100).contains(&page_size) {
        problems.add("page_size", "out_of_range", "每页条数应为 1–100");
    }
    let subject = p.subject.unwrap_or_default();
    if !["", "person", "organisation"].contains(&subject.as_str()) {
        problems.add("subject", "invalid", "服务对象应为 person 或 organisation");
    }
    problems.into_result()?;
    let query = tongban_app::catalogue::Query {
        q: p.q.unwrap_or_default(),
        department: p.department.unwrap_or_default(),
        subject,
        page,
        page_size,
    };
    let (total, rows) = tongban_app::catalogue::find(&state.core, &query).await?;
    Ok(Json(ItemList { total, page, page_size, items: rows.into_iter().map(summary).collect() }).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ItemDetail {
    pub code: String,
    pub name: String,
    pub item_type: String,
    pub department: OrgRef,
    pub subjects: Vec<tongban_domain::item::Subject>,
    pub legal_days: u32,
    pub promised_days: u32,
    pub case_kind: tongban_domain::item::CaseKind,
    pub visits_required: u32,
    pub fully_online: bool,
    pub citywide: bool,
    /// Codes of the sites that handle the item.
    pub sites: Vec<String>,
    pub fee: Option<tongban_domain::item::Fee>,
    pub legal_basis: Vec<String>,
    pub conditions: Vec<String>,
    pub process: Vec<String>,
    pub consult_phone: String,
    pub complaint_phone: String,
    pub faq: Vec<tongban_domain::item::Faq>,
    pub materials: Vec<tongban_domain::item::Material>,
    pub form: tongban_domain::item::FormSchema,
    pub status: String,
    /// The licence type an approved case produces (证照目录编码), if any.
    pub licence_type: Option<String>,
    /// Why the item is suspended (empty otherwise).
    pub status_reason: String,
    pub version: i64,
}

/// One item's guide with its materials and application form.
#[utoipa::path(get, path = "/api/v1/items/{code}", tag = "catalogue", params(("code" = String, Path, description = "item code")),
    responses((status = 200, body = ItemDetail), (status = 404, body = ApiErrorBody)))]
pub(crate) async fn get_item(State(state): State<AppState>, Ref(code): Ref<ItemCode>) -> WebResult {
    let g = tongban_app::catalogue::guide(&state.core, &code).await?;
    let d = g.def;
    Ok(Json(ItemDetail {
        code: d.code,
        name: d.name,
        item_type: d.item_type,
        department: OrgRef { code: g.row.department.code, name: g.row.department.name },
        subjects: d.subjects,
        legal_days: d.legal_days,
        promised_days: d.promised_days,
        case_kind: d.case_kind,
        visits_required: d.visits_required,
        fully_online: d.fully_online,
        citywide: d.citywide,
        sites: g.sites.into_iter().map(|s| s.code).collect(),
        fee: d.fee,
        legal_basis: d.legal_basis,
        conditions: d.conditions,
        process: d.process,
        consult_phone: d.consult_phone,
        complaint_phone: d.complaint_phone,
        faq: d.faq,
        materials: d.materials,
        form: d.form,
        status: g.row.status.name().to_owned(),
        licence_type: d.licence_type,
        status_reason: g.row.status_reason,
        version: g.version,
    })
    .into_response())
}

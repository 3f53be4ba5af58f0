//! Portal pages of the service catalogue: search and browse, the 办事指南 of each item, and
//! life events (一件事).

use crate::kit::registry::Access::Public;
use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::kit::error::WebResult;
use crate::kit::forms::{Pager, page_number};
use crate::kit::params::Ref;
use crate::kit::shell::{Shell, render};
use crate::{AppState, Routes};
use tongban_app::AppError;
use tongban_app::catalogue::{self, Guide};
use tongban_app::views::{Department, ItemRow, LifeEvent};
use tongban_domain::item::ItemStatus;
use tongban_domain::reference::ItemCode;

pub fn routes(r: Routes) -> Routes {
    r.get("/items", Public, items).get("/items/{code}", Public, item).get("/events/{code}", Public, event)
}

const PAGE_SIZE: i64 = 20;

#[derive(Deserialize, Default)]
pub struct ItemsQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub page: String,
}

#[derive(Template)]
#[template(path = "portal/items.html")]
struct ItemsPage {
    shell: Shell,
    q: ItemsQuery,
    items: Vec<ItemRow>,
    pager: Pager,
    departments: Vec<(Department, i64)>,
}

async fn items(State(state): State<AppState>, shell: Shell, Query(q): Query<ItemsQuery>) -> WebResult {
    let page = page_number(&q.page);
    let query = catalogue::Query {
        q: q.q.clone(),
        department: q.department.clone(),
        subject: q.subject.clone(),
        page,
        page_size: PAGE_SIZE,
    };
    let (total, items) = catalogue::find(&state.core, &query).await?;
    let departments = tongban_app::views::departments_with_counts(&state.core).await?;
    let pager = Pager::new(
        "/items",
        &[("q", &q.q), ("department", &q.department), ("subject", &q.subject)],
        page,
        PAGE_SIZE,
        total,
    );
    Ok(render(&ItemsPage { shell, q, items, pager, departments }))
}

#[derive(Template)]
#[template(path = "portal/item.html")]
struct ItemPage {
    shell: Shell,
    g: Guide,
}

impl ItemPage {
    fn fee_text(&self) -> String {
        match &self.g.def.fee {
            None => "免费".to_owned(),
            Some(f) => format!("{}.{:02} 元（{}）", f.amount_fen / 100, f.amount_fen % 100, f.basis),
        }
    }

    fn subjects_text(&self) -> String {
        self.g.def.subjects.iter().map(|s| s.label()).collect::<Vec<_>>().join("、")
    }

    fn days_text(&self) -> String {
        if self.g.def.promised_days == 0 {
            "即办：材料齐全的，当场办结".to_owned()
        } else {
            format!("承诺 {} 个工作日内办结（法定 {} 个工作日）", self.g.def.promised_days, self.g.def.legal_days)
        }
    }
}

async fn item(State(state): State<AppState>, shell: Shell, Ref(code): Ref<ItemCode>) -> WebResult {
    let g = catalogue::guide(&state.core, &code).await?;
    Ok(render(&ItemPage { shell, g }))
}

#[derive(Template)]
#[template(path = "portal/event.html")]
struct EventPage {
    shell: Shell,
    event: LifeEvent,
    items: Vec<Guide>,
}

async fn event(State(state): State<AppState>, shell: Shell, Ref(code): Ref<ItemCode>) -> WebResult {
    let events = tongban_app::views::life_events(&state.core).await?;
    let event = events.into_iter().find(|e| e.code == *code).ok_or(AppError::NotFound)?;
    let mut items = Vec::new();
    for c in &event.items {
        match catalogue::guide(&state.core, c).await {
            Ok(g) => items.push(g),
            Err(AppError::NotFound) => {} // an item withdrawn from the catalogue
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render(&EventPage { shell, event, items }))
}

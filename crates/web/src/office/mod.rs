//! The department workbench (/office): work queues with counts, the case page with exactly the
//! actions this user may take now, claim and assign, internal remarks, and inline previews of
//! the materials; the department's licences in `licences`.

pub mod licences;

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use serde::Deserialize;
use tongban_domain::day::Day;
use tongban_domain::permission::Permission as P;

use crate::kit::error::WebResult;
use crate::kit::forms::{Pager, page_number};
use crate::kit::params::Ref;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::cases::{self, ActionInput, CaseView, QueueCount};
use tongban_app::clock;
use tongban_app::views::{CaseRow, MaterialFile, Site};
use tongban_app::{AppError, authorize};
use tongban_domain::case::Delivery;
use tongban_domain::permission::Permission;
use tongban_domain::reference::CaseNumber;
use tongban_domain::workflow::{ActionDef, Requirement, Warning};

pub fn routes(r: Routes) -> Routes {
    let r = licences::routes(r);
    r.get("/office", Perm(P::OfficeView), office)
        .get("/office/cases/{number}", Perm(P::OfficeView), case_page)
        .post("/office/cases/{number}/reveal", Perm(P::PiiReveal), case_reveal)
        .post("/office/cases/{number}/actions", Perm(P::OfficeView), case_action)
        .post("/office/cases/{number}/claim", Perm(P::CaseHandle), case_claim)
        .post("/office/cases/{number}/assign", Perm(P::CaseAssign), case_assign)
        .post("/office/cases/{number}/notes", Perm(P::OfficeView), case_note)
        .get("/office/cases/{number}/files/{sha}", Perm(P::OfficeView), case_file)
}

/// A row of a queue table.
pub struct CaseLine {
    pub row: CaseRow,
    pub status: String,
    pub warning: Warning,
}

impl CaseLine {
    pub fn warning_label(&self) -> &'static str {
        warning_label(self.warning)
    }

    pub fn warning_class(&self) -> &'static str {
        match self.warning {
            Warning::Red => "bad",
            Warning::Yellow => "warn",
            Warning::None => "",
        }
    }

    pub fn submitted(&self) -> String {
        clock::display(self.row.submitted_at).chars().take(10).collect()
    }
}

pub fn warning_label(w: Warning) -> &'static str {
    match w {
        Warning::Red => "已超期",
        Warning::Yellow => "即将超期",
        Warning::None => "",
    }
}

#[derive(Template)]
#[template(path = "office/home.html")]
struct OfficePage {
    shell: Shell,
    scope_name: String,
    queues: Vec<QueueCount>,
    queue: String,
    queue_label: String,
    lines: Vec<CaseLine>,
    pager: Pager,
}

#[derive(Deserialize)]
struct OfficeQuery {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    page: String,
}

async fn office(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<OfficeQuery>,
) -> WebResult {
    let core = &state.core;
    authorize(core, &user.actor, Permission::OfficeView, "office").await?;
    let queues = cases::queues(core, &user.actor).await?;
    let queue = if q.queue.is_empty() {
        // Open on the first queue with work in it.
        queues.iter().find(|c| c.count > 0 && c.key != "concluded").map_or("intake", |c| c.key).to_owned()
    } else {
        q.queue.clone()
    };
    let page = page_number(&q.page);
    let (total, rows) = cases::list_with_counts(core, &user.actor, &queue, page, 20, &queues).await?;
    let calendar = tongban_app::calendar::load(core).await?;
    let today = state.core.clock.today();
    let mut lines = Vec::new();
    let mut conn = core.db.conn().await?;
    for row in rows {
        let wf = tongban_app::workflows::version(&mut conn, core, &row.workflow_code, row.workflow_version).await?;
        let warning = cases::warning_of(&row, today, &calendar);
        lines.push(CaseLine { status: wf.label(&row.status).to_owned(), warning, row });
    }
    let queue_label = queues.iter().find(|c| c.key == queue).map(|c| c.label.to_owned()).unwrap_or_default();
    let scope_name = match (&user.actor.department, &user.actor.site) {
        _ if user.actor.scope_for(Permission::OfficeView) == Some(tongban_domain::role::DataScope::All) => {
            "全区".to_owned()
        }
        (Some(d), _) => d.name.clone(),
        (None, Some(s)) => format!("{}（本站点收件）", s.name),
        (None, None) => String::new(),
    };
    let pager = Pager::new("/office", &[("queue", &queue)], page, 20, total);
    Ok(render(&OfficePage { shell, scope_name, queues, queue, queue_label, lines, pager }))
}

#[derive(Template)]
#[template(path = "office/case.html")]
struct CasePage {
    shell: Shell,
    v: CaseView,
    answers: Vec<(String, String)>,
    materials: Vec<(String, String, Vec<MaterialFile>)>,
    colleagues: Vec<(String, String)>,
    sites: Vec<Site>,
    done: String,
    /// The applicant's personal data is shown in full (an audited 查看完整信息).
    revealed: bool,
    /// The user may ask for the full view (`pii.reveal`).
    can_reveal: bool,
}

impl CasePage {
    fn time(&self, ms: &i64) -> String {
        clock::display(*ms)
    }

    fn date(&self, d: &Option<Day>) -> String {
        d.map_or_else(|| "—".to_owned(), Day::chinese)
    }

    fn warning(&self) -> &'static str {
        warning_label(self.v.warning)
    }

    fn needs(&self, a: &ActionDef, what: &str) -> bool {
        match what {
            "comment" => a.requires(Requirement::Comment),
            "legal_basis" => a.requires(Requirement::LegalBasis),
            "materials" => a.requires(Requirement::Materials),
            "delivery" => a.requires(Requirement::Delivery),
            _ => false,
        }
    }

    fn action_label(&self, action: &str) -> String {
        match action {
            "submit" => "提交申请".to_owned(),
            "note" => "内部意见".to_owned(),
            "claim" => "认领".to_owned(),
            "assign" => "分派".to_owned(),
            a => self.v.workflow.actions.iter().find(|d| d.name == a).map_or(a.to_owned(), |d| d.label.clone()),
        }
    }

    /// True when the applicant used an electronic licence instead of uploading this material.
    fn replaced(&self, code: &str) -> bool {
        self.v.used_licences.iter().any(|l| l.material_code == code)
    }

    fn is_image(&self, f: &MaterialFile) -> bool {
        f.content_type.starts_with("image/")
    }

    fn is_danger(&self, a: &ActionDef) -> bool {
        matches!(a.name.as_str(), "refuse" | "deny")
    }
}

#[derive(Deserialize)]
struct CaseQuery {
    #[serde(default)]
    done: String,
}

async fn case_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(number): Ref<CaseNumber>,
    Query(q): Query<CaseQuery>,
) -> WebResult {
    let v = cases::view(&state.core, &user.actor, &number).await?;
    case_page_of(&state, shell, &user, v, q.done, false).await
}

/// 查看完整信息: the same page with the applicant's ID numbers and phones in full, audited.
async fn case_reveal(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(number): Ref<CaseNumber>,
) -> WebResult {
    let v = cases::reveal(&state.core, &user.actor, &number).await?;
    case_page_of(&state, shell, &user, v, String::new(), true).await
}

async fn case_page_of(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    v: CaseView,
    done: String,
    revealed: bool,
) -> WebResult {
    let core = &state.core;
    let def = v.definition.as_ref();
    let answers = def.map(|d| crate::portal::applications::answer_list(d, &v.application.values)).unwrap_or_default();
    let materials = def
        .map(|d| {
            d.materials
                .iter()
                .map(|m| (m.code.clone(), m.name.clone(), v.application.files_of(&v.row.item_code, &m.code)))
                .collect()
        })
        .unwrap_or_default();
    let colleagues =
        cases::colleagues(core, &user.actor).await?.into_iter().map(|u| (u.username, u.display_name)).collect();
    let sites = tongban_app::views::sites(core).await?;
    let can_reveal = user.actor.can(Permission::PiiReveal);
    Ok(render(&CasePage { shell, v, answers, materials, colleagues, sites, done, revealed, can_reveal }))
}

/// Reads the action form: repeated `materials`, `note_<code>` per material, delivery fields.
fn action_input(fields: &[(String, String)]) -> ActionInput {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let mut input = ActionInput::new(&get("action"));
    input.comment = get("comment");
    input.legal_basis = get("legal_basis");
    input.row_version = get("row_version").parse().ok();
    for (name, value) in fields {
        if name == "materials" {
            input.materials.push(value.clone());
        } else if let Some(code) = name.strip_prefix("note_") {
            input.material_notes.insert(code.to_owned(), value.trim().to_owned());
        } else if let Some(field) = name.strip_prefix("field_")
            && !value.trim().is_empty()
        {
            input.fields.insert(field.to_owned(), serde_json::Value::String(value.trim().to_owned()));
        }
    }
    input.delivery = match get("delivery_method").as_str() {
        "download" => Some(Delivery::Download),
        "pickup" => Some(Delivery::Pickup { site: get("delivery_site") }),
        "mail" => Some(Delivery::Mail { address: get("delivery_address") }),
        _ => None,
    };
    input
}

async fn case_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<CaseNumber>,
    Form(fields): Form<Vec<(String, String)>>,
) -> WebResult {
    let input = action_input(&fields);
    cases::act(&state.core, &user.actor, &number, &input).await?;
    Ok(crate::kit::forms::redirect(&format!("/office/cases/{number}?done={}", input.action)))
}

async fn case_claim(State(state): State<AppState>, user: CurrentUser, Ref(number): Ref<CaseNumber>) -> WebResult {
    cases::claim(&state.core, &user.actor, &number).await?;
    Ok(crate::kit::forms::redirect(&format!("/office/cases/{number}?done=claim")))
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    assignee: String,
}

async fn case_assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<CaseNumber>,
    Form(f): Form<AssignForm>,
) -> WebResult {
    cases::assign(&state.core, &user.actor, &number, &f.assignee).await?;
    Ok(crate::kit::forms::redirect(&format!("/office/cases/{number}?done=assign")))
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    comment: String,
}

async fn case_note(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<CaseNumber>,
    Form(f): Form<NoteForm>,
) -> WebResult {
    cases::note(&state.core, &user.actor, &number, &f.comment).await?;
    Ok(crate::kit::forms::redirect(&format!("/office/cases/{number}?done=note#timeline")))
}

/// A material of a case, for inline preview (images and PDFs may be framed by our own pages).
async fn case_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((number, sha)): Path<(String, String)>,
) -> WebResult {
    let number: CaseNumber = crate::kit::params::parse(&number)?;
    let v = cases::view(&state.core, &user.actor, &number).await?;
    let file = v.application.materials.iter().find(|m| m.file_sha256 == sha).ok_or(AppError::NotFound)?;
    let mut response = crate::kit::upload::file_response(&state, file).await?;
    response.extensions_mut().insert(crate::kit::middleware::SameOriginFrame);
    Ok(response)
}

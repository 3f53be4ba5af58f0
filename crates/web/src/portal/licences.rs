//! The holder's licences (我的证照, /my/licences): the wallet, one licence with its QR code and
//! uses, and granting a department the use of one.

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use tongban_domain::permission::Permission as P;

use crate::kit::badges::status_tag;
use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::{FormErrors, settle, value};
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::clock;
use tongban_app::licences::{self, MyLicence};
use tongban_app::views::{Department, LicenceRow, UseRow};
use tongban_domain::licence::LicenceStatus;

pub fn routes(r: Routes) -> Routes {
    r.get("/my/licences", Perm(P::PortalMine), wallet)
        .get("/my/licences/{identifier}", Perm(P::PortalMine), my_licence)
        .post("/my/licences/{identifier}/grant", Perm(P::PortalMine), grant)
}

/// `https://host` of this request, for the QR code's absolute link.
fn site_base(headers: &HeaderMap, secure: bool) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(*c)).collect();
    format!("{}://{host}", if secure { "https" } else { "http" })
}

/// An inline SVG QR code for `text` (no script, no external image), named for screen readers.
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else { return String::new() };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: no XML declaration; an image role with a name.
    let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
    svg.replacen("<svg ", "<svg role=\"img\" aria-label=\"核验二维码：扫码打开本证照的核验页面\" ", 1)
}

#[derive(Template)]
#[template(path = "portal/licences.html")]
struct WalletPage {
    shell: Shell,
    rows: Vec<(LicenceRow, LicenceStatus)>,
    uses: Vec<UseRow>,
}

impl WalletPage {
    fn tag(&self, s: &LicenceStatus) -> &'static str {
        status_tag(s)
    }

    fn at(&self, ms: &i64) -> String {
        clock::display(*ms)
    }
}

async fn wallet(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let rows = licences::wallet(&state.core, &user.actor).await?;
    let uses = licences::use_log(&state.core, &user.actor).await?;
    Ok(render(&WalletPage { shell, rows, uses }))
}

#[derive(Template)]
#[template(path = "portal/licence.html")]
struct MinePage {
    shell: Shell,
    l: MyLicence,
    qr: String,
    verify_url: String,
    departments: Vec<Department>,
    errors: FormErrors,
    granted: bool,
}

impl MinePage {
    fn tag(&self) -> &'static str {
        status_tag(&self.l.verification.status)
    }

    fn at(&self, ms: &i64) -> String {
        clock::display(*ms)
    }

    fn grant_action(&self) -> String {
        format!("/my/licences/{}/grant", self.l.row.identifier)
    }
}

#[derive(Deserialize, Default)]
struct GrantedQuery {
    granted: Option<String>,
}

async fn mine_page(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    headers: &HeaderMap,
    identifier: &str,
    errors: FormErrors,
    granted: bool,
) -> Result<MinePage, WebError> {
    let l = licences::my_licence(&state.core, &user.actor, identifier).await?;
    let verify_url = format!("{}/verify/{}", site_base(headers, state.settings.secure_cookies), l.row.identifier);
    let departments = licences::departments(&state.core).await?;
    Ok(MinePage { shell, qr: qr_svg(&verify_url), verify_url, l, departments, errors, granted })
}

async fn my_licence(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Query(q): Query<GrantedQuery>,
) -> WebResult {
    let page =
        mine_page(&state, shell, &user, &headers, &identifier, FormErrors::default(), q.granted.is_some()).await?;
    Ok(render(&page))
}

async fn grant(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let result =
        licences::grant(&state.core, &user.actor, &identifier, &value(&pairs, "department"), &value(&pairs, "purpose"))
            .await;
    let done = |()| crate::kit::forms::redirect(&format!("/my/licences/{identifier}?granted=1"));
    settle(result, done, async |errors| mine_page(&state, shell, &user, &headers, &identifier, errors, false).await)
        .await
}

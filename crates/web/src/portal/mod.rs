//! The portal, for citizens and organisations: home, login and logout, registration, the user's
//! own account and the display preferences here; the catalogue, online applications (我的办件),
//! the holder's licences (我的证照) and the message centre in the sub-modules.

pub mod applications;
pub mod bundles;
pub mod catalogue;
pub mod licences;
pub mod messages;
pub mod mine;
pub mod tickets;

use crate::kit::registry::Access::{Account, Public};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use tongban_domain::org::SiteKind;

use crate::kit::cookies::{append_cookie, expired_session_cookie, session_cookie};
use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::{FormErrors, safe_next, settle};
use crate::kit::shell::{CurrentUser, Prefs, Shell, Visitor, render, render_status};
use crate::{AppState, Routes};
use tongban_app::accounts::Registration;
use tongban_app::views::{ItemRow, LifeEvent, Site, UserKind};
use tongban_app::{self as app, AppError, Origin};

pub fn routes(r: Routes) -> Routes {
    let r = tickets::routes(messages::routes(licences::routes(mine::routes(bundles::routes(applications::routes(
        catalogue::routes(r),
    ))))));
    r.get("/", Public, home)
        .get("/login", Public, login_page)
        .post("/login", Public, login_submit)
        .post("/logout", Account, logout)
        .get("/register", Public, register_page)
        .post("/register", Public, register_submit)
        .get("/account", Account, account)
        .get("/account/password", Account, password_page)
        .post("/account/password", Account, password_submit)
        .post("/preferences", Public, preferences)
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    shell: Shell,
    district_center: Vec<Site>,
    community_centers: Vec<Site>,
    events: Vec<LifeEvent>,
    online: Vec<ItemRow>,
}

async fn home(State(state): State<AppState>, shell: Shell) -> WebResult {
    let online = app::catalogue::online_for_persons(&state.core, 12).await?;
    let (sites, events) = tongban_app::views::home(&state.core).await?;
    let (district_center, community_centers) = sites.into_iter().partition(|s| s.kind == SiteKind::DistrictCenter);
    Ok(render(&HomePage { shell, district_center, community_centers, events, online }))
}

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage {
    shell: Shell,
    next: String,
    username: String,
    error: Option<String>,
    /// After a registration: the neutral answer (made or not, it reads the same).
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    registered: Option<String>,
}

async fn login_page(shell: Shell, Query(q): Query<NextQuery>) -> Response {
    let notice = q.registered.is_some().then_some(app::accounts::NEUTRAL_ANSWER);
    render(&LoginPage { shell, next: q.next, username: String::new(), error: None, notice })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn login_submit(
    State(state): State<AppState>,
    shell: Shell,
    visitor: Visitor,
    Form(f): Form<LoginForm>,
) -> WebResult {
    let origin = Origin { ip: visitor.ip.clone() };
    let result = if f.username.trim().is_empty() || f.password.is_empty() {
        Err(AppError::Invalid(vec![]))
    } else {
        app::auth::login(&state.core, &origin, &f.username, &f.password).await
    };
    match result {
        Ok(logged_in) => {
            let target = if logged_in.user.must_change_password {
                "/account/password".to_owned()
            } else if !f.next.is_empty() {
                safe_next(&f.next).to_owned()
            } else {
                landing(&state, &logged_in.token, &visitor.ip).await?
            };
            // A session this browser had before (another account's, or one planted) ends now.
            if let Some(previous) = &visitor.session_token {
                app::auth::end_session(&state.core, previous, &origin).await?;
            }
            let mut response = crate::kit::forms::redirect(&target);
            append_cookie(&mut response, session_cookie(logged_in.token, &state.settings));
            Ok(response)
        }
        Err(AppError::Internal(e)) => Err(WebError(AppError::Internal(e))),
        Err(e) => {
            let retry_after = match &e {
                AppError::Throttled { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            };
            let (status, message) = match &e {
                AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "请输入用户名和密码".to_owned()),
                AppError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, message_of(e)),
                AppError::Locked { .. } | AppError::Disabled => (StatusCode::FORBIDDEN, message_of(e)),
                _ => (StatusCode::UNAUTHORIZED, message_of(e)),
            };
            let page = LoginPage { shell, next: f.next, username: f.username, error: Some(message), notice: None };
            let mut response = render_status(status, &page);
            if let Some(secs) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Ok(response)
        }
    }
}

/// The message the API and pages show for an error (one wording for both).
fn message_of(e: AppError) -> String {
    let response = WebError(e).into_response();
    response.extensions().get::<crate::kit::error::ErrorInfo>().map(|i| i.message.clone()).unwrap_or_default()
}

/// Where a user lands after login: the first room their menu offers, else the home page.
async fn landing(state: &AppState, token: &str, ip: &str) -> Result<String, WebError> {
    let actor = app::auth::actor_for_session(&state.core, token, ip).await?;
    let shell = Shell::for_actor(actor.as_ref(), String::new(), Prefs::default(), false, "");
    // Citizens land on the home page (search first); staff on their first room.
    let room = shell.nav.iter().find(|n| !matches!(n.href, "/account" | "/items" | "/my/applications"));
    Ok(room.map_or("/", |n| n.href).to_owned())
}

async fn logout(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    app::auth::logout(&state.core, &user.actor, &user.token).await?;
    let mut response = crate::kit::forms::redirect("/login");
    append_cookie(&mut response, expired_session_cookie(&state.settings));
    Ok(response)
}

#[derive(Template)]
#[template(path = "portal/register.html")]
struct RegisterPage {
    shell: Shell,
    form: Registration,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn register_page(shell: Shell, Query(q): Query<KindQuery>) -> Response {
    let kind = if q.kind == "organisation" { "organisation" } else { "person" };
    let form = Registration { kind: kind.to_owned(), ..Registration::default() };
    render(&RegisterPage { shell, form, errors: FormErrors::default() })
}

async fn register_submit(
    State(state): State<AppState>,
    shell: Shell,
    visitor: Visitor,
    Form(mut form): Form<Registration>,
) -> WebResult {
    let result = app::accounts::register(&state.core, &Origin { ip: visitor.ip }, &form).await;
    let done = |_| crate::kit::forms::redirect("/login?registered=1");
    settle(result, done, async |errors| {
        // Passwords are never sent back to the browser.
        form.password.clear();
        form.password_confirm = None;
        Ok(RegisterPage { shell, form, errors })
    })
    .await
}

#[derive(Template)]
#[template(path = "portal/account.html")]
struct AccountPage {
    shell: Shell,
    view: app::users::UserView,
    kind_label: &'static str,
    is_organisation: bool,
    must_change: bool,
}

async fn account(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let (u, grants) = tongban_app::views::own_account(&state.core, &user.actor).await?;
    let kind_label = u.kind.label();
    let is_organisation = u.kind == UserKind::Organisation;
    let view = app::users::view(&state.core, u, grants);
    Ok(render(&AccountPage { shell, view, kind_label, is_organisation, must_change: user.actor.must_change_password }))
}

#[derive(Template)]
#[template(path = "portal/password.html")]
struct PasswordPage {
    shell: Shell,
    must_change: bool,
    errors: FormErrors,
    done: bool,
}

async fn password_page(shell: Shell, user: CurrentUser, Query(q): Query<DoneQuery>) -> Response {
    render(&PasswordPage {
        shell,
        must_change: user.actor.must_change_password,
        errors: FormErrors::default(),
        done: q.done.is_some(),
    })
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn password_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(f): Form<PasswordForm>,
) -> WebResult {
    let (actor, token) = (&user.actor, &user.token);
    let result = app::auth::change_password(
        &state.core,
        actor,
        token,
        &f.current_password,
        &f.new_password,
        &f.confirm_password,
    )
    .await;
    let done = |()| crate::kit::forms::redirect("/account/password?done=1");
    let must_change = user.actor.must_change_password;
    settle(result, done, async |errors| Ok(PasswordPage { shell, must_change, errors, done: false })).await
}

#[derive(Deserialize)]
struct PrefsForm {
    #[serde(default)]
    toggle: String,
    #[serde(default)]
    next: String,
}

async fn preferences(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(f): Form<PrefsForm>,
) -> Response {
    let mut prefs = Prefs::from_headers(&headers, &state.settings);
    match f.toggle.as_str() {
        "large" => prefs.large = !prefs.large,
        "contrast" => prefs.contrast = !prefs.contrast,
        _ => {}
    }
    let mut response = crate::kit::forms::redirect(&f.next);
    let cookie = Cookie::build((state.settings.cookie_name(crate::kit::shell::PREFS_COOKIE), prefs.cookie_value()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies)
        .max_age(cookie_max_age())
        .build();
    append_cookie(&mut response, cookie);
    response
}

fn cookie_max_age() -> cookie::time::Duration {
    cookie::time::Duration::days(365)
}

//! The page shell every template extends: who is logged in, the menu they may open, the CSRF
//! token for forms, display preferences (长辈模式, 高对比度) and the demo banner.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::cookies::{CsrfToken, cookie_value};
use super::error::{ErrorInfo, WebError};
use super::registry::Access;
use crate::AppState;
use tongban_app::{Actor, AppError};

/// Set by the guard: the session behind this request, if any.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub actor: Option<Actor>,
    pub token: Option<String>,
    pub ip: String,
}

/// A logged-in user (the request is refused with 401 / a login redirect otherwise).
pub struct CurrentUser {
    pub actor: Actor,
    pub token: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<CurrentSession>() {
            Some(CurrentSession { actor: Some(actor), token: Some(token), .. }) => {
                Ok(CurrentUser { actor: actor.clone(), token: token.clone() })
            }
            _ => Err(WebError(AppError::Unauthenticated)),
        }
    }
}

/// The user if logged in, and the client address either way.
pub struct Visitor {
    pub actor: Option<Actor>,
    pub ip: String,
    /// The session cookie this browser sent, valid or not (a login replaces its session).
    pub session_token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let session = parts.extensions.get::<CurrentSession>();
        Ok(Visitor {
            actor: session.and_then(|s| s.actor.clone()),
            ip: session.map_or_else(|| "unknown".to_owned(), |s| s.ip.clone()),
            session_token: session.and_then(|s| s.token.clone()),
        })
    }
}

/// Display preferences, kept in a cookie so that they work without JavaScript.
#[derive(Debug, Clone, Copy, Default)]
pub struct Prefs {
    pub large: bool,
    pub contrast: bool,
}

pub const PREFS_COOKIE: &str = "tb_prefs";

impl Prefs {
    pub fn from_headers(headers: &HeaderMap, settings: &crate::WebSettings) -> Self {
        let raw = cookie_value(headers, settings.cookie_name(PREFS_COOKIE)).unwrap_or_default();
        Prefs { large: raw.split('.').any(|p| p == "large"), contrast: raw.split('.').any(|p| p == "contrast") }
    }

    pub fn cookie_value(self) -> String {
        let mut parts = Vec::new();
        if self.large {
            parts.push("large");
        }
        if self.contrast {
            parts.push("contrast");
        }
        parts.join(".")
    }

    /// Classes for the `<html>` element.
    pub fn classes(&self) -> String {
        let mut c = Vec::new();
        if self.large {
            c.push("large");
        }
        if self.contrast {
            c.push("contrast");
        }
        c.join(" ")
    }
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// Menu entries; each is shown only to users whom the registry lets open it.
const MENU: &[(&str, &str)] = &[
    ("/items", "办事指南"),
    ("/my/applications", "我的办件"),
    ("/my/tickets", "我的排队"),
    ("/my/messages", "我的消息"),
    ("/my/licences", "我的证照"),
    ("/hall", "窗口工作台"),
    ("/office", "审批工作台"),
    ("/office/licences", "本部门证照"),
    ("/dashboard", "数据看板"),
    ("/admin", "管理后台"),
    ("/account", "我的账户"),
];

#[derive(Debug, Clone)]
pub struct Shell {
    pub user_name: Option<String>,
    pub role_names: String,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub prefs: Prefs,
    pub demo: bool,
    pub path: String,
    /// Unread messages, shown beside "我的消息" in the menu.
    pub unread: i64,
}

impl Shell {
    pub fn for_actor(actor: Option<&Actor>, csrf: String, prefs: Prefs, demo: bool, path: &str) -> Self {
        let nav = match actor {
            Some(a) if !a.must_change_password => MENU
                .iter()
                .filter(|(href, _)| match crate::route_table().registry.lookup("GET", href).map(|s| s.access) {
                    Some(Access::Perm(p)) => a.can(p),
                    Some(Access::Account | Access::Public) => true,
                    _ => false,
                })
                .map(|(href, label)| NavItem {
                    href,
                    label,
                    current: path == *href || path.starts_with(&format!("{href}/")),
                })
                .collect(),
            _ => Vec::new(),
        };
        Shell {
            user_name: actor.map(|a| a.display_name.clone()),
            role_names: actor
                .map(|a| a.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join("、"))
                .unwrap_or_default(),
            nav,
            csrf,
            prefs,
            demo,
            path: path.to_owned(),
            unread: 0,
        }
    }

    /// True when the menu offers a staff room (the home page then lists the rooms).
    pub fn has_staff_room(&self) -> bool {
        self.nav.iter().any(|n| matches!(n.href, "/hall" | "/office" | "/dashboard" | "/admin"))
    }

    pub fn html_class(&self) -> String {
        self.prefs.classes()
    }
}

impl FromRequestParts<AppState> for Shell {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = parts.extensions.get::<CurrentSession>().and_then(|s| s.actor.as_ref());
        let csrf = parts.extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let prefs = Prefs::from_headers(&parts.headers, &state.settings);
        let mut shell = Shell::for_actor(actor, csrf, prefs, state.settings.demo, parts.uri.path());
        if let Some(actor) = actor
            && shell.nav.iter().any(|n| n.href == "/my/messages")
        {
            // One indexed count per page; a failure only hides the badge.
            shell.unread = tongban_app::notifications::unread_count(&state.core, actor.user_id).await.unwrap_or(0);
        }
        Ok(shell)
    }
}

/// Renders a template into an HTML response; a template error becomes a logged 500.
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => WebError(AppError::Internal(anyhow::anyhow!("template: {e}"))).into_response(),
    }
}

/// Renders a page with a status other than 200 (a form with errors: 422).
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut response = render(page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

#[derive(Template)]
#[template(path = "kit/error.html")]
pub struct ErrorPage {
    pub shell: Shell,
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    pub request_id: String,
    pub details: Vec<String>,
}

impl ErrorPage {
    pub fn new(status: StatusCode, info: &ErrorInfo, request_id: &str, prefs: Prefs) -> Self {
        let title = match status.as_u16() {
            403 => "无法访问",
            404 => "页面不存在",
            409 => "操作冲突",
            413 => "内容过大",
            422 => "内容有误",
            429 => "请稍后再试",
            s if s >= 500 => "系统繁忙",
            _ => "请求有误",
        };
        ErrorPage {
            shell: Shell::for_actor(None, String::new(), prefs, false, ""),
            status: status.as_u16(),
            title,
            message: info.message.clone(),
            request_id: request_id.to_owned(),
            details: info.details.iter().map(|d| d.message.clone()).collect(),
        }
    }
}

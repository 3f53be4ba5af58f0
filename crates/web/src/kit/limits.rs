//! Rate limits per client address, by route: one table, enforced for pages and API alike before
//! the session is even looked up. The limits per account live in the use cases
//! (`app::auth::login`, `app::accounts::register`, `app::auth::change_password`,
//! `app::cases::act`), so that every way in shares them.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::middleware::client_ip;
use crate::AppState;
use tongban_app::rate_limit::{self, Limit};

/// (method, route template, limit per address).
pub const PER_ADDRESS: &[(&str, &str, Limit)] = &[
    ("POST", "/login", Limit::LoginPerIp),
    ("POST", "/api/v1/auth/login", Limit::LoginPerIp),
    ("POST", "/register", Limit::RegisterPerIp),
    ("POST", "/api/v1/auth/register", Limit::RegisterPerIp),
    ("POST", "/account/password", Limit::PasswordChangePerIp),
    ("POST", "/api/v1/account/password", Limit::PasswordChangePerIp),
    // Case actions tell the applicant (message centre and text message).
    ("POST", "/office/cases/{number}/actions", Limit::MessagePerIp),
    ("POST", "/api/v1/cases/{number}/actions", Limit::MessagePerIp),
    ("GET", "/verify", Limit::VerifyPerIp),
    ("GET", "/verify/{identifier}", Limit::VerifyPerIp),
    ("POST", "/api/v1/licences/verify", Limit::VerifyPerIp),
    ("GET", "/api/v1/licences/{identifier}/verification", Limit::VerifyPerIp),
    ("GET", "/api/v1/share/licences/{identifier}", Limit::VerifyPerIp),
];

/// The address limit of a matched route, if it has one.
pub fn limit_for(method: &Method, route: &str) -> Option<Limit> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    PER_ADDRESS.iter().find(|(m, r, _)| *m == method && *r == route).map(|(_, _, l)| *l)
}

pub async fn per_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = req.extensions().get::<MatchedPath>().and_then(|m| limit_for(req.method(), m.as_str()));
    if let Some(limit) = limit {
        let ip = client_ip(&req, &state.settings.trusted_proxies);
        if let Err(e) = rate_limit::enforce(&state.core, limit, &ip, &ip, None).await {
            return WebError(e).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limited_route_is_in_the_registry() {
        for (method, route, _) in PER_ADDRESS {
            assert!(crate::route_table().registry.lookup(method, route).is_some(), "{method} {route}");
        }
    }
}

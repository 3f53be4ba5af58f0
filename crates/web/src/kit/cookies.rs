//! The cookies of a session: names, the session and CSRF cookies with their attributes, and
//! reading one from the request. Shared by the middleware, the shell and the login handlers.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::WebSettings;

pub const SESSION_COOKIE: &str = "tb_session";

pub const CSRF_COOKIE: &str = "tb_csrf";

/// The CSRF token to embed in forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn append_cookie(response: &mut Response, cookie: Cookie<'static>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The CSRF cookie: HttpOnly, SameSite=Strict (only our own pages ever send it back), and over
/// https `Secure` with the `__Host-` prefix.
pub fn csrf_cookie(token: String, settings: &WebSettings) -> Cookie<'static> {
    Cookie::build((settings.cookie_name(CSRF_COOKIE), token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(settings.secure_cookies)
        .build()
}

/// The session cookie: HttpOnly, SameSite=Lax, no expiry (the server enforces the limits), and
/// over https `Secure` with the `__Host-` prefix (path `/`, no domain).
pub fn session_cookie(token: String, settings: &WebSettings) -> Cookie<'static> {
    Cookie::build((settings.cookie_name(SESSION_COOKIE), token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies)
        .build()
}

pub fn expired_session_cookie(settings: &WebSettings) -> Cookie<'static> {
    let mut cookie = session_cookie(String::new(), settings);
    cookie.make_removal();
    cookie
}

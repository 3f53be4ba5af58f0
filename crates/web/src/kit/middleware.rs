//! Request-wide behaviour: request ids, tracing spans, metrics, error rendering, security
//! headers, CSRF, and the access guard that enforces the route registry.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::cookies::{CSRF_COOKIE, CsrfToken, SESSION_COOKIE, append_cookie, cookie_value, csrf_cookie};
use super::error::{ErrorInfo, WebError, info_for_status};
use super::registry::Access;
use super::shell::{CurrentSession, ErrorPage, Prefs};
use crate::{AppState, BODY_LIMIT};
use tongban_app::{self as app, AppError};
use tongban_crypto::random_token;

pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, shown on error pages and in every log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn request_id(mut req: Request, next: Next) -> Response {
    // Accept a caller's id when it is sane (a proxy's), otherwise make one.
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .unwrap_or_else(|| random_token().chars().take(16).collect());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID.clone(), v.clone());
        req.extensions_mut().insert(RequestId(id));
        let mut response = next.run(req).await;
        response.headers_mut().insert(REQUEST_ID.clone(), v);
        return response;
    }
    next.run(req).await
}

pub fn make_span(req: &Request<Body>) -> tracing::Span {
    let id = req.extensions().get::<RequestId>().map(|r| r.0.as_str()).unwrap_or("-");
    // Only the path: query strings may carry personal data.
    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
}

/// The `method` label: the methods HTTP defines, anything else `other` — so that the number of
/// series stays bounded whatever a client sends.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The label of a route that matched nothing (never the path the client sent).
pub const UNMATCHED_ROUTE: &str = "unmatched";

pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    // The route template (`/office/cases/{number}`), never the path itself.
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| UNMATCHED_ROUTE.to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Turns error statuses into a Chinese page (people) or `{code, message}` JSON (API).
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let path_and_query = req.uri().path_and_query().map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let is_api = path.starts_with("/api/");
    let request_id = req.extensions().get::<RequestId>().map_or_else(String::new, |r| r.0.clone());
    let prefs = Prefs::from_headers(req.headers(), &state.settings);
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let info = match response.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None => {
            let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            if content_type.starts_with("text/html") || content_type.starts_with("application/json") {
                return response; // a page or API body that handled its own error
            }
            info_for_status(status)
        }
    };
    let cookies: Vec<HeaderValue> = response.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut out = if is_api {
        let mut body = serde_json::json!({ "code": info.code, "message": info.message });
        if !info.details.is_empty() {
            body["details"] = serde_json::json!(info.details);
        }
        if status.is_server_error() {
            body["request_id"] = serde_json::json!(request_id);
        }
        (status, axum::Json(body)).into_response()
    } else if info.code == "unauthenticated" {
        let next = serde_urlencoded::to_string([("next", path_and_query.as_str())]).unwrap_or_default();
        super::forms::redirect(&format!("/login?{next}"))
    } else if info.code == "password_change_required" {
        super::forms::redirect("/account/password")
    } else {
        let page = ErrorPage::new(status, &info, &request_id, prefs);
        (status, super::shell::render(&page)).into_response()
    };
    for c in cookies {
        out.headers_mut().append(header::SET_COOKIE, c);
    }
    if let Some(v) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    out
}

/// Marks a response (a material file) that the platform's own pages may show in a frame.
#[derive(Debug, Clone, Copy)]
pub struct SameOriginFrame;

/// The security headers of every response (pages, API, assets, errors, redirects, panics):
/// a CSP without inline scripts, no framing but by our own pages for a material preview,
/// `nosniff`, a same-origin referrer, and HSTS when the platform is served over https.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    set_security_headers(&mut response, state.settings.https);
    response
}

fn set_security_headers(response: &mut Response, https: bool) {
    let framable = response.extensions().get::<SameOriginFrame>().is_some();
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    if framable {
        // A material previewed inside the case page: our own pages may frame it, nobody else.
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'",
        );
        set(h, header::X_FRAME_OPTIONS, "SAMEORIGIN");
    }
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), payment=()");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    if https {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages may hold personal data: never kept by browsers or proxies.
        set(h, header::CACHE_CONTROL, "no-store");
    }
}

/// CSRF protection for pages: every state-changing request must carry the token from the
/// `tb_csrf` cookie in its form field (urlencoded or multipart body) or header — never in the
/// URL, where it would reach logs, history and referrers (double submit; the cookie is HttpOnly
/// and SameSite=Strict). The JSON API is protected by its content type (a cross-site page
/// cannot send JSON without a CORS preflight, which is never granted) and SameSite session
/// cookies. Rejections are audited (aggregated).
pub async fn csrf(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let settings = &state.settings;
    let existing = cookie_value(req.headers(), settings.cookie_name(CSRF_COOKIE));
    let token = existing.clone().unwrap_or_else(random_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !req.uri().path().starts_with("/api/") {
        let (verdict, rebuilt) = check_csrf(req, existing.as_deref()).await;
        match verdict {
            CsrfVerdict::Ok => req = rebuilt,
            CsrfVerdict::TooLarge => return status_response(StatusCode::PAYLOAD_TOO_LARGE),
            CsrfVerdict::Failed => {
                let session = cookie_value(rebuilt.headers(), settings.cookie_name(SESSION_COOKIE));
                let (ip, method, path) = (
                    client_ip(&rebuilt, &settings.trusted_proxies),
                    rebuilt.method().clone(),
                    rebuilt.uri().path().to_owned(),
                );
                drop(rebuilt);
                if let Err(e) = audit_csrf_refusal(&state, session, &ip, &method, &path).await {
                    return WebError(e).into_response();
                }
                let info = ErrorInfo {
                    code: "csrf_failed",
                    message: "页面已过期或请求来源无法确认。请返回上一页，刷新后重新提交".to_owned(),
                    details: vec![],
                };
                let mut response = StatusCode::FORBIDDEN.into_response();
                response.extensions_mut().insert(info);
                if existing.is_none() {
                    append_cookie(&mut response, csrf_cookie(token, settings));
                }
                return response;
            }
        }
    }
    let mut response = next.run(req).await;
    if existing.is_none() {
        append_cookie(&mut response, csrf_cookie(token, &state.settings));
    }
    response
}

/// Audits a CSRF rejection as a refusal of whoever the session cookie names (or the address).
async fn audit_csrf_refusal(
    state: &AppState,
    session: Option<String>,
    ip: &str,
    method: &Method,
    path: &str,
) -> Result<(), AppError> {
    let actor = match session {
        Some(t) => app::auth::actor_for_session(&state.core, &t, ip).await?,
        None => None,
    };
    let what = format!("{method} {path}");
    app::audit::record_refusal(&state.core, actor.as_ref(), ip, app::audit::RefusalKind::Csrf, &what, path).await
}

enum CsrfVerdict {
    Ok,
    Failed,
    TooLarge,
}

async fn check_csrf(req: Request, expected: Option<&str>) -> (CsrfVerdict, Request) {
    let Some(expected) = expected else {
        return (CsrfVerdict::Failed, req);
    };
    if let Some(given) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let ok = constant_time_eq(given.as_bytes(), expected.as_bytes());
        return (if ok { CsrfVerdict::Ok } else { CsrfVerdict::Failed }, req);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        // Upload forms carry the token as a field of the body: the body is read here, within
        // the upload limit, and handed on unchanged.
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, UPLOAD_BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => return (CsrfVerdict::TooLarge, Request::from_parts(parts, Body::empty())),
        };
        let ok = multipart_token(&parts.headers, bytes.clone())
            .await
            .is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()));
        let req = Request::from_parts(parts, Body::from(bytes));
        return (if ok { CsrfVerdict::Ok } else { CsrfVerdict::Failed }, req);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (CsrfVerdict::Failed, req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return (CsrfVerdict::TooLarge, Request::from_parts(parts, Body::empty()));
        }
    };
    let ok = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD))
        .is_some_and(|(_, v)| constant_time_eq(v.as_bytes(), expected.as_bytes()));
    let req = Request::from_parts(parts, Body::from(bytes));
    (if ok { CsrfVerdict::Ok } else { CsrfVerdict::Failed }, req)
}

/// The largest body an upload route accepts (its own limit), read whole for the CSRF check.
const UPLOAD_BODY_LIMIT: usize = tongban_app::applications::MAX_SUBMISSION_BYTES + 1024 * 1024;

/// The `csrf_token` field of a multipart body, if any.
async fn multipart_token(headers: &HeaderMap, bytes: axum::body::Bytes) -> Option<String> {
    use axum::extract::FromRequest;
    let mut probe = Request::new(Body::from(bytes));
    *probe.headers_mut() = headers.clone();
    let mut multipart = axum::extract::Multipart::from_request(probe, &()).await.ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(CSRF_FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

/// Compares secrets (tokens) in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

fn status_response(status: StatusCode) -> Response {
    let mut response = status.into_response();
    response.extensions_mut().insert(info_for_status(status));
    response
}

/// Enforces the registry: loads the session, then lets the request through only if the route's
/// access rule holds. Denials are audited.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(matched) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return next.run(req).await; // the 404 fallback
    };
    // HEAD is served by the GET handler, so it is guarded as GET.
    let method = if req.method() == Method::HEAD { "GET" } else { req.method().as_str() };
    let registry = &crate::route_table().registry;
    let Some(spec) = registry.lookup(method, &matched) else {
        if registry.path_known(&matched) {
            return next.run(req).await; // a wrong method: axum answers 405
        }
        tracing::error!(route = %matched, "route missing from the registry; refused");
        return WebError(AppError::Forbidden).into_response();
    };
    if spec.access == Access::Static {
        return next.run(req).await;
    }
    let ip = client_ip(&req, &state.settings.trusted_proxies);
    let token = cookie_value(req.headers(), state.settings.cookie_name(SESSION_COOKIE));
    let actor = match &token {
        Some(t) => match app::auth::actor_for_session(&state.core, t, &ip).await {
            Ok(a) => a,
            Err(e) => return WebError(e).into_response(),
        },
        None => None,
    };
    let decision = match (spec.access, &actor) {
        (Access::Public, _) => Ok(()),
        (_, None) => Err(AppError::Unauthenticated),
        (_, Some(a)) if a.must_change_password && spec.access != Access::Account => {
            Err(AppError::PasswordChangeRequired)
        }
        (Access::Perm(p), Some(a)) if !a.can(p) => {
            match app::audit::record_denial(&state.core, Some(a), &ip, p.name(), req.uri().path()).await {
                Ok(()) => Err(AppError::Forbidden),
                Err(e) => Err(e),
            }
        }
        _ => Ok(()),
    };
    if let Err(e) = decision {
        return WebError(e).into_response();
    }
    req.extensions_mut().insert(CurrentSession { actor, token, ip });
    next.run(req).await
}

/// Refuses a request that carries a NUL character in its path, its query or a JSON body (`%00`,
/// `\u0000`): no page or operation takes one, PostgreSQL cannot store it in text, and SQLite
/// would cut text at it. Page forms are left to their fields' own checks (a hostile `next` still
/// logs in and lands on the home page), and multipart bodies carry files, where NUL bytes are
/// ordinary; text with a NUL that reaches PostgreSQL is refused there (`AppError::from`).
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let refused = || {
        let problem = tongban_app::FieldError::new("", "invalid_character", tongban_app::INVALID_CHARACTER);
        WebError(AppError::Invalid(vec![problem])).into_response()
    };
    if req.uri().path_and_query().is_some_and(|pq| pq.as_str().contains("%00")) {
        return refused();
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/json") {
        return next.run(req).await;
    }
    let marker: &[u8] = b"\\u0000";
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return WebError(AppError::PayloadTooLarge("提交的内容过大".to_owned())).into_response();
    };
    if bytes.windows(marker.len()).any(|w| w.eq_ignore_ascii_case(marker)) {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The client's address: the connection's peer, unless the peer is a trusted reverse proxy;
/// then the nearest address in `X-Forwarded-For` that is not one of the trusted proxies.
pub fn client_ip(req: &Request, trusted: &[IpAddr]) -> String {
    let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return "unknown".to_owned();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    for hop in forwarded.into_iter().rev() {
        match hop {
            Some(ip) if trusted.contains(&ip) => continue,
            Some(ip) => return ip.to_string(),
            // Garbage from the far side of the proxy: stop believing the header there.
            None => break,
        }
    }
    peer.to_string()
}

/// The answer to a panic below the error renderer: logged (inside the request's span, so with
/// its request id) and counted, then an internal error like any other — the opaque 500 page or
/// JSON with the request id, security headers and its place in the request metrics.
pub fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic_message(payload.as_ref());
    tracing::error!(panic = %message, "handler panicked");
    metrics::counter!("http_panics_total").increment(1);
    WebError(AppError::Internal(anyhow::anyhow!("panic: {message}"))).into_response()
}

/// A panic in the request-wide layers themselves: nothing is left to render a page, so a
/// minimal opaque answer with the security headers.
pub fn last_resort(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic_message(payload.as_ref());
    tracing::error!(panic = %message, "middleware panicked");
    metrics::counter!("http_panics_total").increment(1);
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "系统繁忙，请稍后再试",
    )
        .into_response();
    set_security_headers(&mut response, false);
    response
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text payload".to_owned());
    text.chars().take(500).collect()
}

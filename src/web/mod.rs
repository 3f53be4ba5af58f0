//! HTTP: one router per room, merged here; middleware for request ids, the access guard,
//! CSRF, security headers, metrics and uniform error pages.

pub mod admin;
pub mod admin_calendar;
pub mod admin_catalogue;
pub mod api;
pub mod api_cases;
pub mod api_licences;
pub mod applications;
pub mod assets;
pub mod catalogue;
pub mod error;
pub mod forms;
pub mod licences;
pub mod limits;
pub mod messages;
pub mod middleware;
pub mod office;
pub mod ops;
pub mod params;
pub mod portal;
pub mod registry;
pub mod routes;
pub mod shell;
pub mod staff;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::Core;
pub use routes::Routes;

/// Largest request body accepted by forms and JSON (uploads get their own limits later).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Settings the web layer needs beyond the use cases'.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Shows the 演示环境 banner on every page.
    pub demo: bool,
    /// Marks cookies `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Served over https (the public URL says so): `__Host-` cookie names and HSTS.
    pub https: bool,
    /// The bearer token that may read `/metrics`.
    pub metrics_token: Option<String>,
}

impl WebSettings {
    /// The name a cookie goes by: with the `__Host-` prefix over https, so that neither a
    /// sibling subdomain nor plain http can set or overwrite it.
    pub fn cookie_name(&self, base: &'static str) -> &'static str {
        if !self.https {
            return base;
        }
        match base {
            middleware::SESSION_COOKIE => "__Host-tb_session",
            middleware::CSRF_COOKIE => "__Host-tb_csrf",
            shell::PREFS_COOKIE => "__Host-tb_prefs",
            other => other,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub settings: Arc<WebSettings>,
    pub metrics: Option<PrometheusHandle>,
}

/// Every route of every room, recorded.
pub fn routes() -> Routes {
    let r = Routes::new();
    let r = ops::routes(r);
    let r = portal::routes(r);
    let r = catalogue::routes(r);
    let r = applications::routes(r);
    let r = staff::routes(r);
    let r = office::routes(r);
    let r = admin::routes(r);
    let r = admin_catalogue::routes(r);
    let r = api_cases::routes(r);
    let r = admin_calendar::routes(r);
    let r = messages::routes(r);
    let r = licences::routes(r);
    let r = api_licences::routes(r);
    api::routes(r)
}

/// The whole application, as served by `tongban serve` and by the tests.
pub fn build_app(state: AppState) -> Router {
    with_middleware(routes().into_router().fallback(error::not_found), state)
}

/// The request-wide layers around a router (the tests wrap routers of their own in the same
/// stack). From the outside in: request id, trace span, metrics, security headers, error
/// rendering, the timeout, the panic catcher, the body limit, CSRF and the access guard — so
/// that a timeout or a panic is still an error page with a request id, security headers and
/// its place in the metrics.
pub fn with_middleware(router: Router<AppState>, state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    router
        .layer(from_fn_with_state(state.clone(), middleware::guard))
        .layer(from_fn_with_state(state.clone(), middleware::csrf))
        .layer(from_fn_with_state(state.clone(), limits::per_address))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(from_fn_with_state(state.clone(), middleware::render_errors))
        .layer(from_fn_with_state(state.clone(), middleware::security_headers))
        .layer(from_fn(middleware::record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(middleware::make_span))
        .layer(from_fn(middleware::request_id))
        // Last resort for a panic in the layers above (none is expected): still opaque.
        .layer(CatchPanicLayer::custom(middleware::last_resort))
        .with_state(state)
}

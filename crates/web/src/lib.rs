//! HTTP, one module per room — the audience decides the folder:
//!
//! - `portal`: citizens and organisations (home, accounts, the catalogue, online applications,
//!   我的办件, 我的证照, the message centre);
//! - `hall`: window staff in a service hall (the window workbench, walk-in intake);
//! - `office`: department staff (the case workbench, the department's licences);
//! - `dashboard`: leaders (the figures of the district);
//! - `admin`: administrators (users, roles, organisation, audit, catalogue, calendar, licences);
//! - `verify`: anyone checking a licence (核验);
//! - `api`: other systems and apps, `/api/v1` (one sub-module per resource);
//! - `kit`: what every room shares and no room owns — extractors and the page shell, error
//!   pages, forms and uploads, path parameters, pagination rendering, middleware (request ids,
//!   the access guard, CSRF, security headers, metrics), the route registry and builder, assets,
//!   rate limits and the operations probes.
//!
//! There is no `kiosk` room yet: nothing is served to self-service terminals today.
//!
//! Each room exposes one `routes()`; they are merged here. Rooms depend on `kit` and on the use
//! cases in `app`, never on `store`; `kit` depends on no room.

pub mod admin;
pub mod api;
pub mod dashboard;
pub mod hall;
pub mod kit;
pub mod office;
pub mod portal;
pub mod verify;

use kit::{error, limits, middleware, shell};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use kit::routes::Routes;
use tongban_app::Core;

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
            kit::cookies::SESSION_COOKIE => "__Host-tb_session",
            kit::cookies::CSRF_COOKIE => "__Host-tb_csrf",
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

/// Every route of every room, as declared: the router, the permission registry and the API's
/// operations come from the same declarations.
pub fn routes() -> Routes {
    let r = Routes::new();
    let r = kit::ops::routes(r);
    let r = portal::routes(r);
    let r = verify::routes(r);
    let r = hall::routes(r);
    let r = dashboard::routes(r);
    let r = office::routes(r);
    let r = admin::routes(r);
    api::routes(r)
}

/// What the declarations give besides the router: the permission registry the guard enforces,
/// and the OpenAPI document (serialised once).
pub struct RouteTable {
    pub registry: kit::registry::Registry,
    pub openapi: utoipa::openapi::OpenApi,
    pub openapi_json: axum::body::Bytes,
}

/// The route table of this build, made on first use from [`routes`].
pub fn route_table() -> &'static RouteTable {
    static TABLE: std::sync::OnceLock<RouteTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let declared = routes();
        let openapi = api::openapi(&declared);
        // An OpenAPI document of plain strings and maps always serialises.
        let openapi_json = serde_json::to_vec(&openapi).unwrap_or_default().into();
        RouteTable { registry: declared.registry(), openapi, openapi_json }
    })
}

/// The whole application, as served by `tongban serve` and by the tests.
pub fn build_app(state: AppState) -> Router {
    with_middleware(routes().into_router().fallback(error::not_found), state)
}

/// The request-wide layers around a router (the tests wrap routers of their own in the same
/// stack). From the outside in: request id, trace span, metrics, security headers, error
/// rendering, the timeout, the panic catcher, the body limit, the NUL check, CSRF and the access guard — so
/// that a timeout or a panic is still an error page with a request id, security headers and
/// its place in the metrics.
pub fn with_middleware(router: Router<AppState>, state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    router
        .layer(from_fn_with_state(state.clone(), middleware::guard))
        .layer(from_fn_with_state(state.clone(), middleware::csrf))
        .layer(from_fn_with_state(state.clone(), limits::per_address))
        .layer(from_fn(middleware::refuse_nul))
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

//! Operations: health and readiness probes, Prometheus metrics, static assets (the API spec is
//! served by `web::api`).

use crate::kit::registry::Access::{Public, Static};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::error::WebError;
use super::middleware::constant_time_eq;
use super::shell::Visitor;
use crate::{AppState, Routes};
use tongban_app as app;
use tongban_domain::permission::Permission;

pub fn routes(r: Routes) -> Routes {
    r.get("/healthz", Static, healthz)
        .get("/readyz", Static, readyz)
        // The bearer token or `ops.metrics`, checked by the handler (a monitoring system has no
        // session).
        .get("/metrics", Public, metrics)
        .get("/assets/{*file}", Static, assets::serve)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.core.db.ping().await {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// Prometheus metrics, for a monitoring system with the configured bearer token or a user with
/// `ops.metrics`. Anybody else: 401 (anonymous, with a `WWW-Authenticate` challenge) or 403
/// (logged in without the permission, audited).
async fn metrics(State(state): State<AppState>, headers: HeaderMap, visitor: Visitor) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let by_token = match (&state.settings.metrics_token, given) {
        (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
        _ => false,
    };
    if !by_token {
        match &visitor.actor {
            Some(actor) => {
                if let Err(e) = app::authorize(&state.core, actor, Permission::OpsMetrics, "/metrics").await {
                    return WebError(e).into_response();
                }
            }
            None => {
                // A machine's endpoint: a bearer challenge, not the login page.
                let body = serde_json::json!({
                    "code": "unauthenticated",
                    "message": "读取运行指标需要令牌（Authorization: Bearer）或 ops.metrics 权限",
                });
                return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], axum::Json(body))
                    .into_response();
            }
        }
    }
    let pool = state.core.db.pool();
    metrics::gauge!("db_pool_connections").set(f64::from(pool.size()));
    metrics::gauge!("db_pool_idle_connections").set(pool.num_idle() as f64);
    match &state.metrics {
        Some(handle) => ([("content-type", "text/plain; version=0.0.4")], handle.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder not installed").into_response(),
    }
}

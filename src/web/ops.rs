//! Operations: health and readiness probes, Prometheus metrics, static assets, the API spec.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{AppState, Routes, api, assets};

pub fn routes(r: Routes) -> Routes {
    r.get("/healthz", healthz)
        .get("/readyz", readyz)
        .get("/metrics", metrics)
        .get("/assets/{*file}", assets::serve)
        .get("/api/openapi.json", openapi)
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

async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.core.db.pool();
    metrics::gauge!("db_pool_connections").set(f64::from(pool.size()));
    metrics::gauge!("db_pool_idle_connections").set(pool.num_idle() as f64);
    match &state.metrics {
        Some(handle) => ([("content-type", "text/plain; version=0.0.4")], handle.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder not installed").into_response(),
    }
}

async fn openapi() -> Response {
    api::openapi_json()
}

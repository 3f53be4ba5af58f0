//! Static assets compiled into the binary: our stylesheet and script, and htmx from the npm
//! registry (installed by build.rs from the lockfile).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../../assets/app.css") },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "screen.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/screen.css"),
    },
    Asset {
        name: "screen.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/screen.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!(concat!(env!("TONGBAN_NPM_DIR"), "/node_modules/htmx.org/dist/htmx.min.js")),
    },
];

/// Where build.rs installed the npm packages for this build (the browser tests load axe-core
/// from it).
pub const NPM_DIR: &str = env!("TONGBAN_NPM_DIR");

/// A short fingerprint of all assets, appended to their URLs so that they can be cached long.
pub fn version() -> &'static str {
    env!("TONGBAN_ASSET_VERSION")
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

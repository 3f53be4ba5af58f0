//! A thin builder over `axum::Router` that also records every (method, path) it registers,
//! so that tests can hold the router against the registry.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{get, post};

use crate::web::AppState;

pub struct Routes {
    router: Router<AppState>,
    seen: Vec<(&'static str, &'static str)>,
}

impl Routes {
    pub fn new() -> Self {
        Self { router: Router::new(), seen: Vec::new() }
    }

    pub fn get<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, get(handler));
        self.seen.push(("GET", path));
        self
    }

    pub fn post<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, post(handler));
        self.seen.push(("POST", path));
        self
    }

    /// A POST route that accepts uploads: its body limit is the submission limit, not the
    /// default one for forms.
    pub fn post_upload<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let limit = crate::app::applications::MAX_SUBMISSION_BYTES + 1024 * 1024;
        self.router = self.router.route(path, post(handler).layer(axum::extract::DefaultBodyLimit::max(limit)));
        self.seen.push(("POST", path));
        self
    }

    pub fn seen(&self) -> &[(&'static str, &'static str)] {
        &self.seen
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

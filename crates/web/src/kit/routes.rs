//! Each route is declared once: a builder over `axum::Router` that takes, with the path and the
//! handler, the route's access rule, and records both in the permission registry. An API
//! operation is declared with the handler's `#[utoipa::path]` (through `utoipa_axum::routes!`):
//! its method and path come from that one attribute, which also gives its OpenAPI operation.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, post};
use utoipa::openapi::path::Paths;
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa_axum::router::UtoipaMethodRouter;

use super::registry::{Access, Registry, RouteSpec};
use crate::AppState;

pub struct Routes {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Routes {
    pub fn new() -> Self {
        Self { router: Router::new(), specs: Vec::new(), paths: Paths::new(), schemas: Vec::new() }
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.page("GET", path, access, get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.page("POST", path, access, post(handler))
    }

    /// A POST route that accepts uploads: its body limit is the submission limit, not the
    /// default one for forms.
    pub fn post_upload<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.page("POST", path, access, upload_limit(post(handler)))
    }

    fn page(mut self, method: &'static str, path: &'static str, access: Access, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec { method, path: path.to_owned(), access });
        self
    }

    /// An API operation, `api(access, routes!(handler))`: method, path and documentation from
    /// the handler's `#[utoipa::path]`.
    pub fn api(self, access: Access, operation: UtoipaMethodRouter<AppState>) -> Self {
        self.operation(access, operation, false)
    }

    /// An API operation that accepts uploads (the submission's body limit).
    pub fn api_upload(self, access: Access, operation: UtoipaMethodRouter<AppState>) -> Self {
        self.operation(access, operation, true)
    }

    fn operation(
        mut self,
        access: Access,
        (schemas, paths, route): UtoipaMethodRouter<AppState>,
        upload: bool,
    ) -> Self {
        let route = if upload { upload_limit(route) } else { route };
        for (path, item) in &paths.paths {
            self.router = self.router.route(path, route.clone());
            for (method, present) in [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ] {
                if present {
                    self.specs.push(RouteSpec { method, path: path.clone(), access });
                }
            }
        }
        self.paths.merge(paths);
        self.schemas.extend(schemas);
        self
    }

    /// The routes declared so far, with their access rules.
    pub fn registry(&self) -> Registry {
        Registry::new(self.specs.clone())
    }

    /// The declared API operations and the schemas they name, for the OpenAPI document.
    pub fn documented(&self) -> (&Paths, &[(String, RefOr<Schema>)]) {
        (&self.paths, &self.schemas)
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

fn upload_limit(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    let limit = tongban_app::applications::MAX_SUBMISSION_BYTES + 1024 * 1024;
    route.layer(axum::extract::DefaultBodyLimit::max(limit))
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

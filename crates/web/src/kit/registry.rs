//! The route registry: every page and API operation with the access it needs. Each room declares
//! a route once, with its access rule, through [`super::routes::Routes`]; the registry is what
//! those declarations recorded. The guard middleware enforces it for every request, and refuses a
//! route that was served without being declared — a route missing here is refused, never silently
//! open.

use std::collections::HashMap;

use tongban_domain::permission::Permission;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Assets and probes: no session is even looked up.
    Static,
    /// Anyone, logged in or not (the page may show more to a logged-in user).
    Public,
    /// Any logged-in user, including one who must still change an initial password.
    Account,
    /// A logged-in user holding this permission.
    Perm(Permission),
}

/// A declared route: its method, its path template (`/office/cases/{number}`) and its access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: String,
    pub access: Access,
}

/// Every declared route, looked up by method and matched path.
#[derive(Debug, Default)]
pub struct Registry {
    specs: Vec<RouteSpec>,
    by_route: HashMap<(&'static str, String), usize>,
}

impl Registry {
    pub fn new(specs: Vec<RouteSpec>) -> Self {
        let by_route = specs.iter().enumerate().map(|(i, s)| ((s.method, s.path.clone()), i)).collect();
        Self { specs, by_route }
    }

    /// The spec for a matched route and method.
    pub fn lookup(&self, method: &str, path: &str) -> Option<&RouteSpec> {
        let method = match method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            _ => return None,
        };
        self.by_route.get(&(method, path.to_owned())).map(|i| &self.specs[*i])
    }

    /// True when the path is registered for some method (a wrong method then gets a 405).
    pub fn path_known(&self, path: &str) -> bool {
        self.specs.iter().any(|s| s.path == path)
    }

    /// Every route, in the order the rooms declared them.
    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }
}

//! The route registry: every page and API operation with the permission it needs. The guard
//! middleware enforces it for every request, and a test proves that the router and this list
//! name exactly the same routes — a route missing here is refused, never silently open.

use crate::domain::permission::Permission::{self, *};

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

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> RouteSpec {
    RouteSpec { method, path, access }
}

use Access::{Account, Public, Static};

const fn p(permission: Permission) -> Access {
    Access::Perm(permission)
}

pub const REGISTRY: &[RouteSpec] = &[
    // operations and assets
    r("GET", "/healthz", Static),
    r("GET", "/readyz", Static),
    // The bearer token or `ops.metrics`, checked by the handler (a monitoring system has no
    // session).
    r("GET", "/metrics", Public),
    r("GET", "/assets/{*file}", Static),
    r("GET", "/api/openapi.json", Static),
    // portal (public)
    r("GET", "/", Public),
    r("GET", "/login", Public),
    r("POST", "/login", Public),
    r("GET", "/register", Public),
    r("POST", "/register", Public),
    r("POST", "/preferences", Public),
    // portal: the catalogue
    r("GET", "/items", Public),
    r("GET", "/items/{code}", Public),
    r("GET", "/events/{code}", Public),
    r("GET", "/events/{code}/apply", p(PortalMine)),
    r("POST", "/events/{code}/apply", p(PortalMine)),
    // verification of licences (anyone)
    r("GET", "/verify", Public),
    r("GET", "/verify/{identifier}", Public),
    // portal: applications (the applicant's own)
    r("GET", "/apply/{code}", p(PortalMine)),
    r("POST", "/apply/{code}", p(PortalMine)),
    r("GET", "/my/applications", p(PortalMine)),
    r("GET", "/my/applications/{number}", p(PortalMine)),
    r("POST", "/my/applications/{number}/withdraw", p(PortalMine)),
    r("POST", "/my/applications/{number}/supplement", p(PortalMine)),
    r("GET", "/my/applications/{number}/files/{sha}", p(PortalMine)),
    // the message centre (citizens and staff alike)
    r("GET", "/my/messages", p(AccountSelf)),
    r("POST", "/my/messages/read-all", p(AccountSelf)),
    r("POST", "/my/messages/{id}/read", p(AccountSelf)),
    // portal: the holder's licences (我的证照)
    r("GET", "/my/licences", p(PortalMine)),
    r("GET", "/my/licences/{identifier}", p(PortalMine)),
    r("POST", "/my/licences/{identifier}/grant", p(PortalMine)),
    // own account
    r("POST", "/logout", Account),
    r("GET", "/account", Account),
    r("GET", "/account/password", Account),
    r("POST", "/account/password", Account),
    // staff rooms
    r("GET", "/hall", p(HallView)),
    r("POST", "/hall/intake", p(CaseIntake)),
    r("POST", "/hall/intake/{code}", p(CaseIntake)),
    r("GET", "/office", p(OfficeView)),
    r("GET", "/office/cases/{number}", p(OfficeView)),
    r("POST", "/office/cases/{number}/reveal", p(PiiReveal)),
    r("POST", "/office/cases/{number}/actions", p(OfficeView)),
    r("POST", "/office/cases/{number}/claim", p(CaseHandle)),
    r("POST", "/office/cases/{number}/assign", p(CaseAssign)),
    r("POST", "/office/cases/{number}/notes", p(OfficeView)),
    r("GET", "/office/cases/{number}/files/{sha}", p(OfficeView)),
    r("GET", "/office/licences", p(LicenceRevoke)),
    r("GET", "/office/licences/{identifier}", p(LicenceRevoke)),
    r("POST", "/office/licences/{identifier}/status", p(LicenceRevoke)),
    r("GET", "/dashboard", p(DashboardView)),
    // administration
    r("GET", "/admin", p(AdminView)),
    r("GET", "/admin/users", p(UserView)),
    r("GET", "/admin/users/new", p(UserManage)),
    r("POST", "/admin/users/new", p(UserManage)),
    r("GET", "/admin/users/{username}", p(UserView)),
    r("POST", "/admin/users/{username}/disable", p(UserManage)),
    r("POST", "/admin/users/{username}/enable", p(UserManage)),
    r("POST", "/admin/users/{username}/reset-password", p(UserManage)),
    r("POST", "/admin/users/{username}/roles", p(UserAssignRole)),
    r("GET", "/admin/roles", p(RoleManage)),
    r("GET", "/admin/roles/new", p(RoleManage)),
    r("POST", "/admin/roles/new", p(RoleManage)),
    r("GET", "/admin/roles/{code}", p(RoleManage)),
    r("POST", "/admin/roles/{code}", p(RoleManage)),
    r("GET", "/admin/org", p(OrgView)),
    r("GET", "/admin/audit", p(AuditView)),
    r("GET", "/admin/items", p(CatalogEdit)),
    r("GET", "/admin/items/new", p(CatalogEdit)),
    r("POST", "/admin/items/new", p(CatalogEdit)),
    r("GET", "/admin/items/import", p(CatalogEdit)),
    r("POST", "/admin/items/import", p(CatalogEdit)),
    r("GET", "/admin/items/export.xlsx", p(CatalogEdit)),
    r("GET", "/admin/items/{code}", p(CatalogEdit)),
    r("GET", "/admin/items/{code}/edit", p(CatalogEdit)),
    r("POST", "/admin/items/{code}/edit", p(CatalogEdit)),
    r("POST", "/admin/items/{code}/publish", p(CatalogEdit)),
    r("POST", "/admin/items/{code}/suspend", p(CatalogEdit)),
    r("POST", "/admin/items/{code}/resume", p(CatalogEdit)),
    r("POST", "/admin/items/{code}/cancel", p(CatalogEdit)),
    r("GET", "/admin/items/{code}/compare", p(CatalogEdit)),
    r("GET", "/admin/synonyms", p(CatalogEdit)),
    r("POST", "/admin/synonyms", p(CatalogEdit)),
    r("POST", "/admin/synonyms/delete", p(CatalogEdit)),
    r("GET", "/admin/calendar", p(CalendarEdit)),
    r("POST", "/admin/calendar", p(CalendarEdit)),
    r("POST", "/admin/calendar/delete", p(CalendarEdit)),
    r("POST", "/admin/calendar/import", p(CalendarEdit)),
    r("GET", "/admin/calendar/export.csv", p(CalendarEdit)),
    r("GET", "/admin/licence-types", p(LicenceManage)),
    r("GET", "/admin/licence-types/new", p(LicenceManage)),
    r("POST", "/admin/licence-types/new", p(LicenceManage)),
    r("GET", "/admin/licence-types/{code}", p(LicenceManage)),
    r("POST", "/admin/licence-types/{code}", p(LicenceManage)),
    r("GET", "/admin/licences", p(LicenceManage)),
    r("GET", "/admin/licences/issue", p(LicenceManage)),
    r("POST", "/admin/licences/issue", p(LicenceManage)),
    r("GET", "/admin/licences/import", p(LicenceManage)),
    r("POST", "/admin/licences/import", p(LicenceManage)),
    r("GET", "/admin/licences/{identifier}", p(LicenceManage)),
    r("POST", "/admin/licences/{identifier}/change", p(LicenceManage)),
    r("GET", "/admin/api-clients/new", p(LicenceManage)),
    r("POST", "/admin/api-clients/new", p(LicenceManage)),
    // API
    r("POST", "/api/v1/auth/login", Public),
    r("POST", "/api/v1/auth/register", Public),
    r("POST", "/api/v1/auth/logout", Account),
    r("GET", "/api/v1/me", Account),
    r("POST", "/api/v1/account/password", Account),
    r("GET", "/api/v1/items", Public),
    r("GET", "/api/v1/items/{code}", Public),
    r("GET", "/api/v1/calendar/deadline", Public),
    r("POST", "/api/v1/applications", p(PortalMine)),
    r("GET", "/api/v1/applications", p(PortalMine)),
    r("GET", "/api/v1/applications/{number}", p(PortalMine)),
    r("POST", "/api/v1/applications/{number}/withdraw", p(PortalMine)),
    r("POST", "/api/v1/applications/{number}/supplement", p(PortalMine)),
    r("GET", "/api/v1/cases", p(OfficeView)),
    r("GET", "/api/v1/cases/{number}", p(OfficeView)),
    r("POST", "/api/v1/cases/{number}/reveal", p(PiiReveal)),
    r("POST", "/api/v1/cases/{number}/actions", p(OfficeView)),
    r("GET", "/api/v1/workflows", p(WorkflowEdit)),
    r("POST", "/api/v1/workflows", p(WorkflowEdit)),
    r("GET", "/api/v1/messages", p(AccountSelf)),
    r("POST", "/api/v1/messages/{id}/read", p(AccountSelf)),
    // API: licences. The document is for its holder or a granted department (the use case
    // decides; anyone else gets 404). Sharing clients authenticate with their secret.
    r("GET", "/api/v1/licences", p(PortalMine)),
    r("GET", "/api/v1/licences/keys", Public),
    r("POST", "/api/v1/licences/verify", Public),
    r("GET", "/api/v1/licences/{identifier}/verification", Public),
    r("GET", "/api/v1/licences/{identifier}/document", Account),
    r("POST", "/api/v1/licences/{identifier}/revoke", p(LicenceRevoke)),
    r("GET", "/api/v1/share/licences", Public),
    r("GET", "/api/v1/share/licences/{identifier}", Public),
    r("GET", "/api/v1/share/licences/{identifier}/document", Public),
];

/// The spec for a matched route and method.
pub fn lookup(method: &str, path: &str) -> Option<&'static RouteSpec> {
    REGISTRY.iter().find(|s| s.method == method && s.path == path)
}

/// True when the path is registered for some method (a wrong method then gets a 405).
pub fn path_known(path: &str) -> bool {
    REGISTRY.iter().any(|s| s.path == path)
}

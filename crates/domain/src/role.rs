//! Built-in roles and data scopes.

use super::permission::Permission::{self, *};

/// How much data a role reaches: everything, the user's department, the user's site, or only
/// the user's own records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataScope {
    All,
    Department,
    Site,
    Own,
}

impl DataScope {
    pub const ALL: [DataScope; 4] = [DataScope::All, DataScope::Department, DataScope::Site, DataScope::Own];

    pub fn name(self) -> &'static str {
        match self {
            DataScope::All => "all",
            DataScope::Department => "department",
            DataScope::Site => "site",
            DataScope::Own => "own",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DataScope::All => "全部",
            DataScope::Department => "本部门",
            DataScope::Site => "本站点",
            DataScope::Own => "仅本人",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }
}

crate::impl_code!(DataScope, "数据范围");

/// A role shipped with the platform. Their permission sets are code, kept in step with the
/// database at every start, so a permission added by a later release reaches them.
pub struct BuiltinRole {
    pub code: &'static str,
    pub name: &'static str,
    pub scope: DataScope,
    pub permissions: &'static [Permission],
}

pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        code: "citizen",
        name: "市民",
        scope: DataScope::Own,
        permissions: &[AccountSelf, PortalMine, TicketTake],
    },
    BuiltinRole {
        code: "business",
        name: "企业",
        scope: DataScope::Own,
        permissions: &[AccountSelf, PortalMine, TicketTake],
    },
    BuiltinRole {
        code: "window",
        name: "窗口人员",
        scope: DataScope::Site,
        permissions: &[AccountSelf, HallView, HallCall, HallTicket, OfficeView, CaseIntake],
    },
    BuiltinRole {
        code: "reviewer",
        name: "审批人员",
        scope: DataScope::Department,
        permissions: &[AccountSelf, OfficeView, CaseHandle],
    },
    BuiltinRole {
        code: "head",
        name: "部门负责人",
        scope: DataScope::Department,
        permissions: &[
            AccountSelf,
            OfficeView,
            DashboardView,
            CaseHandle,
            CaseDecide,
            CaseAssign,
            LicenceRevoke,
            PiiReveal,
        ],
    },
    BuiltinRole {
        code: "leader",
        name: "领导",
        scope: DataScope::All,
        permissions: &[AccountSelf, DashboardView, OfficeView],
    },
    BuiltinRole {
        code: "sysadmin",
        name: "系统管理员",
        scope: DataScope::All,
        permissions: &[AccountSelf, AdminView, UserView, UserManage, OrgView, CalendarEdit, OpsMetrics, JobsManage],
    },
    BuiltinRole {
        code: "secadmin",
        name: "安全管理员",
        scope: DataScope::All,
        permissions: &[AccountSelf, AdminView, UserView, UserAssignRole, RoleManage],
    },
    BuiltinRole {
        code: "auditor",
        name: "审计管理员",
        scope: DataScope::All,
        permissions: &[AccountSelf, AdminView, AuditView],
    },
    BuiltinRole {
        code: "catalog_admin",
        name: "事项管理员",
        scope: DataScope::All,
        permissions: &[AccountSelf, AdminView, CatalogEdit, WorkflowEdit],
    },
    BuiltinRole {
        code: "licence_admin",
        name: "证照管理员",
        scope: DataScope::All,
        permissions: &[AccountSelf, AdminView, LicenceManage],
    },
];

pub fn builtin(code: &str) -> Option<&'static BuiltinRole> {
    BUILTIN_ROLES.iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::{Tier, common_tiers, mixed_admin_duties};

    #[test]
    fn no_builtin_role_mixes_administrator_duties() {
        for role in BUILTIN_ROLES {
            assert!(mixed_admin_duties(role.permissions.iter().copied()).is_none(), "{}", role.code);
        }
    }

    #[test]
    fn every_builtin_role_belongs_to_the_tier_its_name_says() {
        let tier_of = |code: &str| {
            let role = builtin(code).map(|r| r.permissions.iter().copied()).into_iter().flatten();
            let tiers = common_tiers(role);
            tiers.iter().copied().min()
        };
        assert_eq!(tier_of("citizen"), Some(Tier::Public));
        assert_eq!(tier_of("business"), Some(Tier::Public));
        for staff in ["window", "reviewer", "head", "leader", "catalog_admin", "licence_admin"] {
            assert_eq!(tier_of(staff), Some(Tier::Staff), "{staff}");
        }
        assert_eq!(
            common_tiers(builtin("sysadmin").into_iter().flat_map(|r| r.permissions.iter().copied())),
            [Tier::System]
        );
        assert_eq!(
            common_tiers(builtin("secadmin").into_iter().flat_map(|r| r.permissions.iter().copied())),
            [Tier::Security]
        );
        assert_eq!(
            common_tiers(builtin("auditor").into_iter().flat_map(|r| r.permissions.iter().copied())),
            [Tier::Audit]
        );
    }

    #[test]
    fn scopes_round_trip() {
        for s in DataScope::ALL {
            assert_eq!(DataScope::parse(s.name()), Some(s));
        }
    }
}

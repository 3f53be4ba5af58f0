//! Permission names: every page and API operation names one of these in the route registry.

use std::fmt;
use std::str::FromStr;

macro_rules! permissions {
    ($($variant:ident => $name:literal, $label:literal, $class:ident;)*) => {
        /// A named permission (`user.manage`, …). Roles are sets of these.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The stable name stored in the database and shown in the API.
            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// What the permission allows, for administrators' screens.
            pub fn label(self) -> &'static str {
                match self { $(Permission::$variant => $label,)* }
            }

            /// Which of the three separated administrator duties (三员分立) it belongs to, if any.
            pub fn admin_duty(self) -> Option<AdminDuty> {
                match self { $(Permission::$variant => permissions!(@duty $class),)* }
            }
        }
    };
    (@duty none) => { None };
    (@duty system) => { Some(AdminDuty::System) };
    (@duty security) => { Some(AdminDuty::Security) };
    (@duty audit) => { Some(AdminDuty::Audit) };
}

permissions! {
    AccountSelf => "account.self", "个人账户（修改密码、退出）", none;
    PortalMine => "portal.mine", "我的办事（本人的申请与证照）", none;
    HallView => "hall.view", "窗口工作台", none;
    OfficeView => "office.view", "审批工作台", none;
    DashboardView => "dashboard.view", "数据看板", none;
    AdminView => "admin.view", "管理后台首页", none;
    UserView => "user.view", "查看用户", none;
    UserManage => "user.manage", "创建、停用用户，重置密码", system;
    OrgView => "org.view", "查看部门、站点与窗口", system;
    RoleManage => "role.manage", "管理角色与权限", security;
    UserAssignRole => "user.assign_role", "为用户分配角色", security;
    AuditView => "audit.view", "查看审计日志", audit;
    CatalogEdit => "catalog.edit", "维护事项目录（编辑、发布、暂停事项）", none;
    CaseHandle => "case.handle", "办件受理、补正、审查、中止、送达", none;
    CaseDecide => "case.decide", "办件决定（准予、不予）与延期", none;
    CaseAssign => "case.assign", "分派办件给本部门人员", none;
    CaseIntake => "case.intake", "窗口帮办收件（同城通办）", none;
    WorkflowEdit => "workflow.edit", "维护办理流程", none;
    CalendarEdit => "calendar.edit", "维护工作日历（节假日与调休）", system;
    LicenceManage => "licence.manage", "管理电子证照（证照目录、手工签发、历史证照归集、变更、共享接口）", none;
    LicenceRevoke => "licence.revoke", "注销、吊销、暂停、恢复本部门签发的电子证照", none;
}

/// The three separated administrator duties of 等保 2.0 (三员分立).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminDuty {
    System,
    Security,
    Audit,
}

impl AdminDuty {
    pub fn label(self) -> &'static str {
        match self {
            AdminDuty::System => "系统管理",
            AdminDuty::Security => "安全管理",
            AdminDuty::Audit => "审计管理",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown permission `{0}`")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL.iter().copied().find(|p| p.name() == s).ok_or_else(|| UnknownPermission(s.to_owned()))
    }
}

/// Returns the duties a set of permissions spans when it spans more than one: the combination
/// 三员分立 forbids in one role or one person.
pub fn mixed_admin_duties(perms: impl IntoIterator<Item = Permission>) -> Option<Vec<AdminDuty>> {
    let mut duties: Vec<AdminDuty> = Vec::new();
    for duty in perms.into_iter().filter_map(Permission::admin_duty) {
        if !duties.contains(&duty) {
            duties.push(duty);
        }
    }
    (duties.len() > 1).then_some(duties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.name().parse::<Permission>().ok(), Some(*p));
        }
        let mut names: Vec<_> = Permission::ALL.iter().map(|p| p.name()).collect();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
    }

    #[test]
    fn mixing_admin_duties_is_detected() {
        assert!(mixed_admin_duties([Permission::UserManage, Permission::OrgView]).is_none());
        assert!(mixed_admin_duties([Permission::UserManage, Permission::AuditView]).is_some());
        assert!(mixed_admin_duties([Permission::RoleManage, Permission::AdminView]).is_none());
    }
}

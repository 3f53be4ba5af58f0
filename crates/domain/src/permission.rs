//! Permission names: every page and API operation names one of these in the route registry.
//! Each permission also names the account tiers that may hold it (三员分立).

use std::fmt;
use std::str::FromStr;

macro_rules! permissions {
    ($($variant:ident => $name:literal, $label:literal, $($tier:ident)|+;)*) => {
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

            /// The account tiers that may hold it. Most permissions belong to one tier; a few
            /// (the own account, the administration home, the user list) are shared.
            pub fn tiers(self) -> &'static [Tier] {
                match self { $(Permission::$variant => &[$(permissions!(@tier $tier)),+],)* }
            }
        }
    };
    (@tier public) => { Tier::Public };
    (@tier staff) => { Tier::Staff };
    (@tier system) => { Tier::System };
    (@tier security) => { Tier::Security };
    (@tier audit) => { Tier::Audit };
}

permissions! {
    AccountSelf => "account.self", "个人账户（修改密码、退出）", public | staff | system | security | audit;
    PortalMine => "portal.mine", "我的办事（本人的申请与证照）", public;
    HallView => "hall.view", "窗口工作台", staff;
    HallCall => "hall.call", "窗口叫号（签到窗口、叫号、重呼、暂挂、转移、过号、办结）", staff;
    HallTicket => "hall.ticket", "导服台取号（为到场群众取号）", staff;
    TicketTake => "ticket.take", "手机取号与查看本人排队", public;
    OfficeView => "office.view", "审批工作台", staff;
    DashboardView => "dashboard.view", "数据看板", staff;
    AdminView => "admin.view", "管理后台首页", staff | system | security | audit;
    UserView => "user.view", "查看用户", system | security;
    UserManage => "user.manage", "创建、停用用户，重置密码", system;
    OrgView => "org.view", "查看部门、站点与窗口", system;
    RoleManage => "role.manage", "管理角色与权限", security;
    UserAssignRole => "user.assign_role", "为用户分配角色", security;
    AuditView => "audit.view", "查看审计日志", audit;
    CatalogEdit => "catalog.edit", "维护事项目录（编辑、发布、暂停事项）", staff;
    CaseHandle => "case.handle", "办件受理、补正、审查、中止、送达", staff;
    CaseDecide => "case.decide", "办件决定（准予、不予）与延期", staff;
    CaseAssign => "case.assign", "分派办件给本部门人员", staff;
    CaseIntake => "case.intake", "窗口帮办收件（同城通办）", staff;
    WorkflowEdit => "workflow.edit", "维护办理流程", staff;
    CalendarEdit => "calendar.edit", "维护工作日历（节假日与调休）", system;
    LicenceManage => "licence.manage", "管理电子证照（证照目录、手工签发、历史证照归集、变更、共享接口）", staff;
    LicenceRevoke => "licence.revoke", "注销、吊销、暂停、恢复本部门签发的电子证照", staff;
    OpsMetrics => "ops.metrics", "读取运行指标（/metrics）", system;
    JobsManage => "ops.jobs", "后台任务（查看失败的任务并重新排队）", system;
    PiiReveal => "pii.reveal", "查看完整个人信息（每次查看均审计）", staff;
}

/// The tier of an account (账户层级): citizens and businesses, staff, and the three separated
/// administrators of 等保 2.0 (三员分立). An account holds only permissions of its own tier.
/// Ordered from the least to the most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Public,
    Staff,
    System,
    Security,
    Audit,
}

impl Tier {
    pub const ALL: [Tier; 5] = [Tier::Public, Tier::Staff, Tier::System, Tier::Security, Tier::Audit];
    pub const ADMINISTRATORS: [Tier; 3] = [Tier::System, Tier::Security, Tier::Audit];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::Staff => "staff",
            Tier::System => "system",
            Tier::Security => "security",
            Tier::Audit => "audit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Public => "市民与企业",
            Tier::Staff => "工作人员",
            Tier::System => "系统管理",
            Tier::Security => "安全管理",
            Tier::Audit => "审计管理",
        }
    }

    /// One of the three separated administrator duties.
    pub fn is_administrator(self) -> bool {
        Self::ADMINISTRATORS.contains(&self)
    }
}

impl Permission {
    /// A permission a workflow may require of staff for an action: the case-handling ones
    /// (`case.*`), derived from the names so that a new case permission is one line above.
    pub fn is_case_handling(self) -> bool {
        self.name().starts_with("case.")
    }

    /// The permission a workflow may require for an action the applicant takes (resubmit,
    /// withdraw): the applicant's own records.
    pub fn is_applicant_action(self) -> bool {
        self == Permission::PortalMine
    }

    /// The administrator duty it belongs to exclusively, if any.
    pub fn admin_duty(self) -> Option<Tier> {
        match self.tiers() {
            [one] if one.is_administrator() => Some(*one),
            _ => None,
        }
    }
}

/// The tiers that may hold every one of `perms` (all tiers for none).
pub fn common_tiers(perms: impl IntoIterator<Item = Permission>) -> Vec<Tier> {
    let mut tiers = Tier::ALL.to_vec();
    for p in perms {
        tiers.retain(|t| p.tiers().contains(t));
    }
    tiers
}

/// The tier of an account allowed `allowed` tiers (by its kind) holding `perms`: the least
/// privileged tier that may hold them all, or `None` when no allowed tier may. A staff account is
/// an administrator only when its permissions need an administrator tier.
pub fn account_tier(allowed: &[Tier], perms: impl IntoIterator<Item = Permission>) -> Option<Tier> {
    common_tiers(perms).into_iter().filter(|t| allowed.contains(t)).min()
}

/// Why a set of permissions cannot belong to one account or one role, in Chinese; `None` when
/// an account of one of the `allowed` tiers may hold them all.
pub fn tier_problem(allowed: &[Tier], perms: &[Permission]) -> Option<String> {
    if let Some(duties) = mixed_admin_duties(perms.iter().copied()) {
        let names: Vec<&str> = duties.iter().map(|d| d.label()).collect();
        return Some(format!("三员分立：不能同时承担{}职责", names.join("、")));
    }
    if account_tier(allowed, perms.iter().copied()).is_some() {
        return None;
    }
    let mut seen: Vec<Tier> = Vec::new();
    for p in perms {
        for t in p.tiers() {
            if !seen.contains(t) && p.tiers().len() == 1 {
                seen.push(*t);
            }
        }
    }
    let allowed_names: Vec<&str> = allowed.iter().map(|t| t.label()).collect();
    let outside: Vec<&str> =
        perms.iter().filter(|p| !p.tiers().iter().any(|t| allowed.contains(t))).map(|p| p.label()).collect();
    if !outside.is_empty() {
        return Some(format!("「{}」不属于{}账户可持有的权限", outside.join("」「"), allowed_names.join("、")));
    }
    let names: Vec<&str> = seen.iter().map(|t| t.label()).collect();
    Some(format!("不能混合不同账户层级（{}）的权限", names.join("、")))
}

/// The administrator duties a set of permissions spans when it spans more than one: the
/// combination 三员分立 forbids in one role or one person.
pub fn mixed_admin_duties(perms: impl IntoIterator<Item = Permission>) -> Option<Vec<Tier>> {
    let mut duties: Vec<Tier> = Vec::new();
    for duty in perms.into_iter().filter_map(Permission::admin_duty) {
        if !duties.contains(&duty) {
            duties.push(duty);
        }
    }
    (duties.len() > 1).then_some(duties)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.name().parse::<Permission>().ok(), Some(*p));
        }
        let mut names: Vec<_> = Permission::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
    }

    #[test]
    fn mixing_admin_duties_is_detected() {
        assert!(mixed_admin_duties([Permission::UserManage, Permission::OrgView]).is_none());
        assert!(mixed_admin_duties([Permission::UserManage, Permission::AuditView]).is_some());
        assert!(mixed_admin_duties([Permission::RoleManage, Permission::AdminView]).is_none());
    }

    const STAFF_KIND: &[Tier] = &[Tier::Staff, Tier::System, Tier::Security, Tier::Audit];

    #[test]
    fn an_account_is_an_administrator_only_when_its_permissions_need_it() {
        use Permission::*;
        assert_eq!(account_tier(STAFF_KIND, [AccountSelf, AdminView]), Some(Tier::Staff));
        assert_eq!(account_tier(STAFF_KIND, [AccountSelf, AdminView, UserView, UserManage]), Some(Tier::System));
        assert_eq!(account_tier(STAFF_KIND, [UserView, RoleManage]), Some(Tier::Security));
        assert_eq!(account_tier(STAFF_KIND, [UserManage, OfficeView]), None);
        assert_eq!(account_tier(STAFF_KIND, [PortalMine]), None);
        assert_eq!(account_tier(&[Tier::Public], [AccountSelf, PortalMine]), Some(Tier::Public));
        assert_eq!(account_tier(&[Tier::Public], [UserManage]), None);
    }

    #[test]
    fn tier_problems_are_explained() {
        use Permission::*;
        assert!(tier_problem(STAFF_KIND, &[UserManage, AuditView]).is_some_and(|m| m.contains("三员分立")));
        assert!(tier_problem(&[Tier::Public], &[CaseHandle]).is_some_and(|m| m.contains("办件受理")));
        assert!(tier_problem(&Tier::ALL, &[PortalMine, HallView]).is_some_and(|m| m.contains("不能混合")));
        assert!(tier_problem(STAFF_KIND, &[HallView, DashboardView]).is_none());
    }

    #[test]
    fn case_handling_permissions_are_the_case_ones() {
        assert!(Permission::CaseDecide.is_case_handling());
        assert!(!Permission::OfficeView.is_case_handling());
        assert!(!Permission::UserManage.is_case_handling());
        assert!(Permission::PortalMine.is_applicant_action());
    }
}

//! The district's organisation as the rules see it: the kinds of service site.

use serde::{Deserialize, Serialize};

/// A physical hall (实体大厅): the district centre or a subdistrict's community centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// 区行政服务中心.
    DistrictCenter,
    /// 社区事务受理服务中心.
    CommunityCenter,
}

impl SiteKind {
    pub const ALL: [SiteKind; 2] = [SiteKind::DistrictCenter, SiteKind::CommunityCenter];

    pub fn name(self) -> &'static str {
        match self {
            SiteKind::DistrictCenter => "district_center",
            SiteKind::CommunityCenter => "community_center",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SiteKind::DistrictCenter => "区级中心",
            SiteKind::CommunityCenter => "社区事务受理服务中心",
        }
    }
}

crate::impl_code!(SiteKind, "站点类型");

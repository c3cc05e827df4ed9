//! Campaign designer (issue 8): what a branch team plans for a food street or an outlet — the
//! B-side merchants to enrol (`cover`), the C-side communities to bring in, a month-by-month
//! calendar (`calendar`), reach / referral / ROI estimates (`estimate`) and cross-marketing
//! pairs (`cross`). Models only: no HTTP, no SQL.

use serde::{Deserialize, Serialize};

pub mod calendar;
pub mod cover;
pub mod cross;
pub mod estimate;
pub mod plan;
pub mod spec;

/// The campaign types the course names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignType {
    /// 权益裂变: benefits shared by users who invite others (a referral drive).
    Referral,
    /// 习惯养成: a recurring offer that builds a habit (a weekly member day).
    Habit,
    /// 事件营销: around a holiday or event.
    Event,
    /// 公益: public welfare (community service, financial-literacy days).
    Welfare,
}

impl CampaignType {
    pub const ALL: [CampaignType; 4] = [Self::Referral, Self::Habit, Self::Event, Self::Welfare];

    pub fn code(self) -> &'static str {
        match self {
            Self::Referral => "referral",
            Self::Habit => "habit",
            Self::Event => "event",
            Self::Welfare => "welfare",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Referral => "权益裂变",
            Self::Habit => "习惯养成",
            Self::Event => "事件营销",
            Self::Welfare => "公益活动",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Self::Referral => "Benefit / referral",
            Self::Habit => "Habit-forming",
            Self::Event => "Event marketing",
            Self::Welfare => "Public welfare",
        }
    }

    /// The code or the Chinese name.
    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == v || t.zh() == v)
    }
}

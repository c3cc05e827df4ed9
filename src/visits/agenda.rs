//! What a merchant's pipeline asks of a visit plan: follow-ups that are due become must-visits;
//! merchants flagged closed or not found, merchants whose follow-up is later than the planned
//! days, and merchants already visited on or after the first planned day (without a follow-up
//! that brings them back) are left out. Pure: the pipeline rows come from
//! `Store::pipelines_to_plan`, the plan from [`super::plan`].

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::outcome::Flag;

/// What the pipeline knows about one merchant (a `merchant_pipeline` row, by index slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub slot: u32,
    pub next_follow_up: Option<NaiveDate>,
    pub flag: Option<Flag>,
    pub last_visit: Option<NaiveDate>,
}

/// Why a merchant is not a candidate for a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// Flagged closed (已停业) or not found (未找到) at its latest visit.
    Flagged(Flag),
    /// Its follow-up date is after the planned days.
    FollowUpLater(NaiveDate),
    /// Visited on or after the first planned day, no follow-up due.
    Visited(NaiveDate),
}

impl LeftOut {
    pub fn code(self) -> &'static str {
        match self {
            Self::Flagged(Flag::Closed) => "flagged_closed",
            Self::Flagged(Flag::NotFound) => "flagged_not_found",
            Self::FollowUpLater(_) => "follow_up_later",
            Self::Visited(_) => "visited",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Flagged(Flag::Closed) => "已标记停业",
            Self::Flagged(Flag::NotFound) => "已标记未找到",
            Self::FollowUpLater(_) => "回访日期未到",
            Self::Visited(_) => "已拜访",
        }
    }

    /// The date that goes with the reason (follow-up date, visit date).
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Self::Flagged(_) => None,
            Self::FollowUpLater(d) | Self::Visited(d) => Some(d),
        }
    }
}

/// The pipeline's part of a plan over the days `from..=until`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Agenda {
    /// Merchants to come back to on their follow-up date (≤ `until`; a date already past is
    /// overdue and due at once), by slot.
    pub follow_ups: Vec<(u32, NaiveDate)>,
    /// Merchants that are not candidates, with the reason, by slot.
    pub left_out: Vec<(u32, LeftOut)>,
    left: HashMap<u32, LeftOut>,
}

impl Agenda {
    /// Sorts the marks into follow-ups and merchants left out (see the module documentation).
    pub fn new(marks: impl IntoIterator<Item = Mark>, from: NaiveDate, until: NaiveDate) -> Self {
        let mut a = Self::default();
        for m in marks {
            let left = match (m.flag, m.next_follow_up, m.last_visit) {
                (Some(flag), _, _) => Some(LeftOut::Flagged(flag)),
                // A follow-up is set at the latest visit, so it is never before it; one on the
                // day of that visit has been done already.
                (None, Some(f), Some(v)) if v >= from && f <= v => Some(LeftOut::Visited(v)),
                (None, Some(f), _) if f > until => Some(LeftOut::FollowUpLater(f)),
                (None, Some(f), _) => {
                    a.follow_ups.push((m.slot, f));
                    None
                }
                (None, None, Some(v)) if v >= from => Some(LeftOut::Visited(v)),
                (None, None, _) => None,
            };
            if let Some(l) = left {
                a.left_out.push((m.slot, l));
                a.left.insert(m.slot, l);
            }
        }
        a.follow_ups.sort_unstable();
        a.left_out.sort_unstable_by_key(|&(s, _)| s);
        a
    }

    /// Whether the merchant in `slot` is left out, and why.
    pub fn left_out(&self, slot: u32) -> Option<LeftOut> {
        self.left.get(&slot).copied()
    }

    /// The follow-up date of the merchant in `slot`, if it is one of the follow-ups.
    pub fn follow_up(&self, slot: u32) -> Option<NaiveDate> {
        self.follow_ups
            .binary_search_by_key(&slot, |&(s, _)| s)
            .ok()
            .map(|i| self.follow_ups[i].1)
    }

    /// Slots whose follow-up is due on `day` (on or before it).
    pub fn due_on(&self, day: NaiveDate) -> impl Iterator<Item = u32> + '_ {
        self.follow_ups
            .iter()
            .filter(move |&&(_, f)| f <= day)
            .map(|&(s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn mark(slot: u32, follow: Option<&str>, flag: Option<Flag>, last: Option<&str>) -> Mark {
        Mark {
            slot,
            next_follow_up: follow.map(d),
            flag,
            last_visit: last.map(d),
        }
    }

    #[test]
    fn a_day_plan_takes_due_and_overdue_follow_ups_and_leaves_out_the_rest() {
        let day = d("2026-12-01");
        let a = Agenda::new(
            [
                mark(1, Some("2026-12-01"), None, Some("2026-11-24")), // due today
                mark(2, Some("2026-11-20"), None, Some("2026-11-13")), // overdue
                mark(3, Some("2026-12-08"), None, Some("2026-11-30")), // later
                mark(
                    4,
                    Some("2026-12-01"),
                    Some(Flag::Closed),
                    Some("2026-11-24"),
                ),
                mark(5, None, Some(Flag::NotFound), Some("2026-11-24")),
                mark(6, None, None, Some("2026-12-01")), // visited today
                mark(7, Some("2026-12-01"), None, Some("2026-12-01")), // done today
                mark(8, None, None, Some("2026-11-30")), // visited yesterday: a candidate
            ],
            day,
            day,
        );
        assert_eq!(a.follow_ups, vec![(1, day), (2, d("2026-11-20"))]);
        assert_eq!(a.due_on(day).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(
            a.left_out,
            vec![
                (3, LeftOut::FollowUpLater(d("2026-12-08"))),
                (4, LeftOut::Flagged(Flag::Closed)),
                (5, LeftOut::Flagged(Flag::NotFound)),
                (6, LeftOut::Visited(day)),
                (7, LeftOut::Visited(day)),
            ]
        );
        assert_eq!(a.left_out(8), None);
        assert_eq!(a.left_out(4).map(LeftOut::code), Some("flagged_closed"));
        assert_eq!(a.follow_up(2), Some(d("2026-11-20")));
        assert_eq!(a.follow_up(3), None);
    }

    #[test]
    fn a_week_keeps_follow_ups_until_its_last_day() {
        let (mon, fri) = (d("2026-11-30"), d("2026-12-04"));
        let a = Agenda::new(
            [
                mark(1, Some("2026-12-03"), None, Some("2026-11-26")),
                mark(2, Some("2026-12-07"), None, Some("2026-11-26")),
                // Visited on Monday with a follow-up on Thursday: back on Thursday.
                mark(3, Some("2026-12-03"), None, Some("2026-11-30")),
            ],
            mon,
            fri,
        );
        assert_eq!(
            a.follow_ups,
            vec![(1, d("2026-12-03")), (3, d("2026-12-03"))]
        );
        assert_eq!(a.due_on(mon).count(), 0);
        assert_eq!(a.due_on(fri).count(), 2);
        assert_eq!(
            a.left_out,
            vec![(2, LeftOut::FollowUpLater(d("2026-12-07")))]
        );
    }
}

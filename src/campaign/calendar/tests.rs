use super::*;
use chrono::{Datelike, NaiveDate, Weekday};
use CampaignType::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("a valid test date")
}

fn codes(fs: &[Festival]) -> Vec<&str> {
    fs.iter().map(|f| f.code.as_str()).collect()
}

fn date_of(year: i32, code: &str) -> NaiveDate {
    festivals_in(year)
        .expect("a covered year")
        .into_iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("{code} missing in {year}"))
        .date
}

const REQUIRED: [&str; 14] = [
    "new_year",
    "spring_festival",
    "lantern",
    "lei_feng_day",
    "womens_day",
    "labour_day",
    "dragon_boat",
    "mid_year_618",
    "qixi",
    "mid_autumn",
    "national_day",
    "chongyang",
    "double_11",
    "double_12",
];

// ---------------------------------------------------------------------------------------------
// The table

#[test]
fn builtin_table_loads_and_covers_2024_to_2031() {
    assert_eq!(covered_years().expect("the table loads"), 2024..=2031);
}

/// Every lunar date of the table against an independent implementation, the crate
/// chinese-lunisolar-calendar (lunar year, month, day → Gregorian date).
#[test]
fn lunar_table_matches_the_lunisolar_crate() {
    use chinese_lunisolar_calendar::LunisolarDate;
    let t = table().expect("the table loads");
    let mut checked = 0;
    for def in &t.defs {
        let Rule::Lunar(dates) = &def.rule else {
            continue;
        };
        for (&year, &date) in dates {
            let expected =
                LunisolarDate::from_ymd(year as u16, def.month as u8, false, def.day as u8)
                    .unwrap_or_else(|e| panic!("{} {year}: {e:?}", def.code))
                    .to_naive_date();
            assert_eq!(date, expected, "{} in {year}", def.code);
            checked += 1;
        }
    }
    // 6 lunar festivals × 8 years.
    assert_eq!(checked, 48);
}

/// The well-known published dates (the brief's list), a second, hand-entered source.
#[test]
fn lunar_dates_match_the_published_ones() {
    let known: [(&str, [(u32, u32); 6]); 5] = [
        (
            "spring_festival",
            [(1, 29), (2, 17), (2, 6), (1, 26), (2, 13), (2, 3)],
        ),
        (
            "dragon_boat",
            [(5, 31), (6, 19), (6, 9), (5, 28), (6, 16), (6, 5)],
        ),
        ("qixi", [(8, 29), (8, 19), (8, 8), (8, 26), (8, 16), (8, 5)]),
        (
            "mid_autumn",
            [(10, 6), (9, 25), (9, 15), (10, 3), (9, 22), (9, 12)],
        ),
        (
            "chongyang",
            [(10, 29), (10, 18), (10, 8), (10, 26), (10, 16), (10, 5)],
        ),
    ];
    for (code, dates) in known {
        for (i, (m, day)) in dates.into_iter().enumerate() {
            let year = 2025 + i as i32;
            assert_eq!(date_of(year, code), d(year, m, day), "{code} {year}");
        }
    }
}

#[test]
fn every_required_festival_is_there_every_year() {
    for year in 2024..=2031 {
        let fs = festivals_in(year).expect("a covered year");
        let got = codes(&fs);
        for code in REQUIRED {
            assert_eq!(
                got.iter().filter(|c| **c == code).count(),
                1,
                "{code} in {year}"
            );
        }
        assert_eq!(fs.len(), REQUIRED.len());
        assert!(fs.iter().all(|f| f.date.year() == year));
        assert!(
            fs.windows(2).all(|w| w[0].date <= w[1].date),
            "sorted by date"
        );
    }
}

#[test]
fn lantern_is_spring_festival_plus_14_days() {
    for year in 2024..=2031 {
        let spring = date_of(year, "spring_festival");
        assert_eq!(
            date_of(year, "lantern"),
            spring + chrono::Duration::days(14),
            "{year}"
        );
    }
}

#[test]
fn solar_festivals_fall_on_their_days() {
    for year in [2024, 2027, 2031] {
        for (code, m, day) in [
            ("new_year", 1, 1),
            ("lei_feng_day", 3, 5),
            ("womens_day", 3, 8),
            ("labour_day", 5, 1),
            ("mid_year_618", 6, 18),
            ("national_day", 10, 1),
            ("double_11", 11, 11),
            ("double_12", 12, 12),
        ] {
            assert_eq!(date_of(year, code), d(year, m, day));
        }
    }
}

#[test]
fn festivals_carry_types_themes_and_weights() {
    let fs = festivals_in(2026).expect("2026");
    let get = |code: &str| fs.iter().find(|f| f.code == code).expect("present");
    let spring = get("spring_festival");
    assert!(spring.lunar);
    assert_eq!(spring.types, vec![Event, Referral]);
    assert_eq!(spring.theme_zh, "年货节 · 扫码立减");
    assert_eq!(
        spring.theme_en,
        "New Year goods festival: scan-to-pay discounts"
    );
    assert_eq!(
        spring.theme(Referral).map(|t| t.zh.as_str()),
        Some("新春红包 · 邀请好友领年货券")
    );
    assert_eq!(spring.theme(Habit), None);
    assert_eq!(get("womens_day").types, vec![Event]);
    assert_eq!(get("chongyang").types, vec![Welfare]);
    assert_eq!(get("lei_feng_day").types, vec![Welfare]);
    assert!(!get("national_day").lunar);
    for big in ["spring_festival", "double_11", "national_day", "mid_autumn"] {
        assert!(get(big).weight >= BIG_WEIGHT, "{big} is big");
    }
    for small in ["lantern", "qixi"] {
        assert!(get(small).weight < BIG_WEIGHT, "{small} is small");
    }
    assert!(get("mid_year_618").weight > get("dragon_boat").weight);
    assert!(get("national_day").weight > get("mid_autumn").weight);
    for f in &fs {
        assert_eq!(f.themes.len(), f.types.len(), "{}", f.code);
        assert_eq!((f.theme_zh.as_str(), f.theme_en.as_str()), {
            let t = &f.themes[0];
            (t.zh.as_str(), t.en.as_str())
        });
    }
}

#[test]
fn years_outside_the_table_are_clear_errors() {
    for year in [2023, 2032, 1999] {
        let e = festivals_in(year).expect_err("not covered");
        assert_eq!(
            e,
            CalendarError::YearNotCovered {
                year,
                first: 2024,
                last: 2031
            }
        );
        let msg = e.to_string();
        assert!(msg.contains(&year.to_string()), "{msg}");
        assert!(msg.contains("2024–2031"), "{msg}");
    }
    let e = festivals_between(d(2031, 12, 1), d(2032, 1, 31)).expect_err("2032");
    assert!(e.to_string().contains("2032"), "{e}");
}

#[test]
fn festivals_between_crosses_years_and_includes_both_ends() {
    let fs = festivals_between(d(2025, 12, 12), d(2026, 2, 17)).expect("covered");
    assert_eq!(codes(&fs), ["double_12", "new_year", "spring_festival"]);
    assert_eq!(fs[0].date, d(2025, 12, 12));
    assert!(festivals_between(d(2026, 2, 18), d(2026, 3, 2))
        .expect("covered")
        .is_empty());
    assert!(festivals_between(d(2026, 3, 1), d(2026, 2, 1))
        .expect("reversed is empty")
        .is_empty());
}

fn broken(from: &str, to: &str) -> String {
    assert!(BUILTIN.contains(from), "the builtin table has {from:?}");
    let text = BUILTIN.replacen(from, to, 1);
    Table::parse(&text).expect_err("an invalid table")
}

#[test]
fn invalid_tables_are_refused_with_the_reason() {
    let e = broken("code = \"lantern\"", "code = \"spring_festival\"");
    assert!(e.contains("used twice"), "{e}");
    let e = broken("weight = 2", "weight = 0");
    assert!(e.contains("weight 0"), "{e}");
    let e = broken(
        "types = [\"event\", \"welfare\"]\nweight = 2",
        "types = [\"event\", \"party\"]\nweight = 2",
    );
    assert!(e.contains("\"party\""), "{e}");
    let e = broken(
        "types = [\"event\", \"welfare\"]\nweight = 2",
        "types = [\"event\"]\nweight = 2",
    );
    assert!(e.contains("theme.welfare is not one of its types"), "{e}");
    let e = broken(
        "types = [\"welfare\"]\nweight = 1",
        "types = [\"welfare\", \"habit\"]\nweight = 1",
    );
    assert!(e.contains("no theme.habit"), "{e}");
    let e = broken("\"2026-02-17\", ", "");
    assert!(e.contains("not contiguous"), "{e}");
    let e = broken(", \"2031-01-23\"]", "]");
    assert!(e.contains("2024–2030"), "{e}");
    let e = broken("\"2026-02-17\"", "\"2026-02-30\"");
    assert!(e.contains("not YYYY-MM-DD"), "{e}");
    let e = broken("month = 3\nday = 8", "month = 2\nday = 29");
    assert!(e.contains("not a date in every year"), "{e}");
    let e = broken("zh = \"老带新 · 邀请有礼\"", "zh = \"\"");
    assert!(e.contains("generic.referral.zh is empty"), "{e}");
    let e = broken("每{weekday}会员日", "每周会员日");
    assert!(e.contains("{weekday}"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Proposals

fn plan_2026() -> Vec<MonthPlan> {
    propose(d(2026, 1, 1), DEFAULT_MONTHS, &CampaignType::ALL, None).expect("a 2026 plan")
}

fn summary(plan: &[MonthPlan]) -> Vec<(u32, CampaignType, Option<&str>)> {
    plan.iter()
        .map(|m| (m.month.month(), m.activity, m.anchor.as_deref()))
        .collect()
}

#[test]
fn twelve_months_of_2026_with_all_four_types() {
    let plan = plan_2026();
    assert_eq!(plan.len(), 12);
    assert_eq!(
        summary(&plan),
        vec![
            // The launch month: New Year (weight 3) is not big, so the referral launch rides on it.
            (1, Referral, Some("new_year")),
            (2, Event, Some("spring_festival")),
            // Lei Feng day's welfare beats 3.8 (weight 3) and the Lantern Festival (2026-03-03).
            (3, Welfare, Some("lei_feng_day")),
            (4, Habit, None),
            (5, Event, Some("labour_day")),
            // 618 (weight 4) beats Dragon Boat (3, 2026-06-19).
            (6, Event, Some("mid_year_618")),
            (7, Habit, None),
            (8, Event, Some("qixi")),
            (9, Event, Some("mid_autumn")),
            // National Day (5) beats Chongyang's welfare day (2026-10-18).
            (10, Event, Some("national_day")),
            (11, Event, Some("double_11")),
            (12, Event, Some("double_12")),
        ]
    );
    let m = |n: usize| &plan[n - 1];
    assert_eq!(m(1).month, d(2026, 1, 1));
    assert_eq!(
        m(1).festivals,
        vec![("new_year".to_string(), d(2026, 1, 1))]
    );
    assert_eq!(m(1).theme_zh, "新年开门红 · 邀请好友绑卡有礼");
    assert!(m(1).note_zh.contains("种子用户"), "{}", m(1).note_zh);
    assert_eq!(m(2).anchor_date, Some(d(2026, 2, 17)));
    assert_eq!(m(2).theme_zh, "年货节 · 扫码立减");
    assert_eq!(
        m(2).theme_en,
        "New Year goods festival: scan-to-pay discounts"
    );
    assert_eq!(m(3).theme_zh, "学雷锋志愿服务 · 反诈宣传进社区");
    assert_eq!(
        m(3).festivals
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        ["lantern", "lei_feng_day", "womens_day"]
    );
    assert!(m(3).note_zh.contains("妇女节"), "{}", m(3).note_zh);
    assert_eq!(m(4).theme_zh, "每周三会员日 · 扫码满减");
    assert_eq!(
        m(4).theme_en,
        "Wednesday member day: scan-to-pay discounts every week"
    );
    assert!(m(4).festivals.is_empty());
    assert_eq!(
        m(6).festivals,
        vec![
            ("mid_year_618".to_string(), d(2026, 6, 18)),
            ("dragon_boat".to_string(), d(2026, 6, 19)),
        ]
    );
    assert!(m(6).note_en.contains("Dragon Boat"), "{}", m(6).note_en);
    assert_eq!(m(10).anchor_date, Some(d(2026, 10, 1)));
    assert!(
        m(10).note_zh.contains("重阳节（2026-10-18）"),
        "{}",
        m(10).note_zh
    );
    assert_eq!(m(11).anchor_date, Some(d(2026, 11, 11)));
    assert_eq!(m(12).anchor_date, Some(d(2026, 12, 12)));
    for (i, month) in plan.iter().enumerate() {
        assert_eq!(month.month, d(2026, i as u32 + 1, 1));
        assert!(!month.theme_zh.is_empty() && !month.theme_en.is_empty());
        assert!(!month.note_zh.is_empty() && !month.note_en.is_empty());
        assert!(!month.edited);
    }
}

#[test]
fn member_days_are_exactly_the_wednesdays() {
    let plan = plan_2026();
    assert_eq!(
        plan[0].member_days,
        vec![
            d(2026, 1, 7),
            d(2026, 1, 14),
            d(2026, 1, 21),
            d(2026, 1, 28)
        ]
    );
    let all: Vec<NaiveDate> = plan.iter().flat_map(|m| m.member_days.clone()).collect();
    // 2026 starts on a Thursday and has 52 Wednesdays, the last on 30 December.
    assert_eq!(all.len(), 52);
    assert_eq!(all.last(), Some(&d(2026, 12, 30)));
    assert!(all.iter().all(|x| x.weekday() == Weekday::Wed));
    assert!(all.windows(2).all(|w| (w[1] - w[0]).num_days() == 7));
    for m in &plan {
        assert_eq!(m.member_weekday, Some(Weekday::Wed));
        assert!(m
            .member_days
            .iter()
            .all(|x| x.year() == m.month.year() && x.month() == m.month.month()));
    }
}

#[test]
fn a_mid_month_start() {
    // After the Spring Festival (2026-02-17): it is listed but cannot be the anchor.
    let plan = propose(d(2026, 2, 20), 3, &CampaignType::ALL, None).expect("a plan");
    assert_eq!(plan[0].month, d(2026, 2, 1));
    assert_eq!(plan[0].from, d(2026, 2, 20));
    assert_eq!(
        plan[0].festivals,
        vec![("spring_festival".to_string(), d(2026, 2, 17))]
    );
    assert_eq!(plan[0].activity, Referral);
    assert_eq!(plan[0].anchor, None);
    assert_eq!(plan[0].theme_zh, "种子用户招募 · 老带新启动");
    assert_eq!(plan[0].member_days, vec![d(2026, 2, 25)]);
    assert_eq!(plan[1].from, d(2026, 3, 1));
    assert_eq!(plan[1].member_days[0], d(2026, 3, 4));
    assert_eq!(plan[2].month, d(2026, 4, 1));

    // A festival on the start day is eligible; one the day before is not.
    let types = [Event, Habit];
    let on = propose(d(2026, 6, 18), 1, &types, None).expect("a plan");
    assert_eq!(on[0].anchor.as_deref(), Some("mid_year_618"));
    let after = propose(d(2026, 6, 19), 1, &types, None).expect("a plan");
    assert_eq!(after[0].anchor.as_deref(), Some("dragon_boat"));
    assert_eq!(after[0].member_days, vec![d(2026, 6, 24)]);
    let late = propose(d(2026, 6, 25), 1, &types, None).expect("a plan");
    assert_eq!((late[0].activity, late[0].anchor.as_deref()), (Habit, None));
    assert!(late[0].member_days.is_empty(), "no Wednesday left in June");
}

#[test]
fn a_big_festival_beats_the_referral_launch() {
    let plan = propose(d(2026, 2, 1), 2, &CampaignType::ALL, None).expect("a plan");
    assert_eq!(plan[0].activity, Event);
    assert_eq!(plan[0].anchor.as_deref(), Some("spring_festival"));
}

#[test]
fn only_habit() {
    let plan = propose(d(2026, 1, 1), 12, &[Habit], None).expect("a plan");
    for m in &plan {
        assert_eq!(m.activity, Habit);
        assert_eq!(m.anchor, None);
        assert_eq!(m.anchor_date, None);
        assert_eq!(m.theme_zh, "每周三会员日 · 扫码满减");
        assert!(!m.member_days.is_empty());
        assert!(m.member_days.iter().all(|x| x.weekday() == Weekday::Wed));
    }
    // The festivals are still listed (and named in the note).
    assert_eq!(plan[9].festivals.len(), 2);
    assert!(plan[9].note_zh.contains("国庆节"));
    let sat = propose(d(2026, 1, 1), 2, &[Habit], Some(Weekday::Sat)).expect("a plan");
    assert_eq!(sat[0].theme_zh, "每周六会员日 · 扫码满减");
    assert_eq!(
        sat[0].theme_en,
        "Saturday member day: scan-to-pay discounts every week"
    );
    assert_eq!(sat[0].member_days[0], d(2026, 1, 3));
    assert!(sat
        .iter()
        .flat_map(|m| &m.member_days)
        .all(|x| x.weekday() == Weekday::Sat));
}

#[test]
fn only_event_has_no_member_days_and_fills_empty_months() {
    let plan = propose(d(2026, 1, 1), 12, &[Event], None).expect("a plan");
    assert!(plan
        .iter()
        .all(|m| m.member_days.is_empty() && m.member_weekday.is_none()));
    assert!(plan.iter().all(|m| m.activity == Event));
    // April and July hold no festival.
    assert_eq!(plan[3].anchor, None);
    assert_eq!(plan[3].theme_zh, "商圈美食节 · 商户联合让利");
    assert_eq!(plan[2].anchor.as_deref(), Some("womens_day"));
    // A member weekday can still be asked for without Habit.
    let fri = propose(d(2026, 1, 1), 1, &[Event], Some(Weekday::Fri)).expect("a plan");
    assert_eq!(fri[0].member_days.len(), 5);
}

#[test]
fn only_referral() {
    let plan = propose(d(2026, 3, 1), 4, &[Referral], None).expect("a plan");
    assert_eq!(summary(&plan)[0], (3, Referral, None));
    assert_eq!(plan[0].theme_zh, "种子用户招募 · 老带新启动");
    assert_eq!(plan[1].theme_zh, "老带新 · 邀请有礼");
    assert_eq!(summary(&plan)[3], (6, Referral, Some("mid_year_618")));
    assert_eq!(plan[3].theme_zh, "618拼团 · 邀好友享折上折");
}

#[test]
fn welfare_without_event() {
    let plan = propose(d(2026, 1, 1), 12, &[Welfare, Habit], None).expect("a plan");
    let s = summary(&plan);
    assert_eq!(s[1], (2, Habit, None), "the Spring Festival suits neither");
    assert_eq!(s[2], (3, Welfare, Some("lei_feng_day")));
    // Labour Day is big and suits welfare.
    assert_eq!(s[4], (5, Welfare, Some("labour_day")));
    assert_eq!(plan[4].theme_zh, "致敬劳动者 · 网点爱心驿站");
    assert_eq!(s[5], (6, Welfare, Some("dragon_boat")));
    assert_eq!(s[9], (10, Welfare, Some("chongyang")));
    assert_eq!(plan[9].anchor_date, Some(d(2026, 10, 18)));
    assert_eq!(plan[9].theme_zh, "重阳敬老 · 防诈讲座与义诊");
    // Without Welfare, Chongyang is never an anchor.
    let ev = propose(d(2026, 1, 1), 12, &[Event, Habit], None).expect("a plan");
    assert_eq!(summary(&ev)[2], (3, Event, Some("womens_day")));
}

#[test]
fn october_2025_national_day_beats_mid_autumn() {
    let plan = propose(d(2025, 10, 1), 1, &[Event], None).expect("a plan");
    assert_eq!(plan[0].anchor.as_deref(), Some("national_day"));
    assert_eq!(
        plan[0].festivals,
        vec![
            ("national_day".to_string(), d(2025, 10, 1)),
            ("mid_autumn".to_string(), d(2025, 10, 6)),
            ("chongyang".to_string(), d(2025, 10, 29)),
        ]
    );
}

#[test]
fn proposals_are_deterministic() {
    assert_eq!(plan_2026(), plan_2026());
    let reordered = [Welfare, Habit, Event, Referral];
    assert_eq!(
        propose(d(2026, 1, 1), 12, &reordered, None).expect("a plan"),
        plan_2026()
    );
}

/// Every start from 2024 to 2030 (1st and 15th), every non-empty set of types, 24 months.
#[test]
fn every_month_gets_a_consistent_activity() {
    let mut start = d(2024, 1, 1);
    while start <= d(2030, 1, 15) {
        for mask in 1..16u8 {
            let types: Vec<CampaignType> = CampaignType::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, t)| t)
                .collect();
            let plan = propose(start, MAX_MONTHS, &types, None).expect("covered");
            assert_eq!(plan.len(), MAX_MONTHS);
            assert_eq!(plan[0].from, start);
            for (i, m) in plan.iter().enumerate() {
                let end = last_of_month(m.month).expect("a month end");
                assert_eq!(m.month.day(), 1);
                if i > 0 {
                    assert_eq!(m.from, m.month);
                    assert_eq!(
                        Some(m.month),
                        last_of_month(plan[i - 1].month).and_then(|x| x.succ_opt())
                    );
                }
                assert!(types.contains(&m.activity), "{start} {types:?} {}", m.month);
                assert!(!m.theme_zh.trim().is_empty() && !m.theme_en.trim().is_empty());
                match (&m.anchor, m.anchor_date) {
                    (Some(code), Some(date)) => {
                        assert!(m.festivals.contains(&(code.clone(), date)));
                        assert!(date >= m.from && date <= end);
                    }
                    (None, None) => {}
                    other => panic!("anchor and date disagree: {other:?}"),
                }
                assert!(m.member_days.iter().all(|x| *x >= m.from && *x <= end));
                if types.contains(&Habit) {
                    assert_eq!(m.member_weekday, Some(Weekday::Wed));
                    let wednesdays = m
                        .from
                        .iter_days()
                        .take_while(|x| *x <= end)
                        .filter(|x| x.weekday() == Weekday::Wed)
                        .count();
                    assert_eq!(m.member_days.len(), wednesdays);
                    assert!(m.member_days.iter().all(|x| x.weekday() == Weekday::Wed));
                } else {
                    assert!(m.member_days.is_empty() && m.member_weekday.is_none());
                }
            }
        }
        start = if start.day() == 1 {
            start.with_day(15).expect("15th")
        } else {
            start
                .with_day(1)
                .and_then(|x| x.checked_add_months(Months::new(1)))
                .expect("next month")
        };
    }
}

#[test]
fn proposal_errors_name_the_field() {
    let e = propose(d(2026, 1, 1), 0, &[Habit], None).expect_err("0 months");
    assert_eq!(e.field, "months");
    let e = propose(d(2026, 1, 1), 25, &[Habit], None).expect_err("25 months");
    assert_eq!(e.field, "months");
    assert!(e.reason.contains("1..=24"), "{e}");
    let e = propose(d(2026, 1, 1), 12, &[], None).expect_err("no type");
    assert_eq!(e.field, "types");
    let e = propose(d(2023, 12, 1), 3, &[Habit], None).expect_err("2023");
    assert_eq!(e.field, "start");
    assert!(
        e.reason.contains("2023") && e.reason.contains("2024–2031"),
        "{e}"
    );
    let e = propose(d(2031, 6, 1), 12, &[Habit], None).expect_err("runs into 2032");
    assert_eq!(e.field, "months");
    assert!(
        e.reason.contains("2032") && e.reason.contains("2024–2031"),
        "{e}"
    );
    assert!(propose(d(2031, 1, 1), 12, &[Habit], None).is_ok());
}

#[test]
fn plans_serialise_with_codes_and_iso_dates() {
    let plan = plan_2026();
    let v = serde_json::to_value(&plan[1]).expect("json");
    assert_eq!(v["month"], "2026-02-01");
    assert_eq!(v["from"], "2026-02-01");
    assert_eq!(v["activity"], "event");
    assert_eq!(v["anchor"], "spring_festival");
    assert_eq!(v["anchor_date"], "2026-02-17");
    assert_eq!(v["festivals"][0][0], "spring_festival");
    assert_eq!(v["festivals"][0][1], "2026-02-17");
    assert_eq!(v["member_weekday"], "wed");
    assert_eq!(v["member_days"][0], "2026-02-04");
    assert_eq!(v["edited"], false);
    assert_eq!(
        serde_json::to_value(&plan[3]).expect("json")["anchor"],
        serde_json::Value::Null
    );
    let f = serde_json::to_value(&festivals_in(2026).expect("2026")[1]).expect("json");
    assert_eq!(f["code"], "spring_festival");
    assert_eq!(f["date"], "2026-02-17");
    assert_eq!(f["types"], serde_json::json!(["event", "referral"]));
    assert_eq!(f["themes"][1]["activity"], "referral");
}

// ---------------------------------------------------------------------------------------------
// Edits

fn edit(month: NaiveDate) -> MonthEdit {
    MonthEdit {
        month,
        ..MonthEdit::default()
    }
}

#[test]
fn edits_change_only_their_months() {
    let mut plan = plan_2026();
    let before = plan.clone();
    let edits = [
        MonthEdit {
            activity: Some(Event),
            theme_zh: Some(" 春日踏青 · 周边游立减 ".into()),
            theme_en: Some("Spring outing: day-trip discounts".into()),
            ..edit(d(2026, 4, 1))
        },
        // Any day of the month names it.
        MonthEdit {
            activity: Some(Welfare),
            ..edit(d(2026, 10, 15))
        },
        MonthEdit {
            activity: Some(Referral),
            ..edit(d(2026, 7, 1))
        },
    ];
    apply_edits(&mut plan, &edits).expect("valid edits");
    let april = &plan[3];
    assert_eq!(april.activity, Event);
    assert_eq!(april.theme_zh, "春日踏青 · 周边游立减");
    assert_eq!(april.theme_en, "Spring outing: day-trip discounts");
    assert_eq!(april.anchor, None);
    assert!(april.edited);
    // October re-anchors on Chongyang, the month's festival that suits welfare.
    let oct = &plan[9];
    assert_eq!(oct.activity, Welfare);
    assert_eq!(oct.anchor.as_deref(), Some("chongyang"));
    assert_eq!(oct.anchor_date, Some(d(2026, 10, 18)));
    assert_eq!(oct.theme_zh, "重阳敬老 · 防诈讲座与义诊");
    assert_eq!(
        oct.note_zh, before[9].note_zh,
        "the note still says why it was proposed"
    );
    let july = &plan[6];
    assert_eq!((july.activity, july.anchor.as_deref()), (Referral, None));
    assert_eq!(july.theme_zh, "老带新 · 邀请有礼");
    for (i, (a, b)) in plan.iter().zip(&before).enumerate() {
        if ![3, 6, 9].contains(&i) {
            assert_eq!(a, b, "month {}", i + 1);
        }
    }
}

#[test]
fn editing_the_member_weekday() {
    let mut plan = plan_2026();
    apply_edits(
        &mut plan,
        &[
            MonthEdit {
                member_weekday: Some(Some(Weekday::Fri)),
                ..edit(d(2026, 7, 1))
            },
            MonthEdit {
                member_weekday: Some(None),
                ..edit(d(2026, 4, 1))
            },
            MonthEdit {
                member_weekday: Some(Some(Weekday::Sun)),
                ..edit(d(2026, 2, 1))
            },
        ],
    )
    .expect("valid edits");
    let july = &plan[6];
    assert_eq!(july.member_weekday, Some(Weekday::Fri));
    assert_eq!(
        july.member_days,
        vec![
            d(2026, 7, 3),
            d(2026, 7, 10),
            d(2026, 7, 17),
            d(2026, 7, 24),
            d(2026, 7, 31)
        ]
    );
    assert_eq!(
        july.theme_zh, "每周五会员日 · 扫码满减",
        "the default habit theme follows"
    );
    let april = &plan[3];
    assert!(april.member_days.is_empty());
    assert_eq!(april.member_weekday, None);
    assert_eq!(april.theme_zh, "会员专享月 · 消费打卡有礼");
    // An event month keeps its festival theme.
    assert_eq!(plan[1].theme_zh, "年货节 · 扫码立减");
    assert_eq!(plan[1].member_days.len(), 4);
    assert!(plan[1]
        .member_days
        .iter()
        .all(|x| x.weekday() == Weekday::Sun));

    // In the first month of a mid-month start, not before the start.
    let mut late = propose(d(2026, 7, 15), 2, &[Habit], None).expect("a plan");
    apply_edits(
        &mut late,
        &[MonthEdit {
            member_weekday: Some(Some(Weekday::Mon)),
            ..edit(d(2026, 7, 1))
        }],
    )
    .expect("valid edit");
    assert_eq!(late[0].member_days, vec![d(2026, 7, 20), d(2026, 7, 27)]);
}

#[test]
fn a_team_theme_survives_a_weekday_change() {
    let mut plan = plan_2026();
    apply_edits(
        &mut plan,
        &[
            MonthEdit {
                theme_zh: Some("夏日会员日".into()),
                ..edit(d(2026, 7, 1))
            },
            MonthEdit {
                member_weekday: Some(Some(Weekday::Thu)),
                ..edit(d(2026, 7, 1))
            },
        ],
    )
    .expect("valid edits");
    assert_eq!(plan[6].theme_zh, "夏日会员日");
    assert_eq!(plan[6].member_days[0], d(2026, 7, 2));
}

#[test]
fn edit_errors_name_the_field_and_change_nothing() {
    let original = plan_2026();
    let check = |edits: &[MonthEdit], field: &str, reason: &str| {
        let mut plan = original.clone();
        let e = apply_edits(&mut plan, edits).expect_err("an invalid edit");
        assert_eq!(e.field, field, "{e}");
        assert!(e.reason.contains(reason), "{e}");
        assert_eq!(plan, original, "nothing applied");
    };
    let ok = MonthEdit {
        activity: Some(Welfare),
        ..edit(d(2026, 4, 1))
    };
    check(
        &[
            ok.clone(),
            MonthEdit {
                activity: Some(Event),
                ..edit(d(2027, 3, 1))
            },
        ],
        "edits[1].month",
        "2027-03 is not a month of the plan (2026-01…2026-12)",
    );
    check(
        &[MonthEdit {
            theme_zh: Some("   ".into()),
            ..edit(d(2026, 4, 1))
        }],
        "edits[0].theme_zh",
        "is empty",
    );
    check(
        &[
            ok.clone(),
            ok.clone(),
            MonthEdit {
                theme_en: Some("x".repeat(61)),
                ..edit(d(2026, 5, 1))
            },
        ],
        "edits[2].theme_en",
        "61 characters long, at most 60",
    );
    check(&[ok, edit(d(2026, 5, 1))], "edits[1]", "changes nothing");

    // 60 characters (Chinese ones count as one each) is fine.
    let mut plan = original.clone();
    apply_edits(
        &mut plan,
        &[MonthEdit {
            theme_zh: Some("会".repeat(60)),
            ..edit(d(2026, 5, 1))
        }],
    )
    .expect("60 characters");
    assert_eq!(plan[4].theme_zh.chars().count(), 60);
    assert!(plan[4].edited);
}

#[test]
fn month_edits_read_from_json() {
    let e: MonthEdit = serde_json::from_str(r#"{"month":"2026-04-01"}"#).expect("json");
    assert_eq!(e, edit(d(2026, 4, 1)));
    let e: MonthEdit =
        serde_json::from_str(r#"{"month":"2026-04-01","member_weekday":null}"#).expect("json");
    assert_eq!(e.member_weekday, Some(None));
    let e: MonthEdit = serde_json::from_str(
        r#"{"month":"2026-04-01","member_weekday":"周五","activity":"welfare","theme_zh":"公益"}"#,
    )
    .expect("json");
    assert_eq!(e.member_weekday, Some(Some(Weekday::Fri)));
    assert_eq!(e.activity, Some(Welfare));
    assert_eq!(e.theme_zh.as_deref(), Some("公益"));
    let back = serde_json::to_value(&e).expect("json");
    assert_eq!(back["member_weekday"], "fri");
    assert_eq!(back["month"], "2026-04-01");
    assert!(
        serde_json::from_str::<MonthEdit>(r#"{"month":"2026-04-01","member_weekday":"周八"}"#)
            .expect_err("not a weekday")
            .to_string()
            .contains("member_weekday")
    );
    assert!(serde_json::from_str::<MonthEdit>(r#"{"month":"2026-04-01","colour":"red"}"#).is_err());
}

#[test]
fn weekdays_parse_in_english_chinese_and_iso_numbers() {
    for s in ["wed", "Wed", " WEDNESDAY ", "周三", "星期三", "礼拜三", "3"] {
        assert_eq!(parse_weekday(s), Some(Weekday::Wed), "{s}");
    }
    for s in ["sun", "Sunday", "周日", "周天", "星期天", "7"] {
        assert_eq!(parse_weekday(s), Some(Weekday::Sun), "{s}");
    }
    assert_eq!(parse_weekday("1"), Some(Weekday::Mon));
    assert_eq!(parse_weekday("sat"), Some(Weekday::Sat));
    for s in ["", "0", "8", "周八", "wednes", "we"] {
        assert_eq!(parse_weekday(s), None, "{s}");
    }
}

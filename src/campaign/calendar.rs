//! Campaign calendar (issue 8 part 4): a month-by-month plan that proposes an activity type and a
//! theme per month, anchored on the Chinese calendar, plus weekly member days; the team edits it.
//!
//! # Festivals
//! `data/festivals.toml` (compiled in) lists the festivals: New Year, Spring Festival, Lantern,
//! Lei Feng day (3.5), Women's Day (3.8), Labour Day (5.1), Dragon Boat, 618, Qixi, Mid-Autumn,
//! National Day, Chongyang (Seniors' Day), Double 11 and Double 12; each with the campaign types
//! that suit it (best first), a theme per type, and a weight 1..=5 (how big a shopping moment it
//! is). Lunar festivals carry an explicit Gregorian date per year; the years every lunar festival
//! covers are the years the calendar covers ([`covered_years`], 2024–2031 today), and asking for a
//! year outside them is an error that names the covered years. The dates were checked against two
//! independent implementations (see the file's header); a test re-checks them on every run.
//!
//! # How a month is proposed ([`propose`])
//! Month 1 is the month of `start`; a festival is *eligible* in a month when it falls on or after
//! `start` and its types share at least one of the campaign's chosen types. The first rule that
//! applies wins:
//! 1. **Big festival**: an eligible festival of weight ≥ [`BIG_WEIGHT`] (4) in the month → it is
//!    the anchor (the biggest eligible festival: highest weight, then earliest date, then code).
//! 2. **Referral launch**: the first month of a campaign that includes Referral launches it
//!    (recruit seed users), anchored on the biggest eligible festival that suits Referral if any
//!    (its referral theme), else on none (the generic launch theme).
//! 3. **Welfare day**: Welfare is chosen and a welfare day (a festival whose first type is
//!    welfare: Lei Feng day, Chongyang) is eligible → a Welfare month anchored on it. Only a big
//!    festival (rule 1) beats it, so March with Welfare chosen is Lei Feng's welfare month rather
//!    than a 3.8 event (weight 3); October keeps National Day (weight 5) and the note points at
//!    Chongyang. A welfare activity needs an anchor and these two days are the natural ones.
//! 4. **Festival**: the biggest eligible festival is the anchor.
//! 5. **No anchor**: Habit (the member-day theme) if chosen, else Referral («老带新 · 邀请有礼»),
//!    else Event (a generic food-street festival), else Welfare (financial literacy in the
//!    community). Every month gets an activity.
//!
//! An anchored month (rules 1, 3, 4) runs Event when Event is chosen and the festival suits it,
//! else the festival's first type among the chosen ones; its theme is the festival's theme for
//! that type. So a June holding both 618 (weight 4) and Dragon Boat (3) anchors on 618, an October
//! holding National Day (5) and Mid-Autumn (4) on National Day. Ties are broken by date, then
//! code, so the proposal is deterministic. Every month lists all its festivals (also those before
//! `start`) and the note says why the month got its activity and which other festivals it holds.
//!
//! # Member days
//! Every `member_weekday` of the month that is on or after `start`; when none is given it is
//! Wednesday if Habit is chosen, and there are no member days otherwise. Member days run through
//! every month, whatever the month's activity.
//!
//! # Edits ([`apply_edits`])
//! The team can change a month's activity, themes and member weekday. Edits are checked first and
//! applied all or none; errors name the field (`edits[3].month`, `edits[0].theme_zh`). Changing
//! the activity re-anchors the month on its biggest festival (on or after the month's first
//! campaign day) that suits the new type, or on none, and resets the themes to that default unless
//! the edit gives them. Edited months are marked `edited`.

use std::collections::{BTreeMap, HashSet};
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::CampaignType;
use crate::domain::FieldError;

/// Months a proposal covers when the caller does not say.
pub const DEFAULT_MONTHS: usize = 12;
/// Longest proposal: two years.
pub const MAX_MONTHS: usize = 24;
/// Longest theme, in characters (a campaign title, not a description).
pub const MAX_THEME_CHARS: usize = 60;
/// Festivals of this weight or more beat a referral launch and a welfare day (see the module doc).
pub const BIG_WEIGHT: u8 = 4;

const BUILTIN: &str = include_str!("../../data/festivals.toml");
const SOURCE: &str = "data/festivals.toml";

/// The festival table could not give what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("no festival dates for {year}: {SOURCE} covers {first}–{last}")]
    YearNotCovered { year: i32, first: i32, last: i32 },
    #[error("{SOURCE} is not valid: {0}")]
    Table(String),
}

/// A festival's default theme for one campaign type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FestivalTheme {
    pub activity: CampaignType,
    pub zh: String,
    pub en: String,
}

/// A festival on its date in one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Festival {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub date: NaiveDate,
    /// Dated by the lunisolar calendar (its Gregorian date moves from year to year).
    pub lunar: bool,
    /// The campaign types that suit it, best first.
    pub types: Vec<CampaignType>,
    /// The theme for `types[0]`.
    pub theme_zh: String,
    pub theme_en: String,
    /// 1..=5: how big a shopping moment it is (scale in `data/festivals.toml`).
    pub weight: u8,
    /// A theme for every type in `types`, in the same order.
    pub themes: Vec<FestivalTheme>,
}

impl Festival {
    /// The festival's theme for `activity`, when it suits that type.
    pub fn theme(&self, activity: CampaignType) -> Option<&FestivalTheme> {
        self.themes.iter().find(|t| t.activity == activity)
    }
}

/// One month of a campaign plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthPlan {
    /// The first day of the month.
    pub month: NaiveDate,
    /// The first day of the month inside the campaign: `start` in month 1, else `month`.
    pub from: NaiveDate,
    pub activity: CampaignType,
    pub theme_zh: String,
    pub theme_en: String,
    /// The code of the festival the month is built around.
    pub anchor: Option<String>,
    pub anchor_date: Option<NaiveDate>,
    /// Every festival of the month, by date: (code, date).
    pub festivals: Vec<(String, NaiveDate)>,
    /// The weekly member day, as `mon`…`sun`.
    #[serde(serialize_with = "ser_weekday")]
    pub member_weekday: Option<Weekday>,
    /// Every `member_weekday` of the month from `from` on.
    pub member_days: Vec<NaiveDate>,
    /// Changed by the team since it was proposed.
    pub edited: bool,
    /// Why this was proposed.
    pub note_zh: String,
    pub note_en: String,
}

/// A change the team makes to one month. `None` leaves a field as it is; `member_weekday:
/// Some(None)` removes the member days. In JSON, `member_weekday` absent leaves it, `null`
/// removes it, and a string is read by [`parse_weekday`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthEdit {
    /// Any day of the month to change (normally its first day).
    pub month: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<CampaignType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme_en: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_weekday_edit",
        deserialize_with = "de_weekday_edit"
    )]
    pub member_weekday: Option<Option<Weekday>>,
}

// ---------------------------------------------------------------------------------------------
// Weekdays

const WEEKDAYS: [(Weekday, &str, &str, &str, &[&str]); 7] = [
    (
        Weekday::Mon,
        "mon",
        "周一",
        "Monday",
        &["1", "星期一", "礼拜一"],
    ),
    (
        Weekday::Tue,
        "tue",
        "周二",
        "Tuesday",
        &["2", "星期二", "礼拜二"],
    ),
    (
        Weekday::Wed,
        "wed",
        "周三",
        "Wednesday",
        &["3", "星期三", "礼拜三"],
    ),
    (
        Weekday::Thu,
        "thu",
        "周四",
        "Thursday",
        &["4", "星期四", "礼拜四"],
    ),
    (
        Weekday::Fri,
        "fri",
        "周五",
        "Friday",
        &["5", "星期五", "礼拜五"],
    ),
    (
        Weekday::Sat,
        "sat",
        "周六",
        "Saturday",
        &["6", "星期六", "礼拜六"],
    ),
    (
        Weekday::Sun,
        "sun",
        "周日",
        "Sunday",
        &["7", "周天", "星期日", "星期天", "礼拜日", "礼拜天"],
    ),
];

fn weekday_row(w: Weekday) -> (&'static str, &'static str, &'static str) {
    let (_, code, zh, en, _) = WEEKDAYS[w.num_days_from_monday() as usize];
    (code, zh, en)
}

/// Reads a weekday: `wed` / `Wednesday` (any case), `周三` / `星期三` / `礼拜三`, or ISO `1`…`7`
/// (Monday = 1, Sunday = 7; also `周日`, `周天`, `星期天`).
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let t = text.trim().to_lowercase();
    WEEKDAYS
        .iter()
        .find(|(_, code, zh, en, more)| {
            t == *code || t == *zh || t == en.to_lowercase() || more.contains(&t.as_str())
        })
        .map(|row| row.0)
}

fn ser_weekday<S: Serializer>(w: &Option<Weekday>, s: S) -> Result<S::Ok, S::Error> {
    match w {
        Some(w) => s.serialize_str(weekday_row(*w).0),
        None => s.serialize_none(),
    }
}

fn ser_weekday_edit<S: Serializer>(w: &Option<Option<Weekday>>, s: S) -> Result<S::Ok, S::Error> {
    ser_weekday(&w.flatten(), s)
}

fn de_weekday_edit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Weekday>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(Some(None)),
        Some(s) => parse_weekday(&s).map(|w| Some(Some(w))).ok_or_else(|| {
            serde::de::Error::custom(format!("member_weekday: {s:?} is not a weekday"))
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// The festival table

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextFile {
    zh: String,
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericFile {
    referral_launch: TextFile,
    referral: TextFile,
    habit: TextFile,
    habit_no_day: TextFile,
    event: TextFile,
    welfare: TextFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FestivalFile {
    code: String,
    zh: String,
    en: String,
    lunar: bool,
    month: u32,
    day: u32,
    #[serde(default)]
    dates: Option<Vec<String>>,
    types: Vec<String>,
    weight: u8,
    theme: BTreeMap<String, TextFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    generic: GenericFile,
    festival: Vec<FestivalFile>,
}

#[derive(Debug, Clone)]
struct Text {
    zh: String,
    en: String,
}

#[derive(Debug, Clone)]
struct Generic {
    referral_launch: Text,
    referral: Text,
    habit: Text,
    habit_no_day: Text,
    event: Text,
    welfare: Text,
}

#[derive(Debug, Clone)]
enum Rule {
    Solar,
    /// Gregorian date by Gregorian year.
    Lunar(BTreeMap<i32, NaiveDate>),
}

#[derive(Debug, Clone)]
struct Def {
    code: String,
    zh: String,
    en: String,
    /// Gregorian month/day for solar festivals, lunar month/day for lunar ones.
    month: u32,
    day: u32,
    rule: Rule,
    types: Vec<CampaignType>,
    themes: Vec<FestivalTheme>,
    weight: u8,
}

impl Def {
    fn date_in(&self, year: i32) -> Option<NaiveDate> {
        match &self.rule {
            Rule::Solar => NaiveDate::from_ymd_opt(year, self.month, self.day),
            Rule::Lunar(dates) => dates.get(&year).copied(),
        }
    }

    fn on(&self, date: NaiveDate) -> Festival {
        let (theme_zh, theme_en) = self
            .themes
            .first()
            .map(|t| (t.zh.clone(), t.en.clone()))
            .unwrap_or_default();
        Festival {
            code: self.code.clone(),
            zh: self.zh.clone(),
            en: self.en.clone(),
            date,
            lunar: matches!(self.rule, Rule::Lunar(_)),
            types: self.types.clone(),
            theme_zh,
            theme_en,
            weight: self.weight,
            themes: self.themes.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Table {
    defs: Vec<Def>,
    first: i32,
    last: i32,
    generic: Generic,
}

fn check_text(field: &str, t: TextFile) -> Result<Text, String> {
    for (lang, v) in [("zh", &t.zh), ("en", &t.en)] {
        let n = v.chars().count();
        if v.trim().is_empty() {
            return Err(format!("{field}.{lang} is empty"));
        }
        if n > MAX_THEME_CHARS {
            return Err(format!(
                "{field}.{lang} is {n} characters long, at most {MAX_THEME_CHARS}"
            ));
        }
    }
    Ok(Text { zh: t.zh, en: t.en })
}

impl Table {
    fn parse(text: &str) -> Result<Self, String> {
        let file: TableFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let g = file.generic;
        let generic = Generic {
            referral_launch: check_text("generic.referral_launch", g.referral_launch)?,
            referral: check_text("generic.referral", g.referral)?,
            habit: check_text("generic.habit", g.habit)?,
            habit_no_day: check_text("generic.habit_no_day", g.habit_no_day)?,
            event: check_text("generic.event", g.event)?,
            welfare: check_text("generic.welfare", g.welfare)?,
        };
        if !generic.habit.zh.contains("{weekday}") || !generic.habit.en.contains("{weekday}") {
            return Err("generic.habit must contain {weekday} in zh and en".into());
        }
        let mut seen = HashSet::new();
        let mut defs = Vec::with_capacity(file.festival.len());
        let mut years: Option<(i32, i32)> = None;
        for (i, f) in file.festival.into_iter().enumerate() {
            let at = format!("festival[{i}] ({})", f.code);
            if f.code.is_empty()
                || !f
                    .code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(format!("{at}: code must be snake_case"));
            }
            if !seen.insert(f.code.clone()) {
                return Err(format!("{at}: code is used twice"));
            }
            if f.zh.trim().is_empty() || f.en.trim().is_empty() {
                return Err(format!("{at}: zh and en names are required"));
            }
            if !(1..=5).contains(&f.weight) {
                return Err(format!("{at}: weight {} is outside 1..=5", f.weight));
            }
            if f.types.is_empty() {
                return Err(format!("{at}: types is empty"));
            }
            let mut types = Vec::with_capacity(f.types.len());
            for t in &f.types {
                let t = CampaignType::parse(t)
                    .ok_or_else(|| format!("{at}: {t:?} is not a campaign type"))?;
                if types.contains(&t) {
                    return Err(format!("{at}: type {} is listed twice", t.code()));
                }
                types.push(t);
            }
            let mut theme = f.theme;
            let mut themes = Vec::with_capacity(types.len());
            for &t in &types {
                let text = theme
                    .remove(t.code())
                    .ok_or_else(|| format!("{at}: no theme.{} for type {}", t.code(), t.code()))?;
                let text = check_text(&format!("{at}.theme.{}", t.code()), text)?;
                themes.push(FestivalTheme {
                    activity: t,
                    zh: text.zh,
                    en: text.en,
                });
            }
            if let Some(extra) = theme.keys().next() {
                return Err(format!("{at}: theme.{extra} is not one of its types"));
            }
            let rule = if f.lunar {
                if !(1..=12).contains(&f.month) || !(1..=30).contains(&f.day) {
                    return Err(format!(
                        "{at}: lunar month/day {}/{} is invalid",
                        f.month, f.day
                    ));
                }
                let list = f
                    .dates
                    .ok_or_else(|| format!("{at}: a lunar festival needs dates"))?;
                let mut dates = BTreeMap::new();
                for d in &list {
                    let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| format!("{at}: date {d:?} is not YYYY-MM-DD"))?;
                    if dates.insert(date.year(), date).is_some() {
                        return Err(format!("{at}: two dates in {}", date.year()));
                    }
                }
                let (Some(&lo), Some(&hi)) = (dates.keys().next(), dates.keys().next_back()) else {
                    return Err(format!("{at}: dates is empty"));
                };
                if (hi - lo + 1) as usize != dates.len() {
                    return Err(format!("{at}: the years of dates are not contiguous"));
                }
                match years {
                    None => years = Some((lo, hi)),
                    Some(y) if y != (lo, hi) => {
                        return Err(format!(
                            "{at}: dates cover {lo}–{hi}, other lunar festivals {}–{}",
                            y.0, y.1
                        ))
                    }
                    Some(_) => {}
                }
                Rule::Lunar(dates)
            } else {
                if f.dates.is_some() {
                    return Err(format!("{at}: a solar festival takes no dates"));
                }
                // 2023 is not a leap year: 29 February would be missing in most years.
                if NaiveDate::from_ymd_opt(2023, f.month, f.day).is_none() {
                    return Err(format!(
                        "{at}: {}/{} is not a date in every year",
                        f.month, f.day
                    ));
                }
                Rule::Solar
            };
            defs.push(Def {
                code: f.code,
                zh: f.zh,
                en: f.en,
                month: f.month,
                day: f.day,
                rule,
                types,
                themes,
                weight: f.weight,
            });
        }
        let (first, last) = years.ok_or("no lunar festival: the covered years are unknown")?;
        Ok(Table {
            defs,
            first,
            last,
            generic,
        })
    }

    fn def(&self, code: &str) -> Option<&Def> {
        self.defs.iter().find(|d| d.code == code)
    }

    fn check_year(&self, year: i32) -> Result<(), CalendarError> {
        if year < self.first || year > self.last {
            return Err(CalendarError::YearNotCovered {
                year,
                first: self.first,
                last: self.last,
            });
        }
        Ok(())
    }

    fn festivals_in(&self, year: i32) -> Result<Vec<Festival>, CalendarError> {
        self.check_year(year)?;
        let mut out: Vec<Festival> = self
            .defs
            .iter()
            .filter_map(|d| d.date_in(year).map(|date| d.on(date)))
            .collect();
        out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.code.cmp(&b.code)));
        Ok(out)
    }

    fn festivals_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Festival>, CalendarError> {
        self.check_year(from.year())?;
        self.check_year(to.year())?;
        let mut out = Vec::new();
        for year in from.year()..=to.year() {
            out.extend(
                self.festivals_in(year)?
                    .into_iter()
                    .filter(|f| f.date >= from && f.date <= to),
            );
        }
        Ok(out)
    }
}

fn table() -> Result<&'static Table, CalendarError> {
    static TABLE: OnceLock<Result<Table, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| Table::parse(BUILTIN))
        .as_ref()
        .map_err(|e| CalendarError::Table(e.clone()))
}

/// The years the festival table covers.
pub fn covered_years() -> Result<RangeInclusive<i32>, CalendarError> {
    let t = table()?;
    Ok(t.first..=t.last)
}

/// Every festival of `year`, by date; an error naming the covered years when `year` is not one.
pub fn festivals_in(year: i32) -> Result<Vec<Festival>, CalendarError> {
    table()?.festivals_in(year)
}

/// Every festival from `from` to `to`, both included, by date (none when `from > to`); an error
/// when a year of the range is not covered.
pub fn festivals_between(from: NaiveDate, to: NaiveDate) -> Result<Vec<Festival>, CalendarError> {
    if from > to {
        return Ok(Vec::new());
    }
    table()?.festivals_between(from, to)
}

// ---------------------------------------------------------------------------------------------
// Proposals

/// Orders festivals biggest first: weight, then earlier date, then code.
fn biggest<'a>(fs: impl Iterator<Item = &'a Festival>) -> Option<&'a Festival> {
    fs.min_by(|a, b| {
        b.weight
            .cmp(&a.weight)
            .then_with(|| a.date.cmp(&b.date))
            .then_with(|| a.code.cmp(&b.code))
    })
}

/// The activity an anchored month runs: Event when chosen and suitable, else the festival's first
/// chosen type.
fn festival_activity(f: &Festival, chosen: &[CampaignType]) -> Option<CampaignType> {
    if chosen.contains(&CampaignType::Event) && f.types.contains(&CampaignType::Event) {
        return Some(CampaignType::Event);
    }
    f.types.iter().copied().find(|t| chosen.contains(t))
}

fn habit_theme(g: &Generic, weekday: Option<Weekday>) -> (String, String) {
    match weekday {
        Some(w) => {
            let (_, zh, en) = weekday_row(w);
            (
                g.habit.zh.replace("{weekday}", zh),
                g.habit.en.replace("{weekday}", en),
            )
        }
        None => (g.habit_no_day.zh.clone(), g.habit_no_day.en.clone()),
    }
}

/// The theme of `activity` without a festival.
fn generic_theme(
    g: &Generic,
    activity: CampaignType,
    weekday: Option<Weekday>,
) -> (String, String) {
    let t = match activity {
        CampaignType::Habit => return habit_theme(g, weekday),
        CampaignType::Referral => &g.referral,
        CampaignType::Event => &g.event,
        CampaignType::Welfare => &g.welfare,
    };
    (t.zh.clone(), t.en.clone())
}

fn festival_theme(f: &Festival, activity: CampaignType) -> (String, String) {
    f.theme(activity)
        .map(|t| (t.zh.clone(), t.en.clone()))
        .unwrap_or_else(|| (f.theme_zh.clone(), f.theme_en.clone()))
}

struct Decision<'a> {
    activity: CampaignType,
    anchor: Option<&'a Festival>,
    theme: (String, String),
    note: (String, String),
}

fn anchored<'a>(f: &'a Festival, activity: CampaignType, note: (String, String)) -> Decision<'a> {
    Decision {
        activity,
        anchor: Some(f),
        theme: festival_theme(f, activity),
        note,
    }
}

fn decide<'a>(
    g: &Generic,
    first_month: bool,
    eligible: &[&'a Festival],
    chosen: &[CampaignType],
    weekday: Option<Weekday>,
) -> Decision<'a> {
    use CampaignType::*;
    let has = |t: CampaignType| chosen.contains(&t);
    let top = biggest(eligible.iter().copied());

    // 1. A big festival.
    if let Some(f) = top.filter(|f| f.weight >= BIG_WEIGHT) {
        if let Some(a) = festival_activity(f, chosen) {
            let note = (
                format!(
                    "{}（{}）是全年大节点（权重 {}），本月以它为锚做{}。",
                    f.zh,
                    f.date,
                    f.weight,
                    a.zh()
                ),
                format!(
                    "{} ({}) is one of the year's big moments (weight {}): the month's {} anchor.",
                    f.en,
                    f.date,
                    f.weight,
                    a.en().to_lowercase()
                ),
            );
            return anchored(f, a, note);
        }
    }
    // 2. The referral launch.
    if first_month && has(Referral) {
        let f = biggest(
            eligible
                .iter()
                .copied()
                .filter(|f| f.types.contains(&Referral)),
        );
        let note_zh = "活动首月：先在社区微信群招募种子用户，启动老带新裂变";
        let note_en = "First month: recruit seed users in community WeChat groups and launch \
                       the referral drive";
        return match f {
            Some(f) => anchored(
                f,
                Referral,
                (
                    format!("{note_zh}，借势{}（{}）。", f.zh, f.date),
                    format!("{note_en}, riding on {} ({}).", f.en, f.date),
                ),
            ),
            None => Decision {
                activity: Referral,
                anchor: None,
                theme: (g.referral_launch.zh.clone(), g.referral_launch.en.clone()),
                note: (format!("{note_zh}。"), format!("{note_en}.")),
            },
        };
    }
    // 3. A welfare day.
    if has(Welfare) {
        let day = biggest(
            eligible
                .iter()
                .copied()
                .filter(|f| f.types.first() == Some(&Welfare)),
        );
        if let Some(f) = day {
            let note = (
                format!(
                    "{}（{}）是公益节点，本月没有权重 ≥{BIG_WEIGHT} 的大节日，安排公益活动。",
                    f.zh, f.date
                ),
                format!(
                    "{} ({}) is a public-welfare day and no festival of weight {BIG_WEIGHT} or \
                     more is in the month: a welfare month.",
                    f.en, f.date
                ),
            );
            return anchored(f, Welfare, note);
        }
    }
    // 4. The biggest festival.
    if let Some(f) = top {
        if let Some(a) = festival_activity(f, chosen) {
            let note = (
                format!(
                    "本月有{}（{}，权重 {}），以它为锚做{}。",
                    f.zh,
                    f.date,
                    f.weight,
                    a.zh()
                ),
                format!(
                    "{} ({}, weight {}) is the month's festival: the month's {} anchor.",
                    f.en,
                    f.date,
                    f.weight,
                    a.en().to_lowercase()
                ),
            );
            return anchored(f, a, note);
        }
    }
    // 5. No anchor.
    let activity = [Habit, Referral, Event, Welfare]
        .into_iter()
        .find(|&t| has(t))
        .unwrap_or(Habit);
    let note = match activity {
        Habit => (
            "本月没有适合所选活动类型的节日，以每周会员日培养用卡习惯。",
            "No festival of the chosen types this month: the weekly member day builds the habit.",
        ),
        Referral => (
            "本月没有适合所选活动类型的节日，持续老带新。",
            "No festival of the chosen types this month: the referral drive goes on.",
        ),
        Event => (
            "本月没有节日，办一场商圈自己的活动。",
            "No festival this month: the food street holds an event of its own.",
        ),
        Welfare => (
            "本月没有公益节点，开展金融知识和反诈宣传。",
            "No welfare day this month: financial-literacy and anti-fraud talks.",
        ),
    };
    Decision {
        activity,
        anchor: None,
        theme: generic_theme(g, activity, weekday),
        note: (note.0.to_string(), note.1.to_string()),
    }
}

fn last_of_month(first: NaiveDate) -> Option<NaiveDate> {
    first.checked_add_months(Months::new(1))?.pred_opt()
}

fn member_days(from: NaiveDate, to: NaiveDate, weekday: Option<Weekday>) -> Vec<NaiveDate> {
    match weekday {
        Some(w) => from
            .iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| d.weekday() == w)
            .collect(),
        None => Vec::new(),
    }
}

fn covered_error(field: &str, e: CalendarError) -> FieldError {
    FieldError::new(field, e.to_string())
}

/// Proposes a plan of `months` months (1..=[`MAX_MONTHS`]; [`DEFAULT_MONTHS`] is the usual)
/// from the month of `start`, for a campaign of the chosen `types` (at least one), with member
/// days on `member_weekday` (Wednesday when it is `None` and Habit is chosen). The rules are in
/// the module doc.
pub fn propose(
    start: NaiveDate,
    months: usize,
    types: &[CampaignType],
    member_weekday: Option<Weekday>,
) -> Result<Vec<MonthPlan>, FieldError> {
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(FieldError::new(
            "months",
            format!("{months} is outside 1..={MAX_MONTHS}"),
        ));
    }
    if types.is_empty() {
        return Err(FieldError::new(
            "types",
            "choose at least one campaign type",
        ));
    }
    let table = table().map_err(|e| covered_error("festivals", e))?;
    table
        .check_year(start.year())
        .map_err(|e| covered_error("start", e))?;
    let weekday = member_weekday.or(types.contains(&CampaignType::Habit).then_some(Weekday::Wed));
    let first = start.with_day(1).unwrap_or(start);
    let mut plan = Vec::with_capacity(months);
    for i in 0..months {
        let month = first
            .checked_add_months(Months::new(i as u32))
            .ok_or_else(|| FieldError::new("months", "the plan runs past the last date"))?;
        let end = last_of_month(month)
            .ok_or_else(|| FieldError::new("months", "the plan runs past the last date"))?;
        let field = if i == 0 { "start" } else { "months" };
        let all = table
            .festivals_between(month, end)
            .map_err(|e| covered_error(field, e))?;
        let from = if i == 0 { start } else { month };
        let eligible: Vec<&Festival> = all
            .iter()
            .filter(|f| f.date >= from && f.types.iter().any(|t| types.contains(t)))
            .collect();
        let d = decide(&table.generic, i == 0, &eligible, types, weekday);
        let others: Vec<&Festival> = all
            .iter()
            .filter(|f| Some(f.code.as_str()) != d.anchor.map(|a| a.code.as_str()))
            .collect();
        let (mut note_zh, mut note_en) = d.note;
        if !others.is_empty() {
            let zh: Vec<String> = others
                .iter()
                .map(|f| format!("{}（{}）", f.zh, f.date))
                .collect();
            let en: Vec<String> = others
                .iter()
                .map(|f| format!("{} ({})", f.en, f.date))
                .collect();
            note_zh.push_str(&format!("本月另有：{}。", zh.join("、")));
            note_en.push_str(&format!(" Also this month: {}.", en.join(", ")));
        }
        plan.push(MonthPlan {
            month,
            from,
            activity: d.activity,
            theme_zh: d.theme.0,
            theme_en: d.theme.1,
            anchor: d.anchor.map(|f| f.code.clone()),
            anchor_date: d.anchor.map(|f| f.date),
            festivals: all.iter().map(|f| (f.code.clone(), f.date)).collect(),
            member_weekday: weekday,
            member_days: member_days(from, end, weekday),
            edited: false,
            note_zh,
            note_en,
        });
    }
    Ok(plan)
}

// ---------------------------------------------------------------------------------------------
// Edits

fn check_theme(field: String, v: &str) -> Result<String, FieldError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "is empty"));
    }
    let n = v.chars().count();
    if n > MAX_THEME_CHARS {
        return Err(FieldError::new(
            field,
            format!("is {n} characters long, at most {MAX_THEME_CHARS}"),
        ));
    }
    Ok(v.to_string())
}

/// The default theme of `m` for its activity, re-anchoring on the biggest festival of the month
/// (from `m.from` on) that suits it.
fn reanchor(table: &Table, m: &mut MonthPlan) -> (String, String) {
    let fests: Vec<Festival> = m
        .festivals
        .iter()
        .filter(|(_, date)| *date >= m.from)
        .filter_map(|(code, date)| table.def(code).map(|d| d.on(*date)))
        .filter(|f| f.types.contains(&m.activity))
        .collect();
    match biggest(fests.iter()) {
        Some(f) => {
            m.anchor = Some(f.code.clone());
            m.anchor_date = Some(f.date);
            festival_theme(f, m.activity)
        }
        None => {
            m.anchor = None;
            m.anchor_date = None;
            generic_theme(&table.generic, m.activity, m.member_weekday)
        }
    }
}

fn apply_one(table: &Table, m: &mut MonthPlan, e: &MonthEdit, at: &str) -> Result<(), FieldError> {
    let theme_zh = e
        .theme_zh
        .as_deref()
        .map(|v| check_theme(format!("{at}.theme_zh"), v))
        .transpose()?;
    let theme_en = e
        .theme_en
        .as_deref()
        .map(|v| check_theme(format!("{at}.theme_en"), v))
        .transpose()?;
    // The habit theme names the member day: follow a weekday change while it is still the default.
    let old_habit = habit_theme(&table.generic, m.member_weekday);
    let default_habit_theme = m.activity == CampaignType::Habit
        && m.anchor.is_none()
        && (m.theme_zh.as_str(), m.theme_en.as_str())
            == (old_habit.0.as_str(), old_habit.1.as_str());
    let mut default_theme = None;
    if let Some(w) = e.member_weekday {
        if w != m.member_weekday {
            m.member_weekday = w;
            let end = last_of_month(m.month)
                .ok_or_else(|| FieldError::new(format!("{at}.month"), "is the last month"))?;
            m.member_days = member_days(m.from, end, w);
            if default_habit_theme {
                default_theme = Some(habit_theme(&table.generic, w));
            }
        }
    }
    if let Some(a) = e.activity {
        if a != m.activity {
            m.activity = a;
            default_theme = Some(reanchor(table, m));
        }
    }
    if let Some((zh, en)) = default_theme {
        m.theme_zh = zh;
        m.theme_en = en;
    }
    if let Some(v) = theme_zh {
        m.theme_zh = v;
    }
    if let Some(v) = theme_en {
        m.theme_en = v;
    }
    m.edited = true;
    Ok(())
}

/// Applies the team's edits in order, all or none: on an error the plan is unchanged and the
/// error names the field (`edits[3].month` when no month of the plan is that month, `edits[0]
/// .theme_zh` when a theme is empty or longer than [`MAX_THEME_CHARS`], `edits[2]` when an edit
/// changes nothing). Edited months get `edited: true`.
pub fn apply_edits(plan: &mut [MonthPlan], edits: &[MonthEdit]) -> Result<(), FieldError> {
    let table = table().map_err(|e| covered_error("festivals", e))?;
    let mut work = plan.to_vec();
    for (i, e) in edits.iter().enumerate() {
        let at = format!("edits[{i}]");
        let idx = work
            .iter()
            .position(|m| m.month.year() == e.month.year() && m.month.month() == e.month.month())
            .ok_or_else(|| {
                let span = match (work.first(), work.last()) {
                    (Some(a), Some(b)) => {
                        format!("{}…{}", a.month.format("%Y-%m"), b.month.format("%Y-%m"))
                    }
                    _ => "empty".to_string(),
                };
                FieldError::new(
                    format!("{at}.month"),
                    format!(
                        "{} is not a month of the plan ({span})",
                        e.month.format("%Y-%m")
                    ),
                )
            })?;
        if e.activity.is_none()
            && e.theme_zh.is_none()
            && e.theme_en.is_none()
            && e.member_weekday.is_none()
        {
            return Err(FieldError::new(
                at,
                "changes nothing: give activity, theme_zh, theme_en or member_weekday",
            ));
        }
        apply_one(table, &mut work[idx], e, &at)?;
    }
    plan.clone_from_slice(&work);
    Ok(())
}

#[cfg(test)]
mod tests;

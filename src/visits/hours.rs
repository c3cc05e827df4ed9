//! Opening hours and rush windows: when a merchant can be visited on a given day.
//!
//! [`OpeningHours::parse`] reads the text merchants carry (`Merchant::opening_hours`, free text
//! from an import or OSM's syntax, as `src/gen` writes it):
//!
//! - ranges `HH:MM-HH:MM` (or `H:MM`), several separated by `,` `;` `、` `，` `；` or spaces;
//!   full-width `：` and the dashes `－ — – ~ ～ 至 到` are accepted;
//! - overnight ranges (`17:00-02:00`: open until 02:00 the next morning, so also the first two
//!   hours of the following day);
//! - all day: `24/7`, `24小时`, `24h`, `全天`, `00:00-24:00`, or a range whose ends are equal;
//! - day selectors before the ranges, OSM style (`Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00`,
//!   `Mo,We,Fr 10:00-18:00`, `Su off`) or Chinese (`周一至周五 09:00-18:00`, `星期六`, `工作日`,
//!   `周末`, `每天`). As in OSM a rule with days replaces what earlier rules said about those
//!   days, except that consecutive rules naming the same days add up (Chinese text uses `;`
//!   between the morning and evening ranges of the same days), and days no rule names are
//!   closed once any rule names days. Rules for public holidays (`PH …`, `SH …`) are skipped:
//!   we do not know the holiday calendar.
//!
//! Text that does not parse (`营业中`, `by appointment`) and missing hours are treated as open
//! all day, flagged ([`HoursSource`]) so that a plan can say "hours unknown: call first".
//!
//! Times are whole minutes of the day (0 = 00:00, 1440 = 24:00).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Minutes in a day.
pub const DAY_MIN: u32 = 1440;

/// A half-open span of minutes `[start, end)` with `start < end`. On a day `end ≤ 1440`; a
/// rule's overnight range runs past 1440 into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub start: u32,
    pub end: u32,
}

impl Interval {
    pub const ALL_DAY: Interval = Interval {
        start: 0,
        end: DAY_MIN,
    };

    /// `start..end`; `None` unless `start < end`.
    pub fn new(start: u32, end: u32) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    pub fn minutes(&self) -> u32 {
        self.end - self.start
    }

    /// Parses one daytime range `HH:MM-HH:MM` (`24:00` allowed as the end), not overnight: for
    /// configuration such as the rush windows.
    pub fn parse_day(text: &str) -> Option<Self> {
        let norm = normalise(text);
        let (a, b) = norm.trim().split_once('-')?;
        Self::new(parse_time(a.trim())?, parse_time(b.trim())?)
    }

    /// Whether the two share a minute (touching ends do not overlap).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

/// `HH:MM` of a minute of the day (`24:00` for 1440; past that, the next day's time).
pub fn hhmm(minute: u32) -> String {
    let m = if minute > DAY_MIN {
        minute - DAY_MIN
    } else {
        minute
    };
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Where a merchant's hours come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoursSource {
    /// Read from its text.
    Parsed,
    /// The merchant has none: assumed open all day.
    Missing,
    /// Its text could not be read: assumed open all day.
    Unrecognised,
}

/// A merchant's weekly opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpeningHours {
    /// Monday first: the ranges that start on that weekday, sorted; an overnight range ends
    /// after 1440.
    week: [Vec<Interval>; 7],
    pub source: HoursSource,
}

impl OpeningHours {
    /// Open all day, every day (`24/7`), known.
    pub fn always() -> Self {
        Self::all_day(HoursSource::Parsed)
    }

    fn all_day(source: HoursSource) -> Self {
        Self {
            week: std::array::from_fn(|_| vec![Interval::ALL_DAY]),
            source,
        }
    }

    /// The hours of an optional text (`Merchant::opening_hours`); missing or blank text is
    /// open all day, flagged [`HoursSource::Missing`].
    pub fn from_text(text: Option<&str>) -> Self {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Self::parse(t),
            None => Self::all_day(HoursSource::Missing),
        }
    }

    /// Parses the text (see the module documentation); text it cannot read gives open all
    /// day, flagged [`HoursSource::Unrecognised`].
    pub fn parse(text: &str) -> Self {
        match parse_week(text) {
            Some(week) => Self {
                week,
                source: HoursSource::Parsed,
            },
            None => Self::all_day(HoursSource::Unrecognised),
        }
    }

    /// Whether the hours were read from the merchant's text (not assumed).
    pub fn is_known(&self) -> bool {
        self.source == HoursSource::Parsed
    }

    /// When it is open on `date`, within 00:00–24:00: that weekday's ranges plus what the
    /// previous day's overnight ranges spill past midnight; sorted, overlapping and touching
    /// ranges merged.
    pub fn on(&self, date: NaiveDate) -> Vec<Interval> {
        let wd = date.weekday().num_days_from_monday() as usize;
        let prev = (wd + 6) % 7;
        let mut out: Vec<Interval> = Vec::new();
        for iv in &self.week[prev] {
            if iv.end > DAY_MIN {
                out.extend(Interval::new(0, (iv.end - DAY_MIN).min(DAY_MIN)));
            }
        }
        for iv in &self.week[wd] {
            out.extend(Interval::new(iv.start, iv.end.min(DAY_MIN)));
        }
        merge(out)
    }
}

/// Sorts and merges overlapping or touching intervals.
pub fn merge(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for iv in v {
        match out.last_mut() {
            Some(last) if iv.start <= last.end => last.end = last.end.max(iv.end),
            _ => out.push(iv),
        }
    }
    out
}

/// The rush hours of restaurants: visits to a merchant of one of `categories` must not overlap
/// any of `windows` (a visit may end when a window starts or start when it ends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rush {
    /// Category codes of `data/categories.toml`.
    pub categories: Vec<String>,
    /// Minutes of the day, sorted, disjoint.
    pub windows: Vec<Interval>,
}

impl Rush {
    /// No rush for anyone.
    pub fn none() -> Self {
        Self {
            categories: Vec::new(),
            windows: Vec::new(),
        }
    }

    /// The windows a merchant of `category` must keep out of (empty if it is not a restaurant).
    pub fn windows_for(&self, category: &str) -> &[Interval] {
        if self.categories.iter().any(|c| c == category) {
            &self.windows
        } else {
            &[]
        }
    }
}

/// The minutes at which a visit of `visit_min` minutes may START so that the whole visit lies
/// inside one of the `open` ranges and inside `within`, and overlaps none of `avoid`: closed
/// spans `[earliest, latest]`, sorted and disjoint. Empty if there is no such minute.
pub fn start_windows(
    open: &[Interval],
    visit_min: u32,
    within: Interval,
    avoid: &[Interval],
) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for iv in open {
        let start = iv.start.max(within.start);
        let end = iv.end.min(within.end);
        if end < start + visit_min {
            continue;
        }
        // Starts in [start, end − visit]; cut out (r.start − visit, r.end) for each window.
        let mut spans = vec![(start, end - visit_min)];
        for r in avoid {
            let mut next = Vec::with_capacity(spans.len() + 1);
            for (lo, hi) in spans {
                // Forbidden starts: strictly greater than r.start − visit, strictly less than r.end.
                let cut_lo = i64::from(r.start) - i64::from(visit_min); // exclusive
                let cut_hi = i64::from(r.end); // exclusive
                let (lo_i, hi_i) = (i64::from(lo), i64::from(hi));
                if cut_hi <= lo_i || cut_lo >= hi_i {
                    next.push((lo, hi));
                    continue;
                }
                if lo_i <= cut_lo {
                    next.push((lo, cut_lo as u32));
                }
                if hi_i >= cut_hi {
                    next.push((cut_hi as u32, hi));
                }
            }
            spans = next;
        }
        out.extend(spans);
    }
    out.sort_unstable();
    out
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// Full-width and Chinese punctuation to ASCII, lower case; a space between a CJK character
/// and a following digit (`周一至周五9:00`) so that day selectors split from times.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev_cjk = false;
    for c in text.chars() {
        let mapped = match c {
            '：' => ':',
            '－' | '—' | '–' | '−' | '~' | '～' | '〜' | '至' | '到' => '-',
            '，' | '、' => ',',
            '；' | '\n' | '\r' | '|' => ';',
            '\u{3000}' | '\t' => ' ',
            c if c.is_ascii_digit() && prev_cjk => {
                out.push(' ');
                c
            }
            c => c.to_ascii_lowercase(),
        };
        prev_cjk = !c.is_ascii() && mapped == c;
        out.push(mapped);
    }
    out
}

/// `H:MM` or `HH:MM`, 00:00 to 24:00.
fn parse_time(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

const ALL_DAY_WORDS: &[&str] = &[
    "24/7",
    "24小时",
    "24h",
    "24hrs",
    "24hours",
    "全天",
    "全天营业",
    "24小时营业",
    "全天24小时",
];

/// A time range piece: `Some(Some(iv))` a range, `Some(None)` not a range.
fn parse_range(piece: &str) -> Option<Interval> {
    if ALL_DAY_WORDS.contains(&piece) {
        return Some(Interval::ALL_DAY);
    }
    let (a, b) = piece.split_once('-')?;
    let (a, b) = (parse_time(a)?, parse_time(b)?);
    if a == b || (a == 0 && b == DAY_MIN) {
        return Some(Interval::ALL_DAY);
    }
    if a == DAY_MIN {
        return None;
    }
    if b > a {
        Interval::new(a, b)
    } else {
        // Overnight: to b the next morning.
        Interval::new(a, b + DAY_MIN)
    }
}

/// A weekday word → 0 (Monday) ..= 6, or a word for several days.
fn day_word(w: &str) -> Option<Vec<usize>> {
    const EN: [&str; 7] = ["mo", "tu", "we", "th", "fr", "sa", "su"];
    const ZH: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    if let Some(i) = EN.iter().position(|d| *d == w) {
        return Some(vec![i]);
    }
    match w {
        "工作日" => return Some((0..5).collect()),
        "周末" | "双休日" => return Some(vec![5, 6]),
        "每天" | "每日" | "daily" | "everyday" | "周一至周日" => {
            return Some((0..7).collect())
        }
        _ => {}
    }
    let rest = w
        .strip_prefix("星期")
        .or_else(|| w.strip_prefix("周"))
        .or_else(|| w.strip_prefix("礼拜"))?;
    let rest = if rest == "天" { "日" } else { rest };
    ZH.iter().position(|d| *d == rest).map(|i| vec![i])
}

/// `mo-fr`, `周一-周五` (wrapping: `fr-mo`), or one day word.
fn parse_days(piece: &str) -> Option<Vec<usize>> {
    if let Some((a, b)) = piece.split_once('-') {
        let (a, b) = (day_word(a)?, day_word(b)?);
        if a.len() != 1 || b.len() != 1 {
            return None;
        }
        let (a, b) = (a[0], b[0]);
        let len = (b + 7 - a) % 7 + 1;
        return Some((0..len).map(|k| (a + k) % 7).collect());
    }
    day_word(piece)
}

struct Rule {
    days: Option<Vec<usize>>,
    ranges: Vec<Interval>,
}

fn parse_rule(rule: &str) -> Option<Option<Rule>> {
    let rule = rule.trim();
    if rule.is_empty() {
        return Some(None);
    }
    if rule.starts_with("ph") || rule.starts_with("sh") {
        return Some(None);
    }
    // Whole-rule all-day words with a space inside, e.g. "24 小时".
    let squeezed: String = rule.chars().filter(|c| !c.is_whitespace()).collect();
    if ALL_DAY_WORDS.contains(&squeezed.as_str()) {
        return Some(Some(Rule {
            days: None,
            ranges: vec![Interval::ALL_DAY],
        }));
    }
    let mut days: Option<Vec<usize>> = None;
    let mut ranges = Vec::new();
    let mut off = false;
    for piece in rule.split([' ', ',']).filter(|p| !p.is_empty()) {
        if let Some(iv) = parse_range(piece) {
            ranges.push(iv);
        } else if let Some(d) = parse_days(piece) {
            if !ranges.is_empty() {
                return None; // days after times: not a form we know
            }
            days.get_or_insert_with(Vec::new).extend(d);
        } else if matches!(piece, "off" | "closed" | "休息" | "不营业" | "休") {
            off = true;
        } else {
            return None;
        }
    }
    if ranges.is_empty() && !off {
        return None;
    }
    if let Some(d) = days.as_mut() {
        d.sort_unstable();
        d.dedup();
    }
    Some(Some(Rule {
        days,
        ranges: if off { Vec::new() } else { ranges },
    }))
}

fn parse_week(text: &str) -> Option<[Vec<Interval>; 7]> {
    let norm = normalise(text);
    let mut week: [Vec<Interval>; 7] = std::array::from_fn(|_| Vec::new());
    let mut any = false;
    let mut prev_days: Option<Option<Vec<usize>>> = None;
    for part in norm.split(';') {
        let Some(rule) = parse_rule(part)? else {
            continue;
        };
        any = true;
        match &rule.days {
            None => {
                for day in week.iter_mut() {
                    day.extend(rule.ranges.iter().copied());
                }
            }
            Some(days) => {
                let same = prev_days.as_ref() == Some(&rule.days);
                for &d in days {
                    if !same {
                        week[d].clear();
                    }
                    week[d].extend(rule.ranges.iter().copied());
                }
            }
        }
        prev_days = Some(rule.days);
    }
    if !any {
        return None;
    }
    for day in week.iter_mut() {
        *day = merge(std::mem::take(day));
    }
    Some(week)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    // 2026-03-02 is a Monday.
    const MON: (i32, u32, u32) = (2026, 3, 2);

    fn on(text: &str, offset: u32) -> Vec<String> {
        let date = d(MON.0, MON.1, MON.2 + offset);
        OpeningHours::parse(text)
            .on(date)
            .iter()
            .map(|i| i.to_string())
            .collect()
    }

    #[test]
    fn simple_and_split_ranges() {
        assert_eq!(on("10:00-22:00", 0), ["10:00-22:00"]);
        assert_eq!(on("9:00-18:00", 0), ["09:00-18:00"]);
        for text in [
            "06:30-14:00,17:00-21:00",
            "06:30-14:00;17:00-21:00",
            "06:30-14:00、17:00-21:00",
            "06:30－14:00，17：00至21：00",
            "06:30-14:00 17:00-21:00",
        ] {
            assert_eq!(on(text, 2), ["06:30-14:00", "17:00-21:00"], "{text}");
            assert!(OpeningHours::parse(text).is_known());
        }
    }

    #[test]
    fn overnight_spills_into_the_next_morning() {
        // Monday 17:00 to Tuesday 02:00: Monday shows the evening plus Sunday's spill.
        assert_eq!(on("17:00-02:00", 0), ["00:00-02:00", "17:00-24:00"]);
        assert_eq!(on("12:00-01:00", 3), ["00:00-01:00", "12:00-24:00"]);
        // Spill only from days that are open.
        assert_eq!(on("Mo-Fr 19:00-03:00", 5), ["00:00-03:00"]);
        assert!(on("Mo-Fr 19:00-03:00", 6).is_empty());
    }

    #[test]
    fn all_day_forms() {
        for text in [
            "24/7",
            "24小时",
            "24h",
            "24H",
            "00:00-24:00",
            "全天",
            "24 小时",
            "0:00-0:00",
        ] {
            let h = OpeningHours::parse(text);
            assert!(h.is_known(), "{text}");
            assert_eq!(h.on(d(2026, 3, 4)), vec![Interval::ALL_DAY], "{text}");
        }
    }

    #[test]
    fn day_selectors() {
        let text = "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00";
        assert_eq!(on(text, 0), ["15:00-21:00"]);
        assert_eq!(on(text, 4), ["15:00-21:00"]);
        assert_eq!(on(text, 5), ["09:00-18:00"]);
        assert_eq!(on(text, 6), ["09:00-18:00"]);
        // Days no rule names are closed.
        assert!(on("Mo-Fr 07:30-17:30", 5).is_empty());
        assert_eq!(on("Mo-Fr 07:30-17:30", 1), ["07:30-17:30"]);
        // Later rules override, "off" closes.
        assert!(on("10:00-22:00; Mo off", 0).is_empty());
        assert_eq!(on("10:00-22:00; Mo off", 1), ["10:00-22:00"]);
        assert_eq!(on("10:00-22:00; Su 12:00-18:00", 6), ["12:00-18:00"]);
        // Lists and wrapping ranges.
        assert_eq!(on("Mo,We,Fr 10:00-18:00", 2), ["10:00-18:00"]);
        assert!(on("Mo,We,Fr 10:00-18:00", 1).is_empty());
        assert_eq!(on("Fr-Mo 10:00-18:00", 6), ["10:00-18:00"]);
        assert!(on("Fr-Mo 10:00-18:00", 2).is_empty());
        // Same days twice add up; holidays are skipped.
        assert_eq!(
            on("Mo-Fr 09:00-12:00; Mo-Fr 14:00-18:00; PH off", 3),
            ["09:00-12:00", "14:00-18:00"]
        );
    }

    #[test]
    fn chinese_day_selectors() {
        let text = "周一至周五 09:00-18:00；周六 10:00-16:00";
        assert_eq!(on(text, 1), ["09:00-18:00"]);
        assert_eq!(on(text, 5), ["10:00-16:00"]);
        assert!(on(text, 6).is_empty());
        assert_eq!(on("周一至周五9:00-18:00", 0), ["09:00-18:00"]);
        assert_eq!(on("工作日 08:00-17:00; 周末 休息", 2), ["08:00-17:00"]);
        assert!(on("工作日 08:00-17:00; 周末 休息", 6).is_empty());
        assert_eq!(on("星期日 10:00-12:00", 6), ["10:00-12:00"]);
        assert_eq!(on("每天 10:00-12:00", 3), ["10:00-12:00"]);
    }

    #[test]
    fn unknown_text_is_open_all_day_but_flagged() {
        for text in ["营业中", "by appointment", "10-22", "25:00-26:00", "10:00+"] {
            let h = OpeningHours::parse(text);
            assert_eq!(h.source, HoursSource::Unrecognised, "{text}");
            assert_eq!(h.on(d(2026, 3, 4)), vec![Interval::ALL_DAY]);
        }
        let h = OpeningHours::from_text(None);
        assert_eq!(h.source, HoursSource::Missing);
        assert_eq!(
            OpeningHours::from_text(Some("  ")).source,
            HoursSource::Missing
        );
        assert_eq!(h.on(d(2026, 3, 4)), vec![Interval::ALL_DAY]);
    }

    #[test]
    fn every_generator_format_parses() {
        for text in [
            "09:00-21:00",
            "06:30-14:00,17:00-21:00",
            "17:00-02:00",
            "24/7",
            "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00",
            "Mo-Fr 07:30-17:30",
        ] {
            assert!(OpeningHours::parse(text).is_known(), "{text}");
        }
    }

    #[test]
    fn start_windows_respect_hours_window_and_rush() {
        let open = [Interval::new(600, 1320).unwrap()]; // 10:00-22:00
        let within = Interval::new(480, 1200).unwrap(); // 08:00-20:00
        let rush = [
            Interval::parse_day("11:30-13:30").unwrap(),
            Interval::parse_day("17:30-19:30").unwrap(),
        ];
        // 20-minute visits: 10:00..=11:10, 13:30..=17:10, 19:30..=19:40.
        assert_eq!(
            start_windows(&open, 20, within, &rush),
            vec![(600, 670), (810, 1030), (1170, 1180)]
        );
        assert_eq!(start_windows(&open, 20, within, &[]), vec![(600, 1180)]);
        // A visit longer than the gap between rushes never fits there.
        let short = [Interval::new(700, 1100).unwrap()];
        assert!(start_windows(&short, 300, within, &rush).is_empty());
        // Closed all day.
        assert!(start_windows(&[], 20, within, &rush).is_empty());
    }

    #[test]
    fn rush_applies_to_its_categories() {
        let rush = Rush {
            categories: vec!["dining".into()],
            windows: vec![Interval::parse_day("11:30-13:30").unwrap()],
        };
        assert_eq!(rush.windows_for("dining").len(), 1);
        assert!(rush.windows_for("beauty").is_empty());
        assert!(Interval::parse_day("13:30-11:30").is_none());
        assert_eq!(hhmm(1440), "24:00");
        assert_eq!(hhmm(1500), "01:00");
    }
}

//! Tests of the cross-marketing suggestions: the table, a brute-force search over every pair of
//! merchants on random layouts, the distance limit, the ranking and the per-merchant cap.

use crate::domain::Merchant;
use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::domain::{AreaKind, Dataset, MerchantDraft, PipelineStatus};
use crate::gen::{generate, GenConfig};

const LON: f64 = 103.76;
const LAT: f64 = 29.50;
const DETOUR: f64 = 1.3;

fn table() -> CrossTable {
    CrossTable::builtin().unwrap()
}

fn merchant(
    id: &str,
    name: &str,
    category: &str,
    east: f64,
    north: f64,
    status: PipelineStatus,
) -> Merchant {
    let r = crate::index::EARTH_RADIUS_M;
    Merchant::try_from(MerchantDraft {
        id: id.into(),
        name: name.into(),
        category: category.into(),
        lon: LON + (east / (r * LAT.to_radians().cos())).to_degrees(),
        lat: LAT + (north / r).to_degrees(),
        status,
        ..Default::default()
    })
    .unwrap()
}

fn index_of(merchants: Vec<Merchant>) -> SpatialIndex {
    SpatialIndex::build(Dataset {
        merchants,
        ..Default::default()
    })
}

fn all(index: &SpatialIndex) -> Vec<u32> {
    (0..index.merchants.len() as u32).collect()
}

fn ids(s: &Suggestion) -> (&str, &str) {
    (s.a_id.as_str(), s.b_id.as_str())
}

#[test]
fn the_table_parses_and_names_only_catalogue_categories() {
    let t = table();
    let cats = Categories::builtin().unwrap();
    assert!(t.pairs.len() >= 10, "{} pairs", t.pairs.len());
    for p in &t.pairs {
        assert!(
            cats.get(&p.a).is_some() && cats.get(&p.b).is_some(),
            "{}",
            p.code
        );
        assert!(p.strength > 0.0 && p.strength <= 1.0);
    }
    let codes: Vec<(&str, &str)> = t
        .pairs
        .iter()
        .map(|p| (p.a.as_str(), p.b.as_str()))
        .collect();
    for want in [
        ("dining", "leisure"),
        ("dining", "tea_coffee"),
        ("supermarket", "fresh_food"),
        ("education", "retail"),
        ("hotel", "dining"),
        ("sports", "health"),
        ("leisure", "tea_coffee"),
    ] {
        assert!(codes.contains(&want), "{want:?} missing");
    }
    let cinema = t.pairs.iter().find(|p| p.code == "dining_cinema").unwrap();
    assert!(cinema.b_keywords.iter().any(|k| k == "影城"));
    assert_eq!(t.max_walking_m, 300.0);
    assert_eq!(t.per_merchant, 3);
}

#[test]
fn malformed_tables_are_rejected() {
    let good = BUILTIN;
    assert!(CrossTable::from_toml(good).is_ok());
    let bad = [
        good.replace("max_walking_m = 300.0", "max_walking_m = -1.0"),
        good.replace("per_merchant = 3", "per_merchant = 0"),
        good.replace("strength = 0.9", "strength = 1.5"),
        good.replace("code = \"dining_tea\"", "code = \"dining_cinema\""),
        good.replace("code = \"dining_tea\"", "code = \"Dining Tea\""),
        good.replace("b = \"fresh_food\"", "b = \"supermarket\""),
        good.replace("{b}当日影票", "{c}当日影票"),
        good.replace("strength = 0.9", "strength = 0.9\ncolour = \"red\""),
        "max_walking_m = 300.0\ndistance_decay_m = 300.0\nper_merchant = 3\npair = []".into(),
    ];
    for (i, text) in bad.iter().enumerate() {
        assert!(
            CrossTable::from_toml(text).is_err(),
            "bad table {i} accepted"
        );
    }
    // Parses, but names a category the catalogue does not have.
    let unknown =
        CrossTable::from_toml(&good.replace("a = \"auto\"", "a = \"spaceport\"")).unwrap();
    assert!(unknown
        .check_categories(&Categories::builtin().unwrap())
        .is_err());
}

#[test]
fn keywords_narrow_a_side() {
    let t = table();
    let cinema = t.pairs.iter().find(|p| p.code == "dining_cinema").unwrap();
    let p = PipelineStatus::Prospect;
    assert!(cinema.matches_b(one(merchant("1", "万达影城(嘉州店)", "leisure", 0.0, 0.0, p)).get(0)));
    assert!(!cinema.matches_b(one(merchant("2", "星聚会KTV", "leisure", 0.0, 0.0, p)).get(0)));
    assert!(!cinema.matches_b(one(merchant("3", "电影主题餐厅", "dining", 0.0, 0.0, p)).get(0)));
    assert!(cinema.matches_a(one(merchant("4", "王妈甜皮鸭", "dining", 0.0, 0.0, p)).get(0)));
    let night = t
        .pairs
        .iter()
        .find(|p| p.code == "dining_nightlife")
        .unwrap();
    assert!(night.matches_b(one(merchant("5", "星聚会ktv", "leisure", 0.0, 0.0, p)).get(0)));
}

/// Random merchants in a square, with names that sometimes carry a keyword.
fn random_layout(rng: &mut ChaCha8Rng, n: usize, side: f64) -> SpatialIndex {
    let kinds: [(&str, &[&str]); 9] = [
        ("dining", &["跷脚牛肉", "钵钵鸡", "火锅"]),
        ("tea_coffee", &["奶茶", "咖啡"]),
        ("leisure", &["万达影城", "KTV", "棋牌室", "剧本杀"]),
        ("supermarket", &["便利店", "超市"]),
        ("fresh_food", &["水果店"]),
        ("education", &["英语培训", "琴行"]),
        ("retail", &["乐高玩具", "服装店", "文具店", "特产店"]),
        ("hotel", &["宾馆"]),
        ("auto", &["洗车行"]),
    ];
    let merchants = (0..n)
        .map(|i| {
            let (cat, words) = kinds[rng.random_range(0..kinds.len())];
            let word = words[rng.random_range(0..words.len())];
            let status = match rng.random_range(0..6) {
                0 => PipelineStatus::Signed,
                1 => PipelineStatus::Active,
                _ => PipelineStatus::Prospect,
            };
            let mut m = merchant(
                &format!("M{i:03}"),
                &format!("店{i}{word}"),
                cat,
                rng.random_range(0.0..side),
                rng.random_range(0.0..side),
                status,
            );
            m.rating = rng.random_bool(0.7).then(|| rng.random_range(3.0..5.0));
            m.footfall_daily = rng.random_bool(0.5).then(|| rng.random_range(0..800));
            m
        })
        .collect();
    index_of(merchants)
}

#[test]
fn pairs_found_equal_a_brute_force_search_over_all_pairs() {
    let t = table();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut total = 0;
    for round in 0..40 {
        let n = rng.random_range(2..=70);
        let side = rng.random_range(150.0..900.0);
        let index = random_layout(&mut rng, n, side);
        let items = index.merchants.table();
        // A random subset of the merchants is the caller's.
        let allowed: Vec<u32> = (0..n as u32).filter(|_| rng.random_bool(0.8)).collect();
        let walk = [300.0, 150.0, 500.0][round % 3];
        let got = suggest(&index, &allowed, &t, walk, DETOUR, usize::MAX);
        // Without the cap: every pair within reach appears once.
        let q = |s: u32| quality(items.get(s), None);
        let opts = CrossOptions {
            max_walking_m: walk,
            per_merchant: usize::MAX,
            ..CrossOptions::new(&t, DETOUR, usize::MAX, &q)
        };
        let uncapped = suggest_with(&index, &allowed, &t, &opts);
        // Brute force: every ordered pair of allowed merchants and every table pair.
        let reach = walk / DETOUR;
        let mut expect: BTreeMap<(u32, u32), Vec<(usize, f64)>> = BTreeMap::new();
        for &x in &allowed {
            for &y in &allowed {
                let (mx, my) = (items.get(x), items.get(y));
                let d = mx.location().distance_m(&my.location());
                if x == y || d > reach {
                    continue;
                }
                for (p, rule) in t.pairs.iter().enumerate() {
                    if rule.matches_a(mx) && rule.matches_b(my) {
                        let s = score(rule.strength, q(x), q(y), d * DETOUR, t.distance_decay_m);
                        expect.entry((x.min(y), x.max(y))).or_default().push((p, s));
                    }
                }
            }
        }
        let mut seen: BTreeMap<(u32, u32), &Suggestion> = BTreeMap::new();
        for s in &uncapped {
            let key = (s.a_slot.min(s.b_slot), s.a_slot.max(s.b_slot));
            assert!(
                seen.insert(key, s).is_none(),
                "round {round}: {key:?} twice"
            );
        }
        assert_eq!(
            seen.keys().collect::<Vec<_>>(),
            expect.keys().collect::<Vec<_>>(),
            "round {round}"
        );
        for (key, s) in &seen {
            // The best pair of those matching (ties: table order).
            let (best_p, best_s) = expect[key]
                .iter()
                .copied()
                .reduce(|a, b| if b.1 > a.1 { b } else { a })
                .unwrap();
            assert_eq!(s.pair_code, t.pairs[best_p].code, "round {round}");
            assert!((s.score - best_s).abs() < 1e-12);
            let rule = &t.pairs[best_p];
            assert!(rule.matches_a(items.get(s.a_slot)));
            assert!(rule.matches_b(items.get(s.b_slot)));
            assert!(s.walking_m <= walk * (1.0 + 1e-12), "round {round}");
            assert!((s.walking_m - s.distance_m * DETOUR).abs() < 1e-9);
            let signed = |slot: u32| is_signed(items.get(slot));
            assert_eq!(s.launchable, signed(s.a_slot) || signed(s.b_slot));
            assert_eq!(s.both_signed, signed(s.a_slot) && signed(s.b_slot));
        }
        // The capped list is the uncapped one filtered greedily, in the same order.
        let mut used: BTreeMap<u32, usize> = BTreeMap::new();
        let filtered: Vec<(&str, &str)> = uncapped
            .iter()
            .filter(|s| {
                let (a, b) = (
                    used.get(&s.a_slot).copied().unwrap_or(0),
                    used.get(&s.b_slot).copied().unwrap_or(0),
                );
                if a >= 3 || b >= 3 {
                    return false;
                }
                used.insert(s.a_slot, a + 1);
                used.insert(s.b_slot, b + 1);
                true
            })
            .map(ids)
            .collect();
        assert_eq!(
            got.iter().map(ids).collect::<Vec<_>>(),
            filtered,
            "round {round}"
        );
        total += uncapped.len();
    }
    assert!(total > 200, "the layouts make pairs: {total}");
}

#[test]
fn the_distance_limit_is_honoured() {
    use PipelineStatus::*;
    // 300 m walking is 230.77 m straight at 1.3.
    let index = index_of(vec![
        merchant("D", "餐厅", "dining", 0.0, 0.0, Signed),
        merchant("T1", "奶茶", "tea_coffee", 0.0, 230.0, Prospect),
        merchant("T2", "咖啡", "tea_coffee", 0.0, -232.0, Prospect),
    ]);
    let t = table();
    let got = suggest(&index, &all(&index), &t, 300.0, DETOUR, 10);
    assert_eq!(got.iter().map(ids).collect::<Vec<_>>(), vec![("D", "T1")]);
    assert!((got[0].distance_m - 230.0).abs() < 0.01);
    assert!((got[0].walking_m - 299.0).abs() < 0.02);
    let wider = suggest(&index, &all(&index), &t, 310.0, DETOUR, 10);
    assert_eq!(wider.len(), 2);
    assert!(suggest(&index, &all(&index), &t, 100.0, DETOUR, 10).is_empty());
    // Only the caller's merchants pair up.
    let d = index.merchants.slot_of("D").unwrap();
    let t2 = index.merchants.slot_of("T2").unwrap();
    let got = suggest(&index, &[d, t2, t2, 99], &t, 310.0, DETOUR, 10);
    assert_eq!(got.iter().map(ids).collect::<Vec<_>>(), vec![("D", "T2")]);
}

#[test]
fn launchable_pairs_rank_first_then_by_score() {
    use PipelineStatus::*;
    let index = index_of(vec![
        // Two prospects, door to door, the strongest pair.
        merchant("D1", "甜皮鸭", "dining", 0.0, 0.0, Prospect),
        merchant("C1", "万达影城", "leisure", 0.0, 5.0, Prospect),
        // One signed, farther apart, a weaker pair.
        merchant("A2", "洗车行", "auto", 1000.0, 0.0, Signed),
        merchant("T2", "奶茶", "tea_coffee", 1000.0, 200.0, Prospect),
        // Both signed, middle distance.
        merchant("S3", "便利店", "supermarket", 2000.0, 0.0, Active),
        merchant("F3", "水果店", "fresh_food", 2000.0, 100.0, Signed),
        // One signed, near: outranks A2/T2 by score.
        merchant("E4", "英语培训", "education", 3000.0, 0.0, Signed),
        merchant("R4", "乐高玩具", "retail", 3000.0, 20.0, Prospect),
    ]);
    let t = table();
    let got = suggest(&index, &all(&index), &t, 300.0, DETOUR, 10);
    assert_eq!(
        got.iter().map(ids).collect::<Vec<_>>(),
        vec![("E4", "R4"), ("S3", "F3"), ("A2", "T2"), ("D1", "C1")]
    );
    assert_eq!(
        got.iter().map(|s| s.pair_code.as_str()).collect::<Vec<_>>(),
        vec![
            "education_toys",
            "supermarket_fresh",
            "auto_tea",
            "dining_cinema"
        ]
    );
    assert!(
        got[3].score > got[0].score,
        "the prospects' pair scores best yet ranks last"
    );
    assert!(got[1].both_signed && !got[0].both_signed);
    assert!(got[..3].iter().all(|s| s.launchable) && !got[3].launchable);
    assert_eq!(
        got.iter().map(|s| s.rank).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        got[3].offer_zh,
        "凭万达影城当日影票在甜皮鸭消费满100减20；在甜皮鸭消费满100送万达影城观影立减券10元"
    );
    // The limit keeps the top of the same order.
    let top2 = suggest(&index, &all(&index), &t, 300.0, DETOUR, 2);
    assert_eq!(top2, got[..2].to_vec());
    // A different quality changes the score, not the tiers.
    let flat = |_: u32| 1.0;
    let opts = CrossOptions::new(&t, DETOUR, 10, &flat);
    let flat_got = suggest_with(&index, &all(&index), &t, &opts);
    assert!((flat_got[3].score - (-5.0 * DETOUR / 300.0f64).exp()).abs() < 1e-3);
}

#[test]
fn closer_and_better_merchants_score_higher() {
    let p = PipelineStatus::Prospect;
    let plain = merchant("1", "x", "dining", 0.0, 0.0, p);
    let mut busy = plain.clone();
    busy.footfall_daily = Some(1000);
    busy.rating = Some(5.0);
    assert!((quality(one(busy.clone()).get(0), None) - 1.0).abs() < 1e-12);
    assert!((quality(one(plain.clone()).get(0), None) - (0.5 + 0.125 + 0.1)).abs() < 1e-12);
    assert!(
        quality(one(plain.clone()).get(0), Some(1000.0)) > quality(one(plain.clone()).get(0), None)
    );
    assert!(score(1.0, 1.0, 1.0, 50.0, 300.0) > score(1.0, 1.0, 1.0, 100.0, 300.0));
    assert!(score(0.5, 1.0, 1.0, 50.0, 300.0) < score(1.0, 1.0, 1.0, 50.0, 300.0));
    assert_eq!(score(1.0, f64::NAN, 1.0, 0.0, 300.0), 0.0);
}

#[test]
fn each_merchant_appears_in_at_most_the_cap() {
    use PipelineStatus::*;
    // One signed restaurant among six tea shops (10..60 m east) and a cinema (20 m south).
    let mut ms = vec![merchant("D", "火锅", "dining", 0.0, 0.0, Signed)];
    for i in 0..6 {
        ms.push(merchant(
            &format!("T{i}"),
            "奶茶",
            "tea_coffee",
            10.0 * (i + 1) as f64,
            0.0,
            Prospect,
        ));
    }
    ms.push(merchant("C", "万达影城", "leisure", 0.0, -20.0, Prospect));
    let index = index_of(ms);
    let t = table();
    let got = suggest(&index, &all(&index), &t, 300.0, DETOUR, 100);
    let with_d = got
        .iter()
        .filter(|s| s.a_id == "D" || s.b_id == "D")
        .count();
    assert_eq!(with_d, 3);
    // The cinema (strength 1) and the two nearest tea shops win D's three places.
    let d_partners: Vec<&str> = got
        .iter()
        .filter(|s| s.a_id == "D")
        .map(|s| s.b_id.as_str())
        .collect();
    assert_eq!(d_partners, vec!["C", "T0", "T1"]);
    // The cinema then pairs with the tea shops (leisure_tea), up to its own cap of 3 (D is one).
    let with_c = got
        .iter()
        .filter(|s| s.a_id == "C" || s.b_id == "C")
        .count();
    assert_eq!(with_c, 3);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &got {
        *counts.entry(s.a_id.as_str()).or_default() += 1;
        *counts.entry(s.b_id.as_str()).or_default() += 1;
    }
    assert!(counts.values().all(|&c| c <= 3), "{counts:?}");
    let q = |_: u32| 0.8;
    let opts = CrossOptions {
        per_merchant: 10,
        ..CrossOptions::new(&t, DETOUR, 100, &q)
    };
    let uncapped = suggest_with(&index, &all(&index), &t, &opts);
    assert_eq!(uncapped.iter().filter(|s| s.a_id == "D").count(), 7);
}

#[test]
fn leshan_food_street_suggestions() {
    let index = SpatialIndex::build(generate(&GenConfig::default()));
    let street = index
        .areas
        .iter()
        .find(|a| a.kind == AreaKind::FoodStreet)
        .unwrap();
    // The street's merchants and those within 300 m of its middle, signed or in the pipeline.
    let mid = street.polygon.representative_point();
    let mut slots: Vec<u32> = index.merchants.in_polygon(&street.polygon);
    slots.extend(
        index
            .merchants
            .within_radius(mid, 300.0)
            .into_iter()
            .map(|h| h.slot),
    );
    slots.retain(|&s| {
        let m = index.merchants.item(s);
        is_signed(m) || crate::coverage::is_prospect(m)
    });
    let t = table();
    let got = suggest(&index, &slots, &t, t.max_walking_m, DETOUR, 20);
    eprintln!(
        "Leshan food street: {} merchants, {} suggestions",
        slots.len(),
        got.len()
    );
    for s in got.iter().take(8) {
        eprintln!(
            "  {} {} {}–{} {:.0} m walk, score {:.3}, launchable {}",
            s.rank, s.pair_code, s.a_name, s.b_name, s.walking_m, s.score, s.launchable
        );
    }
    assert_eq!(got.len(), 20);
    let launchable_then_not = got.windows(2).all(|w| w[0].launchable >= w[1].launchable);
    assert!(launchable_then_not);
    assert!(got[0].launchable);
    for w in got.windows(2) {
        if w[0].launchable == w[1].launchable {
            assert!(w[0].score >= w[1].score);
        }
    }
    assert!(got.iter().all(|s| s.walking_m <= 300.0 + 1e-9));
    let codes: HashSet<&str> = got.iter().map(|s| s.pair_code.as_str()).collect();
    assert!(codes.len() >= 2, "{codes:?}");
    // Deterministic.
    assert_eq!(
        got,
        suggest(&index, &slots, &t, t.max_walking_m, DETOUR, 20)
    );
}

/// A table of one merchant, to read it as the index does.
fn one(m: Merchant) -> crate::index::MerchantTable {
    crate::index::MerchantTable::from_merchants(vec![m])
}

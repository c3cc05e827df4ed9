//! Synthetic city generator (`ecomap gen`): deterministic data for the demo, tests and benches.
//!
//! The default is the centre of Leshan (乐山) around the food street 张公桥好吃街: our bank's org
//! tree and outlets, competitors' outlets, merchants (dense along the food street, clustered round
//! a few centres, sparse towards the edge), residential communities as small polygons, and the
//! food street and business districts as areas. Place names are real Leshan names used for
//! flavour; every position, merchant and figure is invented.
//!
//! Larger configurations grow the same city: the radius grows with √(merchants) so that density
//! stays about the same, with one more food street and business district per 50,000 merchants.
//! Everything is drawn from one seeded ChaCha stream in a fixed order, so a seed is a dataset.

use std::collections::HashMap;
use std::f64::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{
    check_tree, Area, AreaDraft, AreaKind, Categories, CategoryError, Community, CommunityDraft,
    Dataset, FieldError, Merchant, MerchantDraft, OrgLevel, OrgUnit, OrgUnitDraft, Outlet,
    OutletDraft, OutletKind, PipelineStatus,
};

/// What to generate. `Default` is the Leshan demo.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub seed: u64,
    pub merchants: usize,
    pub outlets_ours: usize,
    pub outlets_competitors: usize,
    pub communities: usize,
    /// Centre of the city, WGS-84 `[lon, lat]`; the first food street runs through it.
    pub center: [f64; 2],
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            merchants: 1_600,
            outlets_ours: 6,
            outlets_competitors: 4,
            communities: 64,
            center: [103.7610, 29.5690],
        }
    }
}

/// Why a dataset could not be generated. Any of these is a bug in the generator (or in the
/// built-in catalogue), never a property of the configuration.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("the built-in category catalogue cannot be read: {0}")]
    Categories(#[from] CategoryError),
    #[error("the generator uses category {0:?}, which the built-in catalogue does not have")]
    UnknownCategory(&'static str),
    #[error("{rejected} generated values failed validation; the first is {kind} {id}: {source}")]
    Invalid {
        rejected: usize,
        kind: &'static str,
        id: String,
        #[source]
        source: FieldError,
    },
}

/// Generates a whole city, deterministically from `cfg.seed`, and fails if any generated value
/// does not pass the domain validation.
pub fn try_generate(cfg: &GenConfig) -> Result<Dataset, GenError> {
    let (ds, sink) = build(cfg)?;
    match sink.first {
        None => Ok(ds),
        Some((kind, id, source)) => Err(GenError::Invalid {
            rejected: sink.rejected,
            kind,
            id,
            source,
        }),
    }
}

/// Generates a whole city, deterministically from `cfg.seed`.
///
/// Values that fail validation (a generator bug, covered by the tests) are left out and logged
/// with their count; use [`try_generate`] to get them as an error instead.
pub fn generate(cfg: &GenConfig) -> Dataset {
    match build(cfg) {
        Ok((ds, sink)) => {
            if let Some((kind, id, source)) = &sink.first {
                tracing::error!(
                    rejected = sink.rejected,
                    "generated values failed validation and were left out; first: {kind} {id}: {source}"
                );
            }
            ds
        }
        Err(e) => {
            tracing::error!("cannot generate a dataset: {e}");
            Dataset::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Word lists and category profiles.

/// Leshan districts, townships and streets, used in names so that the demo reads like Leshan.
// The word lists skip rustfmt, which would put one word per line: they are data, not code.
#[rustfmt::skip]
const PLACES: &[&str] = &[
    "张公桥", "嘉州", "上中顺", "柏杨", "肖坝", "通江", "苏稽", "牛华", "五通", "沙湾", "峨眉",
    "大佛", "凌云", "乌尤", "海棠", "嘉定", "白塔", "致江", "青衣", "岷江", "大渡河", "篦子街",
    "县街", "玉堂", "府街", "铁牛", "水口", "安谷", "棉竹", "关庙", "车子", "青平", "杨湾", "茅桥",
    "罗汉", "迎春", "平羌", "悦来", "冠英", "九峰",
];

/// Owner-style shop name prefixes (王妈甜皮鸭, 周记钵钵鸡).
#[rustfmt::skip]
const OWNERS: &[&str] = &[
    "王妈", "李姐", "张记", "刘三", "老码头", "周记", "陈氏", "赵哥", "胖妹", "幺妹", "老乐山",
    "蔡家", "何师", "杨记", "黄姐", "罗记", "吴婆婆", "曾记", "唐三", "邓胖子", "老妈", "小郭",
    "阿强", "谢家", "钟记", "彭幺姐",
];

#[rustfmt::skip]
const ROADS: &[&str] = &[
    "嘉定北路", "嘉定中路", "嘉定南路", "人民南路", "人民西路", "柏杨中路", "柏杨西路", "长青路",
    "海棠路", "县街", "玉堂街", "府街", "土桥街", "白塔街", "东大街", "致江路", "龙游路", "新村路",
    "滨河路", "凤凰路", "青江路", "嘉州大道", "肖公嘴", "铁牛街",
];

#[rustfmt::skip]
const COMMUNITY_WORDS: &[&str] = &[
    "翡翠", "锦绣", "阳光", "书香", "滨江", "凤凰", "龙湾", "金域", "紫薇", "丽景", "御景", "半岛",
    "江山", "盛世", "君临", "蓝湾", "学府", "桂花", "和平", "幸福", "望江", "天骄", "鑫苑", "东方",
];

#[rustfmt::skip]
const COMMUNITY_SUFFIXES: &[&str] = &[
    "花园", "小区", "苑", "家园", "华庭", "新城", "公馆", "雅居", "名都", "佳苑",
];

/// Competitor banks: the short name stored on outlets and merchants, and the outlet name prefix.
const BANKS: &[(&str, &str)] = &[
    ("工商银行", "中国工商银行乐山"),
    ("建设银行", "中国建设银行乐山"),
    ("农业银行", "中国农业银行乐山"),
    ("乐山商业银行", "乐山市商业银行"),
    ("中国银行", "中国银行乐山"),
    ("邮储银行", "中国邮政储蓄银行乐山"),
];

/// One kind of shop within a category: the word ending its name, the average spend per person
/// and the usual opening hours.
struct Kind {
    word: &'static str,
    spend_cny: (f64, f64),
    hours: &'static str,
}

const fn k(word: &'static str, lo: f64, hi: f64, hours: &'static str) -> Kind {
    Kind {
        word,
        spend_cny: (lo, hi),
        hours,
    }
}

/// How a category appears in the city: its share off and on a food street, typical daily
/// footfall, the kinds of shop and the chains.
struct Profile {
    code: &'static str,
    weight: f64,
    street_weight: f64,
    footfall: f64,
    kinds: &'static [Kind],
    chains: &'static [&'static str],
}

/// The category mix. Dining leads as in any Chinese city centre; the street weights make a food
/// street mostly snacks and drinks.
const PROFILES: &[Profile] = &[
    Profile {
        code: "dining",
        weight: 28.0,
        street_weight: 66.0,
        footfall: 260.0,
        kinds: &[
            k("跷脚牛肉", 30.0, 60.0, "09:00-21:00"),
            k("甜皮鸭", 20.0, 40.0, "09:00-20:30"),
            k("钵钵鸡", 25.0, 50.0, "11:00-23:00"),
            k("豆腐脑", 10.0, 18.0, "07:00-14:00"),
            k("烧烤", 40.0, 80.0, "17:00-02:00"),
            k("冷锅串串", 40.0, 70.0, "11:00-23:30"),
            k("火锅", 60.0, 120.0, "11:00-23:00"),
            k("面馆", 12.0, 25.0, "06:30-14:00,17:00-21:00"),
            k("抄手", 12.0, 22.0, "07:00-21:00"),
            k("米粉", 10.0, 20.0, "06:30-14:00"),
            k("烤鱼", 50.0, 90.0, "11:00-22:00"),
            k("叶儿粑", 8.0, 15.0, "08:00-20:00"),
            k("西坝豆腐", 50.0, 90.0, "11:00-14:00,17:00-21:30"),
            k("家常菜", 35.0, 70.0, "10:30-14:00,17:00-21:30"),
            k("蹄花汤", 20.0, 35.0, "08:00-21:00"),
            k("麻辣烫", 18.0, 30.0, "10:00-22:00"),
        ],
        chains: &["华莱士", "肯德基", "德克士", "塔斯汀", "杨国福麻辣烫"],
    },
    Profile {
        code: "tea_coffee",
        weight: 6.0,
        street_weight: 20.0,
        footfall: 220.0,
        kinds: &[
            k("奶茶", 10.0, 20.0, "09:30-22:30"),
            k("鲜果茶", 12.0, 25.0, "10:00-22:30"),
            k("咖啡", 18.0, 35.0, "08:00-21:00"),
            k("茶馆", 15.0, 40.0, "08:00-22:00"),
            k("冰粉", 6.0, 12.0, "10:00-23:00"),
        ],
        chains: &[
            "蜜雪冰城",
            "古茗",
            "书亦烧仙草",
            "瑞幸咖啡",
            "茶百道",
            "霸王茶姬",
        ],
    },
    Profile {
        code: "supermarket",
        weight: 7.0,
        street_weight: 4.0,
        footfall: 450.0,
        kinds: &[
            k("便利店", 15.0, 35.0, "24/7"),
            k("超市", 40.0, 90.0, "08:00-22:00"),
            k("生活超市", 30.0, 70.0, "08:00-22:00"),
            k("副食店", 15.0, 40.0, "07:30-22:00"),
        ],
        chains: &["红旗连锁", "舞东风", "永辉超市", "美宜佳"],
    },
    Profile {
        code: "fresh_food",
        weight: 5.0,
        street_weight: 3.0,
        footfall: 300.0,
        kinds: &[
            k("水果店", 25.0, 50.0, "08:00-22:00"),
            k("生鲜超市", 35.0, 70.0, "07:00-21:00"),
            k("蔬菜店", 15.0, 35.0, "06:30-20:00"),
            k("鲜肉铺", 30.0, 70.0, "06:30-19:00"),
            k("水产店", 40.0, 90.0, "07:00-19:00"),
        ],
        chains: &["百果园", "钱大妈", "互惠生鲜"],
    },
    Profile {
        code: "beauty",
        weight: 8.0,
        street_weight: 0.0,
        footfall: 40.0,
        kinds: &[
            k("理发店", 25.0, 60.0, "09:30-21:30"),
            k("美发沙龙", 60.0, 200.0, "10:00-22:00"),
            k("美甲店", 60.0, 150.0, "10:00-21:30"),
            k("美容院", 150.0, 400.0, "10:00-21:00"),
            k("皮肤管理", 150.0, 350.0, "10:00-21:00"),
        ],
        chains: &["永琪美容美发", "丝域养发"],
    },
    Profile {
        code: "education",
        weight: 4.0,
        street_weight: 0.0,
        footfall: 60.0,
        kinds: &[
            k(
                "英语培训",
                100.0,
                250.0,
                "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00",
            ),
            k(
                "舞蹈学校",
                80.0,
                200.0,
                "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00",
            ),
            k(
                "美术培训",
                80.0,
                180.0,
                "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00",
            ),
            k("琴行", 100.0, 300.0, "09:00-21:00"),
            k("幼儿园", 500.0, 1500.0, "Mo-Fr 07:30-17:30"),
            k("驾校报名点", 300.0, 600.0, "08:30-18:00"),
            k(
                "编程教育",
                150.0,
                300.0,
                "Mo-Fr 15:00-21:00; Sa-Su 09:00-18:00",
            ),
        ],
        chains: &["新东方", "学而思"],
    },
    Profile {
        code: "health",
        weight: 4.0,
        street_weight: 0.0,
        footfall: 150.0,
        kinds: &[
            k("大药房", 40.0, 120.0, "08:00-22:00"),
            k("诊所", 50.0, 150.0, "08:00-20:00"),
            k("口腔诊所", 150.0, 600.0, "09:00-18:00"),
            k("中医馆", 80.0, 250.0, "08:30-18:00"),
        ],
        chains: &["一心堂", "太极大药房", "老百姓大药房", "海王星辰"],
    },
    Profile {
        code: "leisure",
        weight: 4.0,
        street_weight: 4.0,
        footfall: 120.0,
        kinds: &[
            k("KTV", 60.0, 150.0, "14:00-02:00"),
            k("茶楼", 20.0, 50.0, "09:00-23:00"),
            k("棋牌室", 20.0, 50.0, "10:00-02:00"),
            k("足疗", 80.0, 200.0, "12:00-01:00"),
            k("网咖", 10.0, 30.0, "24/7"),
            k("剧本杀", 70.0, 140.0, "13:00-01:00"),
            k("酒吧", 80.0, 180.0, "19:00-03:00"),
        ],
        chains: &["万达影城", "星聚会KTV"],
    },
    Profile {
        code: "sports",
        weight: 1.5,
        street_weight: 0.0,
        footfall: 120.0,
        kinds: &[
            k("健身房", 40.0, 120.0, "06:30-22:30"),
            k("游泳馆", 30.0, 60.0, "09:00-21:00"),
            k("羽毛球馆", 30.0, 60.0, "08:00-22:00"),
            k("瑜伽馆", 60.0, 150.0, "09:00-21:30"),
            k("台球", 20.0, 50.0, "11:00-02:00"),
        ],
        chains: &["乐刻运动"],
    },
    Profile {
        code: "hotel",
        weight: 2.0,
        street_weight: 0.0,
        footfall: 80.0,
        kinds: &[
            k("宾馆", 120.0, 220.0, "24/7"),
            k("大酒店", 250.0, 600.0, "24/7"),
            k("客栈", 100.0, 200.0, "24/7"),
            k("民宿", 150.0, 350.0, "24/7"),
        ],
        chains: &["如家酒店", "汉庭酒店", "7天酒店", "锦江之星"],
    },
    Profile {
        code: "auto",
        weight: 2.0,
        street_weight: 0.0,
        footfall: 60.0,
        kinds: &[
            k("汽车美容", 80.0, 300.0, "08:30-19:00"),
            k("汽修厂", 200.0, 800.0, "08:30-18:30"),
            k("洗车行", 25.0, 60.0, "08:00-19:00"),
            k("轮胎店", 300.0, 900.0, "08:30-18:30"),
            k("加油站", 200.0, 400.0, "24/7"),
        ],
        chains: &["中国石化", "中国石油", "途虎养车"],
    },
    Profile {
        code: "daily_service",
        weight: 12.0,
        street_weight: 0.0,
        footfall: 70.0,
        kinds: &[
            k("干洗店", 20.0, 60.0, "08:30-20:30"),
            k("开锁", 50.0, 150.0, "24/7"),
            k("家电维修", 60.0, 200.0, "08:30-19:00"),
            k("手机维修", 50.0, 300.0, "09:00-21:00"),
            k("照相馆", 50.0, 300.0, "09:00-19:00"),
            k("快递驿站", 0.0, 10.0, "08:00-21:00"),
            k("房产中介", 0.0, 50.0, "08:30-20:00"),
            k("裁缝铺", 20.0, 80.0, "08:30-19:00"),
            k("宠物店", 50.0, 200.0, "09:00-21:00"),
        ],
        chains: &["菜鸟驿站", "链家", "福奈特洗衣"],
    },
    Profile {
        code: "retail",
        weight: 17.0,
        street_weight: 3.0,
        footfall: 90.0,
        kinds: &[
            k("服装店", 100.0, 300.0, "09:30-21:30"),
            k("鞋店", 100.0, 300.0, "09:30-21:30"),
            k("五金店", 20.0, 100.0, "08:00-19:00"),
            k("文具店", 10.0, 40.0, "07:30-21:00"),
            k("手机店", 500.0, 2500.0, "09:00-21:30"),
            k("眼镜店", 200.0, 800.0, "09:00-21:00"),
            k("母婴店", 80.0, 250.0, "09:00-21:30"),
            k("烟酒店", 50.0, 300.0, "08:00-22:30"),
            k("花店", 50.0, 200.0, "08:30-21:00"),
            k("特产店", 50.0, 200.0, "09:00-21:30"),
        ],
        chains: &["名创优品", "安踏", "特步", "周大福"],
    },
];

// ---------------------------------------------------------------------------------------------
// The layout of the city, in metres east/north of the centre.

type Xy = [f64; 2];

/// Converts local metres to WGS-84 near the centre. An equirectangular frame is accurate to well
/// under a metre per kilometre here, which is all a synthetic city needs.
#[derive(Debug, Clone, Copy)]
struct Frame {
    lon0: f64,
    lat0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl Frame {
    fn new(center: [f64; 2]) -> Self {
        Self {
            lon0: center[0],
            lat0: center[1],
            m_per_deg_lon: 111_320.0 * center[1].to_radians().cos().max(0.01),
            m_per_deg_lat: 110_574.0,
        }
    }

    fn lonlat(&self, p: Xy) -> [f64; 2] {
        [
            self.lon0 + p[0] / self.m_per_deg_lon,
            self.lat0 + p[1] / self.m_per_deg_lat,
        ]
    }

    fn ring(&self, pts: &[Xy]) -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = pts.iter().map(|&p| self.lonlat(p)).collect();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        ring
    }
}

/// A place merchants and communities cluster around.
struct Centre {
    place: &'static str,
    xy: Xy,
    sigma_m: f64,
}

/// A food street: a bent line with a name; merchants face it on both sides.
struct Street {
    name: String,
    prefix: &'static str,
    pts: [Xy; 3],
}

struct District {
    name: String,
    xy: Xy,
    semi_axes_m: (f64, f64),
    rotation: f64,
}

struct Layout {
    radius_m: f64,
    centres: Vec<Centre>,
    centre_cum_weight: Vec<f64>,
    streets: Vec<Street>,
    districts: Vec<District>,
}

/// The demo's hand-placed centres (place, east m, north m, spread m, weight). The positions are
/// invented; the names are Leshan's.
const LESHAN_CENTRES: &[(&str, f64, f64, f64, f64)] = &[
    ("张公桥", 0.0, 0.0, 350.0, 3.0),
    ("上中顺", 900.0, -1300.0, 400.0, 3.0),
    ("嘉州", 1500.0, -300.0, 350.0, 2.0),
    ("柏杨", -1200.0, 600.0, 450.0, 2.0),
    ("肖坝", -700.0, -1900.0, 450.0, 1.5),
    ("通江", 400.0, 1700.0, 450.0, 1.5),
];

/// Merchants per food street and per cluster centre; both keep density constant as N grows.
const MERCHANTS_PER_STREET: usize = 50_000;
const MERCHANTS_PER_CENTRE: usize = 250;
/// The demo's radius for its 1,600 merchants; larger cities grow by √(N / 1,600).
const BASE_RADIUS_M: f64 = 3_000.0;
const BASE_MERCHANTS: f64 = 1_600.0;
/// Half-width of a food street's area, and how far from the line its shops stand at most.
const STREET_BUFFER_M: f64 = 40.0;
const STREET_SHOP_MAX_M: f64 = 36.0;
/// Share of merchants on food streets, capped per street so that big cities stay plausible.
const STREET_SHARE: f64 = 0.15;
const STREET_CAP: f64 = 300.0;
/// Radius within which a merchant counts as near one of our outlets for its pipeline status.
const NEAR_OUTLET_M: f64 = 500.0;

fn polar(angle: f64, r: f64) -> Xy {
    [r * angle.cos(), r * angle.sin()]
}

fn add(a: Xy, b: Xy) -> Xy {
    [a[0] + b[0], a[1] + b[1]]
}

fn scale(a: Xy, s: f64) -> Xy {
    [a[0] * s, a[1] * s]
}

fn dist(a: Xy, b: Xy) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// A standard normal draw (Box–Muller); rand_distr is not a dependency for one function.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn word(rng: &mut ChaCha8Rng, words: &[&'static str]) -> &'static str {
    words[rng.random_range(0..words.len())]
}

/// A point in the disc of `radius_m`, denser towards the middle (exponent < 1 pulls inwards
/// less than a uniform disc's 0.5 spreads out).
fn towards_middle(rng: &mut ChaCha8Rng, radius_m: f64, exponent: f64) -> Xy {
    let r = radius_m * rng.random::<f64>().powf(exponent);
    polar(rng.random_range(0.0..2.0 * PI), r)
}

fn around(rng: &mut ChaCha8Rng, c: Xy, sigma_m: f64) -> Xy {
    [c[0] + normal(rng) * sigma_m, c[1] + normal(rng) * sigma_m]
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// Picks an index by cumulative weights; the last index if rounding leaves the draw past the end.
fn pick_weighted(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cum.partition_point(|&c| c <= x)
        .min(cum.len().saturating_sub(1))
}

/// The i-th place name, numbered once the list runs out so that generated names stay unique.
fn place_name(i: usize) -> String {
    let place = PLACES[i % PLACES.len()];
    match i / PLACES.len() {
        0 => place.to_string(),
        n => format!("{place}{}", n + 1),
    }
}

impl Layout {
    fn new(cfg: &GenConfig, rng: &mut ChaCha8Rng) -> Self {
        let n = cfg.merchants as f64;
        let radius_m = BASE_RADIUS_M * (n / BASE_MERCHANTS).max(1.0).sqrt();
        let n_centres = (cfg.merchants / MERCHANTS_PER_CENTRE).max(LESHAN_CENTRES.len());
        let mut centres: Vec<Centre> = LESHAN_CENTRES
            .iter()
            .map(|&(place, x, y, sigma_m, _)| Centre {
                place,
                xy: [x, y],
                sigma_m,
            })
            .collect();
        let mut weights: Vec<f64> = LESHAN_CENTRES.iter().map(|c| c.4).collect();
        for i in LESHAN_CENTRES.len()..n_centres {
            centres.push(Centre {
                place: PLACES[i % PLACES.len()],
                xy: towards_middle(rng, radius_m * 0.92, 0.7),
                sigma_m: rng.random_range(280.0..480.0),
            });
            weights.push(rng.random_range(0.6..1.6));
        }

        let n_streets = (cfg.merchants / MERCHANTS_PER_STREET).max(1);
        let mut streets = vec![Street {
            name: "张公桥好吃街".into(),
            prefix: "张公桥",
            // About 600 m, running east-north-east with a slight bend where it crosses a lane.
            pts: [[-295.0, -62.0], [0.0, 0.0], [298.0, 30.0]],
        }];
        let mut districts = vec![
            District {
                name: "上中顺商圈".into(),
                xy: centres[1].xy,
                semi_axes_m: (450.0, 300.0),
                rotation: 0.5,
            },
            District {
                name: "嘉州长卷商圈".into(),
                xy: centres[2].xy,
                // A long riverside belt, as the real 嘉州长卷 runs along the Min river.
                semi_axes_m: (900.0, 220.0),
                rotation: 1.3,
            },
        ];
        // Extra streets and districts go to the generated centres, not the demo's own, spread
        // over them by multiplying with large primes.
        let generated = centres.len().saturating_sub(LESHAN_CENTRES.len());
        let spread = |k: usize| match generated {
            0 => k % centres.len(),
            g => LESHAN_CENTRES.len() + k % g,
        };
        for s in 1..n_streets {
            let ci = spread(s * 7_919);
            let c = centres[ci].xy;
            let theta = rng.random_range(0.0..PI);
            let bend = rng.random_range(-0.25..0.25);
            let half = rng.random_range(250.0..350.0);
            streets.push(Street {
                // Named by street number rather than by centre so that names stay unique.
                name: format!("{}美食街", place_name(s)),
                prefix: PLACES[s % PLACES.len()],
                pts: [
                    add(c, polar(theta + PI - bend / 2.0, half)),
                    c,
                    add(c, polar(theta + bend / 2.0, half)),
                ],
            });
            let cj = spread(s * 104_729 + 1);
            districts.push(District {
                name: format!("{}商圈", place_name(s + 2)),
                xy: centres[cj].xy,
                semi_axes_m: (
                    rng.random_range(350.0..700.0),
                    rng.random_range(200.0..350.0),
                ),
                rotation: rng.random_range(0.0..PI),
            });
        }
        Self {
            radius_m,
            centre_cum_weight: cumulative(weights.into_iter()),
            centres,
            streets,
            districts,
        }
    }

    fn centre(&self, rng: &mut ChaCha8Rng) -> &Centre {
        &self.centres[pick_weighted(rng, &self.centre_cum_weight)]
    }
}

impl Street {
    fn segments(&self) -> [(Xy, Xy); 2] {
        [(self.pts[0], self.pts[1]), (self.pts[1], self.pts[2])]
    }

    /// A shop front: a point along the street, a few metres to either side of its centre line.
    fn shop(&self, rng: &mut ChaCha8Rng) -> Xy {
        let [(a0, a1), (b0, b1)] = self.segments();
        let (la, lb) = (dist(a0, a1), dist(b0, b1));
        let t = rng.random_range(0.0..la + lb);
        let (p, q, t, len) = if t < la {
            (a0, a1, t, la)
        } else {
            (b0, b1, t - la, lb)
        };
        let dir = [(q[0] - p[0]) / len, (q[1] - p[1]) / len];
        let left = [-dir[1], dir[0]];
        let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let offset = (6.0 + normal(rng).abs() * 10.0).min(STREET_SHOP_MAX_M) * side;
        add(add(p, scale(dir, t)), scale(left, offset))
    }

    /// The street buffered by `w` metres: mitred at the bend, rounded at both ends.
    fn buffer(&self, w: f64) -> Vec<Xy> {
        let [(a0, a1), (b0, b1)] = self.segments();
        let unit = |p: Xy, q: Xy| {
            let l = dist(p, q).max(1e-9);
            [(q[0] - p[0]) / l, (q[1] - p[1]) / l]
        };
        let (d1, d2) = (unit(a0, a1), unit(b0, b1));
        let (n1, n2) = ([-d1[1], d1[0]], [-d2[1], d2[0]]);
        let m = unit([0.0, 0.0], add(n1, n2));
        let miter = w / (m[0] * n1[0] + m[1] * n1[1]).max(0.5);
        let cap = |out: &mut Vec<Xy>, c: Xy, from: Xy| {
            let start = from[1].atan2(from[0]);
            for k in 1..6 {
                out.push(add(c, polar(start - PI * f64::from(k) / 6.0, w)));
            }
        };
        let mut ring = vec![
            add(a0, scale(n1, w)),
            add(a1, scale(m, miter)),
            add(b1, scale(n2, w)),
        ];
        cap(&mut ring, b1, n2);
        ring.push(add(b1, scale(n2, -w)));
        ring.push(add(a1, scale(m, -miter)));
        ring.push(add(a0, scale(n1, -w)));
        cap(&mut ring, a0, scale(n1, -1.0));
        ring
    }
}

impl District {
    fn polygon(&self) -> Vec<Xy> {
        let (a, b) = self.semi_axes_m;
        let (s, c) = self.rotation.sin_cos();
        (0..10)
            .map(|i| {
                let t = 2.0 * PI * f64::from(i) / 10.0;
                let (x, y) = (a * t.cos(), b * t.sin());
                [self.xy[0] + x * c - y * s, self.xy[1] + x * s + y * c]
            })
            .collect()
    }
}

/// Our outlets on a coarse grid, to tell cheaply whether a merchant is near one.
struct NearGrid {
    cell_m: f64,
    cells: HashMap<(i64, i64), Vec<Xy>>,
}

impl NearGrid {
    fn new(points: &[Xy], cell_m: f64) -> Self {
        let mut cells: HashMap<(i64, i64), Vec<Xy>> = HashMap::new();
        for &p in points {
            cells.entry(Self::key(p, cell_m)).or_default().push(p);
        }
        Self { cell_m, cells }
    }

    fn key(p: Xy, cell_m: f64) -> (i64, i64) {
        (
            (p[0] / cell_m).floor() as i64,
            (p[1] / cell_m).floor() as i64,
        )
    }

    fn any_within(&self, p: Xy, r_m: f64) -> bool {
        let (cx, cy) = Self::key(p, self.cell_m);
        (-1..=1).any(|dx| {
            (-1..=1).any(|dy| {
                self.cells
                    .get(&(cx + dx, cy + dy))
                    .is_some_and(|v| v.iter().any(|&q| dist(p, q) <= r_m))
            })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Building the dataset.

/// Validation failures: counted, with the first kept for the report.
#[derive(Default)]
struct Sink {
    rejected: usize,
    first: Option<(&'static str, String, FieldError)>,
}

impl Sink {
    fn keep<T>(
        &mut self,
        kind: &'static str,
        id: impl FnOnce() -> String,
        r: Result<T, FieldError>,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.rejected += 1;
                if self.first.is_none() {
                    self.first = Some((kind, id(), e));
                }
                None
            }
        }
    }
}

fn build(cfg: &GenConfig) -> Result<(Dataset, Sink), GenError> {
    let cats = Categories::builtin()?;
    if let Some(p) = PROFILES.iter().find(|p| cats.get(p.code).is_none()) {
        return Err(GenError::UnknownCategory(p.code));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let frame = Frame::new(cfg.center);
    let layout = Layout::new(cfg, &mut rng);
    let mut sink = Sink::default();
    let mut ds = Dataset::default();

    let sub_branches = org_tree(cfg, &mut ds, &mut sink);
    if let Err(e) = check_tree(&ds.org_units) {
        sink.keep::<()>("org tree", String::new, Err(e));
    }
    let ours_xy = outlets(
        cfg,
        &layout,
        &frame,
        &sub_branches,
        &mut rng,
        &mut ds,
        &mut sink,
    );
    areas(&layout, &frame, &mut ds, &mut sink);
    merchants(cfg, &layout, &frame, &ours_xy, &mut rng, &mut ds, &mut sink);
    communities(cfg, &layout, &frame, &mut rng, &mut ds, &mut sink);
    assign_owners(&mut ds);
    contacts(cfg.seed, &mut ds);
    rejection_dates(cfg.seed, &mut ds);
    Ok((ds, sink))
}

/// Who owns what in our pipeline: a merchant belongs to the nearest of our outlets; a community
/// and an area to the sub-branch of the outlet nearest to them. (Territories proper, with
/// hand-drawn boundaries, are the scoring issue's.)
fn assign_owners(ds: &mut Dataset) {
    let ours: Vec<crate::domain::Outlet> =
        ds.outlets.iter().filter(|o| o.is_ours()).cloned().collect();
    if ours.is_empty() {
        return;
    }
    let layer = crate::index::Layer::build(ours);
    let nearest = |at: crate::domain::Location| {
        layer
            .nearest(at, 1, None)
            .first()
            .map(|h| layer.item(h.slot))
    };
    for m in &mut ds.merchants {
        m.owner_org_id = nearest(m.location).map(|o| o.id.clone());
    }
    for c in &mut ds.communities {
        c.owner_org_id = nearest(c.location).and_then(|o| o.parent_org_id.clone());
    }
    for a in &mut ds.areas {
        a.owner_org_id =
            nearest(a.polygon.representative_point()).and_then(|o| o.parent_org_id.clone());
    }
}

/// When each rejection happened: within the 240 days before 2026-11-01 (a fixed day, so that
/// the data stays the same), so that some are past a 90-day cool-down and some are not.
fn rejection_dates(seed: u64, ds: &mut Dataset) {
    let Some(base) = chrono::NaiveDate::from_ymd_opt(2026, 11, 1) else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0dec_11ed);
    for m in &mut ds.merchants {
        if m.status == PipelineStatus::Rejected {
            m.status_since = Some(base - chrono::Duration::days(rng.random_range(0..240)));
        }
    }
}

/// Synthetic owner contacts for about one merchant in five (personal information in real data;
/// here invented, to show masking). A separate random stream keeps the rest of the city the same.
fn contacts(seed: u64, ds: &mut Dataset) {
    const FAMILY: [&str; 12] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "罗", "郭",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c0de);
    for m in &mut ds.merchants {
        if !rng.random_bool(0.2) {
            continue;
        }
        let name = format!(
            "{}{}",
            FAMILY[rng.random_range(0..FAMILY.len())],
            if rng.random_bool(0.5) {
                "老板"
            } else {
                "女士"
            }
        );
        let phone = format!(
            "1{}{:09}",
            [3, 5, 8, 9][rng.random_range(0..4)],
            rng.random_range(0..1_000_000_000u64)
        );
        m.contact = Some(crate::domain::Contact {
            name: Some(name),
            phone: Some(phone),
        });
    }
}

/// 总行 > 四川省分行 > 乐山分行 > sub-branches; returns the sub-branch ids.
fn org_tree(cfg: &GenConfig, ds: &mut Dataset, sink: &mut Sink) -> Vec<String> {
    let n_sub = if cfg.outlets_ours <= 6 {
        3
    } else {
        cfg.outlets_ours.div_ceil(8)
    };
    let demo_names = ["张公桥支行", "市中区支行", "嘉州支行"];
    let mut drafts = vec![
        ("HQ", "总行".to_string(), OrgLevel::HeadOffice, None),
        (
            "SC",
            "四川省分行".to_string(),
            OrgLevel::ProvinceBranch,
            Some("HQ"),
        ),
        (
            "LS",
            "乐山分行".to_string(),
            OrgLevel::CityBranch,
            Some("SC"),
        ),
    ]
    .into_iter()
    .map(|(id, name, level, parent)| OrgUnitDraft {
        id: id.into(),
        name,
        level,
        parent_id: parent.map(Into::into),
    })
    .collect::<Vec<_>>();
    let mut ids = Vec::with_capacity(n_sub);
    for i in 0..n_sub {
        let id = format!("SB{:02}", i + 1);
        let name = match demo_names.get(i) {
            Some(n) => n.to_string(),
            None => format!("{}支行", place_name(i)),
        };
        ids.push(id.clone());
        drafts.push(OrgUnitDraft {
            id,
            name,
            level: OrgLevel::SubBranch,
            parent_id: Some("LS".into()),
        });
    }
    for d in drafts {
        let id = d.id.clone();
        if let Some(u) = sink.keep("org unit", || id, OrgUnit::try_from(d)) {
            ds.org_units.push(u);
        }
    }
    ids
}

/// The demo's outlets: (name, kind, east m, north m) for ours and (bank index, place, east m,
/// north m) for competitors.
const DEMO_OURS: &[(&str, OutletKind, f64, f64)] = &[
    (
        "张公桥支行营业部",
        OutletKind::BusinessDistrict,
        60.0,
        -70.0,
    ),
    ("嘉州网点", OutletKind::BusinessDistrict, 1450.0, -250.0),
    ("上中顺网点", OutletKind::BusinessDistrict, 950.0, -1250.0),
    ("柏杨网点", OutletKind::Community, -1150.0, 650.0),
    ("肖坝网点", OutletKind::Community, -650.0, -1850.0),
    ("通江网点", OutletKind::Mixed, 350.0, 1650.0),
];
const DEMO_COMPETITORS: &[(usize, &str, f64, f64)] = &[
    (0, "张公桥支行", -180.0, 90.0),
    (1, "上中顺支行", 800.0, -1350.0),
    (2, "嘉州支行", 1550.0, -400.0),
    (3, "柏杨支行", -1300.0, 500.0),
];

/// Our outlets and the competitors'; returns our outlets' positions in local metres.
fn outlets(
    cfg: &GenConfig,
    layout: &Layout,
    frame: &Frame,
    sub_branches: &[String],
    rng: &mut ChaCha8Rng,
    ds: &mut Dataset,
    sink: &mut Sink,
) -> Vec<Xy> {
    let mut ours_xy = Vec::with_capacity(cfg.outlets_ours);
    for i in 0..cfg.outlets_ours {
        let (name, kind, xy) = match DEMO_OURS.get(i) {
            Some(&(name, kind, x, y)) => (name.to_string(), kind, [x, y]),
            None => {
                let c = layout.centre(rng);
                let kind = match rng.random_range(0..3) {
                    0 => OutletKind::BusinessDistrict,
                    1 => OutletKind::Community,
                    _ => OutletKind::Mixed,
                };
                (
                    format!("{}{}号网点", c.place, i + 1),
                    kind,
                    around(rng, c.xy, c.sigma_m * 0.5),
                )
            }
        };
        let [lon, lat] = frame.lonlat(xy);
        // Consecutive outlets share a sub-branch, as neighbouring outlets do.
        let parent = sub_branches
            .get(i * sub_branches.len() / cfg.outlets_ours.max(1))
            .cloned();
        let road = pick(rng, ROADS);
        let d = OutletDraft {
            id: format!("OUT{:02}", i + 1),
            name,
            competitor_bank: None,
            kind,
            parent_org_id: parent,
            address: Some(format!("市中区{road}{}号", rng.random_range(1..300))),
            lon,
            lat,
        };
        let id = d.id.clone();
        if let Some(o) = sink.keep("outlet", || id, Outlet::try_from(d)) {
            ds.outlets.push(o);
            ours_xy.push(xy);
        }
    }
    for i in 0..cfg.outlets_competitors {
        let (bank, full, place, xy) = match DEMO_COMPETITORS.get(i) {
            Some(&(b, place, x, y)) => (BANKS[b].0, BANKS[b].1, place.to_string(), [x, y]),
            None => {
                let &(bank, full) = pick(rng, BANKS);
                let c = layout.centre(rng);
                (
                    bank,
                    full,
                    format!("{}支行", c.place),
                    around(rng, c.xy, c.sigma_m * 0.5),
                )
            }
        };
        let [lon, lat] = frame.lonlat(xy);
        let d = OutletDraft {
            id: format!("CMP{:02}", i + 1),
            name: format!("{full}{place}"),
            competitor_bank: Some(bank.into()),
            kind: OutletKind::Mixed,
            parent_org_id: None,
            address: None,
            lon,
            lat,
        };
        let id = d.id.clone();
        if let Some(o) = sink.keep("outlet", || id, Outlet::try_from(d)) {
            ds.outlets.push(o);
        }
    }
    ours_xy
}

fn areas(layout: &Layout, frame: &Frame, ds: &mut Dataset, sink: &mut Sink) {
    let shapes = layout
        .streets
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                AreaKind::FoodStreet,
                s.buffer(STREET_BUFFER_M),
            )
        })
        .chain(
            layout
                .districts
                .iter()
                .map(|d| (d.name.clone(), AreaKind::BusinessDistrict, d.polygon())),
        );
    for (i, (name, kind, ring)) in shapes.enumerate() {
        let d = AreaDraft {
            id: format!("A{:02}", i + 1),
            name,
            kind,
            polygon: vec![frame.ring(&ring)],
            owner_org_id: None,
        };
        let id = d.id.clone();
        if let Some(a) = sink.keep("area", || id, Area::try_from(d)) {
            ds.areas.push(a);
        }
    }
}

/// Pipeline status shares (prospect, visited, interested, signed, active, rejected, churned):
/// near our outlets the staff have walked the street, so more merchants are further along.
const STATUS_NEAR: [f64; 7] = [45.0, 14.0, 9.0, 15.0, 11.0, 5.0, 1.0];
const STATUS_FAR: [f64; 7] = [82.0, 7.0, 3.5, 3.0, 2.0, 2.0, 0.5];

fn merchants(
    cfg: &GenConfig,
    layout: &Layout,
    frame: &Frame,
    ours_xy: &[Xy],
    rng: &mut ChaCha8Rng,
    ds: &mut Dataset,
    sink: &mut Sink,
) {
    let cum_general = cumulative(PROFILES.iter().map(|p| p.weight));
    let cum_street = cumulative(PROFILES.iter().map(|p| p.street_weight));
    let status_near = cumulative(STATUS_NEAR.into_iter());
    let status_far = cumulative(STATUS_FAR.into_iter());
    let near = NearGrid::new(ours_xy, NEAR_OUTLET_M);
    let n = cfg.merchants;
    let street_total = (STREET_SHARE * n as f64).min(STREET_CAP * layout.streets.len() as f64);
    let p_street = if n == 0 { 0.0 } else { street_total / n as f64 };

    ds.merchants.reserve(n);
    for i in 0..n {
        let on_street = if rng.random_bool(p_street) {
            Some(pick(rng, &layout.streets))
        } else {
            None
        };
        let xy = match on_street {
            Some(s) => s.shop(rng),
            None if rng.random_bool(0.65) => {
                let c = layout.centre(rng);
                around(rng, c.xy, c.sigma_m)
            }
            None => towards_middle(rng, layout.radius_m, 0.75),
        };
        let cum = if on_street.is_some() {
            &cum_street
        } else {
            &cum_general
        };
        let profile = &PROFILES[pick_weighted(rng, cum)];
        let kind = pick(rng, profile.kinds);

        let chain = if !profile.chains.is_empty() && rng.random_bool(0.15) {
            Some(word(rng, profile.chains))
        } else {
            None
        };
        let place = match on_street {
            Some(s) if rng.random_bool(0.4) => s.prefix,
            _ => word(rng, PLACES),
        };
        let name = match chain {
            Some(c) => format!("{c}({place}店)"),
            None => {
                let prefix = if rng.random_bool(0.5) {
                    place
                } else {
                    word(rng, OWNERS)
                };
                let mut s = String::with_capacity(prefix.len() + kind.word.len());
                s.push_str(prefix);
                s.push_str(kind.word);
                s
            }
        };
        let address = match on_street {
            Some(s) => format!("{}{}号", s.name, rng.random_range(1..400)),
            None => format!("{}{}号", pick(rng, ROADS), rng.random_range(1..500)),
        };
        let footfall = rng.random_bool(0.3).then(|| {
            let street_boost = if on_street.is_some() { 1.6 } else { 1.0 };
            (profile.footfall * street_boost * (normal(rng) * 0.5).exp()).round()
        });
        let (lo, hi) = kind.spend_cny;
        let spend = rng
            .random_bool(0.92)
            .then(|| (lo + (hi - lo) * rng.random::<f64>()).round());
        let rating = rng
            .random_bool(0.9)
            .then(|| ((3.0 + 2.0 * rng.random::<f64>().powf(0.6)) * 10.0).round() / 10.0);
        let accepts_ecny = rng.random_bool(0.25);
        let competitor_signed = rng
            .random_bool(0.15)
            .then(|| pick(rng, BANKS).0.to_string());
        let cum_status = if near.any_within(xy, NEAR_OUTLET_M) {
            &status_near
        } else {
            &status_far
        };
        let status = PipelineStatus::ALL[pick_weighted(rng, cum_status)];
        let [lon, lat] = frame.lonlat(xy);
        let d = MerchantDraft {
            id: format!("M{:06}", i + 1),
            name,
            category: profile.code.to_string(),
            lon,
            lat,
            address: Some(address),
            footfall_daily: footfall,
            avg_spend_cny: spend,
            rating,
            opening_hours: Some(kind.hours.to_string()),
            accepts_ecny,
            competitor_signed,
            chain: chain.map(str::to_string),
            status,
            status_since: None,
            owner_org_id: None,
            contact_name: None,
            contact_phone: None,
        };
        if let Some(m) = sink.keep(
            "merchant",
            || format!("M{:06}", i + 1),
            Merchant::try_from(d),
        ) {
            ds.merchants.push(m);
        }
    }
}

fn communities(
    cfg: &GenConfig,
    layout: &Layout,
    frame: &Frame,
    rng: &mut ChaCha8Rng,
    ds: &mut Dataset,
    sink: &mut Sink,
) {
    ds.communities.reserve(cfg.communities);
    for i in 0..cfg.communities {
        let centre = if rng.random_bool(0.75) {
            let c = layout.centre(rng);
            around(rng, c.xy, c.sigma_m * 1.4)
        } else {
            towards_middle(rng, layout.radius_m, 0.6)
        };
        // A star-shaped polygon: corners at increasing angles round the centre cannot cross.
        let corners = rng.random_range(4..=6);
        let half_across = rng.random_range(50.0..125.0);
        let step = 2.0 * PI / f64::from(corners);
        let turn = rng.random_range(0.0..step);
        let ring: Vec<Xy> = (0..corners)
            .map(|c| {
                let a = turn + step * (f64::from(c) + rng.random_range(-0.25..0.25));
                add(centre, polar(a, half_across * rng.random_range(0.75..1.0)))
            })
            .collect();

        let mut name = String::with_capacity(24);
        name.push_str(if rng.random_bool(0.4) {
            word(rng, PLACES)
        } else {
            word(rng, COMMUNITY_WORDS)
        });
        name.push_str(word(rng, COMMUNITY_SUFFIXES));
        let households = (300.0 + 2_700.0 * rng.random::<f64>().powf(1.3)).round();
        let population = (households * rng.random_range(2.6..3.0)).round();
        // Prices fall from the centre outwards, as they do in a Chinese city.
        let from_centre = (dist(centre, [0.0, 0.0]) / layout.radius_m).min(1.0);
        let price = (13_000.0 - 6_000.0 * from_centre + normal(rng) * 800.0)
            .clamp(6_000.0, 14_000.0)
            .round();
        let bank_customers = (population * rng.random_range(0.05..0.30)).round();
        let road = pick(rng, ROADS);
        let d = CommunityDraft {
            id: format!("C{:04}", i + 1),
            name,
            polygon: Some(vec![frame.ring(&ring)]),
            lon: None,
            lat: None,
            address: Some(format!("市中区{road}{}号", rng.random_range(1..500))),
            households,
            population: Some(population),
            avg_house_price_cny_m2: Some(price),
            bank_customers: Some(bank_customers),
            owner_org_id: None,
        };
        if let Some(c) = sink.keep(
            "community",
            || format!("C{:04}", i + 1),
            Community::try_from(d),
        ) {
            ds.communities.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::Location;

    fn demo() -> Dataset {
        try_generate(&GenConfig::default()).unwrap()
    }

    /// A comparable fingerprint, since the domain types are not all `PartialEq`-comparable as a
    /// whole dataset.
    fn fingerprint(ds: &Dataset) -> Vec<String> {
        ds.merchants
            .iter()
            .map(|m| format!("{m:?}"))
            .chain(ds.outlets.iter().map(|o| format!("{o:?}")))
            .chain(ds.communities.iter().map(|c| format!("{c:?}")))
            .chain(ds.areas.iter().map(|a| format!("{a:?}")))
            .chain(ds.org_units.iter().map(|u| format!("{u:?}")))
            .collect()
    }

    #[test]
    fn same_seed_gives_the_same_dataset_and_another_seed_a_different_one() {
        let a = demo();
        let b = demo();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = try_generate(&GenConfig {
            seed: 2,
            ..GenConfig::default()
        })
        .unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn counts_match_the_config() {
        let cfg = GenConfig {
            seed: 7,
            merchants: 5_000,
            outlets_ours: 20,
            outlets_competitors: 9,
            communities: 150,
            ..GenConfig::default()
        };
        let ds = try_generate(&cfg).unwrap();
        assert_eq!(ds.merchants.len(), 5_000);
        assert_eq!(ds.outlets.iter().filter(|o| o.is_ours()).count(), 20);
        assert_eq!(ds.outlets.iter().filter(|o| !o.is_ours()).count(), 9);
        assert_eq!(ds.communities.len(), 150);
        check_tree(&ds.org_units).unwrap();
    }

    #[test]
    fn empty_config_gives_an_org_tree_and_areas_only() {
        let ds = try_generate(&GenConfig {
            merchants: 0,
            outlets_ours: 0,
            outlets_competitors: 0,
            communities: 0,
            ..GenConfig::default()
        })
        .unwrap();
        assert!(ds.merchants.is_empty() && ds.outlets.is_empty() && ds.communities.is_empty());
        assert!(!ds.org_units.is_empty());
    }

    #[test]
    fn leshan_demo_has_its_outlets_merchants_and_communities() {
        let ds = demo();
        assert!(ds.merchants.len() >= 1_500);
        assert!(ds.communities.len() >= 60);
        let ours: Vec<_> = ds.outlets.iter().filter(|o| o.is_ours()).collect();
        assert_eq!(ours.len(), 6);
        assert_eq!(ds.outlets.len() - ours.len(), 4);
        assert_eq!(ours[0].name, "张公桥支行营业部");
        let sub_branches: HashSet<&str> = ds
            .org_units
            .iter()
            .filter(|u| u.level == OrgLevel::SubBranch)
            .map(|u| u.id.as_str())
            .collect();
        assert!((2..=3).contains(&sub_branches.len()));
        for o in &ours {
            let parent = o.parent_org_id.as_deref().unwrap();
            assert!(sub_branches.contains(parent), "{parent}");
        }
        check_tree(&ds.org_units).unwrap();
    }

    #[test]
    fn food_street_is_dense_and_mostly_food() {
        let ds = demo();
        let street = ds.areas.iter().find(|a| a.name == "张公桥好吃街").unwrap();
        assert_eq!(street.kind, AreaKind::FoodStreet);
        let inside: Vec<&Merchant> = ds
            .merchants
            .iter()
            .filter(|m| street.polygon.contains(&m.location))
            .collect();
        assert!(inside.len() >= 150, "{}", inside.len());
        let food = inside
            .iter()
            .filter(|m| m.category == "dining" || m.category == "tea_coffee")
            .count();
        assert!(food * 10 >= inside.len() * 7, "{food} of {}", inside.len());
        let centre = Location::new(103.7610, 29.5690).unwrap();
        assert!(street.polygon.representative_point().distance_m(&centre) < 200.0);
        assert!(ds
            .areas
            .iter()
            .any(|a| a.kind == AreaKind::BusinessDistrict));
    }

    #[test]
    fn every_category_is_in_the_builtin_catalogue() {
        let cats = Categories::builtin().unwrap();
        let ds = demo();
        for m in &ds.merchants {
            assert!(cats.get(&m.category).is_some(), "{}", m.category);
        }
        let used: HashSet<&str> = ds.merchants.iter().map(|m| m.category.as_str()).collect();
        assert_eq!(used.len(), PROFILES.len());
        let dining = ds
            .merchants
            .iter()
            .filter(|m| m.category == "dining")
            .count();
        let retail = ds
            .merchants
            .iter()
            .filter(|m| m.category == "retail")
            .count();
        assert!(dining > retail, "dining {dining}, retail {retail}");
    }

    #[test]
    fn all_ids_are_unique() {
        let ds = try_generate(&GenConfig {
            merchants: 100_000,
            outlets_ours: 40,
            outlets_competitors: 12,
            communities: 500,
            ..GenConfig::default()
        })
        .unwrap();
        let mut seen = HashSet::new();
        let ids = ds
            .merchants
            .iter()
            .map(|m| &m.id)
            .chain(ds.outlets.iter().map(|o| &o.id))
            .chain(ds.communities.iter().map(|c| &c.id))
            .chain(ds.areas.iter().map(|a| &a.id))
            .chain(ds.org_units.iter().map(|u| &u.id));
        for id in ids {
            assert!(seen.insert(id.clone()), "duplicate id {id}");
        }
        // 100,000 merchants make a second food street and a third business district.
        let kinds = |k: AreaKind| ds.areas.iter().filter(|a| a.kind == k).count();
        assert_eq!(kinds(AreaKind::FoodStreet), 2);
        assert_eq!(kinds(AreaKind::BusinessDistrict), 3);
    }

    #[test]
    fn attributes_are_in_plausible_ranges() {
        let ds = demo();
        let n = ds.merchants.len() as f64;
        let share =
            |f: &dyn Fn(&Merchant) -> bool| ds.merchants.iter().filter(|m| f(m)).count() as f64 / n;
        assert!((0.2..0.4).contains(&share(&|m| m.footfall_daily.is_some())));
        assert!((0.18..0.32).contains(&share(&|m| m.accepts_ecny)));
        assert!((0.1..0.2).contains(&share(&|m| m.competitor_signed.is_some())));
        assert!((0.05..0.2).contains(&share(&|m| m.chain.is_some())));
        assert!(share(&|m| m.status == PipelineStatus::Prospect) > 0.5);
        assert!(ds
            .merchants
            .iter()
            .filter_map(|m| m.rating)
            .all(|r| (3.0..=5.0).contains(&r)));
        for c in &ds.communities {
            assert!((300..=3_000).contains(&c.households));
            let p = f64::from(c.population.unwrap());
            let h = f64::from(c.households);
            assert!(p >= h * 2.59 && p <= h * 3.01);
            let price = c.avg_house_price_cny_m2.unwrap();
            assert!((6_000.0..=14_000.0).contains(&price));
        }
    }

    #[test]
    fn signed_merchants_are_commoner_near_our_outlets() {
        let ds = demo();
        let ours: Vec<Location> = ds
            .outlets
            .iter()
            .filter(|o| o.is_ours())
            .map(|o| o.location)
            .collect();
        let (near, far): (Vec<&Merchant>, Vec<&Merchant>) = ds
            .merchants
            .iter()
            .partition(|m| ours.iter().any(|o| o.distance_m(&m.location) < 450.0));
        let rate = |v: &[&Merchant]| {
            let signed = v
                .iter()
                .filter(|m| matches!(m.status, PipelineStatus::Signed | PipelineStatus::Active))
                .count();
            signed as f64 / v.len() as f64
        };
        assert!(
            rate(&near) > 2.0 * rate(&far),
            "{} vs {}",
            rate(&near),
            rate(&far)
        );
    }
}

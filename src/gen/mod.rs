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
//!
//! A config with a [`CitySpec`] generates any Chinese city instead (the presets of [`plan`]):
//! the same kinds of data around the city's real centre, with a dense core and sparse edges after
//! Clark's negative-exponential density, food streets of 150–300 merchants, generic street and
//! place names, and ids prefixed with the city's code. [`CityStream`] hands a city out in chunks
//! so that a national dataset never has to be in memory at once; [`write`] streams it into the
//! database. docs/GENERATED_DATA.md describes the model and the presets.

pub mod cities;
#[cfg(test)]
mod national_tests;
pub mod plan;
pub mod write;

use std::collections::HashMap;
use std::f64::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{
    check_tree, Area, AreaDraft, AreaKind, Categories, CategoryError, Community, CommunityDraft,
    Dataset, FieldError, Location, Merchant, MerchantDraft, OrgLevel, OrgUnit, OrgUnitDraft,
    Outlet, OutletDraft, OutletKind, PipelineStatus,
};

pub use plan::{Batch, Plan, PlanStream, Preset, Sizes};

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
    /// `None`: the Leshan demo city. `Some`: a generic Chinese city (see [`CitySpec`]).
    pub city: Option<CitySpec>,
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
            city: None,
        }
    }
}

/// A generic city: its name and id prefix, where its branch hangs in the org tree, and its house
/// prices. Its merchants are spread after Clark's density model rather than the demo's layout.
#[derive(Debug, Clone)]
pub struct CitySpec {
    /// Prefix of every id (`CD` gives `CD-M0000001`, `CD-BR`, `CD-SB001`, …).
    pub code: String,
    /// The city's name without 市 (成都).
    pub name: String,
    /// The org unit the city's branch sits under (a province branch, or the head office).
    pub parent_id: String,
    /// Beijing, Tianjin, Shanghai, Chongqing: the branch is a province-level 市分行.
    pub municipality: bool,
    /// Average house price at the centre, CNY/m²; it falls towards the edge.
    pub house_price_cny_m2: f64,
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
    #[error("the built-in city list is inconsistent: {0}")]
    Cities(String),
}

/// Generates a whole city, deterministically from `cfg.seed`, and fails if any generated value
/// does not pass the domain validation.
pub fn try_generate(cfg: &GenConfig) -> Result<Dataset, GenError> {
    let (ds, sink) = build(cfg)?;
    match sink.into_error() {
        None => Ok(ds),
        Some(e) => Err(e),
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

/// Place words for any Chinese city: the parts of town and landmarks that most cities have. The
/// first is the core.
#[rustfmt::skip]
const GENERIC_PLACES: &[&str] = &[
    "市中心", "城东", "城西", "城南", "城北", "老城", "新城", "高新", "经开", "滨江", "江北",
    "河西", "湖滨", "火车站", "大学城", "新区", "科技园", "万达", "步行街", "东湖", "西湖", "南湖",
    "北湖", "金融城", "会展", "体育中心", "人民广场", "文化宫", "东关", "西关", "南关", "北关",
    "解放", "建设", "和平", "胜利", "朝阳", "光明", "新华", "青年",
];

/// The road names found in nearly every Chinese city.
#[rustfmt::skip]
const GENERIC_ROADS: &[&str] = &[
    "人民路", "解放路", "中山路", "建设路", "新华路", "和平路", "胜利路", "朝阳路", "文化路",
    "长江路", "黄河路", "青年路", "工业路", "北京路", "上海路", "南京路", "东风路", "光明路",
    "健康路", "幸福路", "迎宾大道", "学府路", "滨江路", "花园路", "人民大道", "世纪大道",
];

/// National competitors: the short name stored on outlets and merchants, and the full name that
/// starts an outlet's name (then the city, the place and 支行).
const GENERIC_BANKS: &[(&str, &str)] = &[
    ("工商银行", "中国工商银行"),
    ("建设银行", "中国建设银行"),
    ("农业银行", "中国农业银行"),
    ("中国银行", "中国银行"),
    ("邮储银行", "中国邮政储蓄银行"),
    ("交通银行", "交通银行"),
    ("招商银行", "招商银行"),
];

/// What a generic city's food streets are called.
const STREET_WORDS: &[&str] = &["美食街", "小吃街", "夜市"];

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

impl District {
    /// A business district around `xy` with a random ellipse (three draws from `rng`).
    fn random(name: String, xy: Xy, rng: &mut ChaCha8Rng) -> Self {
        Self {
            name,
            xy,
            semi_axes_m: (
                rng.random_range(350.0..700.0),
                rng.random_range(200.0..350.0),
            ),
            rotation: rng.random_range(0.0..PI),
        }
    }
}

struct Layout {
    /// The city's edge: the demo's disc, or Clark's cut-off; house prices fall towards it.
    radius_m: f64,
    spread: Spread,
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

/// Generic cities: Clark's density scale b for 1,000,000 merchants, growing with √(merchants)
/// so that the core's density stays about the same (≈ 4,000 merchants per km² there), never
/// below `CLARK_MIN_B_M`; the city ends at `CLARK_EDGE` × b.
const CLARK_B_1M_M: f64 = 6_000.0;
const CLARK_MIN_B_M: f64 = 600.0;
const CLARK_EDGE: f64 = 6.0;
/// Merchants and communities off the clusters spread wider than the clusters themselves.
const BACKGROUND_B: f64 = 1.5;
/// Generic cities: one food street per 25,000 merchants; none below 300 merchants, and at least
/// 150 shops on each (or half the city's merchants, whichever is fewer).
const GENERIC_MERCHANTS_PER_STREET: usize = 25_000;
const GENERIC_MIN_STREET_CITY: usize = 300;
const GENERIC_STREET_MIN: f64 = 150.0;

/// Where the merchants and communities off the clusters and streets stand.
#[derive(Debug, Clone, Copy)]
enum Spread {
    /// The demo: a disc, denser towards the middle ([`towards_middle`]).
    Disc,
    /// Clark (1951): urban density falls as exp(−r / b) with the distance r from the centre.
    Clark { b_m: f64 },
}

/// Clark's density scale for a city of `merchants`.
fn clark_b_m(merchants: usize) -> f64 {
    (CLARK_B_1M_M * (merchants as f64 / 1_000_000.0).sqrt()).max(CLARK_MIN_B_M)
}

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

/// A point drawn from Clark's density exp(−r / b) in the plane, no farther than `max_m`: the
/// distance of such a point is Gamma(2, b), the sum of two exponential draws.
fn clark(rng: &mut ChaCha8Rng, b_m: f64, max_m: f64) -> Xy {
    loop {
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = 1.0 - rng.random::<f64>();
        let r = -b_m * (u1 * u2).ln();
        let a = rng.random_range(0.0..2.0 * PI);
        if r <= max_m {
            return polar(a, r);
        }
    }
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
    numbered(PLACES, i)
}

fn numbered(places: &[&str], i: usize) -> String {
    let place = places[i % places.len()];
    match i / places.len() {
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
            districts.push(District::random(
                format!("{}商圈", place_name(s + 2)),
                centres[cj].xy,
                rng,
            ));
        }
        Self {
            radius_m,
            spread: Spread::Disc,
            centre_cum_weight: cumulative(weights.into_iter()),
            centres,
            streets,
            districts,
        }
    }

    /// A generic city: a core at the centre, clusters placed after Clark's density, food streets
    /// and business districts at clusters (the first of each at the core).
    fn generic(cfg: &GenConfig, city: &CitySpec, rng: &mut ChaCha8Rng) -> Self {
        let n = cfg.merchants;
        let b_m = clark_b_m(n);
        let radius_m = CLARK_EDGE * b_m;
        let n_centres = (n / MERCHANTS_PER_CENTRE).max(4);
        let mut centres = Vec::with_capacity(n_centres);
        let mut weights = Vec::with_capacity(n_centres);
        centres.push(Centre {
            place: GENERIC_PLACES[0],
            xy: [0.0, 0.0],
            sigma_m: 350.0,
        });
        weights.push(3.0);
        for i in 1..n_centres {
            centres.push(Centre {
                place: GENERIC_PLACES[i % GENERIC_PLACES.len()],
                xy: clark(rng, b_m, radius_m * 0.92),
                sigma_m: rng.random_range(150.0..400.0),
            });
            weights.push(rng.random_range(0.6..1.6));
        }
        let n_streets = if n < GENERIC_MIN_STREET_CITY {
            0
        } else {
            (n / GENERIC_MERCHANTS_PER_STREET).max(1)
        };
        let mut streets = Vec::with_capacity(n_streets);
        for s in 0..n_streets {
            let c = centres[(s * 7_919) % centres.len()].xy;
            let theta = rng.random_range(0.0..PI);
            let bend = rng.random_range(-0.25..0.25);
            let half = rng.random_range(250.0..350.0);
            streets.push(Street {
                name: format!(
                    "{}{}{}",
                    city.name,
                    numbered(GENERIC_PLACES, s),
                    STREET_WORDS[s % STREET_WORDS.len()]
                ),
                prefix: GENERIC_PLACES[s % GENERIC_PLACES.len()],
                pts: [
                    add(c, polar(theta + PI - bend / 2.0, half)),
                    c,
                    add(c, polar(theta + bend / 2.0, half)),
                ],
            });
        }
        let mut districts = Vec::with_capacity(n_streets + 1);
        for d in 0..=n_streets {
            let cj = if d == 0 {
                0
            } else {
                (d * 104_729 + 1) % centres.len()
            };
            districts.push(District::random(
                format!("{}{}商圈", city.name, numbered(GENERIC_PLACES, d)),
                centres[cj].xy,
                rng,
            ));
        }
        Self {
            radius_m,
            spread: Spread::Clark { b_m },
            centre_cum_weight: cumulative(weights.into_iter()),
            centres,
            streets,
            districts,
        }
    }

    fn centre(&self, rng: &mut ChaCha8Rng) -> &Centre {
        &self.centres[pick_weighted(rng, &self.centre_cum_weight)]
    }

    /// A point off the clusters: the demo's disc with `exponent`, or Clark's wider background.
    fn background(&self, rng: &mut ChaCha8Rng, exponent: f64) -> Xy {
        match self.spread {
            Spread::Disc => towards_middle(rng, self.radius_m, exponent),
            Spread::Clark { b_m } => clark(rng, BACKGROUND_B * b_m, self.radius_m),
        }
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

    fn into_error(self) -> Option<GenError> {
        self.first.map(|(kind, id, source)| GenError::Invalid {
            rejected: self.rejected,
            kind,
            id,
            source,
        })
    }
}

/// How a city is dressed: the Leshan demo, or a generic Chinese city.
enum Style {
    Leshan,
    Generic(CitySpec),
}

impl Style {
    fn places(&self) -> &'static [&'static str] {
        match self {
            Style::Leshan => PLACES,
            Style::Generic(_) => GENERIC_PLACES,
        }
    }

    fn roads(&self) -> &'static [&'static str] {
        match self {
            Style::Leshan => ROADS,
            Style::Generic(_) => GENERIC_ROADS,
        }
    }

    fn banks(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Style::Leshan => BANKS,
            Style::Generic(_) => GENERIC_BANKS,
        }
    }

    /// The `n`-th id of a kind (`M`, `C`, `OUT`, `CMP`, `A`, `SB`): the demo's short ids, or
    /// wider ones after the city's code.
    fn id(&self, kind: &str, n: usize) -> String {
        let (demo, wide) = match kind {
            "M" => (6, 7),
            "C" => (4, 6),
            "OUT" | "CMP" => (2, 4),
            _ => (2, 3),
        };
        match self {
            Style::Leshan => format!("{kind}{n:0demo$}"),
            Style::Generic(c) => format!("{}-{kind}{n:0wide$}", c.code),
        }
    }
}

/// The parts of a city that are written before its merchants: its org units (a generic city:
/// its branch and sub-branches), outlets and areas.
#[derive(Debug, Default)]
pub struct CityHeader {
    pub org_units: Vec<OrgUnit>,
    pub outlets: Vec<Outlet>,
    pub areas: Vec<Area>,
}

/// What draws a merchant needs besides the layout.
struct MerchantDraw {
    cum_general: Vec<f64>,
    cum_street: Vec<f64>,
    status_near: Vec<f64>,
    status_far: Vec<f64>,
    near: NearGrid,
    p_street: f64,
}

/// One city, generated piece by piece: the header ([`CityStream::take_header`]), then the
/// merchants in chunks, then the communities in chunks. The pieces are exactly those of
/// [`try_generate`] on the same config, in the same order, whatever the chunk sizes.
pub struct CityStream {
    style: Style,
    frame: Frame,
    layout: Layout,
    rng: ChaCha8Rng,
    /// Separate streams, so that contacts and rejection dates leave the rest of the city as it is.
    contacts_rng: ChaCha8Rng,
    rejections_rng: ChaCha8Rng,
    rejection_base: Option<chrono::NaiveDate>,
    draw: MerchantDraw,
    /// Our outlets, to give merchants, communities and areas their owners.
    owners: Option<crate::index::Layer<Outlet>>,
    merchants: usize,
    communities: usize,
    next_merchant: usize,
    next_community: usize,
    header: CityHeader,
    sink: Sink,
}

impl CityStream {
    pub fn new(cfg: &GenConfig) -> Result<Self, GenError> {
        let cats = Categories::builtin()?;
        if let Some(p) = PROFILES.iter().find(|p| cats.get(p.code).is_none()) {
            return Err(GenError::UnknownCategory(p.code));
        }
        let style = match &cfg.city {
            None => Style::Leshan,
            Some(c) => Style::Generic(c.clone()),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let frame = Frame::new(cfg.center);
        let layout = match &style {
            Style::Leshan => Layout::new(cfg, &mut rng),
            Style::Generic(c) => Layout::generic(cfg, c, &mut rng),
        };
        let mut sink = Sink::default();
        let mut header = CityHeader::default();

        let sub_branches = org_tree(cfg, &style, &mut header.org_units, &mut sink);
        // A generic city's branch hangs under a unit of the plan; the plan checks the whole tree.
        if matches!(style, Style::Leshan) {
            if let Err(e) = check_tree(&header.org_units) {
                sink.keep::<()>("org tree", String::new, Err(e));
            }
        }
        let ours_xy = outlets(
            cfg,
            &style,
            &layout,
            &frame,
            &sub_branches,
            &mut rng,
            &mut header.outlets,
            &mut sink,
        );
        areas(&style, &layout, &frame, &mut header.areas, &mut sink);

        let ours: Vec<Outlet> = header
            .outlets
            .iter()
            .filter(|o| o.is_ours())
            .cloned()
            .collect();
        let owners = (!ours.is_empty()).then(|| crate::index::Layer::build(ours));
        if let Some(layer) = &owners {
            for a in &mut header.areas {
                a.owner_org_id = nearest(layer, a.polygon.representative_point())
                    .and_then(|o| o.parent_org_id.clone());
            }
        }

        let n = cfg.merchants;
        let streets = layout.streets.len() as f64;
        let street_total = match style {
            Style::Leshan => (STREET_SHARE * n as f64).min(STREET_CAP * streets),
            Style::Generic(_) if streets == 0.0 => 0.0,
            Style::Generic(_) => (STREET_SHARE * n as f64).clamp(
                (GENERIC_STREET_MIN * streets).min(n as f64 / 2.0),
                STREET_CAP * streets,
            ),
        };
        let draw = MerchantDraw {
            cum_general: cumulative(PROFILES.iter().map(|p| p.weight)),
            cum_street: cumulative(PROFILES.iter().map(|p| p.street_weight)),
            status_near: cumulative(STATUS_NEAR.into_iter()),
            status_far: cumulative(STATUS_FAR.into_iter()),
            near: NearGrid::new(&ours_xy, NEAR_OUTLET_M),
            p_street: if n == 0 { 0.0 } else { street_total / n as f64 },
        };
        Ok(Self {
            style,
            frame,
            layout,
            rng,
            contacts_rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_c0de),
            rejections_rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0dec_11ed),
            rejection_base: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
            draw,
            owners,
            merchants: n,
            communities: cfg.communities,
            next_merchant: 0,
            next_community: 0,
            header,
            sink,
        })
    }

    /// The org units, outlets and areas (once; empty afterwards).
    pub fn take_header(&mut self) -> CityHeader {
        std::mem::take(&mut self.header)
    }

    /// Merchants not yet handed out.
    pub fn merchants_left(&self) -> usize {
        self.merchants - self.next_merchant
    }

    /// Communities not yet handed out.
    pub fn communities_left(&self) -> usize {
        self.communities - self.next_community
    }

    /// The next (up to) `max` merchants.
    pub fn next_merchants(&mut self, max: usize) -> Vec<Merchant> {
        let end = self.next_merchant.saturating_add(max).min(self.merchants);
        let mut out = Vec::with_capacity(end - self.next_merchant);
        while self.next_merchant < end {
            let i = self.next_merchant;
            self.next_merchant += 1;
            if let Some(m) = self.merchant(i) {
                out.push(m);
            }
        }
        out
    }

    /// The next (up to) `max` communities. The merchants come first in the random stream: any
    /// not yet handed out are drawn (and dropped) before the first community.
    pub fn next_communities(&mut self, max: usize) -> Vec<Community> {
        while self.merchants_left() > 0 {
            self.next_merchants(65_536);
        }
        let end = self
            .next_community
            .saturating_add(max)
            .min(self.communities);
        let mut out = Vec::with_capacity(end - self.next_community);
        while self.next_community < end {
            let i = self.next_community;
            self.next_community += 1;
            if let Some(c) = self.community(i) {
                out.push(c);
            }
        }
        out
    }

    /// The first value that failed validation so far, as an error.
    pub fn error(&mut self) -> Option<GenError> {
        std::mem::take(&mut self.sink).into_error()
    }

    fn merchant(&mut self, i: usize) -> Option<Merchant> {
        let rng = &mut self.rng;
        let layout = &self.layout;
        let draw = &self.draw;
        let on_street = if rng.random_bool(draw.p_street) {
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
            None => layout.background(rng, 0.75),
        };
        let cum = if on_street.is_some() {
            &draw.cum_street
        } else {
            &draw.cum_general
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
            _ => word(rng, self.style.places()),
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
            None => format!(
                "{}{}号",
                pick(rng, self.style.roads()),
                rng.random_range(1..500)
            ),
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
            .then(|| pick(rng, self.style.banks()).0.to_string());
        let cum_status = if draw.near.any_within(xy, NEAR_OUTLET_M) {
            &draw.status_near
        } else {
            &draw.status_far
        };
        let status = PipelineStatus::ALL[pick_weighted(rng, cum_status)];
        let [lon, lat] = self.frame.lonlat(xy);
        let id = self.style.id("M", i + 1);
        let d = MerchantDraft {
            id: id.clone(),
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
        let mut m = self.sink.keep("merchant", || id, Merchant::try_from(d))?;
        // Who owns it: the nearest of our outlets. (Territories proper, with hand-drawn
        // boundaries, are the scoring issue's.)
        if let Some(layer) = &self.owners {
            m.owner_org_id = nearest(layer, m.location).map(|o| o.id.clone());
        }
        m.contact = contact(&mut self.contacts_rng).map(Box::new);
        // When each rejection happened: within the 240 days before 2026-11-01 (a fixed day, so
        // that the data stays the same), so that some are past a 90-day cool-down and some not.
        if m.status == PipelineStatus::Rejected {
            if let Some(base) = self.rejection_base {
                m.status_since =
                    Some(base - chrono::Duration::days(self.rejections_rng.random_range(0..240)));
            }
        }
        Some(m)
    }

    fn community(&mut self, i: usize) -> Option<Community> {
        let rng = &mut self.rng;
        let layout = &self.layout;
        let centre = if rng.random_bool(0.75) {
            let c = layout.centre(rng);
            around(rng, c.xy, c.sigma_m * 1.4)
        } else {
            layout.background(rng, 0.6)
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
            word(rng, self.style.places())
        } else {
            word(rng, COMMUNITY_WORDS)
        });
        name.push_str(word(rng, COMMUNITY_SUFFIXES));
        let households = (300.0 + 2_700.0 * rng.random::<f64>().powf(1.3)).round();
        let population = (households * rng.random_range(2.6..3.0)).round();
        // Prices fall from the centre outwards, as they do in a Chinese city.
        let from_centre = (dist(centre, [0.0, 0.0]) / layout.radius_m).min(1.0);
        let price = match &self.style {
            Style::Leshan => (13_000.0 - 6_000.0 * from_centre + normal(rng) * 800.0)
                .clamp(6_000.0, 14_000.0)
                .round(),
            Style::Generic(c) => {
                let p0 = c.house_price_cny_m2;
                (p0 * (1.0 - 0.6 * from_centre) + normal(rng) * 0.06 * p0)
                    .clamp(0.35 * p0, 1.1 * p0)
                    .round()
            }
        };
        let bank_customers = (population * rng.random_range(0.05..0.30)).round();
        let road = pick(rng, self.style.roads());
        let address = match self.style {
            Style::Leshan => format!("市中区{road}{}号", rng.random_range(1..500)),
            Style::Generic(_) => format!("{road}{}号", rng.random_range(1..500)),
        };
        let id = self.style.id("C", i + 1);
        let d = CommunityDraft {
            id: id.clone(),
            name,
            polygon: Some(vec![self.frame.ring(&ring)]),
            lon: None,
            lat: None,
            address: Some(address),
            households,
            population: Some(population),
            avg_house_price_cny_m2: Some(price),
            bank_customers: Some(bank_customers),
            owner_org_id: None,
        };
        let mut c = self.sink.keep("community", || id, Community::try_from(d))?;
        if let Some(layer) = &self.owners {
            c.owner_org_id = nearest(layer, c.location).and_then(|o| o.parent_org_id.clone());
        }
        Some(c)
    }
}

fn nearest(layer: &crate::index::Layer<Outlet>, at: Location) -> Option<&Outlet> {
    layer
        .nearest(at, 1, None)
        .first()
        .map(|h| layer.item(h.slot))
}

fn build(cfg: &GenConfig) -> Result<(Dataset, Sink), GenError> {
    let mut city = CityStream::new(cfg)?;
    let header = city.take_header();
    let mut ds = Dataset {
        org_units: header.org_units,
        outlets: header.outlets,
        areas: header.areas,
        ..Dataset::default()
    };
    ds.merchants = city.next_merchants(cfg.merchants);
    ds.communities = city.next_communities(cfg.communities);
    Ok((ds, std::mem::take(&mut city.sink)))
}

/// Synthetic owner contacts for about one merchant in five (personal information in real data;
/// here invented, to show masking), drawn from their own random stream.
fn contact(rng: &mut ChaCha8Rng) -> Option<crate::domain::Contact> {
    const FAMILY: [&str; 12] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "罗", "郭",
    ];
    if !rng.random_bool(0.2) {
        return None;
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
    Some(crate::domain::Contact {
        name: Some(name),
        phone: Some(phone),
    })
}

/// The demo: 总行 > 四川省分行 > 乐山分行 > sub-branches. A generic city: its branch (under
/// `parent_id`) > sub-branches. Returns the sub-branch ids.
fn org_tree(
    cfg: &GenConfig,
    style: &Style,
    units: &mut Vec<OrgUnit>,
    sink: &mut Sink,
) -> Vec<String> {
    let mut drafts = Vec::new();
    let (n_sub, parent) = match style {
        Style::Leshan => {
            drafts.extend(
                [
                    ("HQ", "总行", OrgLevel::HeadOffice, None),
                    ("SC", "四川省分行", OrgLevel::ProvinceBranch, Some("HQ")),
                    ("LS", "乐山分行", OrgLevel::CityBranch, Some("SC")),
                ]
                .into_iter()
                .map(|(id, name, level, parent)| OrgUnitDraft {
                    id: id.into(),
                    name: name.into(),
                    level,
                    parent_id: parent.map(Into::into),
                }),
            );
            let n_sub = if cfg.outlets_ours <= 6 {
                3
            } else {
                cfg.outlets_ours.div_ceil(8)
            };
            (n_sub, "LS".to_string())
        }
        Style::Generic(c) => {
            let id = format!("{}-BR", c.code);
            let (name, level) = if c.municipality {
                (format!("{}市分行", c.name), OrgLevel::ProvinceBranch)
            } else {
                (format!("{}分行", c.name), OrgLevel::CityBranch)
            };
            drafts.push(OrgUnitDraft {
                id: id.clone(),
                name,
                level,
                parent_id: Some(c.parent_id.clone()),
            });
            (cfg.outlets_ours.div_ceil(8).max(1), id)
        }
    };
    let demo_names = ["张公桥支行", "市中区支行", "嘉州支行"];
    let mut ids = Vec::with_capacity(n_sub);
    for i in 0..n_sub {
        let id = style.id("SB", i + 1);
        let name = match style {
            Style::Leshan => match demo_names.get(i) {
                Some(n) => n.to_string(),
                None => format!("{}支行", place_name(i)),
            },
            Style::Generic(c) => format!("{}{}支行", c.name, numbered(GENERIC_PLACES, i)),
        };
        ids.push(id.clone());
        drafts.push(OrgUnitDraft {
            id,
            name,
            level: OrgLevel::SubBranch,
            parent_id: Some(parent.clone()),
        });
    }
    for d in drafts {
        let id = d.id.clone();
        if let Some(u) = sink.keep("org unit", || id, OrgUnit::try_from(d)) {
            units.push(u);
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
#[allow(clippy::too_many_arguments)]
fn outlets(
    cfg: &GenConfig,
    style: &Style,
    layout: &Layout,
    frame: &Frame,
    sub_branches: &[String],
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Outlet>,
    sink: &mut Sink,
) -> Vec<Xy> {
    let mut ours_xy = Vec::with_capacity(cfg.outlets_ours);
    for i in 0..cfg.outlets_ours {
        let fixed = match style {
            Style::Leshan => DEMO_OURS
                .get(i)
                .map(|&(name, kind, x, y)| (name.to_string(), kind, [x, y])),
            // A generic city's first outlet is the branch's own, at the core.
            Style::Generic(c) if i == 0 => Some((
                format!("{}分行营业部", c.name),
                OutletKind::BusinessDistrict,
                around(rng, [0.0, 0.0], 150.0),
            )),
            Style::Generic(_) => None,
        };
        let (name, kind, xy) = match fixed {
            Some(f) => f,
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
        let road = pick(rng, style.roads());
        let number = rng.random_range(1..300);
        let address = match style {
            Style::Leshan => format!("市中区{road}{number}号"),
            Style::Generic(_) => format!("{road}{number}号"),
        };
        let d = OutletDraft {
            id: style.id("OUT", i + 1),
            name,
            competitor_bank: None,
            kind,
            parent_org_id: parent,
            address: Some(address),
            lon,
            lat,
        };
        let id = d.id.clone();
        if let Some(o) = sink.keep("outlet", || id, Outlet::try_from(d)) {
            out.push(o);
            ours_xy.push(xy);
        }
    }
    for i in 0..cfg.outlets_competitors {
        let demo = match style {
            Style::Leshan => DEMO_COMPETITORS.get(i),
            Style::Generic(_) => None,
        };
        let (bank, name, xy) = match demo {
            Some(&(b, place, x, y)) => (BANKS[b].0, format!("{}{place}", BANKS[b].1), [x, y]),
            None => {
                let &(bank, full) = pick(rng, style.banks());
                let c = layout.centre(rng);
                let name = match style {
                    Style::Leshan => format!("{full}{}支行", c.place),
                    Style::Generic(city) => format!("{full}{}{}支行", city.name, c.place),
                };
                (bank, name, around(rng, c.xy, c.sigma_m * 0.5))
            }
        };
        let [lon, lat] = frame.lonlat(xy);
        let d = OutletDraft {
            id: style.id("CMP", i + 1),
            name,
            competitor_bank: Some(bank.into()),
            kind: OutletKind::Mixed,
            parent_org_id: None,
            address: None,
            lon,
            lat,
        };
        let id = d.id.clone();
        if let Some(o) = sink.keep("outlet", || id, Outlet::try_from(d)) {
            out.push(o);
        }
    }
    ours_xy
}

fn areas(style: &Style, layout: &Layout, frame: &Frame, out: &mut Vec<Area>, sink: &mut Sink) {
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
            id: style.id("A", i + 1),
            name,
            kind,
            polygon: vec![frame.ring(&ring)],
            owner_org_id: None,
        };
        let id = d.id.clone();
        if let Some(a) = sink.keep("area", || id, Area::try_from(d)) {
            out.push(a);
        }
    }
}

/// Pipeline status shares (prospect, visited, interested, signed, active, rejected, churned):
/// near our outlets the staff have walked the street, so more merchants are further along.
const STATUS_NEAR: [f64; 7] = [45.0, 14.0, 9.0, 15.0, 11.0, 5.0, 1.0];
const STATUS_FAR: [f64; 7] = [82.0, 7.0, 3.5, 3.0, 2.0, 2.0, 0.5];

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

//! The real Chinese cities that the `national` preset spreads its data over, and their provinces.
//!
//! Sources (see docs/GENERATED_DATA.md):
//! - Centre coordinates: the city's point in GeoNames (geonames.org, CC BY 4.0), WGS-84, rounded to
//!   0.01°; Leshan (乐山) uses the demo's centre (张公桥) and Lhasa (拉萨) and Qinhuangdao (秦皇岛)
//!   their usual city-centre coordinates. A synthetic city only needs a plausible centre.
//! - Size weights: the urban-area (城区) population in millions. For the 21 cities above 5 million
//!   these are the 2020 census figures behind the State Council's 2021 city-size classification
//!   (超大城市 above 10 M, 特大城市 5–10 M), rounded to 0.1 M; for the other cities they are rounded
//!   estimates of the same measure. They are weights for sharing out merchants, outlets and
//!   communities, not statistics to quote.
//! - Province codes: the two-letter codes of GB/T 2260 (also ISO 3166-2:CN).

/// A province-level division: its two-letter code and full name (the branch is "{name}分行").
#[derive(Debug, Clone, Copy)]
pub struct Province {
    pub code: &'static str,
    pub name: &'static str,
    /// Beijing, Tianjin, Shanghai and Chongqing: the city's own branch is at province level.
    pub municipality: bool,
}

/// A city: id prefix, name, province code, centre `[lon, lat]` (WGS-84) and size weight (urban
/// population in millions).
#[derive(Debug, Clone, Copy)]
pub struct City {
    pub code: &'static str,
    pub name: &'static str,
    pub province: &'static str,
    pub center: [f64; 2],
    pub weight: f64,
}

const fn p(code: &'static str, name: &'static str, municipality: bool) -> Province {
    Province {
        code,
        name,
        municipality,
    }
}

#[rustfmt::skip]
pub const PROVINCES: &[Province] = &[
    p("BJ", "北京市", true), p("TJ", "天津市", true), p("SH", "上海市", true), p("CQ", "重庆市", true),
    p("HE", "河北省", false), p("SX", "山西省", false), p("NM", "内蒙古自治区", false),
    p("LN", "辽宁省", false), p("JL", "吉林省", false), p("HL", "黑龙江省", false),
    p("JS", "江苏省", false), p("ZJ", "浙江省", false), p("AH", "安徽省", false),
    p("FJ", "福建省", false), p("JX", "江西省", false), p("SD", "山东省", false),
    p("HA", "河南省", false), p("HB", "湖北省", false), p("HN", "湖南省", false),
    p("GD", "广东省", false), p("GX", "广西壮族自治区", false), p("HI", "海南省", false),
    p("SC", "四川省", false), p("GZ", "贵州省", false), p("YN", "云南省", false),
    p("XZ", "西藏自治区", false), p("SN", "陕西省", false), p("GS", "甘肃省", false),
    p("QH", "青海省", false), p("NX", "宁夏回族自治区", false), p("XJ", "新疆维吾尔自治区", false),
];

const fn c(
    code: &'static str,
    name: &'static str,
    province: &'static str,
    lon: f64,
    lat: f64,
    weight: f64,
) -> City {
    City {
        code,
        name,
        province,
        center: [lon, lat],
        weight,
    }
}

/// 142 cities: every provincial capital and the larger prefecture-level cities, largest first.
#[rustfmt::skip]
pub const CITIES: &[City] = &[
    // 超大城市 (urban population above 10 million)
    c("SH", "上海", "SH", 121.46, 31.22, 19.9),
    c("BJ", "北京", "BJ", 116.40, 39.91, 18.8),
    c("SZ", "深圳", "GD", 114.07, 22.55, 17.4),
    c("CQ", "重庆", "CQ", 106.56, 29.56, 16.3),
    c("GZ", "广州", "GD", 113.25, 23.12, 15.3),
    c("CD", "成都", "SC", 104.07, 30.67, 13.3),
    c("TJ", "天津", "TJ", 117.18, 39.14, 11.7),
    // 特大城市 (5–10 million)
    c("WH", "武汉", "HB", 114.27, 30.58, 9.9),
    c("DG", "东莞", "GD", 113.75, 23.02, 9.6),
    c("XA", "西安", "SN", 108.93, 34.26, 9.3),
    c("HZ", "杭州", "ZJ", 120.16, 30.29, 8.7),
    c("FS", "佛山", "GD", 113.13, 23.03, 8.5),
    c("NJ", "南京", "JS", 118.78, 32.06, 7.9),
    c("SY", "沈阳", "LN", 123.43, 41.79, 7.1),
    c("QD", "青岛", "SD", 120.38, 36.06, 6.0),
    c("JN", "济南", "SD", 117.00, 36.67, 5.9),
    c("CS", "长沙", "HN", 112.97, 28.20, 5.6),
    c("HRB", "哈尔滨", "HL", 126.65, 45.75, 5.4),
    c("ZZ", "郑州", "HA", 113.65, 34.76, 5.3),
    c("KM", "昆明", "YN", 102.72, 25.04, 5.3),
    c("DL", "大连", "LN", 121.60, 38.91, 5.2),
    // 大城市 and others
    c("SUZ", "苏州", "JS", 120.60, 31.30, 4.8),
    c("HF", "合肥", "AH", 117.28, 31.86, 4.4),
    c("CC", "长春", "JL", 125.32, 43.88, 4.3),
    c("SJZ", "石家庄", "HE", 114.48, 38.04, 4.1),
    c("NB", "宁波", "ZJ", 121.55, 29.88, 4.0),
    c("TY", "太原", "SX", 112.56, 37.87, 3.8),
    c("XM", "厦门", "FJ", 118.08, 24.48, 3.6),
    c("NN", "南宁", "GX", 108.32, 22.82, 3.6),
    c("WX", "无锡", "JS", 120.29, 31.57, 3.5),
    c("NCA", "南昌", "JX", 115.85, 28.68, 3.5),
    c("GY", "贵阳", "GZ", 106.72, 26.58, 3.5),
    c("WLMQ", "乌鲁木齐", "XJ", 87.60, 43.80, 3.5),
    c("FZ", "福州", "FJ", 119.31, 26.06, 3.3),
    c("ST", "汕头", "GD", 116.68, 23.35, 3.0),
    c("LZ", "兰州", "GS", 103.84, 36.06, 2.8),
    c("WZ", "温州", "ZJ", 120.67, 28.00, 2.8),
    c("CZ", "常州", "JS", 119.95, 31.77, 2.7),
    c("XZ", "徐州", "JS", 117.28, 34.20, 2.6),
    c("ZS", "中山", "GD", 113.38, 22.52, 2.5),
    c("HUZ", "惠州", "GD", 114.42, 23.11, 2.3),
    c("SX", "绍兴", "ZJ", 120.58, 30.00, 2.2),
    c("HHHT", "呼和浩特", "NM", 111.65, 40.81, 2.1),
    c("NT", "南通", "JS", 120.87, 32.03, 2.1),
    c("ZB", "淄博", "SD", 118.06, 36.79, 2.1),
    c("ZH", "珠海", "GD", 113.57, 22.28, 2.0),
    c("YT", "烟台", "SD", 121.44, 37.48, 2.0),
    c("LY", "临沂", "SD", 118.34, 35.06, 2.0),
    c("TS", "唐山", "HE", 118.18, 39.64, 2.0),
    c("HK", "海口", "HI", 110.35, 20.03, 1.9),
    c("WF", "潍坊", "SD", 119.10, 36.71, 1.9),
    c("LUOY", "洛阳", "HA", 112.44, 34.67, 1.9),
    c("BD", "保定", "HE", 115.46, 38.87, 1.8),
    c("BT", "包头", "NM", 109.84, 40.65, 1.8),
    c("MY", "绵阳", "SC", 104.68, 31.47, 1.6),
    c("JM", "江门", "GD", 113.08, 22.58, 1.6),
    c("XY", "襄阳", "HB", 112.14, 32.04, 1.6),
    c("YZ", "扬州", "JS", 119.44, 32.40, 1.6),
    c("LZH", "柳州", "GX", 109.41, 24.32, 1.6),
    c("HD", "邯郸", "HE", 114.49, 36.61, 1.6),
    c("ZJ", "湛江", "GD", 110.39, 21.23, 1.5),
    c("QZ", "泉州", "FJ", 118.59, 24.91, 1.5),
    c("WHU", "芜湖", "AH", 118.43, 31.35, 1.5),
    c("YC", "银川", "NX", 106.27, 38.47, 1.5),
    c("YANC", "盐城", "JS", 120.16, 33.36, 1.4),
    c("HA", "淮安", "JS", 119.02, 33.59, 1.4),
    c("DQ", "大庆", "HL", 125.00, 46.58, 1.4),
    c("NCH", "南充", "SC", 106.08, 30.80, 1.3),
    c("YICH", "宜昌", "HB", 111.28, 30.71, 1.3),
    c("JX", "嘉兴", "ZJ", 120.75, 30.75, 1.3),
    c("JH", "金华", "ZJ", 119.64, 29.11, 1.3),
    c("AS", "鞍山", "LN", 122.99, 41.12, 1.3),
    c("JNI", "济宁", "SD", 116.58, 35.41, 1.3),
    c("DT", "大同", "SX", 113.29, 40.09, 1.3),
    c("JL", "吉林", "JL", 126.56, 43.85, 1.3),
    c("XN", "西宁", "QH", 101.76, 36.63, 1.3),
    c("NY", "南阳", "HA", 112.53, 32.99, 1.2),
    c("GZH", "赣州", "JX", 114.93, 25.85, 1.2),
    c("ZY", "遵义", "GZ", 106.91, 27.69, 1.2),
    c("YB", "宜宾", "SC", 104.64, 28.76, 1.1),
    c("ZZH", "株洲", "HN", 113.15, 27.83, 1.1),
    c("HY", "衡阳", "HN", 112.62, 26.89, 1.1),
    c("GL", "桂林", "GX", 110.30, 25.28, 1.1),
    c("LYG", "连云港", "JS", 119.22, 34.60, 1.1),
    c("LUZ", "泸州", "SC", 105.43, 28.89, 1.0),
    c("XIY", "咸阳", "SN", 108.70, 34.34, 1.0),
    c("HUZH", "湖州", "ZJ", 120.09, 30.87, 1.0),
    c("ZJI", "镇江", "JS", 119.46, 32.21, 1.0),
    c("PT", "莆田", "FJ", 119.01, 25.44, 1.0),
    c("MM", "茂名", "GD", 110.91, 21.67, 1.0),
    c("QHD", "秦皇岛", "HE", 119.60, 39.94, 1.0),
    c("TA", "泰安", "SD", 117.12, 36.19, 1.0),
    c("FY", "阜阳", "AH", 115.82, 32.90, 1.0),
    c("FSH", "抚顺", "LN", 123.94, 41.89, 1.0),
    c("BJI", "宝鸡", "SN", 107.24, 34.37, 0.9),
    c("LES", "乐山", "SC", 103.76, 29.57, 0.9),
    c("QJ", "曲靖", "YN", 103.78, 25.48, 0.9),
    c("JY", "揭阳", "GD", 116.37, 23.54, 0.9),
    c("QY", "清远", "GD", 113.03, 23.70, 0.9),
    c("LF", "廊坊", "HE", 116.71, 39.52, 0.9),
    c("WEH", "威海", "SD", 122.11, 37.51, 0.9),
    c("YY", "岳阳", "HN", 113.09, 29.37, 0.9),
    c("JJ", "九江", "JX", 116.00, 29.70, 0.9),
    c("KF", "开封", "HA", 114.31, 34.80, 0.9),
    c("XX", "新乡", "HA", 113.80, 35.19, 0.9),
    c("AY", "安阳", "HA", 114.38, 36.10, 0.9),
    c("BB", "蚌埠", "AH", 117.36, 32.94, 0.9),
    c("HN", "淮南", "AH", 117.00, 32.63, 0.9),
    c("JZ", "荆州", "HB", 112.19, 30.35, 0.9),
    c("QQHE", "齐齐哈尔", "HL", 123.96, 47.34, 0.9),
    c("SQ", "宿迁", "JS", 118.30, 33.95, 0.9),
    c("ZG", "自贡", "SC", 104.78, 29.34, 0.8),
    c("ZQ", "肇庆", "GD", 112.46, 23.05, 0.8),
    c("CDE", "常德", "HN", 111.70, 29.03, 0.8),
    c("PDS", "平顶山", "HA", 113.30, 33.74, 0.8),
    c("SHY", "十堰", "HB", 110.78, 32.65, 0.8),
    c("XT", "湘潭", "HN", 112.90, 27.85, 0.8),
    c("YL", "玉林", "GX", 110.15, 22.63, 0.8),
    c("CZH", "长治", "SX", 113.11, 36.18, 0.8),
    c("LC", "聊城", "SD", 116.00, 36.45, 0.8),
    c("ZAOZ", "枣庄", "SD", 117.55, 34.86, 0.8),
    c("DY", "东营", "SD", 118.49, 37.46, 0.8),
    c("SQI", "商丘", "HA", 115.65, 34.45, 0.8),
    c("SR", "上饶", "JX", 117.94, 28.45, 0.7),
    c("BX", "本溪", "LN", 123.77, 41.29, 0.7),
    c("DZ", "达州", "SC", 107.46, 31.21, 0.7),
    c("SG", "韶关", "GD", 113.58, 24.80, 0.7),
    c("TSH", "天水", "GS", 105.74, 34.58, 0.6),
    c("EEDS", "鄂尔多斯", "NM", 109.78, 39.61, 0.6),
    c("MS", "眉山", "SC", 103.84, 30.04, 0.6),
    c("NJI", "内江", "SC", 105.06, 29.58, 0.6),
    c("LYA", "龙岩", "FJ", 117.02, 25.07, 0.6),
    c("WN", "渭南", "SN", 109.51, 34.50, 0.6),
    c("JZHO", "晋中", "SX", 112.75, 37.68, 0.6),
    c("LINF", "临汾", "SX", 111.52, 36.09, 0.6),
    c("XC", "许昌", "HA", 113.86, 34.03, 0.6),
    c("XIN", "信阳", "HA", 114.07, 32.12, 0.6),
    c("LA", "六安", "AH", 116.52, 31.74, 0.6),
    c("SANY", "三亚", "HI", 109.51, 18.25, 0.6),
    c("HANZ", "汉中", "SN", 107.02, 33.08, 0.5),
    c("MZ", "梅州", "GD", 116.12, 24.29, 0.5),
    c("LS", "拉萨", "XZ", 91.11, 29.65, 0.4),
];

pub fn province(code: &str) -> Option<&'static Province> {
    PROVINCES.iter().find(|p| p.code == code)
}

pub fn city(code: &str) -> Option<&'static City> {
    CITIES.iter().find(|c| c.code == code)
}

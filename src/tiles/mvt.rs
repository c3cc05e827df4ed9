//! A Mapbox Vector Tile (spec 2.1) encoder: the protobuf wire format written directly.
//!
//! Why our own rather than the `mvt` crate: that crate allocates a `String` for every tag and
//! hashes every value through a general map, which for a tile of a few thousand merchants costs
//! more than the whole 1 ms budget a z14 tile has (issue 6). The format itself is small — three
//! nested messages, varints, zig-zag deltas — and the features reaching here are already in tile
//! units, simplified and limited (see `tiles`). What it writes is checked in tests by GDAL's MVT
//! reader (`ogrinfo`) and by MapLibre in the browser tests, both independent decoders.

use std::collections::HashMap;

/// The tile's coordinate range: 4096 units per side, the spec's default.
pub const EXTENT: u32 = 4096;

/// A feature's geometry in tile units (x right, y down; may reach outside 0..EXTENT).
#[derive(Debug, Clone, PartialEq)]
pub enum TileGeom {
    Point([i32; 2]),
    /// Rings, not repeating their first point; the first is the exterior. Winding is fixed here.
    Polygon(Vec<Vec<[i32; 2]>>),
}

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop<'a> {
    /// A string shared by many features (a category, a status): stored once per layer.
    Str(&'a str),
    /// A string of one feature (an id, a name): written as is, not looked up.
    Unique(&'a str),
    /// An owned string (computed values, e.g. an H3 cell id).
    Text(String),
    Int(i64),
    Double(f64),
}

/// One feature of a layer, in tile units, with its properties: what both the MVT and the
/// GeoJSON form of a tile are written from.
#[derive(Debug, Clone, PartialEq)]
pub struct TileFeature<'a> {
    pub id: u64,
    pub geom: TileGeom,
    pub props: Vec<(&'static str, Prop<'a>)>,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, u64::from(field << 3 | u32::from(wire)));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(out, field, 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

/// Twice the signed area of a ring in tile units (y down): positive is clockwise on screen,
/// which the spec requires of exterior rings.
fn area2(ring: &[[i32; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let [x0, y0] = ring[i];
            let [x1, y1] = ring[(i + 1) % n];
            i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0)
        })
        .sum()
}

/// Geometry commands for a feature (the cursor starts at 0,0 for each feature).
fn geometry(g: &TileGeom, out: &mut Vec<u32>) -> bool {
    out.clear();
    match g {
        TileGeom::Point([x, y]) => {
            out.extend([command(1, 1), zigzag(*x), zigzag(*y)]);
            true
        }
        TileGeom::Polygon(rings) => {
            let mut cursor = [0i32, 0i32];
            for (i, ring) in rings.iter().enumerate() {
                let a = area2(ring);
                if ring.len() < 3 || a == 0 {
                    if i == 0 {
                        return false;
                    }
                    continue;
                }
                // Exterior clockwise (positive), holes the other way.
                let reverse = (i == 0) != (a > 0);
                let mut pts: Vec<[i32; 2]> = ring.clone();
                if reverse {
                    pts.reverse();
                }
                let mut push = |p: [i32; 2], out: &mut Vec<u32>| {
                    out.push(zigzag(p[0].wrapping_sub(cursor[0])));
                    out.push(zigzag(p[1].wrapping_sub(cursor[1])));
                    cursor = p;
                };
                out.push(command(1, 1));
                push(pts[0], out);
                out.push(command(2, (pts.len() - 1) as u32));
                for &p in &pts[1..] {
                    push(p, out);
                }
                out.push(command(7, 1));
            }
            !out.is_empty()
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
enum ValueKey {
    Int(i64),
    Double(u64),
}

/// One layer being written.
pub struct LayerWriter {
    name: String,
    features: Vec<u8>,
    keys: Vec<&'static str>,
    /// `Value` messages, each already encoded as a layer field 4, in index order.
    values: Vec<u8>,
    value_count: u32,
    str_values: HashMap<String, u32>,
    other_values: HashMap<ValueKey, u32>,
    feature_buf: Vec<u8>,
    packed: Vec<u8>,
    value_buf: Vec<u8>,
    geom: Vec<u32>,
    tags: Vec<u32>,
    count: usize,
}

impl LayerWriter {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            features: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
            value_count: 0,
            str_values: HashMap::new(),
            other_values: HashMap::new(),
            feature_buf: Vec::new(),
            packed: Vec::new(),
            value_buf: Vec::new(),
            geom: Vec::new(),
            tags: Vec::new(),
            count: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn key_index(&mut self, k: &'static str) -> u32 {
        // A layer has a handful of keys: a scan beats hashing.
        match self.keys.iter().position(|x| *x == k) {
            Some(i) => i as u32,
            None => {
                self.keys.push(k);
                (self.keys.len() - 1) as u32
            }
        }
    }

    /// Appends an encoded `Value` and returns its index.
    fn push_value(&mut self, v: &Prop<'_>) -> u32 {
        let b = &mut self.value_buf;
        b.clear();
        match v {
            Prop::Str(s) | Prop::Unique(s) => bytes_field(b, 1, s.as_bytes()),
            Prop::Text(s) => bytes_field(b, 1, s.as_bytes()),
            Prop::Double(d) => {
                key(b, 3, 1);
                b.extend_from_slice(&d.to_bits().to_le_bytes());
            }
            Prop::Int(i) => {
                // sint_value (zig-zag): small negatives stay small.
                key(b, 6, 0);
                varint(b, ((i << 1) ^ (i >> 63)) as u64);
            }
        }
        bytes_field(&mut self.values, 4, &self.value_buf);
        self.value_count += 1;
        self.value_count - 1
    }

    fn value_index(&mut self, v: &Prop<'_>) -> u32 {
        match v {
            Prop::Unique(_) => self.push_value(v),
            Prop::Str(s) => self.shared_str(s, v),
            Prop::Text(s) => self.shared_str(s, v),
            Prop::Int(i) => self.shared(ValueKey::Int(*i), v),
            Prop::Double(d) => self.shared(ValueKey::Double(d.to_bits()), v),
        }
    }

    fn shared_str(&mut self, s: &str, v: &Prop<'_>) -> u32 {
        if let Some(&i) = self.str_values.get(s) {
            return i;
        }
        let i = self.push_value(v);
        self.str_values.insert(s.to_string(), i);
        i
    }

    fn shared(&mut self, k: ValueKey, v: &Prop<'_>) -> u32 {
        if let Some(&i) = self.other_values.get(&k) {
            return i;
        }
        let i = self.push_value(v);
        self.other_values.insert(k, i);
        i
    }

    /// Adds a feature; a polygon that has collapsed (no area) is left out. Returns whether it
    /// was written.
    pub fn add(&mut self, f: &TileFeature<'_>) -> bool {
        let mut geom = std::mem::take(&mut self.geom);
        if !geometry(&f.geom, &mut geom) {
            self.geom = geom;
            return false;
        }
        let mut tags = std::mem::take(&mut self.tags);
        tags.clear();
        for (k, v) in &f.props {
            let ki = self.key_index(k);
            let vi = self.value_index(v);
            tags.extend([ki, vi]);
        }
        let buf = &mut self.feature_buf;
        buf.clear();
        key(buf, 1, 0);
        varint(buf, f.id);
        let packed = &mut self.packed;
        packed.clear();
        for t in &tags {
            varint(packed, u64::from(*t));
        }
        bytes_field(buf, 2, packed);
        key(buf, 3, 0);
        varint(
            buf,
            match f.geom {
                TileGeom::Point(_) => 1,
                TileGeom::Polygon(_) => 3,
            },
        );
        packed.clear();
        for g in &geom {
            varint(packed, u64::from(*g));
        }
        bytes_field(buf, 4, packed);
        bytes_field(&mut self.features, 2, buf);
        self.geom = geom;
        self.tags = tags;
        self.count += 1;
        true
    }

    /// The encoded `Layer` message.
    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.features.len() + 64);
        key(&mut out, 15, 0);
        varint(&mut out, 2);
        bytes_field(&mut out, 1, self.name.as_bytes());
        out.extend_from_slice(&self.features);
        for k in &self.keys {
            bytes_field(&mut out, 3, k.as_bytes());
        }
        out.extend_from_slice(&self.values);
        key(&mut out, 5, 0);
        varint(&mut out, u64::from(EXTENT));
        out
    }
}

/// Encodes layers into one tile (`Tile` message); empty layers are left out.
pub fn encode_tile(layers: Vec<LayerWriter>) -> Vec<u8> {
    let mut out = Vec::new();
    for l in layers.into_iter().filter(|l| !l.is_empty()) {
        let bytes = l.finish();
        bytes_field(&mut out, 3, &bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_follow_the_protobuf_rules() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, [0xAC, 0x02]);
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(-2), 3);
    }

    #[test]
    fn a_point_is_the_specs_example() {
        // Spec 2.1, 4.3.5.1: a point at (25, 17) is [9, 50, 34].
        let mut g = Vec::new();
        assert!(geometry(&TileGeom::Point([25, 17]), &mut g));
        assert_eq!(g, [9, 50, 34]);
    }

    #[test]
    fn polygons_are_written_clockwise_and_holes_counter_clockwise() {
        // Spec 4.3.5.3 example polygon (3,6) (8,12) (20,34): [9 6 12 18 10 12 24 44 15].
        let mut g = Vec::new();
        assert!(geometry(
            &TileGeom::Polygon(vec![vec![[3, 6], [8, 12], [20, 34]]]),
            &mut g
        ));
        assert_eq!(g, [9, 6, 12, 18, 10, 12, 24, 44, 15]);
        // The same ring given the other way round is reversed to clockwise.
        let mut r = Vec::new();
        assert!(geometry(
            &TileGeom::Polygon(vec![vec![[20, 34], [8, 12], [3, 6]]]),
            &mut r
        ));
        assert_eq!(r, g);
        // A hole given clockwise comes out counter-clockwise (negative area).
        let outer = vec![[0, 0], [100, 0], [100, 100], [0, 100]];
        let hole = vec![[10, 10], [20, 10], [20, 20], [10, 20]];
        assert!(area2(&outer) > 0 && area2(&hole) > 0);
        let mut h = Vec::new();
        assert!(geometry(&TileGeom::Polygon(vec![outer, hole]), &mut h));
        // After the exterior (MoveTo + 2, LineTo + 6, ClosePath = 11), the hole starts at
        // reversed, at (10,20): delta (10, -80) from the exterior's last point (0,100), then
        // (20,20): right along its lower edge, counter-clockwise on screen.
        assert_eq!(h[11], command(1, 1));
        assert_eq!(h[12..14], [zigzag(10), zigzag(-80)]);
        assert_eq!(h[14], command(2, 3));
        assert_eq!(h[15..17], [zigzag(10), zigzag(0)]);
        assert!(area2(&[[10, 20], [20, 20], [20, 10], [10, 10]]) < 0);
    }

    #[test]
    fn collapsed_polygons_are_left_out() {
        let mut l = LayerWriter::new("x");
        let f = TileFeature {
            id: 1,
            geom: TileGeom::Polygon(vec![vec![[1, 1], [1, 1], [1, 1]]]),
            props: vec![],
        };
        assert!(!l.add(&f));
        assert!(l.is_empty());
        assert!(encode_tile(vec![l]).is_empty());
    }

    #[test]
    fn values_are_shared_between_features() {
        let mut l = LayerWriter::new("merchants");
        for id in 0..3 {
            l.add(&TileFeature {
                id,
                geom: TileGeom::Point([1, 2]),
                props: vec![("category", Prop::Str("dining")), ("signed", Prop::Int(1))],
            });
        }
        assert_eq!(l.len(), 3);
        assert_eq!(l.keys, ["category", "signed"]);
        assert_eq!(l.value_count, 2);
    }
}

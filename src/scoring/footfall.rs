//! Per-merchant statistics that the priority score needs, in one pass over the communities:
//! footfall (observed, or estimated with the Huff model), the unbanked households within the
//! category's reach (the C side), and the area a merchant lies in.
//!
//! The Huff estimate, per community i and category c: the competing merchants are those of
//! category c within the category's reach of the community's point; their distances are
//! walking metres, raised to at least `min_distance_m`; attractiveness A_j is the rating, 3.5
//! when missing (the middle of the generator's and the review sites' usual 3–5 band, so that an
//! unrated shop is neither favoured nor buried). Merchant j gains P_ij × households_i ×
//! visit_rate(c) visits a day. The walking metres come from the [`Walking`] given to
//! [`estimate`], and [`MerchantStats::distance`] says which:
//!
//! - straight line × detour (`"straight_line_x_detour"`, no street network loaded): the
//!   competitors are the merchants within `reach_m(c)` in a straight line, at straight ×
//!   `detour_factor`;
//! - the street network (`"street_network"`): the merchants within `reach_m(c)` in a straight
//!   line are the candidates (a walk is never shorter than the straight line, so no merchant
//!   within `reach_m(c)` walking metres is missed), measured with one bounded search per
//!   community, and those farther than `reach_m(c)` walking metres are out of the market. A
//!   merchant across a river whose only bridge is far away drops out of (or weighs little in) the
//!   choice of the households on the other bank. The C side follows the same rule: a community
//!   counts in a merchant's C side when the merchant is within the category's walking reach.
//!   A community or merchant farther than `max_snap_m` from every street falls back to straight
//!   line × detour for its pairs, still kept to `reach_m(c)` walking metres.
//!
//!   Note that the network's market is the merchants within `reach_m` *walking* metres, while
//!   the straight model keeps those within `reach_m` in a straight line (≈ `reach_m ×
//!   detour_factor` walking): the same `data/scoring.toml` gives a smaller market with a network.
//!
//! One radius scan per community at the largest reach feeds every category at once; the hits
//! go into per-category buffers that are reused, so the inner loop allocates nothing, and the
//! communities are shared out among threads in small chunks, each thread summing into its own
//! vectors, merged at the end. On a network each thread keeps its own search memory
//! ([`crate::network::Search`]), each community's search stops at the largest reach, and each
//! merchant is snapped to the streets once, by the first thread that needs it (72 bytes a
//! merchant while the estimate runs: 72 MB for a million).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::domain::{AreaKind, Community, Location};
use crate::index::SpatialIndex;
use crate::network::{NetworkDistances, Search, Snap, Walking};

use super::params::ScoringParams;

/// Attractiveness of a merchant without a rating.
pub const DEFAULT_RATING: f64 = 3.5;

/// Persons per household used for penetration when a community has no population figure
/// (China's 2020 census: 2.62 per household; compounds in cities run a little higher).
pub const PERSONS_PER_HOUSEHOLD: f64 = 2.8;

/// Indexed by merchant slot of `index.merchants`, as [`estimate`] computed them.
#[derive(Debug, Clone, Default)]
pub struct MerchantStats {
    /// Daily visitors: observed `footfall_daily` if the merchant has it, else the Huff estimate.
    pub footfall: Vec<f64>,
    /// `true` where `footfall` is the estimate.
    pub estimated: Vec<bool>,
    /// Σ over communities within the category's reach: households × (1 − penetration).
    pub cside: Vec<f64>,
    /// The area the merchant lies in; a food street wins over a business district.
    pub area: Vec<Option<AreaKind>>,
    /// How the Huff distances of the estimate were measured: `"street_network"` or
    /// `"straight_line_x_detour"` ([`Walking::model`] of the walking given to [`estimate`]; on a
    /// network, points off it fell back to straight line × detour on their own).
    pub distance: &'static str,
}

impl MerchantStats {
    pub fn len(&self) -> usize {
        self.footfall.len()
    }

    pub fn is_empty(&self) -> bool {
        self.footfall.is_empty()
    }
}

/// Share of a community's residents already our bank's customers: customers / population, or
/// customers / (households × 2.8) without a population, 0 when unknown; clamped to 0..=1.
pub fn penetration(c: &Community) -> f64 {
    let Some(customers) = c.bank_customers else {
        return 0.0;
    };
    let people = match c.population {
        Some(p) if p > 0 => f64::from(p),
        _ => f64::from(c.households) * PERSONS_PER_HOUSEHOLD,
    };
    if people <= 0.0 {
        return 0.0;
    }
    (f64::from(customers) / people).clamp(0.0, 1.0)
}

/// d^−β with the common exponents as plain arithmetic (a `powf` costs ~20 ns, which at tens of
/// millions of merchant–community pairs is most of the work).
#[derive(Debug, Clone, Copy)]
enum Kernel {
    Flat,
    Inv1,
    Inv15,
    Inv2,
    Inv25,
    Inv3,
    Pow(f64),
}

impl Kernel {
    fn of(beta: f64) -> Self {
        match beta {
            0.0 => Self::Flat,
            1.0 => Self::Inv1,
            1.5 => Self::Inv15,
            2.0 => Self::Inv2,
            2.5 => Self::Inv25,
            3.0 => Self::Inv3,
            b => Self::Pow(-b),
        }
    }

    #[inline]
    fn eval(self, d: f64) -> f64 {
        match self {
            Self::Flat => 1.0,
            Self::Inv1 => 1.0 / d,
            Self::Inv15 => 1.0 / (d * d.sqrt()),
            Self::Inv2 => 1.0 / (d * d),
            Self::Inv25 => 1.0 / (d * d * d.sqrt()),
            Self::Inv3 => 1.0 / (d * d * d),
            Self::Pow(e) => d.powf(e),
        }
    }
}

/// One category's constants, by the merchant layer's group code.
#[derive(Debug, Clone, Copy)]
struct Cat {
    alpha: f64,
    kernel: Kernel,
    reach_m: f64,
    visit_rate: f64,
}

/// What one thread sums up.
struct Partial {
    visits: Vec<f64>,
    cside: Vec<f64>,
}

/// Communities per unit of work handed to a thread.
const CHUNK: usize = 64;

/// Computes [`MerchantStats`] for every merchant of `index.merchants`, with Huff distances
/// walked as `walking` walks (see the module doc).
pub fn estimate(index: &SpatialIndex, params: &ScoringParams, walking: &Walking) -> MerchantStats {
    let layer = &index.merchants;
    let n = layer.len();
    let cats: Vec<Cat> = layer
        .groups()
        .iter()
        .map(|code| {
            let c = params.category(code);
            Cat {
                alpha: c.alpha,
                kernel: Kernel::of(c.beta),
                reach_m: c.reach_m,
                visit_rate: c.visit_rate,
            }
        })
        .collect();
    // Attractiveness per slot, read once in slot order so that the hot loop never touches the
    // merchants themselves.
    let rating: Vec<f64> = layer
        .iter()
        .map(|(_, m)| m.rating().unwrap_or(DEFAULT_RATING))
        .collect();

    let communities = index.communities.items();
    let threads = if communities.len() < 4 * CHUNK || n == 0 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, 8)
    };
    // On a network: each merchant's snap, computed once by the first thread that needs it.
    let snaps: Vec<OnceLock<Option<Snap>>> = match walking {
        Walking::Network(_) => (0..n).map(|_| OnceLock::new()).collect(),
        Walking::Straight { .. } => Vec::new(),
    };
    let next = AtomicUsize::new(0);
    let work = |_: usize| -> Partial {
        let mut p = Partial {
            visits: vec![0.0; n],
            cside: vec![0.0; n],
        };
        let mut scan = Scan {
            index,
            params,
            cats: &cats,
            rating: &rating,
            max_reach_m: params.max_reach_m(),
            detour: walking.detour(),
            net: match walking {
                Walking::Network(nd) => Some(NetScan {
                    nd,
                    snaps: &snaps,
                    search: Search::new(&nd.network),
                    found: Vec::new(),
                    locations: Vec::new(),
                    snapped: Vec::new(),
                }),
                Walking::Straight { .. } => None,
            },
            hits: vec![Vec::new(); cats.len()],
            sums: vec![0.0; cats.len()],
            touched: Vec::with_capacity(cats.len()),
        };
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= communities.len() {
                break;
            }
            let end = (start + CHUNK).min(communities.len());
            for c in &communities[start..end] {
                scan.community(c, &mut p);
            }
        }
        p
    };
    let partials: Vec<Partial> = if threads == 1 {
        vec![work(0)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || work(t))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut parts = partials.into_iter();
    let Partial {
        mut visits,
        mut cside,
    } = parts.next().unwrap_or(Partial {
        visits: vec![0.0; n],
        cside: vec![0.0; n],
    });
    for p in parts {
        visits.iter_mut().zip(&p.visits).for_each(|(a, b)| *a += b);
        cside.iter_mut().zip(&p.cside).for_each(|(a, b)| *a += b);
    }

    let mut estimated = vec![false; n];
    let footfall: Vec<f64> = layer
        .iter()
        .zip(visits)
        .zip(estimated.iter_mut())
        .map(|(((_, m), v), est)| match m.footfall_daily() {
            Some(f) => f64::from(f),
            None => {
                *est = true;
                v
            }
        })
        .collect();

    let mut area = vec![None; n];
    // Business districts first, so that a food street inside one overwrites it.
    for kind in [AreaKind::BusinessDistrict, AreaKind::FoodStreet] {
        for a in index.areas.iter().filter(|a| a.kind == kind) {
            for slot in layer.in_polygon(&a.polygon) {
                area[slot as usize] = Some(kind);
            }
        }
    }
    MerchantStats {
        footfall,
        estimated,
        cside,
        area,
        distance: walking.model(),
    }
}

/// One thread's reusable buffers for the per-community scan.
struct Scan<'a> {
    index: &'a SpatialIndex,
    params: &'a ScoringParams,
    cats: &'a [Cat],
    rating: &'a [f64],
    max_reach_m: f64,
    /// Straight line × this, without a network.
    detour: f64,
    /// The network's part, when there is one.
    net: Option<NetScan<'a>>,
    /// Per category: (slot, A^α · d^−β) of the competitors in reach.
    hits: Vec<Vec<(u32, f64)>>,
    sums: Vec<f64>,
    /// Categories with hits for this community, to clear only those.
    touched: Vec<usize>,
}

/// One thread's search memory and buffers for walking on the network.
struct NetScan<'a> {
    nd: &'a NetworkDistances,
    /// By merchant slot, shared by the threads.
    snaps: &'a [OnceLock<Option<Snap>>],
    search: Search,
    /// The community's candidates: (slot, category group).
    found: Vec<(u32, usize)>,
    locations: Vec<Location>,
    snapped: Vec<Option<Snap>>,
}

/// The per-category sums of one community, and the C side.
struct Sums<'s> {
    cats: &'s [Cat],
    rating: &'s [f64],
    min_d: f64,
    unbanked: f64,
    hits: &'s mut [Vec<(u32, f64)>],
    sums: &'s mut [f64],
    touched: &'s mut Vec<usize>,
    cside: &'s mut [f64],
}

impl Sums<'_> {
    /// Merchant `slot` of category group `g` is in the community's market, `walking_m` away.
    #[inline]
    fn add(&mut self, slot: u32, g: usize, walking_m: f64) {
        let cat = &self.cats[g];
        self.cside[slot as usize] += self.unbanked;
        let a = self.rating[slot as usize];
        if a <= 0.0 {
            return;
        }
        let a = if cat.alpha == 1.0 {
            a
        } else {
            a.powf(cat.alpha)
        };
        let term = a * cat.kernel.eval(walking_m.max(self.min_d));
        if self.hits[g].is_empty() {
            self.touched.push(g);
        }
        self.hits[g].push((slot, term));
        self.sums[g] += term;
    }
}

impl Scan<'_> {
    fn community(&mut self, c: &Community, out: &mut Partial) {
        let households = f64::from(c.households);
        let detour = self.detour;
        let cats = self.cats;
        let mut sums = Sums {
            cats,
            rating: self.rating,
            min_d: self.params.min_distance_m,
            unbanked: households * (1.0 - penetration(c)),
            hits: &mut self.hits,
            sums: &mut self.sums,
            touched: &mut self.touched,
            cside: &mut out.cside,
        };
        match &mut self.net {
            None => self.index.merchants.for_each_within_radius_grouped(
                c.location,
                self.max_reach_m,
                |slot, group, d| {
                    let g = group as usize;
                    let Some(cat) = cats.get(g) else { return };
                    if d > cat.reach_m {
                        return;
                    }
                    sums.add(slot, g, d * detour);
                },
            ),
            Some(net) => {
                // Candidates by the straight reach (a walk is never shorter), then one search
                // from the community, bounded by the largest reach.
                net.found.clear();
                let found = &mut net.found;
                self.index.merchants.for_each_within_radius_grouped(
                    c.location,
                    self.max_reach_m,
                    |slot, group, d| {
                        let g = group as usize;
                        if cats.get(g).is_some_and(|cat| d <= cat.reach_m) {
                            found.push((slot, g));
                        }
                    },
                );
                let merchants = &self.index.merchants;
                net.locations.clear();
                net.snapped.clear();
                for &(slot, _) in net.found.iter() {
                    let at = merchants.item(slot).location();
                    net.locations.push(at);
                    net.snapped.push(
                        net.snaps.get(slot as usize).map_or_else(
                            || net.nd.snap(at),
                            |s| *s.get_or_init(|| net.nd.snap(at)),
                        ),
                    );
                }
                if !net.found.is_empty() {
                    let walks = net.nd.distances_snapped(
                        &mut net.search,
                        c.location,
                        &net.locations,
                        &net.snapped,
                        self.max_reach_m,
                    );
                    for (&(slot, g), w) in net.found.iter().zip(&walks) {
                        // Out of the walking reach, or no way at all (infinite).
                        if w.metres <= cats[g].reach_m {
                            sums.add(slot, g, w.metres);
                        }
                    }
                }
            }
        }
        let Sums {
            hits,
            sums,
            touched,
            ..
        } = sums;
        for &g in touched.iter() {
            let sum = sums[g];
            if sum > 0.0 && sum.is_finite() {
                let scale = households * cats[g].visit_rate / sum;
                for &(slot, term) in &hits[g] {
                    out.visits[slot as usize] += term * scale;
                }
            }
            hits[g].clear();
            sums[g] = 0.0;
        }
        touched.clear();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{Area, AreaDraft, CommunityDraft, Dataset, MerchantDraft, PipelineStatus};
    use crate::network::{EdgeInput, NetworkParams, StreetNetwork, STREET_NETWORK};
    use crate::scoring::huff::shares;

    /// Metres north of (103.76, 29.50) as a latitude, so that distances along the meridian
    /// are exactly the haversine's.
    pub(crate) fn lat_north(m: f64) -> f64 {
        29.50 + (m / crate::index::EARTH_RADIUS_M).to_degrees()
    }

    /// Longitude `east_m` metres east of the tests' meridian (103.76) at latitude 29.50.
    pub(crate) fn lon_east(east_m: f64) -> f64 {
        103.76
            + (east_m / (crate::index::EARTH_RADIUS_M * 29.50f64.to_radians().cos())).to_degrees()
    }

    /// The point `x` metres east and `y` metres north of (103.76, 29.50).
    pub(crate) fn xy(x: f64, y: f64) -> Location {
        Location::new(lon_east(x), lat_north(y)).unwrap()
    }

    /// A hand-made street network in the tests' local metres (`xy`) with a "river" between
    /// x = 0 and x = 150 that only one bridge, at y = 1000, crosses:
    ///
    /// - the west street, x = 0: W0 (y 0) – 300 m – W1 (y 300) – 700 m – Wb (y 1000);
    /// - the bridge Wb – Eb, 150 m;
    /// - the east street, x = 150: Eb (y 1000) – 1000 m – E0 (y 0);
    /// - an "island" street, x = 600 from y = 0 to 1200 (1200 m), connected to nothing.
    ///
    /// The lengths are given, not measured, so walks are known by hand: from (0, y) on the west
    /// street to (150, y′) on the east one, (1000 − y) + 150 + (1000 − y′) metres.
    pub(crate) fn river_network() -> Arc<StreetNetwork> {
        let p = |x: f64, y: f64| {
            let l = xy(x, y);
            [l.lon(), l.lat()]
        };
        let vertices = vec![
            p(0.0, 0.0),      // 0 W0
            p(0.0, 300.0),    // 1 W1
            p(0.0, 1000.0),   // 2 Wb
            p(150.0, 1000.0), // 3 Eb
            p(150.0, 0.0),    // 4 E0
            p(600.0, 0.0),    // 5 island south
            p(600.0, 1200.0), // 6 island north
        ];
        let e = |a: u32, b: u32, m: f64| EdgeInput {
            a,
            b,
            shape: vec![],
            length_m: Some(m),
            oneway: false,
        };
        let edges = vec![
            e(0, 1, 300.0),
            e(1, 2, 700.0),
            e(2, 3, 150.0),
            e(3, 4, 1000.0),
            e(5, 6, 1200.0),
        ];
        Arc::new(StreetNetwork::from_edges(vertices, edges).unwrap())
    }

    /// [`river_network`] walked with the builtin parameters, straight line × 1.3 off it.
    pub(crate) fn river_walking() -> Walking {
        Walking::new(Some(river_network()), NetworkParams::default(), 1.3)
    }

    pub(crate) fn merchant(id: &str, category: &str, north_m: f64) -> MerchantDraft {
        MerchantDraft {
            id: id.into(),
            name: format!("shop {id}"),
            category: category.into(),
            lon: 103.76,
            lat: lat_north(north_m),
            status: PipelineStatus::Prospect,
            ..Default::default()
        }
    }

    fn community(id: &str, north_m: f64, households: f64) -> CommunityDraft {
        CommunityDraft {
            id: id.into(),
            name: format!("compound {id}"),
            lon: Some(103.76),
            lat: Some(lat_north(north_m)),
            households,
            ..Default::default()
        }
    }

    /// Two communities and three supermarkets on one meridian:
    /// C1 at 0 m (1000 households, no customer data), C2 at 400 m (600 households, 840 of
    /// 1680 residents our customers → penetration 0.5). M1 at 100 m (rating 4.0), M2 at 300 m
    /// (no rating → 3.5), M3 at 900 m (rating 5.0, observed footfall 777).
    fn tiny() -> SpatialIndex {
        let mut m1 = merchant("M1", "supermarket", 100.0);
        m1.rating = Some(4.0);
        let m2 = merchant("M2", "supermarket", 300.0);
        let mut m3 = merchant("M3", "supermarket", 900.0);
        m3.rating = Some(5.0);
        m3.footfall_daily = Some(777.0);
        let mut c2 = community("C2", 400.0, 600.0);
        c2.population = Some(1680.0);
        c2.bank_customers = Some(840.0);
        let ds = Dataset {
            merchants: [m1, m2, m3]
                .into_iter()
                .map(|d| crate::domain::Merchant::try_from(d).unwrap())
                .collect(),
            communities: [community("C1", 0.0, 1000.0), c2]
                .into_iter()
                .map(|d| Community::try_from(d).unwrap())
                .collect(),
            ..Default::default()
        };
        SpatialIndex::build(ds)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn estimates_are_the_hand_computed_huff_visits() {
        let index = tiny();
        let params = ScoringParams::builtin().unwrap();
        let sm = params.category("supermarket").clone();
        // Builtin: supermarket β 2.5, reach 700 m, rate 0.3; detour 1.3.
        assert_eq!((sm.beta, sm.reach_m, sm.visit_rate), (2.5, 700.0, 0.3));
        let stats = estimate(&index, &params, &Walking::straight(params.detour_factor));
        let slot = |id: &str| index.merchants.slot_of(id).unwrap() as usize;
        let walk = |m: f64| m * params.detour_factor;
        // C1 (0 m): M1 at 100, M2 at 300 compete; M3 at 900 is beyond 700 m.
        let p1 = shares(&[4.0, 3.5], &[walk(100.0), walk(300.0)], 1.0, 2.5, 25.0);
        // C2 (400 m): M1 at 300, M2 at 100, M3 at 500.
        let p2 = shares(
            &[4.0, 3.5, 5.0],
            &[walk(300.0), walk(100.0), walk(500.0)],
            1.0,
            2.5,
            25.0,
        );
        let (v1, v2) = (1000.0 * 0.3, 600.0 * 0.3);
        let want_m1 = p1[0] * v1 + p2[0] * v2;
        let want_m2 = p1[1] * v1 + p2[1] * v2;
        assert!(close(stats.footfall[slot("M1")], want_m1), "{stats:?}");
        assert!(close(stats.footfall[slot("M2")], want_m2), "{stats:?}");
        assert!(stats.estimated[slot("M1")] && stats.estimated[slot("M2")]);
        // Spelled out once, to be sure the test is not the code run twice: C1's terms are
        // 4/130^2.5 and 3.5/390^2.5.
        let t = [4.0 / 130f64.powf(2.5), 3.5 / 390f64.powf(2.5)];
        assert!(close(p1[0], t[0] / (t[0] + t[1])));

        // Observed footfall is kept and flagged as such.
        assert_eq!(stats.footfall[slot("M3")], 777.0);
        assert!(!stats.estimated[slot("M3")]);

        // C side: C1 has no customer data (penetration 0) → 1000; C2 is half banked → 300.
        assert!(close(stats.cside[slot("M1")], 1000.0 + 300.0));
        assert!(close(stats.cside[slot("M2")], 1000.0 + 300.0));
        assert!(close(stats.cside[slot("M3")], 300.0));
        assert!(stats.area.iter().all(Option::is_none));
    }

    #[test]
    fn penetration_falls_back_to_households_and_clamps() {
        let mut d = community("C", 0.0, 100.0);
        assert_eq!(penetration(&Community::try_from(d.clone()).unwrap()), 0.0);
        d.bank_customers = Some(140.0);
        // 140 / (100 × 2.8) = 0.5
        assert!(close(
            penetration(&Community::try_from(d.clone()).unwrap()),
            0.5
        ));
        d.bank_customers = Some(1000.0);
        assert_eq!(penetration(&Community::try_from(d.clone()).unwrap()), 1.0);
        d.households = 0.0;
        assert_eq!(penetration(&Community::try_from(d).unwrap()), 0.0);
    }

    #[test]
    fn food_street_wins_over_business_district_and_threads_agree() {
        let mut index = tiny();
        let square = |half: f64| {
            vec![vec![
                [103.76 - 0.01, lat_north(-half)],
                [103.76 + 0.01, lat_north(-half)],
                [103.76 + 0.01, lat_north(half)],
                [103.76 - 0.01, lat_north(half)],
                [103.76 - 0.01, lat_north(-half)],
            ]]
        };
        for (id, kind, half) in [
            ("A1", AreaKind::FoodStreet, 200.0),
            ("A2", AreaKind::BusinessDistrict, 500.0),
        ] {
            index.upsert_area(
                Area::try_from(AreaDraft {
                    id: id.into(),
                    name: id.into(),
                    kind,
                    polygon: square(half),
                    owner_org_id: None,
                })
                .unwrap(),
            );
        }
        let params = ScoringParams::builtin().unwrap();
        let stats = estimate(&index, &params, &Walking::straight(params.detour_factor));
        let slot = |id: &str| index.merchants.slot_of(id).unwrap() as usize;
        assert_eq!(stats.area[slot("M1")], Some(AreaKind::FoodStreet));
        assert_eq!(stats.area[slot("M2")], Some(AreaKind::BusinessDistrict));
        assert_eq!(stats.area[slot("M3")], None);
    }

    #[test]
    fn many_communities_on_threads_give_the_single_thread_sums() {
        let ds = crate::gen::generate(&crate::gen::GenConfig {
            communities: 600,
            ..Default::default()
        });
        let index = SpatialIndex::build(ds);
        let params = ScoringParams::builtin().unwrap();
        let stats = estimate(&index, &params, &Walking::straight(params.detour_factor));
        // Expected visits over all merchants (observed or not) = Σ over communities of
        // households × rate for each category with a competitor in reach.
        let mut want = 0.0;
        let mut visits = vec![0.0; index.merchants.len()];
        for c in index.communities.items() {
            for g in index.merchants.groups() {
                let cp = params.category(g);
                let hits: Vec<_> = index
                    .merchants
                    .within_radius(c.location, cp.reach_m)
                    .into_iter()
                    .filter(|h| index.merchants.item(h.slot).category() == g)
                    .collect();
                if hits.is_empty() {
                    continue;
                }
                want += f64::from(c.households) * cp.visit_rate;
                let a: Vec<f64> = hits
                    .iter()
                    .map(|h| {
                        index
                            .merchants
                            .item(h.slot)
                            .rating()
                            .unwrap_or(DEFAULT_RATING)
                    })
                    .collect();
                let d: Vec<f64> = hits
                    .iter()
                    .map(|h| h.distance_m * params.detour_factor)
                    .collect();
                let p = shares(&a, &d, cp.alpha, cp.beta, params.min_distance_m);
                for (h, p) in hits.iter().zip(p) {
                    visits[h.slot as usize] += p * f64::from(c.households) * cp.visit_rate;
                }
            }
        }
        let mut got = 0.0;
        for (slot, m) in index.merchants.iter().map(|(s, m)| (s as usize, m)) {
            if m.footfall_daily().is_none() {
                assert!(
                    (stats.footfall[slot] - visits[slot]).abs() <= 1e-6 * visits[slot].max(1.0),
                    "{} {} vs {}",
                    m.id(),
                    stats.footfall[slot],
                    visits[slot]
                );
            }
            got += visits[slot];
        }
        assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");
    }

    fn community_at(id: &str, at: Location, households: f64) -> Community {
        Community::try_from(CommunityDraft {
            id: id.into(),
            name: format!("compound {id}"),
            lon: Some(at.lon()),
            lat: Some(at.lat()),
            households,
            ..Default::default()
        })
        .unwrap()
    }

    fn supermarket_at(id: &str, at: Location) -> crate::domain::Merchant {
        crate::domain::Merchant::try_from(MerchantDraft {
            lon: at.lon(),
            lat: at.lat(),
            ..merchant(id, "supermarket", 0.0)
        })
        .unwrap()
    }

    /// Across the river of [`river_network`]: CW on the west bank (y 100, 1000 households),
    /// CE on the east bank (y 100, 400 households); supermarkets MW (west, y 400), MW2 (west,
    /// y 0) and ME (east, y 50). In a straight line every supermarket is within the 700 m reach of
    /// both communities; on the streets the bridge is 900 m north, so each community's
    /// households shop on their own bank.
    #[test]
    fn with_a_network_households_shop_on_their_own_bank_of_the_river() {
        let index = SpatialIndex::build(Dataset {
            merchants: vec![
                supermarket_at("MW", xy(0.0, 400.0)),
                supermarket_at("MW2", xy(0.0, 0.0)),
                supermarket_at("ME", xy(150.0, 50.0)),
            ],
            communities: vec![
                community_at("CW", xy(0.0, 100.0), 1000.0),
                community_at("CE", xy(150.0, 100.0), 400.0),
            ],
            ..Default::default()
        });
        let params = ScoringParams::builtin().unwrap();
        let sm = params.category("supermarket").clone();
        assert_eq!((sm.beta, sm.reach_m, sm.visit_rate), (2.5, 700.0, 0.3));
        let slot = |id: &str| index.merchants.slot_of(id).unwrap() as usize;
        let (cw, ce) = (xy(0.0, 100.0), xy(150.0, 100.0));
        let (mw, mw2, me) = (xy(0.0, 400.0), xy(0.0, 0.0), xy(150.0, 50.0));
        let (vw, ve) = (1000.0 * 0.3, 400.0 * 0.3);

        // The walks, by hand from the edge lengths: CW → MW 300, → MW2 100, → ME 900 + 150 +
        // 950 = 2000 (beyond 700: out); CE → ME 50, → MW 900 + 150 + 600 = 1650 and → MW2
        // 900 + 150 + 1000 = 2050 (out). The network's own answer agrees.
        let net = river_network();
        let np = NetworkParams::default();
        let got = net.distances(cw, &[mw, mw2, me], &np);
        for (g, want) in got.iter().zip([300.0, 100.0, 2000.0]) {
            assert!((g.unwrap() - want).abs() < 0.01, "{got:?}");
        }
        let got = net.distances(ce, &[me, mw, mw2], &np);
        for (g, want) in got.iter().zip([50.0, 1650.0, 2050.0]) {
            assert!((g.unwrap() - want).abs() < 0.01, "{got:?}");
        }

        let stats = estimate(&index, &params, &river_walking());
        assert_eq!(stats.distance, STREET_NETWORK);
        // CW's visits split between MW and MW2 only; CE's all go to ME.
        let p_w = shares(&[3.5, 3.5], &[300.0, 100.0], 1.0, 2.5, 25.0);
        let tol = |want: f64| 1e-6 * want.max(1.0);
        assert!(
            (stats.footfall[slot("MW")] - p_w[0] * vw).abs() < tol(p_w[0] * vw),
            "{stats:?}"
        );
        assert!(
            (stats.footfall[slot("MW2")] - p_w[1] * vw).abs() < tol(p_w[1] * vw),
            "{stats:?}"
        );
        assert!(
            (stats.footfall[slot("ME")] - ve).abs() < tol(ve),
            "{stats:?}"
        );
        // Nothing is lost: every household's visits land somewhere.
        let total: f64 = stats.footfall.iter().sum();
        assert!((total - (vw + ve)).abs() < 1e-9 * (vw + ve));
        // The C side follows the walking reach: ME's is CE's households only.
        assert_eq!(stats.cside[slot("ME")], 400.0);
        assert_eq!(stats.cside[slot("MW")], 1000.0);
        assert_eq!(stats.cside[slot("MW2")], 1000.0);

        // Without the network (straight line × 1.3) the river is not there: every supermarket
        // competes for both communities' visits, by straight distance × 1.3.
        let straight = estimate(&index, &params, &Walking::straight(params.detour_factor));
        assert_eq!(straight.distance, crate::network::STRAIGHT_LINE_X_DETOUR);
        let walk = |a: Location, b: Location| a.distance_m(&b) * 1.3;
        let p_cw = shares(
            &[3.5, 3.5, 3.5],
            &[walk(cw, mw), walk(cw, mw2), walk(cw, me)],
            1.0,
            2.5,
            25.0,
        );
        let p_ce = shares(
            &[3.5, 3.5, 3.5],
            &[walk(ce, mw), walk(ce, mw2), walk(ce, me)],
            1.0,
            2.5,
            25.0,
        );
        for (k, id) in ["MW", "MW2", "ME"].into_iter().enumerate() {
            let want = p_cw[k] * vw + p_ce[k] * ve;
            assert!(
                (straight.footfall[slot(id)] - want).abs() < tol(want),
                "{id}: {} vs {want}",
                straight.footfall[slot(id)]
            );
        }
        // ME takes over a fifth of CW's visits across the river, CE sends some west.
        assert!(
            p_cw[2] > 0.2 && p_ce[0] + p_ce[1] > 0.01,
            "{p_cw:?} {p_ce:?}"
        );
        assert_eq!(straight.cside[slot("ME")], 1400.0);
    }

    /// One category's competitors for a community: slots, ratings, walks.
    type Competitors = (Vec<usize>, Vec<f64>, Vec<f64>);

    /// The estimate on a network, on threads (300 communities), against a plain computation
    /// per community with the network's own `distances` (unbounded search, fresh snaps): the
    /// per-thread search memory, the shared snaps and the search bounded at the largest reach
    /// change nothing. A synthetic grid with a river covers the middle of the generated city;
    /// communities and merchants beyond it fall back to straight line × detour.
    #[test]
    fn network_estimate_on_threads_matches_a_plain_computation_per_community() {
        use crate::network::synthetic::{GridCity, River};
        use crate::network::{Compress, NetworkDistances};
        let gen = crate::gen::GenConfig {
            merchants: 500,
            communities: 300,
            ..Default::default()
        };
        let city = GridCity {
            center: gen.center,
            size_m: 5_000.0,
            block_m: 80.0,
            nodes_per_block: 3,
            diagonal_every: 0,
            river: Some(River {
                column: 30,
                bridge_every: 12,
            }),
        };
        let (nodes, ways) = city.ways();
        let net = Arc::new(StreetNetwork::from_ways(&nodes, &ways, Compress::Chains).unwrap());
        let index = SpatialIndex::build(crate::gen::generate(&gen));
        let params = ScoringParams::builtin().unwrap();
        let nd = NetworkDistances::new(net, NetworkParams::default(), params.detour_factor);
        let stats = estimate(&index, &params, &Walking::Network(nd.clone()));
        assert_eq!(stats.distance, STREET_NETWORK);

        let n = index.merchants.len();
        let (mut visits, mut cside) = (vec![0.0; n], vec![0.0; n]);
        let (mut on_network, mut fell_back, mut walked_out) = (0, 0, 0);
        for c in index.communities.items() {
            let unbanked = f64::from(c.households) * (1.0 - penetration(c));
            // Every merchant within the largest reach, walked to in one call.
            let all = index
                .merchants
                .within_radius(c.location, params.max_reach_m());
            let to: Vec<Location> = all
                .iter()
                .map(|h| index.merchants.item(h.slot).location())
                .collect();
            let walks = nd.distances(c.location, &to);
            // Per category: the competitors in walking reach, their ratings and walks.
            let mut by_cat: std::collections::BTreeMap<&str, Competitors> = Default::default();
            for (h, w) in all.iter().zip(&walks) {
                let m = index.merchants.item(h.slot);
                let cp = params.category(m.category());
                if h.distance_m > cp.reach_m {
                    continue;
                }
                if w.model == STREET_NETWORK {
                    on_network += 1;
                } else {
                    fell_back += 1;
                }
                if w.metres > cp.reach_m {
                    walked_out += 1;
                    continue;
                }
                cside[h.slot as usize] += unbanked;
                let e = by_cat.entry(m.category()).or_default();
                e.0.push(h.slot as usize);
                e.1.push(m.rating().unwrap_or(DEFAULT_RATING));
                e.2.push(w.metres);
            }
            for (g, (slots, a, d)) in by_cat {
                let cp = params.category(g);
                let p = shares(&a, &d, cp.alpha, cp.beta, params.min_distance_m);
                for (s, p) in slots.iter().zip(p) {
                    visits[*s] += p * f64::from(c.households) * cp.visit_rate;
                }
            }
        }
        // The case is not degenerate: walks on the streets, fallbacks and merchants walked out
        // of reach all occur.
        assert!(
            on_network > 1000 && fell_back > 100 && walked_out > 1000,
            "{on_network} {fell_back} {walked_out}"
        );
        for (slot, m) in index.merchants.iter().map(|(s, m)| (s as usize, m)) {
            assert!(
                (stats.cside[slot] - cside[slot]).abs() <= 1e-6 * cside[slot].max(1.0),
                "{}: cside {} vs {}",
                m.id(),
                stats.cside[slot],
                cside[slot]
            );
            if m.footfall_daily().is_none() {
                assert!(
                    (stats.footfall[slot] - visits[slot]).abs() <= 1e-6 * visits[slot].max(1.0),
                    "{}: {} vs {}",
                    m.id(),
                    stats.footfall[slot],
                    visits[slot]
                );
            }
        }
    }
}

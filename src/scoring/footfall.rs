//! Per-merchant statistics that the priority score needs, in one pass over the communities:
//! footfall (observed, or estimated with the Huff model), the unbanked households within the
//! category's reach (the C side), and the area a merchant lies in.
//!
//! The Huff estimate, per community i and category c: the competing merchants are those of
//! category c within `reach_m(c)` (straight line) of the community's point; their walking
//! distances are the straight ones × `detour_factor`, raised to at least `min_distance_m`;
//! attractiveness A_j is the rating, 3.5 when missing (the middle of the generator's and the
//! review sites' usual 3–5 band, so that an unrated shop is neither favoured nor buried).
//! Merchant j gains P_ij × households_i × visit_rate(c) visits a day.
//!
//! One radius scan per community at the largest reach feeds every category at once; the hits
//! go into per-category buffers that are reused, so the inner loop allocates nothing, and the
//! communities are shared out among threads in small chunks, each thread summing into its own
//! vectors, merged at the end.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::{AreaKind, Community};
use crate::index::SpatialIndex;

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

/// Computes [`MerchantStats`] for every merchant of `index.merchants`.
pub fn estimate(index: &SpatialIndex, params: &ScoringParams) -> MerchantStats {
    let layer = &index.merchants;
    let merchants = layer.items();
    let n = merchants.len();
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
    let rating: Vec<f64> = merchants
        .iter()
        .map(|m| m.rating.unwrap_or(DEFAULT_RATING))
        .collect();

    let communities = index.communities.items();
    let threads = if communities.len() < 4 * CHUNK || n == 0 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, 8)
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
    let footfall: Vec<f64> = merchants
        .iter()
        .zip(visits)
        .zip(estimated.iter_mut())
        .map(|((m, v), est)| match m.footfall_daily {
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
    }
}

/// One thread's reusable buffers for the per-community scan.
struct Scan<'a> {
    index: &'a SpatialIndex,
    params: &'a ScoringParams,
    cats: &'a [Cat],
    rating: &'a [f64],
    max_reach_m: f64,
    /// Per category: (slot, A^α · d^−β) of the competitors in reach.
    hits: Vec<Vec<(u32, f64)>>,
    sums: Vec<f64>,
    /// Categories with hits for this community, to clear only those.
    touched: Vec<usize>,
}

impl Scan<'_> {
    fn community(&mut self, c: &Community, out: &mut Partial) {
        let households = f64::from(c.households);
        let unbanked = households * (1.0 - penetration(c));
        let detour = self.params.detour_factor;
        let min_d = self.params.min_distance_m;
        let (cats, rating, hits, sums, touched) = (
            self.cats,
            self.rating,
            &mut self.hits,
            &mut self.sums,
            &mut self.touched,
        );
        let cside = &mut out.cside;
        self.index.merchants.for_each_within_radius_grouped(
            c.location,
            self.max_reach_m,
            |slot, group, d| {
                let g = group as usize;
                let Some(cat) = cats.get(g) else { return };
                if d > cat.reach_m {
                    return;
                }
                cside[slot as usize] += unbanked;
                let a = rating[slot as usize];
                if a <= 0.0 {
                    return;
                }
                let a = if cat.alpha == 1.0 {
                    a
                } else {
                    a.powf(cat.alpha)
                };
                let term = a * cat.kernel.eval((d * detour).max(min_d));
                if hits[g].is_empty() {
                    touched.push(g);
                }
                hits[g].push((slot, term));
                sums[g] += term;
            },
        );
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
    use super::*;
    use crate::domain::{Area, AreaDraft, CommunityDraft, Dataset, MerchantDraft, PipelineStatus};
    use crate::scoring::huff::shares;

    /// Metres north of (103.76, 29.50) as a latitude, so that distances along the meridian
    /// are exactly the haversine's.
    pub(crate) fn lat_north(m: f64) -> f64 {
        29.50 + (m / crate::index::EARTH_RADIUS_M).to_degrees()
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
        let stats = estimate(&index, &params);
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
        let stats = estimate(&index, &params);
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
        let stats = estimate(&index, &params);
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
                    .filter(|h| &index.merchants.item(h.slot).category == g)
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
                            .rating
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
        for (slot, m) in index.merchants.items().iter().enumerate() {
            if m.footfall_daily.is_none() {
                assert!(
                    (stats.footfall[slot] - visits[slot]).abs() <= 1e-6 * visits[slot].max(1.0),
                    "{} {} vs {}",
                    m.id,
                    stats.footfall[slot],
                    visits[slot]
                );
            }
            got += visits[slot];
        }
        assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");
    }
}

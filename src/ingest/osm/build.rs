//! From kept OSM objects to drafts: merchants and outlets at a point, residential areas and
//! buildings as polygons, and the household estimate that joins the two (buildings counted into
//! the residential area that holds them).

use std::collections::HashMap;

use geo::{Area as _, MultiPolygon, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use super::classify::{
    address, get, leading_number, name, BuildingUse, Class, MerchantClass, Rules,
};
use super::geometry::{area_m2, area_point, relation_area, rings_of, way_area, way_point, Skip};
use super::pbf::{osm_id, Elements, OsmType};
use super::HouseholdReport;
use crate::domain::{
    CommunityDraft, Location, MerchantDraft, OutletDraft, OutletKind, ValidPolygon,
};

/// What an object was meant to become when its shape failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Merchant,
    Outlet,
    ResidentialArea,
    Building,
}

impl Role {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Role::Merchant => "merchant",
            Role::Outlet => "outlet",
            Role::ResidentialArea => "residential_area",
            Role::Building => "residential_building",
        }
    }
}

/// One object left out for its shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Skipped {
    pub id: String,
    pub role: Role,
    pub skip: Skip,
}

/// The drafts and what was left out on the way.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub merchants: Vec<MerchantDraft>,
    pub outlets: Vec<OutletDraft>,
    pub communities: Vec<CommunityDraft>,
    pub skipped: Vec<Skipped>,
    pub households: HouseholdReport,
    /// Parts of multi-part residential areas left out (a community holds one polygon).
    pub parts_dropped: usize,
    /// Ways left out because the multipolygon relation they are the outer ring of is the same
    /// thing (old-style tagging on both).
    pub duplicates: usize,
}

impl Built {
    fn skip(&mut self, id: &str, role: Role, skip: Skip) {
        self.skipped.push(Skipped {
            id: id.to_string(),
            role,
            skip,
        });
    }
}

/// A residential area with a valid polygon, waiting for its buildings.
struct AreaCand {
    id: String,
    name: Option<String>,
    address: Option<String>,
    polygon: ValidPolygon,
    area_m2: f64,
    households: f64,
    buildings: usize,
}

/// A residential building with a valid footprint.
struct BuildingCand {
    id: String,
    name: Option<String>,
    address: Option<String>,
    usage: BuildingUse,
    footprint_m2: f64,
    levels: f64,
    levels_defaulted: bool,
    point: Location,
    polygon: ValidPolygon,
}

/// Roles a relation takes on its outer ways, so that a way tagged the same is not counted twice.
#[derive(Default, Clone, Copy)]
struct RelationRoles {
    merchant: bool,
    outlet: bool,
    area: bool,
    building: bool,
}

pub(crate) fn build(el: &Elements, rules: &Rules) -> Built {
    let mut b = Built::default();
    let mut areas = Vec::new();
    let mut buildings = Vec::new();

    let mut outer_of: HashMap<i64, RelationRoles> = HashMap::new();
    for r in &el.relations {
        for m in r.geo.iter().filter(|m| !m.inner) {
            let e = outer_of.entry(m.way).or_default();
            e.merchant |= matches!(r.class.merchant, MerchantClass::Named { .. });
            e.outlet |= matches!(r.class.outlet, Some(Some(_)));
            e.area |= r.class.residential_area;
            e.building |= r.class.building.is_some();
        }
    }

    for n in &el.nodes {
        let id = osm_id(OsmType::Node, n.id);
        point_roles(&mut b, rules, &id, &n.class, &n.tag_view(), || Ok(n.geo));
    }
    for w in &el.ways {
        let id = osm_id(OsmType::Way, w.id);
        let mut class = w.class.clone();
        if let Some(rel) = outer_of.get(&w.id) {
            let before = class.clone();
            if rel.merchant {
                class.merchant = MerchantClass::None;
            }
            if rel.outlet {
                class.outlet = None;
            }
            if rel.area {
                class.residential_area = false;
            }
            if rel.building {
                class.building = None;
            }
            if class != before {
                b.duplicates += 1;
            }
        }
        let tags = w.tag_view();
        point_roles(&mut b, rules, &id, &class, &tags, || {
            way_point(&w.geo, &el.coords)
        });
        if class.residential_area || class.building.is_some() {
            let area = way_area(&w.geo, &el.coords);
            area_roles(
                &mut b,
                rules,
                &id,
                &class,
                &tags,
                area,
                &mut areas,
                &mut buildings,
            );
        }
    }
    for r in &el.relations {
        let id = osm_id(OsmType::Relation, r.id);
        let tags = r.tag_view();
        let area = relation_area(&r.geo, &el.member_ways, &el.coords);
        point_roles(&mut b, rules, &id, &r.class, &tags, || match &area {
            Ok(a) => area_point(a).ok_or(Skip::Unassembled),
            Err(e) => Err(e.clone()),
        });
        area_roles(
            &mut b,
            rules,
            &id,
            &r.class,
            &tags,
            area,
            &mut areas,
            &mut buildings,
        );
    }
    households(&mut b, rules, areas, buildings);
    b
}

/// The merchant and the outlet an object is, at its point.
fn point_roles(
    b: &mut Built,
    rules: &Rules,
    id: &str,
    class: &Class,
    tags: &[(&str, &str)],
    point: impl FnOnce() -> Result<[f64; 2], Skip>,
) {
    let merchant = match &class.merchant {
        MerchantClass::Named { category, name } => Some((category, name)),
        _ => None,
    };
    let outlet = class.outlet.as_ref().and_then(|o| o.as_ref());
    if merchant.is_none() && outlet.is_none() {
        return;
    }
    let p = match point() {
        Ok(p) => p,
        Err(skip) => {
            if merchant.is_some() {
                b.skip(id, Role::Merchant, skip.clone());
            }
            if outlet.is_some() {
                b.skip(id, Role::Outlet, skip);
            }
            return;
        }
    };
    if let Some((category, name)) = merchant {
        b.merchants.push(MerchantDraft {
            id: id.to_string(),
            name: name.clone(),
            category: category.clone(),
            lon: p[0],
            lat: p[1],
            address: address(tags),
            opening_hours: get(tags, "opening_hours").map(str::to_string),
            chain: get(tags, "brand:zh")
                .or_else(|| get(tags, "brand"))
                .map(str::to_string),
            ..MerchantDraft::default()
        });
    }
    if let Some(name) = outlet {
        let ours = rules.is_ours(tags);
        let bank = ["brand:zh", "brand", "operator:zh", "operator"]
            .iter()
            .find_map(|k| get(tags, k))
            .map_or_else(|| name.clone(), str::to_string);
        b.outlets.push(OutletDraft {
            id: id.to_string(),
            name: name.clone(),
            competitor_bank: (!ours).then_some(bank),
            kind: OutletKind::Mixed,
            parent_org_id: None,
            address: address(tags),
            lon: p[0],
            lat: p[1],
        });
    }
}

/// The residential area and the residential building an object is, from its shape.
#[allow(clippy::too_many_arguments)] // one call per element type; a struct would only rename them
fn area_roles(
    b: &mut Built,
    rules: &Rules,
    id: &str,
    class: &Class,
    tags: &[(&str, &str)],
    area: Result<MultiPolygon<f64>, Skip>,
    areas: &mut Vec<AreaCand>,
    buildings: &mut Vec<BuildingCand>,
) {
    if !class.residential_area && class.building.is_none() {
        return;
    }
    let area = match area {
        Ok(a) => a,
        Err(skip) => {
            if class.residential_area {
                b.skip(id, Role::ResidentialArea, skip.clone());
            }
            if class.building.is_some() {
                b.skip(id, Role::Building, skip);
            }
            return;
        }
    };
    // The largest part holds the community; the others are counted as dropped.
    let largest = area
        .0
        .iter()
        .max_by(|a, c| a.unsigned_area().total_cmp(&c.unsigned_area()))
        .cloned();
    let Some(largest) = largest else {
        if class.residential_area {
            b.skip(id, Role::ResidentialArea, Skip::Unassembled);
        }
        if class.building.is_some() {
            b.skip(id, Role::Building, Skip::Unassembled);
        }
        return;
    };
    let valid =
        |p: &Polygon<f64>| ValidPolygon::new(p.clone()).map_err(|e| Skip::InvalidPolygon(e.reason));
    if class.residential_area {
        match valid(&largest) {
            Ok(polygon) => {
                b.parts_dropped += area.0.len() - 1;
                areas.push(AreaCand {
                    id: id.to_string(),
                    name: name(tags, rules),
                    address: address(tags),
                    area_m2: area_m2(&largest),
                    polygon,
                    households: 0.0,
                    buildings: 0,
                });
            }
            Err(skip) => b.skip(id, Role::ResidentialArea, skip),
        }
    }
    if let Some(usage) = class.building {
        let parts: Result<Vec<ValidPolygon>, Skip> = area.0.iter().map(valid).collect();
        match (parts, valid(&largest)) {
            (Ok(_), Ok(polygon)) => {
                let c = &rules.cfg.communities;
                let (levels, levels_defaulted) = levels(tags, c.default_levels, c.level_height_m);
                buildings.push(BuildingCand {
                    id: id.to_string(),
                    name: name(tags, rules)
                        .or_else(|| get(tags, "addr:housename").map(str::to_string)),
                    address: address(tags),
                    usage,
                    footprint_m2: area.0.iter().map(area_m2).sum(),
                    levels,
                    levels_defaulted,
                    point: polygon.representative_point(),
                    polygon,
                });
            }
            (Err(skip), _) | (_, Err(skip)) => b.skip(id, Role::Building, skip),
        }
    }
}

/// Floors above ground: `building:levels`, else `height` ÷ the storey height, else the default
/// (and say that it was defaulted).
pub(crate) fn levels(tags: &[(&str, &str)], default: f64, storey_m: f64) -> (f64, bool) {
    if let Some(l) = get(tags, "building:levels")
        .and_then(leading_number)
        .filter(|l| (1.0..=200.0).contains(l))
    {
        return (l, false);
    }
    if let Some(h) = get(tags, "height")
        .and_then(leading_number)
        .filter(|h| (2.0..=1_000.0).contains(h))
    {
        return ((h / storey_m).round().max(1.0), false);
    }
    (default, true)
}

/// Counts residential buildings into the smallest residential area that holds them; flats
/// outside every area become communities of their own when large enough; areas without
/// buildings are estimated from their land area when they are compound-sized.
fn households(
    b: &mut Built,
    rules: &Rules,
    mut areas: Vec<AreaCand>,
    buildings: Vec<BuildingCand>,
) {
    let c = &rules.cfg.communities;
    let tree = RTree::bulk_load(
        areas
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let [x0, y0, x1, y1] = a.polygon.bbox();
                GeomWithData::new(Rectangle::from_corners([x0, y0], [x1, y1]), i)
            })
            .collect(),
    );
    let h = &mut b.households;
    let mut standalone = Vec::new();
    for bld in buildings {
        if bld.footprint_m2 < c.min_footprint_m2 {
            h.buildings_too_small += 1;
            continue;
        }
        h.buildings += 1;
        if bld.levels_defaulted && bld.usage == BuildingUse::Flats {
            h.buildings_levels_defaulted += 1;
        }
        let estimate = match bld.usage {
            BuildingUse::Flats => (bld.footprint_m2 * bld.levels / c.flat_m2).max(1.0),
            BuildingUse::House => 1.0,
        };
        let p = [bld.point.lon(), bld.point.lat()];
        let home = tree
            .locate_all_at_point(p)
            .map(|hit| hit.data)
            .filter(|&i| areas[i].polygon.contains(&bld.point))
            .min_by(|&i, &j| areas[i].area_m2.total_cmp(&areas[j].area_m2));
        match (home, bld.usage) {
            (Some(i), _) => {
                areas[i].households += estimate;
                areas[i].buildings += 1;
                h.buildings_in_areas += 1;
            }
            (None, BuildingUse::Flats) if estimate < c.min_standalone_households => {
                h.small_buildings_outside_areas += 1;
            }
            (None, BuildingUse::Flats) => {
                h.buildings_as_communities += 1;
                standalone.push(CommunityDraft {
                    name: bld
                        .name
                        .or_else(|| bld.address.clone())
                        .unwrap_or_else(|| format!("住宅楼 {}", bld.id)),
                    id: bld.id,
                    polygon: Some(bld.polygon.rings()),
                    address: bld.address,
                    households: estimate,
                    ..CommunityDraft::default()
                });
            }
            (None, BuildingUse::House) => h.houses_outside_areas += 1,
        }
    }
    for a in areas {
        let households = if a.buildings > 0 {
            h.areas_from_buildings += 1;
            a.households
        } else if a.area_m2 <= c.land_estimate_max_m2 {
            h.areas_from_land_area += 1;
            a.area_m2 * c.area_floor_area_ratio / c.flat_m2
        } else {
            h.areas_unknown += 1;
            0.0
        };
        b.communities.push(CommunityDraft {
            name: a.name.unwrap_or_else(|| format!("住宅区 {}", a.id)),
            id: a.id,
            polygon: Some(rings_of(a.polygon.as_geo())),
            address: a.address,
            households,
            ..CommunityDraft::default()
        });
    }
    b.communities.extend(standalone);
}

//! Shapes from node lists: a way's line or polygon, a multipolygon relation's rings joined end
//! to end, centroids, and why a shape cannot be made (an object clipped at the extract's edge,
//! an area that does not close). All in WGS-84 `[lon, lat]`, as OSM stores it.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{
    Area as _, Centroid, Contains, GeodesicArea, InteriorPoint, LineString, MultiPolygon, Point,
    Polygon,
};

use super::pbf::{Member, NodeCoords};

/// Why an object's shape could not be made; counted in the report, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Skip {
    /// Nodes of the way (or of a relation's member ways) are not in the file: the extract
    /// clipped the object at its edge.
    MissingNodes { missing: usize, of: usize },
    /// Member ways of a relation are not in the file (clipped, or a partial extract).
    MissingMembers { missing: usize, of: usize },
    /// An area whose way does not end where it starts.
    UnclosedRing,
    /// A multipolygon whose ways do not join into closed rings, or that has no outer ring.
    Unassembled,
    /// A ring of fewer than 3 distinct corners.
    TooFewNodes,
    /// A polygon that geo finds invalid (self-intersecting, zero area…).
    InvalidPolygon(String),
}

impl Skip {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Skip::MissingNodes { .. } => "missing_nodes",
            Skip::MissingMembers { .. } => "missing_members",
            Skip::UnclosedRing => "unclosed_ring",
            Skip::Unassembled => "unassembled_multipolygon",
            Skip::TooFewNodes => "too_few_nodes",
            Skip::InvalidPolygon(_) => "invalid_polygon",
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            Skip::MissingNodes { missing, of } => {
                format!("{missing} of {of} nodes are not in the file (clipped at its edge)")
            }
            Skip::MissingMembers { missing, of } => {
                format!("{missing} of {of} member ways are not in the file")
            }
            Skip::UnclosedRing => "the area's way does not end where it starts".into(),
            Skip::Unassembled => "the member ways do not join into closed rings".into(),
            Skip::TooFewNodes => "a ring has fewer than 3 corners".into(),
            Skip::InvalidPolygon(why) => why.clone(),
        }
    }
}

/// The positions of a way's nodes, or how many are missing.
pub(crate) fn way_points(refs: &[i64], coords: &NodeCoords) -> Result<Vec<[f64; 2]>, Skip> {
    let points: Vec<[f64; 2]> = refs.iter().filter_map(|&r| coords.get(r)).collect();
    if points.len() < refs.len() {
        return Err(Skip::MissingNodes {
            missing: refs.len() - points.len(),
            of: refs.len(),
        });
    }
    if points.is_empty() {
        return Err(Skip::TooFewNodes);
    }
    Ok(points)
}

fn is_closed(refs: &[i64]) -> bool {
    refs.len() >= 2 && refs.first() == refs.last()
}

fn line(points: &[[f64; 2]]) -> LineString<f64> {
    LineString::from(points.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>())
}

/// A closed way as a polygon.
pub(crate) fn way_area(refs: &[i64], coords: &NodeCoords) -> Result<MultiPolygon<f64>, Skip> {
    let points = way_points(refs, coords)?;
    if !is_closed(refs) {
        return Err(Skip::UnclosedRing);
    }
    if refs.len() < 4 {
        return Err(Skip::TooFewNodes);
    }
    Ok(MultiPolygon::new(vec![Polygon::new(line(&points), vec![])]))
}

/// A way's point: the centroid of its polygon when it is closed, of its line when it is not.
pub(crate) fn way_point(refs: &[i64], coords: &NodeCoords) -> Result<[f64; 2], Skip> {
    let points = way_points(refs, coords)?;
    let ls = line(&points);
    let c = if is_closed(refs) && refs.len() >= 4 {
        Polygon::new(ls.clone(), vec![]).centroid()
    } else {
        None
    };
    Ok(c.or_else(|| ls.centroid())
        .map_or(points[0], |p: Point<f64>| [p.x(), p.y()]))
}

/// The point of an area: the centroid of all its parts.
pub(crate) fn area_point(area: &MultiPolygon<f64>) -> Option<[f64; 2]> {
    area.centroid().map(|p| [p.x(), p.y()])
}

/// Joins node lists into closed rings by their end nodes (reversing a way where needed).
fn assemble(mut ways: Vec<Vec<i64>>) -> Result<Vec<Vec<i64>>, Skip> {
    let mut rings = Vec::new();
    ways.retain(|w| {
        if w.len() >= 2 && w.first() == w.last() {
            rings.push(w.clone());
            false
        } else {
            true
        }
    });
    let mut by_end: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, w) in ways.iter().enumerate() {
        if let (Some(&a), Some(&b)) = (w.first(), w.last()) {
            by_end.entry(a).or_default().push(i);
            by_end.entry(b).or_default().push(i);
        }
    }
    let mut used = vec![false; ways.len()];
    for start in 0..ways.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut ring = ways[start].clone();
        while ring.first() != ring.last() {
            let Some(&end) = ring.last() else {
                return Err(Skip::Unassembled);
            };
            let next = by_end
                .get(&end)
                .and_then(|c| c.iter().copied().find(|&j| !used[j]))
                .ok_or(Skip::Unassembled)?;
            used[next] = true;
            let w = &ways[next];
            if w.first() == Some(&end) {
                ring.extend(w.iter().skip(1));
            } else {
                ring.extend(w.iter().rev().skip(1));
            }
        }
        rings.push(ring);
    }
    Ok(rings)
}

/// A multipolygon relation's area: outer and inner rings assembled from the member ways, each
/// inner ring put in the smallest outer ring that holds it (inner rings inside none are left
/// out).
pub(crate) fn relation_area(
    members: &[Member],
    member_ways: &HashMap<i64, Vec<i64>>,
    coords: &NodeCoords,
) -> Result<MultiPolygon<f64>, Skip> {
    if members.is_empty() {
        return Err(Skip::Unassembled);
    }
    let absent = members
        .iter()
        .filter(|m| !member_ways.contains_key(&m.way))
        .count();
    if absent > 0 {
        return Err(Skip::MissingMembers {
            missing: absent,
            of: members.len(),
        });
    }
    let (mut missing, mut of) = (0, 0);
    for m in members {
        let refs = &member_ways[&m.way];
        of += refs.len();
        missing += refs.iter().filter(|&&r| coords.get(r).is_none()).count();
    }
    if missing > 0 {
        return Err(Skip::MissingNodes { missing, of });
    }
    let assemble_role = |inner: bool| -> Result<Vec<LineString<f64>>, Skip> {
        let ways = members
            .iter()
            .filter(|m| m.inner == inner)
            .map(|m| member_ways[&m.way].clone())
            .collect();
        assemble(ways)?
            .into_iter()
            .map(|ring| {
                if ring.len() < 4 {
                    return Err(Skip::TooFewNodes);
                }
                let points = way_points(&ring, coords)?;
                Ok(line(&points))
            })
            .collect()
    };
    let outers = assemble_role(false)?;
    let inners = assemble_role(true)?;
    if outers.is_empty() {
        return Err(Skip::Unassembled);
    }
    let shells: Vec<Polygon<f64>> = outers
        .into_iter()
        .map(|r| Polygon::new(r, vec![]))
        .collect();
    let mut holes: Vec<Vec<LineString<f64>>> = vec![Vec::new(); shells.len()];
    for inner in inners {
        // A point strictly inside the inner ring: its vertices may touch the outer ring.
        let Some(probe) = Polygon::new(inner.clone(), vec![])
            .interior_point()
            .or_else(|| inner.0.first().map(|c| Point::from(*c)))
        else {
            continue;
        };
        let owner = shells
            .iter()
            .enumerate()
            .filter(|(_, s)| s.contains(&probe))
            .min_by(|a, b| a.1.unsigned_area().total_cmp(&b.1.unsigned_area()))
            .map(|(i, _)| i);
        if let Some(i) = owner {
            holes[i].push(inner);
        }
    }
    Ok(MultiPolygon::new(
        shells
            .into_iter()
            .zip(holes)
            .map(|(s, h)| Polygon::new(s.into_inner().0, h))
            .collect(),
    ))
}

/// A polygon's area on the ellipsoid, m², whatever the winding of its rings (OSM has no rule;
/// geo's geodesic area wants the exterior counter-clockwise, else it measures the rest of the
/// Earth).
pub(crate) fn area_m2(p: &Polygon<f64>) -> f64 {
    p.orient(Direction::Default).geodesic_area_unsigned()
}

/// Rings of a polygon as `[lon, lat]` lists, shell first (what `CommunityDraft` takes).
pub(crate) fn rings_of(p: &Polygon<f64>) -> Vec<Vec<[f64; 2]>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(|r| r.coords().map(|c| [c.x, c.y]).collect())
        .collect()
}

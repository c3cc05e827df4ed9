//! Domain values as GeoJSON features (RFC 7946, `[lon, lat]`), in the coordinate system the
//! client asks for. Shared by the HTTP API and the file exports so that both say the same thing.

use crate::index::MerchantRef;
use geojson::{Feature, FeatureCollection, Geometry, JsonObject, Value};
use serde_json::json;

use crate::domain::{Area, Categories, Community, CommunityShape, Location, Outlet, ValidPolygon};
use crate::geo::crs::{from_wgs84, Crs};

fn point(loc: &Location, crs: Crs) -> Geometry {
    let (lon, lat) = from_wgs84(crs, loc.lon(), loc.lat());
    Geometry::new(Value::Point(vec![lon, lat]))
}

fn polygon(p: &ValidPolygon, crs: Crs) -> Geometry {
    let rings = p
        .rings()
        .into_iter()
        .map(|ring| {
            ring.into_iter()
                .map(|[lon, lat]| {
                    let (x, y) = from_wgs84(crs, lon, lat);
                    vec![x, y]
                })
                .collect()
        })
        .collect();
    Geometry::new(Value::Polygon(rings))
}

fn object(v: serde_json::Value) -> JsonObject {
    match v {
        serde_json::Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

fn feature(id: &str, geometry: Geometry, properties: serde_json::Value) -> Feature {
    Feature {
        bbox: None,
        geometry: Some(geometry),
        id: Some(geojson::feature::Id::String(id.to_string())),
        properties: Some(object(properties)),
        foreign_members: None,
    }
}

pub fn outlet(o: &Outlet, crs: Crs) -> Feature {
    feature(
        &o.id,
        point(&o.location, crs),
        json!({
            "id": o.id,
            "name": o.name,
            "is_ours": o.is_ours(),
            "competitor_bank": o.competitor_bank,
            "kind": o.kind.code(),
            "kind_zh": o.kind.zh(),
            "parent_org_id": o.parent_org_id,
            "address": o.address,
        }),
    )
}

pub fn merchant(m: MerchantRef<'_>, categories: &Categories, crs: Crs) -> Feature {
    let cat = categories.get(m.category());
    feature(
        m.id(),
        point(&m.location(), crs),
        json!({
            "id": m.id(),
            "name": m.name(),
            "category": m.category(),
            "category_zh": cat.map(|c| c.zh.as_str()),
            "category_en": cat.map(|c| c.en.as_str()),
            "address": m.address(),
            "footfall_daily": m.footfall_daily(),
            "footfall_source": if m.footfall_daily().is_some() { Some("observed") } else { None },
            "avg_spend_cny": m.avg_spend_cny(),
            "rating": m.rating(),
            "opening_hours": m.opening_hours(),
            "accepts_ecny": m.accepts_ecny(),
            "competitor_signed": m.competitor_signed(),
            "chain": m.chain(),
            "status": m.status().code(),
            "status_zh": m.status().zh(),
            "status_since": m.status_since().map(|d| d.to_string()),
            "owner_org_id": m.owner_org_id(),
            // Personal information is masked here, always; unmasking is its own audited call.
            "contact_name": m.contact().as_ref().and_then(|c| c.name.as_deref().map(crate::domain::mask_name)),
            "contact_phone": m.contact().as_ref().and_then(|c| c.phone.as_deref().map(crate::domain::mask_phone)),
        }),
    )
}

pub fn community(c: &Community, crs: Crs) -> Feature {
    let geometry = match &c.shape {
        CommunityShape::Point(p) => point(p, crs),
        CommunityShape::Polygon(p) => polygon(p, crs),
    };
    let (lon, lat) = from_wgs84(crs, c.location.lon(), c.location.lat());
    feature(
        &c.id,
        geometry,
        json!({
            "id": c.id,
            "name": c.name,
            "address": c.address,
            "households": c.households,
            "population": c.population,
            "avg_house_price_cny_m2": c.avg_house_price_cny_m2,
            "bank_customers": c.bank_customers,
            "label_point": [lon, lat],
            "owner_org_id": c.owner_org_id,
        }),
    )
}

pub fn area(a: &Area, crs: Crs) -> Feature {
    let c = a.polygon.representative_point();
    let (lon, lat) = from_wgs84(crs, c.lon(), c.lat());
    feature(
        &a.id,
        polygon(&a.polygon, crs),
        json!({
            "id": a.id,
            "name": a.name,
            "kind": a.kind.code(),
            "kind_zh": a.kind.zh(),
            "label_point": [lon, lat],
            "owner_org_id": a.owner_org_id,
        }),
    )
}

/// Adds a property to a feature (e.g. `distance_m` on a nearby merchant).
pub fn with_property(mut f: Feature, key: &str, value: serde_json::Value) -> Feature {
    f.set_property(key, value);
    f
}

/// A collection with paging figures as foreign members (`total`, `limit`, `offset`, `crs`).
pub fn collection(features: Vec<Feature>, crs: Crs, extra: serde_json::Value) -> FeatureCollection {
    let mut members = object(extra);
    members.insert("crs_code".into(), json!(crs.code()));
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: Some(members),
    }
}

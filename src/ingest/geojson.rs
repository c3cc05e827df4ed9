//! GeoJSON files (RFC 7946): a FeatureCollection or a single Feature. Properties use the same
//! names as CSV columns; the feature's geometry gives the point or polygon. Geometries are
//! parsed feature by feature with the `geojson` crate, so one broken geometry is reported on
//! its own feature instead of failing the whole document.
//!
//! RFC 7946 says GeoJSON is WGS-84, but files exported from AMap or Baidu tools are in GCJ-02
//! or BD-09 regardless, so the import's `crs` option applies here too.

use std::ops::ControlFlow;

use serde_json::Value;

use crate::domain::FieldError;

use super::headers::{describe, resolve_columns};
use super::{geometry, text, Encoding, Field, ImportKind, Place, Record, Sink};

pub(super) fn read(bytes: &[u8], encoding: Encoding, sink: &mut Sink<'_>) {
    // `Break` only means "stop reading"; the sink already holds the reason.
    let _ = read_features(bytes, encoding, sink);
}

fn read_features(bytes: &[u8], encoding: Encoding, sink: &mut Sink<'_>) -> ControlFlow<()> {
    let choice = match text::choose(encoding, bytes) {
        Ok(c) => c,
        Err(reason) => return sink.fail_at(Place::File, "encoding", reason),
    };
    let Some(text) = choice.decoder.decode(choice.body) else {
        let line = text::first_bad_line(choice.decoder, choice.body).unwrap_or(1);
        return sink.fail_at(
            Place::File,
            "encoding",
            format!(
                "line {line} holds bytes that are not valid {}",
                choice.decoder.name()
            ),
        );
    };
    let json: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return sink.fail_at(Place::File, "file", format!("not valid JSON: {e}")),
    };
    let mut json = json;
    let doc_type = json.get("type").and_then(Value::as_str).map(str::to_owned);
    let features = match doc_type.as_deref() {
        Some("FeatureCollection") => match json.get_mut("features").map(Value::take) {
            Some(Value::Array(f)) => f,
            _ => {
                return sink.fail_at(
                    Place::File,
                    "features",
                    "a FeatureCollection needs a \"features\" array",
                )
            }
        },
        Some("Feature") => vec![json],
        Some(other) => {
            return sink.fail_at(
                Place::File,
                "type",
                format!("expected a FeatureCollection or a Feature, got a {other}"),
            )
        }
        None => {
            return sink.fail_at(
                Place::File,
                "type",
                "expected a GeoJSON object with \"type\": \"FeatureCollection\"",
            )
        }
    };
    let kind = sink.kind();
    sink.set_explicit_ids(features.iter().any(|f| has_id(kind, f)));
    for (i, feature) in features.iter().enumerate() {
        sink.count("features")?;
        sink.record(record(kind, feature, Place::Feature(i + 1)))?;
    }
    ControlFlow::Continue(())
}

/// Whether a feature carries an id, as `id` or as an id property.
fn has_id(kind: ImportKind, feature: &Value) -> bool {
    let present = |v: &Value| match v {
        Value::String(s) => !s.trim().is_empty(),
        Value::Number(_) => true,
        _ => false,
    };
    feature.get("id").is_some_and(present)
        || feature
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| {
                let keys: Vec<&str> = p.keys().map(String::as_str).collect();
                let (fields, _) = resolve_columns(kind, &keys);
                keys.iter()
                    .zip(fields)
                    .any(|(k, f)| f == Some(Field::Id) && p.get(*k).is_some_and(present))
            })
}

/// A property value as the text a CSV cell would hold.
fn cell(v: &Value) -> Result<Option<String>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("expected text, a number or true/false"),
    }
}

fn record(kind: ImportKind, feature: &Value, place: Place) -> Record {
    let mut rec = Record::new(place);
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        rec.errors.push(FieldError::new(
            "type",
            "expected an object with \"type\": \"Feature\"",
        ));
        return rec;
    }
    match feature.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            let keys: Vec<&str> = props.keys().map(String::as_str).collect();
            let (fields, duplicates) = resolve_columns(kind, &keys);
            rec.errors.extend(duplicates);
            for (key, field) in keys.iter().zip(fields) {
                // The feature's own geometry is the geometry; a property of that name is not.
                let Some(field) = field.filter(|f| *f != Field::Geometry) else {
                    continue;
                };
                match props.get(*key).map(cell) {
                    Some(Ok(Some(v))) => {
                        rec.values.insert(field, v);
                    }
                    Some(Err(reason)) => rec.errors.push(FieldError::new(
                        field.name(),
                        format!("{}: {reason}", describe(field)),
                    )),
                    _ => {}
                }
            }
        }
        Some(_) => rec.errors.push(FieldError::new(
            "properties",
            "properties must be an object",
        )),
    }
    // The feature's id wins over an id property (RFC 7946 § 3.2 puts it there).
    match feature.get("id") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            rec.values.insert(Field::Id, s.clone());
        }
        Some(Value::Number(n)) => {
            rec.values.insert(Field::Id, n.to_string());
        }
        Some(_) => rec.errors.push(FieldError::new(
            "id",
            "a feature id must be a string or a number",
        )),
    }
    rec.geometry = match feature.get("geometry") {
        None | Some(Value::Null) => None,
        Some(g) => Some(
            ::geojson::Geometry::from_json_value(g.clone())
                .map_err(|e| format!("invalid GeoJSON geometry: {e}"))
                .and_then(|g| geometry::from_geojson(&g.value)),
        ),
    };
    rec
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::domain::{AreaKind, CommunityShape};
    use crate::geo::crs::{approx_distance_m, from_wgs84, Crs};
    use crate::ingest::tests::run;
    use crate::ingest::{Encoding, ImportKind, ImportOptions, Parsed, RowError};

    fn fc(features: serde_json::Value) -> Vec<u8> {
        json!({"type": "FeatureCollection", "features": features})
            .to_string()
            .into_bytes()
    }

    fn point(lon: f64, lat: f64) -> serde_json::Value {
        json!({"type": "Point", "coordinates": [lon, lat]})
    }

    fn square(lon: f64, lat: f64) -> serde_json::Value {
        let d = 0.004;
        json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]})
    }

    fn errors(kind: ImportKind, bytes: &[u8], o: &ImportOptions) -> Vec<RowError> {
        match run(kind, Some("x.geojson"), bytes, o) {
            Err(e) => e.errors,
            Ok(p) => panic!("expected errors, got {} items", p.len()),
        }
    }

    #[test]
    fn merchants_come_from_points_with_chinese_properties() {
        let bytes = fc(json!([
            {"type": "Feature", "id": "B0FFG4Z0NJ", "geometry": point(103.7612, 29.5731),
             "properties": {"名称": "张公桥甜皮鸭", "typecode": "050100", "type": "餐饮服务;中餐厅", "评分": 4.6, "支持数字人民币": true}},
            {"type": "Feature", "id": 42, "geometry": point(103.762, 29.5735),
             "properties": {"name": "乐山钵钵鸡", "category": "dining", "rating": null}}
        ]));
        let Ok(Parsed::Merchants(m)) = run(
            ImportKind::Merchants,
            Some("m.geojson"),
            &bytes,
            &ImportOptions::default(),
        ) else {
            panic!("merchants expected")
        };
        assert_eq!(m[0].id, "B0FFG4Z0NJ");
        assert_eq!(m[0].category, "dining");
        assert_eq!(m[0].rating, Some(4.6));
        assert!(m[0].accepts_ecny);
        assert_eq!(m[1].id, "42");
        assert_eq!(m[1].rating, None);
    }

    #[test]
    fn a_single_feature_is_accepted_and_the_format_is_sniffed() {
        let bytes = json!({"type": "Feature", "geometry": point(103.76, 29.57),
                           "properties": {"name": "嘉州网点"}})
        .to_string();
        let p = run(
            ImportKind::Outlets,
            None,
            bytes.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(p.map(|p| p.len()), Ok(1));
    }

    #[test]
    fn gcj02_input_is_stored_in_wgs84() {
        let (wlon, wlat) = (103.7612, 29.5731);
        let (glon, glat) = from_wgs84(Crs::Gcj02, wlon, wlat);
        let bytes = fc(json!([{"type": "Feature", "geometry": point(glon, glat),
                                "properties": {"name": "a", "category": "dining"}}]));
        let o = ImportOptions {
            crs: Crs::Gcj02,
            ..Default::default()
        };
        let Ok(Parsed::Merchants(m)) = run(ImportKind::Merchants, None, &bytes, &o) else {
            panic!("merchants expected")
        };
        let got = (m[0].location.lon(), m[0].location.lat());
        assert!(approx_distance_m(got, (wlon, wlat)) < 0.01, "{got:?}");
    }

    #[test]
    fn missing_and_invalid_geometries_name_the_feature() {
        let bytes = fc(json!([
            {"type": "Feature", "geometry": point(103.76, 29.57), "properties": {"name": "ok", "category": "dining"}},
            {"type": "Feature", "geometry": null, "properties": {"name": "none", "category": "dining"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["a", 1]}, "properties": {"name": "bad", "category": "dining"}},
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {"name": "line", "category": "dining"}},
            {"type": "Feature", "geometry": point(29.57, 103.76), "properties": {"name": "swapped", "category": "dining"}}
        ]));
        let e = errors(ImportKind::Merchants, &bytes, &ImportOptions::default());
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.feature.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "geometry"),
                (3, "geometry"),
                (4, "geometry"),
                (5, "geometry")
            ]
        );
        assert!(e.iter().all(|e| e.row.is_none()));
        assert!(e[3].reason.contains("swapped"), "{}", e[3].reason);
        assert!(e[0].to_string().starts_with("feature 2, field geometry"));
    }

    #[test]
    fn communities_take_polygons_and_report_invalid_ones() {
        let bowtie = json!({"type": "Polygon", "coordinates": [[[103.76, 29.57], [103.77, 29.58], [103.77, 29.57], [103.76, 29.58], [103.76, 29.57]]]});
        let two = json!({"type": "MultiPolygon", "coordinates": [
            square(103.76, 29.57)["coordinates"], square(103.78, 29.57)["coordinates"]]});
        let one =
            json!({"type": "MultiPolygon", "coordinates": [square(103.76, 29.57)["coordinates"]]});
        let good = fc(json!([
            {"type": "Feature", "geometry": square(103.76, 29.57), "properties": {"小区名称": "嘉州花园", "户数": 1200}},
            {"type": "Feature", "geometry": one, "properties": {"小区名称": "滨江苑", "户数": "800"}},
            {"type": "Feature", "geometry": point(103.75, 29.56), "properties": {"小区名称": "点小区", "户数": 10}}
        ]));
        let Ok(Parsed::Communities(c)) = run(
            ImportKind::Communities,
            None,
            &good,
            &ImportOptions::default(),
        ) else {
            panic!("communities expected")
        };
        assert!(matches!(c[0].shape, CommunityShape::Polygon(_)));
        assert!(matches!(c[1].shape, CommunityShape::Polygon(_)));
        assert!(matches!(c[2].shape, CommunityShape::Point(_)));
        assert_eq!(c[1].households, 800);

        let bad = fc(json!([
            {"type": "Feature", "geometry": bowtie, "properties": {"name": "bow", "households": 1}},
            {"type": "Feature", "geometry": two, "properties": {"name": "two", "households": 1}},
            {"type": "Feature", "geometry": square(103.76, 29.57), "properties": {"name": "nohh"}},
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {"name": "empty", "households": 1}}
        ]));
        let e = errors(ImportKind::Communities, &bad, &ImportOptions::default());
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.feature.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "geometry"),
                (2, "geometry"),
                (3, "households"),
                (4, "geometry")
            ]
        );
        assert!(e[0].reason.contains("invalid polygon"), "{}", e[0].reason);
        assert!(e[1].reason.contains("2 parts"), "{}", e[1].reason);
    }

    #[test]
    fn areas_need_polygons_and_read_their_kind() {
        let bytes = fc(json!([
            {"type": "Feature", "id": "zgq", "geometry": square(103.76, 29.57), "properties": {"商圈名称": "张公桥好吃街", "kind": "food_street"}},
            {"type": "Feature", "id": "pt", "geometry": point(103.76, 29.57), "properties": {"name": "点"}}
        ]));
        let e = errors(ImportKind::Areas, &bytes, &ImportOptions::default());
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].feature, e[0].field.as_str()), (Some(2), "geometry"));
        let bytes = fc(json!([
            {"type": "Feature", "id": "zgq", "geometry": square(103.76, 29.57), "properties": {"商圈名称": "张公桥好吃街", "类型": "好吃街"}}
        ]));
        let Ok(Parsed::Areas(a)) = run(ImportKind::Areas, None, &bytes, &ImportOptions::default())
        else {
            panic!("areas expected")
        };
        assert_eq!(a[0].kind, AreaKind::FoodStreet);
        assert_eq!(a[0].id, "zgq");
    }

    #[test]
    fn duplicate_id_names_both_features() {
        let bytes = fc(json!([
            {"type": "Feature", "id": "x", "geometry": point(103.76, 29.57), "properties": {"name": "a"}},
            {"type": "Feature", "geometry": point(103.76, 29.57), "properties": {"name": "b", "id": "x"}},
            {"type": "Feature", "geometry": point(103.76, 29.57), "properties": {"name": "c"}}
        ]));
        let e = errors(ImportKind::Outlets, &bytes, &ImportOptions::default());
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.feature.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "id"), (3, "id")]);
        assert!(e[0].reason.contains("feature 1"), "{}", e[0].reason);
    }

    #[test]
    fn features_without_ids_get_stable_derived_ids() {
        let bytes = fc(json!([
            {"type": "Feature", "geometry": square(103.76, 29.57), "properties": {"name": "张公桥好吃街"}}
        ]));
        let a = run(ImportKind::Areas, None, &bytes, &ImportOptions::default());
        let b = run(ImportKind::Areas, None, &bytes, &ImportOptions::default());
        let (Ok(Parsed::Areas(a)), Ok(Parsed::Areas(b))) = (a, b) else {
            panic!("areas expected")
        };
        assert_eq!(a[0].id, b[0].id);
        assert!(a[0].id.starts_with('a'));
    }

    #[test]
    fn broken_documents_are_reported_without_a_feature_number() {
        let e = errors(
            ImportKind::Outlets,
            b"{\"type\": ",
            &ImportOptions::default(),
        );
        assert_eq!((e[0].feature, e[0].field.as_str()), (None, "file"));
        let e = errors(
            ImportKind::Outlets,
            br#"{"type": "Point", "coordinates": [1, 2]}"#,
            &ImportOptions::default(),
        );
        assert_eq!(e[0].field, "type");
        let e = errors(
            ImportKind::Outlets,
            br#"{"type": "FeatureCollection"}"#,
            &ImportOptions::default(),
        );
        assert_eq!(e[0].field, "features");
        let e = errors(
            ImportKind::Outlets,
            &fc(
                json!([{"type": "Thing"}, {"type": "Feature", "geometry": point(103.76, 29.57), "properties": []}]),
            ),
            &ImportOptions::default(),
        );
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.feature.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(got[..2], [(1, "type"), (2, "properties")]);
    }

    #[test]
    fn gbk_geojson_decodes_and_bad_bytes_name_the_line() {
        let text = json!({"type": "Feature", "geometry": point(103.76, 29.57),
                          "properties": {"名称": "张公桥支行"}})
        .to_string();
        let bytes = encoding_rs::GBK.encode(&text).0.into_owned();
        let Ok(Parsed::Outlets(o)) =
            run(ImportKind::Outlets, None, &bytes, &ImportOptions::default())
        else {
            panic!("outlets expected")
        };
        assert_eq!(o[0].name, "张公桥支行");
        let o = ImportOptions {
            encoding: Encoding::Utf8,
            ..Default::default()
        };
        let e = errors(ImportKind::Outlets, &bytes, &o);
        assert_eq!(e[0].field, "encoding");
        assert!(e[0].reason.contains("line 1"), "{}", e[0].reason);
    }

    #[test]
    fn too_many_features_fail_the_import() {
        let f = json!({"type": "Feature", "geometry": point(103.76, 29.57), "properties": {"name": "a"}});
        let bytes = fc(json!([f, f, f]));
        let o = ImportOptions {
            max_rows: 2,
            ..Default::default()
        };
        let e = errors(ImportKind::Outlets, &bytes, &o);
        assert_eq!(
            e.last().map(|e| e.reason.as_str()),
            Some("too many features (limit 2)")
        );
    }
}

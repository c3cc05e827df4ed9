//! CSV files (and Excel's tab-separated "text" exports): the header row, one record per data
//! row, cells decoded field by field so that an undecodable byte is reported on its own row.
//!
//! The csv crate splits the raw bytes before decoding. That is safe for GB18030 as well as
//! UTF-8: neither uses the bytes of `,`, `"`, tab, CR or LF inside a multi-byte character.

use std::ops::ControlFlow;

use crate::domain::FieldError;

use super::headers::{missing_columns, resolve_columns};
use super::text::{self, Choice};
use super::{geometry, Encoding, Field, Place, Record, Sink};

pub(super) fn read(bytes: &[u8], encoding: Encoding, sink: &mut Sink<'_>) {
    // `Break` only means "stop reading"; the sink already holds the reason.
    let _ = read_records(bytes, encoding, sink);
}

/// `,` unless the header line has no comma but tabs (Excel "Text (Tab delimited)") or
/// semicolons (Excel in locales whose decimal mark is a comma).
fn sniff_delimiter(body: &[u8]) -> u8 {
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or(body);
    let count = |d: u8| first_line.iter().filter(|&&b| b == d).count();
    if count(b',') > 0 {
        b','
    } else if count(b'\t') > 0 {
        b'\t'
    } else if count(b';') > 0 {
        b';'
    } else {
        b','
    }
}

fn encoding_error(choice: &Choice<'_>, column: &str) -> FieldError {
    let hint = if choice.detected {
        format!(
            " (the file was read as {}; choose the encoding explicitly if that is wrong)",
            choice.decoder.name()
        )
    } else {
        String::new()
    };
    FieldError::new(
        "encoding",
        format!(
            "column {column:?} holds bytes that are not valid {}{hint}",
            choice.decoder.name()
        ),
    )
}

fn read_records(bytes: &[u8], encoding: Encoding, sink: &mut Sink<'_>) -> ControlFlow<()> {
    let choice = match text::choose(encoding, bytes) {
        Ok(c) => c,
        Err(reason) => return sink.fail_at(Place::Row(1), "encoding", reason),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        // The header is read as an ordinary record so that it is decoded like the others.
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(choice.body))
        .from_reader(choice.body);
    let mut records = reader.byte_records();

    let header = match records.next() {
        None => {
            return sink.fail_at(
                Place::Row(1),
                "file",
                "the file is empty: expected a header row",
            )
        }
        Some(Err(e)) => return sink.fail_at(Place::Row(1), "file", e.to_string()),
        Some(Ok(h)) => h,
    };
    let mut names = Vec::with_capacity(header.len());
    let mut header_ok = true;
    for (i, raw) in header.iter().enumerate() {
        match choice.decoder.decode(raw) {
            Some(s) => names.push(s.into_owned()),
            None => {
                header_ok = false;
                let e = encoding_error(&choice, &format!("#{}", i + 1));
                sink.fail_at(Place::Row(1), e.field, e.reason)?;
                names.push(String::new());
            }
        }
    }
    if !header_ok {
        return ControlFlow::Break(());
    }
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (fields, duplicates) = resolve_columns(sink.kind(), &name_refs);
    let present: Vec<Field> = fields.iter().flatten().copied().collect();
    let header_errors: Vec<FieldError> = duplicates
        .into_iter()
        .chain(missing_columns(sink.kind(), &present))
        .collect();
    if !header_errors.is_empty() {
        for e in header_errors {
            sink.fail_at(Place::Row(1), e.field, e.reason)?;
        }
        return ControlFlow::Break(());
    }
    sink.set_explicit_ids(present.contains(&Field::Id));

    for (i, result) in records.enumerate() {
        // Excel's row: the header is row 1, the first data record row 2.
        let place = Place::Row(i + 2);
        sink.count("rows")?;
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                sink.fail_at(place, "file", e.to_string())?;
                continue;
            }
        };
        let mut rec = Record::new(place);
        for (col, field) in fields.iter().enumerate() {
            let Some(field) = *field else { continue };
            let raw = record.get(col).unwrap_or(b"");
            let Some(value) = choice.decoder.decode(raw) else {
                let column = names.get(col).map(String::as_str).unwrap_or("");
                rec.errors.push(encoding_error(&choice, column));
                continue;
            };
            if field == Field::Geometry {
                if !value.trim().is_empty() {
                    rec.geometry = Some(geometry::from_text(&value));
                }
            } else {
                rec.values.insert(field, value.into_owned());
            }
        }
        sink.record(rec)?;
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use crate::domain::{AreaKind, CommunityShape, OutletKind, PipelineStatus};
    use crate::geo::crs::{approx_distance_m, from_wgs84, Crs};
    use crate::ingest::tests::run;
    use crate::ingest::{Encoding, ImportKind, ImportOptions, Parsed, RowError};

    fn opts(crs: Crs) -> ImportOptions {
        ImportOptions {
            crs,
            ..Default::default()
        }
    }

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    fn merchants(csv: &[u8], o: &ImportOptions) -> Vec<crate::domain::Merchant> {
        match run(ImportKind::Merchants, Some("m.csv"), csv, o) {
            Ok(Parsed::Merchants(m)) => m,
            other => panic!("expected merchants, got {other:?}"),
        }
    }

    fn errors(kind: ImportKind, csv: &[u8], o: &ImportOptions) -> Vec<RowError> {
        match run(kind, Some("x.csv"), csv, o) {
            Err(e) => e.errors,
            Ok(p) => panic!("expected errors, got {} items", p.len()),
        }
    }

    const HEADER_ZH: &str = "名称,类别,经度,纬度,地址\n";

    #[test]
    fn gbk_csv_with_chinese_headers_imports_chinese_names() {
        let csv = gbk(&format!(
            "{HEADER_ZH}张公桥甜皮鸭,餐饮美食,103.7612,29.5731,张公桥好吃街12号\n\
             乐山钵钵鸡,050100,103.7620,29.5735,张公桥好吃街20号\n"
        ));
        for enc in [Encoding::Auto, Encoding::Gbk] {
            let o = ImportOptions {
                encoding: enc,
                ..opts(Crs::Gcj02)
            };
            let m = merchants(&csv, &o);
            assert_eq!(m.len(), 2);
            assert_eq!(m[0].name, "张公桥甜皮鸭");
            assert_eq!(m[0].category, "dining");
            assert_eq!(m[1].address.as_deref(), Some("张公桥好吃街20号"));
        }
    }

    #[test]
    fn gbk_bytes_read_as_utf8_are_an_encoding_error_on_their_row() {
        let csv = "name,category,lon,lat\nok,dining,103.76,29.57\n".to_string();
        let mut bytes = csv.into_bytes();
        bytes.extend(gbk("张公桥甜皮鸭,dining,103.76,29.57\n"));
        let o = ImportOptions {
            encoding: Encoding::Utf8,
            ..Default::default()
        };
        let e = errors(ImportKind::Merchants, &bytes, &o);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].row, Some(3));
        assert_eq!(e[0].field, "encoding");
        assert!(e[0].reason.contains("\"name\""), "{}", e[0].reason);
    }

    #[test]
    fn malformed_gbk_names_its_row() {
        let mut bytes = gbk(&format!("{HEADER_ZH}张公桥甜皮鸭,dining,103.76,29.57,\n"));
        // 0x81 starts a two-byte character; a space cannot follow it.
        bytes.extend_from_slice(b"\x81\x20bad,dining,103.76,29.57,\n");
        let o = ImportOptions {
            encoding: Encoding::Gbk,
            ..Default::default()
        };
        let e = errors(ImportKind::Merchants, &bytes, &o);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(3), "encoding"));
    }

    #[test]
    fn utf8_file_with_one_damaged_byte_is_not_misread_as_gbk() {
        let mut bytes = format!(
            "{HEADER_ZH}张公桥甜皮鸭,dining,103.76,29.57,好吃街\n乐山钵钵鸡,dining,103.76,29.57,好吃街2号\n"
        )
        .into_bytes();
        bytes.extend_from_slice(b"\xFFbad,dining,103.76,29.58,x\n");
        let e = errors(ImportKind::Merchants, &bytes, &ImportOptions::default());
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(4), "encoding"));
        assert!(e[0].reason.contains("UTF-8"), "{}", e[0].reason);
    }

    #[test]
    fn undecodable_header_is_an_encoding_error_on_row_1() {
        let bytes = gbk(&format!("{HEADER_ZH}甜皮鸭,dining,103.76,29.57,x\n"));
        let o = ImportOptions {
            encoding: Encoding::Utf8,
            ..Default::default()
        };
        let e = errors(ImportKind::Merchants, &bytes, &o);
        assert!(!e.is_empty());
        assert!(e.iter().all(|e| e.row == Some(1) && e.field == "encoding"));
    }

    #[test]
    fn utf16_files_are_refused_with_a_hint() {
        let e = errors(
            ImportKind::Merchants,
            b"\xFF\xFEn\x00",
            &ImportOptions::default(),
        );
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(1), "encoding"));
        assert!(e[0].reason.contains("CSV UTF-8"), "{}", e[0].reason);
    }

    #[test]
    fn utf8_bom_is_stripped_from_first_header() {
        let csv = "\u{feff}名称,类别,经度,纬度\n甜皮鸭,dining,103.76,29.57\n";
        for enc in [Encoding::Auto, Encoding::Utf8] {
            let o = ImportOptions {
                encoding: enc,
                ..Default::default()
            };
            assert_eq!(merchants(csv.as_bytes(), &o)[0].name, "甜皮鸭");
        }
    }

    #[test]
    fn english_headers_in_any_case_with_spaces_work() {
        let csv = " NAME , Type ,LNG, Latitude ,Rating\nA,dining,103.76,29.57,4.5\n";
        let m = merchants(csv.as_bytes(), &ImportOptions::default());
        assert_eq!(m[0].rating, Some(4.5));
    }

    #[test]
    fn tab_separated_text_is_read() {
        let csv = "名称\t类别\t经度\t纬度\n甜皮鸭\tdining\t103.76\t29.57\n";
        assert_eq!(
            merchants(csv.as_bytes(), &ImportOptions::default()).len(),
            1
        );
    }

    #[test]
    fn unknown_columns_are_ignored() {
        let csv = "序号,名称,备注,类别,经度,纬度\n1,甜皮鸭,好吃,dining,103.76,29.57\n";
        assert_eq!(
            merchants(csv.as_bytes(), &ImportOptions::default()).len(),
            1
        );
    }

    #[test]
    fn missing_required_columns_are_named_once_on_row_1() {
        let csv = "名称,经度\n甜皮鸭,103.76\n乐山钵钵鸡,103.76\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        let got: Vec<_> = e.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(got, vec![(Some(1), "lat"), (Some(1), "category")]);
        assert!(e[0].reason.contains("纬度"), "{}", e[0].reason);
    }

    #[test]
    fn duplicate_header_aliases_are_an_error() {
        let csv = "name,名称,category,lon,lat\na,b,dining,103.76,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(1), "name"));
    }

    #[test]
    fn empty_file_is_an_error() {
        let e = errors(ImportKind::Merchants, b"", &ImportOptions::default());
        assert_eq!(e[0].row, Some(1));
    }

    #[test]
    fn header_only_file_imports_nothing() {
        let p = run(
            ImportKind::Merchants,
            None,
            b"name,category,lon,lat\n",
            &ImportOptions::default(),
        );
        assert_eq!(p.map(|p| p.len()), Ok(0));
    }

    #[test]
    fn row_numbers_match_excel_even_with_line_breaks_inside_quotes() {
        let csv = "name,category,lon,lat,address\n\
                   a,dining,103.76,29.57,\"line one\nline two\"\n\
                   b,dining,abc,29.57,x\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(3), "lon"));
    }

    #[test]
    fn excel_blank_rows_are_skipped_but_counted() {
        let csv = "name,category,lon,lat\na,dining,103.76,29.57\n,,,\nb,dining,abc,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e[0].row, Some(4));
    }

    #[test]
    fn one_bad_row_among_thousands_is_named_and_nothing_is_returned() {
        let mut csv = String::from("name,category,lon,lat\n");
        for i in 0..5_000 {
            let lat = if i == 3_141 { "纬度" } else { "29.57" };
            csv.push_str(&format!("店{i},dining,103.76,{lat}\n"));
        }
        let e = run(
            ImportKind::Merchants,
            None,
            csv.as_bytes(),
            &ImportOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.errors.len(), 1);
        assert!(!e.truncated);
        assert_eq!(e.errors[0].row, Some(3_143));
        assert_eq!(e.errors[0].field, "lat");
        assert!(e.errors[0].reason.contains("bad coordinate"));
        assert!(e
            .to_string()
            .contains("row 3143, field lat: bad coordinate"));
    }

    #[test]
    fn every_bad_row_is_reported_with_all_its_problems() {
        let csv = "name,category,lon,lat,rating\n\
                   ,dining,103.76,29.57,\n\
                   b,nosuch,abc,,9\n\
                   c,dining,103.76,29.57,4\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.row.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(2, "name"), (3, "category"), (3, "lon"), (3, "lat")]
        );
    }

    #[test]
    fn domain_validation_errors_keep_their_field() {
        let csv = "name,category,lon,lat,rating\na,dining,103.76,29.57,7\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(2), "rating"));
        assert!(e[0].reason.contains("0..=5"), "{}", e[0].reason);
    }

    #[test]
    fn coordinates_reject_blank_words_and_nan() {
        let csv = "name,category,lon,lat\n\
                   a,dining, 103.76 , 29.57 \n\
                   b,dining,,29.57\n\
                   c,dining,abc,29.57\n\
                   d,dining,NaN,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.row.unwrap_or(0), e.reason.as_str()))
            .collect();
        assert_eq!(got[0], (3, "missing coordinate"));
        assert!(got[1].0 == 4 && got[1].1.contains("bad coordinate"));
        assert!(got[2].0 == 5 && got[2].1.contains("bad coordinate"));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn swapped_coordinates_are_reported() {
        let csv = "name,category,lon,lat\na,dining,29.57,103.76\n";
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            let e = errors(ImportKind::Merchants, csv.as_bytes(), &opts(crs));
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].row, Some(2));
            assert!(
                e[0].reason.contains("latitude and longitude look swapped"),
                "{}",
                e[0].reason
            );
        }
        // In China's systems the swap is caught even when both values are below 90.
        let csv = "name,category,lon,lat\na,dining,39.9,80.1\n";
        let e = errors(ImportKind::Merchants, csv.as_bytes(), &opts(Crs::Gcj02));
        assert!(e[0].reason.contains("swapped"), "{}", e[0].reason);
    }

    #[test]
    fn china_crs_refuses_points_outside_china() {
        let csv = "name,category,lon,lat\nParis,dining,2.35,48.85\n";
        let e = errors(ImportKind::Merchants, csv.as_bytes(), &opts(Crs::Gcj02));
        assert!(
            e[0].reason.contains("outside China's extent for crs gcj02"),
            "{}",
            e[0].reason
        );
        assert!(run(
            ImportKind::Merchants,
            None,
            csv.as_bytes(),
            &opts(Crs::Wgs84)
        )
        .is_ok());
    }

    #[test]
    fn gcj02_input_is_stored_in_wgs84() {
        let (wlon, wlat) = (103.7612, 29.5731);
        for crs in [Crs::Gcj02, Crs::Bd09] {
            let (lon, lat) = from_wgs84(crs, wlon, wlat);
            let csv = format!("name,category,lon,lat\na,dining,{lon},{lat}\n");
            let m = merchants(csv.as_bytes(), &opts(crs));
            let got = (m[0].location.lon(), m[0].location.lat());
            assert!(
                approx_distance_m(got, (wlon, wlat)) < 0.01,
                "{crs}: {got:?}"
            );
            // and the offset was real: hundreds of metres
            assert!(approx_distance_m((lon, lat), (wlon, wlat)) > 100.0);
        }
    }

    #[test]
    fn amap_type_code_resolves_category() {
        let csv = "name,type,typecode,lon,lat\n\
                   a,餐饮服务;中餐厅;中餐厅,050100,103.76,29.57\n\
                   b,,050301,103.76,29.57\n\
                   c,Supermarket,,103.76,29.57\n\
                   d,医药健康,,103.76,29.57\n";
        let m = merchants(csv.as_bytes(), &ImportOptions::default());
        let cats: Vec<_> = m.iter().map(|m| m.category.as_str()).collect();
        assert_eq!(cats, ["dining", "snacks", "supermarket", "pharmacy"]);
        let csv = "name,category,lon,lat\na,060400|050100,103.76,29.57\n";
        assert_eq!(
            merchants(csv.as_bytes(), &ImportOptions::default())[0].category,
            "supermarket"
        );
    }

    #[test]
    fn unknown_category_names_the_value_and_the_valid_codes() {
        let csv = "name,category,lon,lat\na,火锅,103.76,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e[0].field, "category");
        assert!(e[0].reason.contains("\"火锅\""), "{}", e[0].reason);
        assert!(e[0].reason.contains("dining, snacks"), "{}", e[0].reason);
        assert!(e[0].reason.contains("AMap"), "{}", e[0].reason);
    }

    #[test]
    fn merchant_attributes_are_read_from_chinese_columns() {
        let csv = "商户名称,业态,经度,纬度,人均消费,评分,客流量,营业时间,支持数字人民币,已签约他行,连锁品牌,拓展状态\n\
                   甜皮鸭,dining,103.76,29.57,¥35,4.6分,1200,10:00-22:00,是,工商银行,无,已签约\n\
                   钵钵鸡,dining,103.76,29.57,,,,,,否,,\n\
                   冷锅串串,dining,103.76,29.57,,,,,支持,是,,有意向\n";
        let m = merchants(csv.as_bytes(), &ImportOptions::default());
        assert_eq!(m[0].avg_spend_cny, Some(35.0));
        assert_eq!(m[0].rating, Some(4.6));
        assert_eq!(m[0].footfall_daily, Some(1200));
        assert_eq!(m[0].opening_hours.as_deref(), Some("10:00-22:00"));
        assert!(m[0].accepts_ecny);
        assert_eq!(m[0].competitor_signed.as_deref(), Some("工商银行"));
        assert_eq!(m[0].chain, None);
        assert_eq!(m[0].status, PipelineStatus::Signed);
        assert!(!m[1].accepts_ecny);
        assert_eq!(m[1].competitor_signed, None);
        assert_eq!(m[1].status, PipelineStatus::Prospect);
        assert_eq!(m[2].competitor_signed.as_deref(), Some("他行"));
        assert_eq!(m[2].status, PipelineStatus::Interested);
    }

    #[test]
    fn bad_yes_no_and_status_are_reported() {
        let csv = "name,category,lon,lat,accepts_ecny,status\na,dining,103.76,29.57,maybe,soon\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["accepts_ecny", "status"]);
        assert!(e[1].reason.contains("已签约"), "{}", e[1].reason);
    }

    #[test]
    fn duplicate_id_names_both_rows() {
        let csv = "id,name,category,lon,lat\nm1,a,dining,103.76,29.57\nm2,b,dining,103.76,29.57\nm1,c,dining,103.76,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(4), "id"));
        assert!(e[0].reason.contains("row 2"), "{}", e[0].reason);
    }

    #[test]
    fn an_id_column_requires_an_id_on_every_row() {
        let csv = "编号,name,category,lon,lat\nm1,a,dining,103.76,29.57\n ,b,dining,103.76,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(3), "id"));
        let csv = "id,name,category,lon,lat\nm/1,a,dining,103.76,29.57\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e[0].field, "id");
    }

    #[test]
    fn ids_from_the_file_are_kept() {
        let csv = "poi_id,name,category,lon,lat\nB0FFG4Z0NJ,a,dining,103.76,29.57\n";
        assert_eq!(
            merchants(csv.as_bytes(), &ImportOptions::default())[0].id,
            "B0FFG4Z0NJ"
        );
    }

    #[test]
    fn derived_ids_are_the_same_on_every_import() {
        let csv = "name,category,lon,lat,address\n甜皮鸭,dining,103.76,29.57,好吃街1号\n钵钵鸡,dining,103.76,29.57,\n";
        let a = merchants(csv.as_bytes(), &ImportOptions::default());
        let b = merchants(csv.as_bytes(), &ImportOptions::default());
        assert_eq!(a[0].id, b[0].id);
        assert_eq!(a[1].id, b[1].id);
        assert_ne!(a[0].id, a[1].id);
        assert!(
            a[0].id.starts_with('m') && a[0].id.len() == 13,
            "{}",
            a[0].id
        );
        // The address, not the position, identifies a row that has one.
        let moved = "name,category,lon,lat,address\n甜皮鸭,dining,103.77,29.58,好吃街1号\n";
        assert_eq!(
            merchants(moved.as_bytes(), &ImportOptions::default())[0].id,
            a[0].id
        );
    }

    #[test]
    fn rows_that_derive_the_same_id_are_duplicates() {
        let csv = "name,category,lon,lat,address\n甜皮鸭,dining,103.76,29.57,好吃街1号\n甜皮鸭,dining,103.77,29.57,好吃街1号\n";
        let e = errors(
            ImportKind::Merchants,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(3), "id"));
        assert!(e[0].reason.contains("row 2"), "{}", e[0].reason);
    }

    #[test]
    fn outlets_distinguish_ours_from_competitors() {
        let csv = "网点名称,网点类型,银行,所属支行,经度,纬度\n\
                   张公桥支行营业部,商圈型,,sub-1,103.76,29.57\n\
                   嘉州网点,社区型,我行,sub-1,103.76,29.58\n\
                   月咡塘网点,综合型,Ours,,103.762,29.58\n\
                   工行张公桥支行,,工商银行,,103.761,29.571\n";
        let Ok(Parsed::Outlets(o)) = run(
            ImportKind::Outlets,
            None,
            csv.as_bytes(),
            &ImportOptions::default(),
        ) else {
            panic!("outlets expected")
        };
        assert!(o[0].is_ours() && o[1].is_ours());
        assert_eq!(o[0].kind, OutletKind::BusinessDistrict);
        assert_eq!(o[0].parent_org_id.as_deref(), Some("sub-1"));
        assert_eq!(o[1].kind, OutletKind::Community);
        assert!(o[2].is_ours());
        assert_eq!(o[3].competitor_bank.as_deref(), Some("工商银行"));
        assert_eq!(o[3].kind, OutletKind::Mixed);
        assert!(o[3].id.starts_with('o'));
    }

    #[test]
    fn competitor_outlet_under_our_org_is_a_domain_error() {
        let csv = "name,bank,parent_org_id,lon,lat\nx,建设银行,sub-1,103.76,29.57\n";
        let e = errors(
            ImportKind::Outlets,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e[0].field, "parent_org_id");
        let csv = "name,kind,lon,lat\nx,flagship,103.76,29.57\n";
        let e = errors(
            ImportKind::Outlets,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!(e[0].field, "kind");
    }

    #[test]
    fn communities_need_households() {
        let csv = "小区名称,经度,纬度\n嘉州花园,103.76,29.57\n";
        let e = errors(
            ImportKind::Communities,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(1), "households"));
        let csv = "小区名称,户数,经度,纬度\n嘉州花园,,103.76,29.57\n滨江苑,-5,103.76,29.58\n";
        let e = errors(
            ImportKind::Communities,
            csv.as_bytes(),
            &ImportOptions::default(),
        );
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.row.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "households"), (3, "households")]);
        assert!(e[1].reason.contains("negative"), "{}", e[1].reason);
    }

    #[test]
    fn communities_read_points_and_polygons_in_the_given_crs() {
        let csv = "小区名称,户数,常住人口,房屋均价,我行客户数,经度,纬度,边界\n\
                   嘉州花园,1200,3500,\"8,600元/㎡\",300,103.76,29.57,\n\
                   滨江苑,800,,,,,,\"POLYGON((103.760 29.570, 103.765 29.570, 103.765 29.574, 103.760 29.574, 103.760 29.570))\"\n";
        let Ok(Parsed::Communities(c)) = run(
            ImportKind::Communities,
            None,
            csv.as_bytes(),
            &opts(Crs::Gcj02),
        ) else {
            panic!("communities expected")
        };
        assert_eq!(c[0].households, 1200);
        assert_eq!(c[0].population, Some(3500));
        assert_eq!(c[0].avg_house_price_cny_m2, Some(8600.0));
        assert_eq!(c[0].bank_customers, Some(300));
        assert!(matches!(c[0].shape, CommunityShape::Point(_)));
        let CommunityShape::Polygon(p) = &c[1].shape else {
            panic!("polygon expected")
        };
        // Every vertex was converted from GCJ-02, so the shell moved by the GCJ-02 offset.
        let first = p.rings()[0][0];
        let expected = crate::geo::crs::to_wgs84(Crs::Gcj02, 103.760, 29.570);
        assert!(approx_distance_m((first[0], first[1]), expected) < 0.01);
        assert!(approx_distance_m((first[0], first[1]), (103.760, 29.570)) > 100.0);
    }

    #[test]
    fn invalid_polygons_name_the_geometry_field() {
        let csv = "name,households,geometry\n\
                   bow,10,\"POLYGON((103.76 29.57, 103.77 29.58, 103.77 29.57, 103.76 29.58, 103.76 29.57))\"\n\
                   junk,10,POLYGON((oops))\n\
                   swapped,10,\"POLYGON((29.57 103.76, 29.57 103.77, 29.58 103.77, 29.57 103.76))\"\n";
        let e = errors(ImportKind::Communities, csv.as_bytes(), &opts(Crs::Gcj02));
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.row.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "geometry"), (3, "geometry"), (4, "geometry")]);
        assert!(e[0].reason.contains("invalid polygon"), "{}", e[0].reason);
        assert!(
            e[2].reason
                .contains("vertex 1: latitude and longitude look swapped"),
            "{}",
            e[2].reason
        );
    }

    #[test]
    fn areas_come_from_a_geometry_column_as_wkt_or_geojson() {
        let csv = "商圈名称,商圈类型,范围\n\
                   张公桥好吃街,好吃街,\"POLYGON((103.760 29.570, 103.765 29.570, 103.765 29.574, 103.760 29.574, 103.760 29.570))\"\n\
                   嘉州商圈,,\"{\"\"type\"\":\"\"Polygon\"\",\"\"coordinates\"\":[[[103.75,29.56],[103.76,29.56],[103.76,29.57],[103.75,29.56]]]}\"\n";
        let Ok(Parsed::Areas(a)) = run(
            ImportKind::Areas,
            None,
            csv.as_bytes(),
            &ImportOptions::default(),
        ) else {
            panic!("areas expected")
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kind, AreaKind::FoodStreet);
        assert_eq!(a[1].kind, AreaKind::BusinessDistrict);
        assert!(a[0].id.starts_with('a'));
    }

    #[test]
    fn areas_without_a_geometry_column_or_with_a_point_fail() {
        let csv = "name,lon,lat\nx,103.76,29.57\n";
        let e = errors(ImportKind::Areas, csv.as_bytes(), &ImportOptions::default());
        assert_eq!((e[0].row, e[0].field.as_str()), (Some(1), "geometry"));
        let csv = "name,wkt\nx,POINT(103.76 29.57)\ny,\n";
        let e = errors(ImportKind::Areas, csv.as_bytes(), &ImportOptions::default());
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.row.unwrap_or(0), e.field.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "geometry"), (3, "geometry")]);
    }

    #[test]
    fn fixtures_import_the_same_merchants_in_both_encodings() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let gbk = std::fs::read(format!("{dir}/merchants_gbk.csv")).unwrap();
        let utf8 = std::fs::read(format!("{dir}/merchants_utf8_bom.csv")).unwrap();
        assert!(utf8.starts_with(b"\xEF\xBB\xBF"));
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "the GBK fixture must not be UTF-8"
        );
        let a = merchants(&gbk, &opts(Crs::Gcj02));
        let b = merchants(&utf8, &opts(Crs::Gcj02));
        assert_eq!(a.len(), 5);
        assert_eq!(a, b);
        assert_eq!(a[0].name, "张公桥甜皮鸭");
        for m in &a {
            assert!((103.7..103.8).contains(&m.location.lon()));
            assert!((29.5..29.6).contains(&m.location.lat()));
        }
    }
}

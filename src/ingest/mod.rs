//! Import parsers: pure functions from an uploaded file's bytes to validated domain values
//! (outlets, merchants, communities, areas). They own everything between "bytes" and "domain
//! type": format and encoding detection, column names in English or Chinese, cell values as
//! spreadsheets write them, coordinate checks and conversion to WGS-84, stable ids, and error
//! reports that name the row a user sees in Excel. No database, no HTTP.
//!
//! Imports are all-or-nothing: [`parse`] returns every value or, if any row failed, up to 100
//! errors and nothing else, so a half-imported file never has to be cleaned up.
//!
//! Row numbers are Excel's: the header is row 1 and the first data row is row 2. They are the
//! CSV record index + 2, so a quoted cell with line breaks still counts as one row (as Excel
//! shows it). The csv reader skips lines that are completely empty (not even commas), so such
//! lines in the middle of a file are not counted; Excel writes empty rows as `,,,` which are
//! counted (and skipped without error). GeoJSON features are numbered from 1 in their
//! collection.
//!
//! Ids: when the file has an id column (or any GeoJSON feature has an id), every row needs a
//! non-empty id, unique within the file. Without one, each row gets a derived id: the kind's
//! letter (`o`, `m`, `c`, `a`) and the first 12 hex digits of the 64-bit FNV-1a hash of the
//! kind, the trimmed name and the trimmed address; when there is no address, of the name and
//! the position (the point, or a polygon's first vertex) as written in the file, rounded to
//! 5 decimals (about a metre). Re-importing the same file therefore gives the same ids, and
//! two rows with the same name and address are reported as duplicates.

mod build;
mod csv;
mod geojson;
mod geometry;
mod headers;
mod org;
pub mod osm;
mod text;
mod values;

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;

use serde::Serialize;

use crate::domain::{Area, Categories, Community, FieldError, Merchant, Outlet};
use crate::geo::crs::Crs;

pub(crate) use headers::Field;

/// The most errors one import reports; past it, `ImportError::truncated` is set.
pub use org::parse_org_units;

pub const MAX_ERRORS: usize = 100;

/// How often `progress` is called, in items.
const PROGRESS_EVERY: usize = 1_000;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Outlets,
    Merchants,
    Communities,
    Areas,
}

impl ImportKind {
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Outlets => "outlets",
            ImportKind::Merchants => "merchants",
            ImportKind::Communities => "communities",
            ImportKind::Areas => "areas",
        }
    }

    /// The first letter of derived ids, so that ids of different kinds never look alike.
    fn id_prefix(self) -> char {
        match self {
            ImportKind::Outlets => 'o',
            ImportKind::Merchants => 'm',
            ImportKind::Communities => 'c',
            ImportKind::Areas => 'a',
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A command-line or query value that is not one of the accepted words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: use {expected}")]
pub struct UnknownOption {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for ImportKind {
    type Err = UnknownOption;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "outlets" | "outlet" | "网点" => Ok(ImportKind::Outlets),
            "merchants" | "merchant" | "商户" => Ok(ImportKind::Merchants),
            "communities" | "community" | "小区" => Ok(ImportKind::Communities),
            "areas" | "area" | "商圈" => Ok(ImportKind::Areas),
            _ => Err(UnknownOption {
                what: "import kind",
                value: s.to_string(),
                expected: "outlets, merchants, communities or areas",
            }),
        }
    }
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    GeoJson,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
        })
    }
}

impl FromStr for Format {
    type Err = UnknownOption;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "txt" | "tsv" => Ok(Format::Csv),
            "geojson" | "json" => Ok(Format::GeoJson),
            _ => Err(UnknownOption {
                what: "format",
                value: s.to_string(),
                expected: "csv or geojson",
            }),
        }
    }
}

/// The format from the file name's extension (`.csv`, `.txt`, `.geojson`, `.json`), else from
/// the content: JSON starts with `{` after any BOM and white space, anything else is CSV.
pub fn detect_format(path_or_name: Option<&str>, bytes: &[u8]) -> Format {
    let ext = path_or_name
        .and_then(|n| std::path::Path::new(n).extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv" | "txt" | "tsv") => return Format::Csv,
        Some("geojson" | "json") => return Format::GeoJson,
        _ => {}
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Format::GeoJson,
        _ => Format::Csv,
    }
}

/// The character encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// A UTF-8 BOM or valid UTF-8 means UTF-8; anything else GB18030.
    #[default]
    Auto,
    Utf8,
    /// Decoded as GB18030, the superset of GBK that Excel on Chinese Windows writes.
    Gbk,
}

impl FromStr for Encoding {
    type Err = UnknownOption;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Encoding::Auto),
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "gbk" | "gb18030" | "gb2312" => Ok(Encoding::Gbk),
            _ => Err(UnknownOption {
                what: "encoding",
                value: s.to_string(),
                expected: "auto, utf8 or gbk",
            }),
        }
    }
}

/// How to read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The coordinate system of the file's coordinates; everything is stored in WGS-84.
    pub crs: Crs,
    pub encoding: Encoding,
    /// `None` to detect from the name and content.
    pub format: Option<Format>,
    /// More data rows (or features) than this fail the import.
    pub max_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            crs: Crs::Wgs84,
            encoding: Encoding::Auto,
            format: None,
            max_rows: 1_000_000,
        }
    }
}

/// What a successful import produced, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Outlets(Vec<Outlet>),
    Merchants(Vec<Merchant>),
    Communities(Vec<Community>),
    Areas(Vec<Area>),
}

impl Parsed {
    fn empty(kind: ImportKind) -> Self {
        match kind {
            ImportKind::Outlets => Parsed::Outlets(Vec::new()),
            ImportKind::Merchants => Parsed::Merchants(Vec::new()),
            ImportKind::Communities => Parsed::Communities(Vec::new()),
            ImportKind::Areas => Parsed::Areas(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Parsed::Outlets(v) => v.len(),
            Parsed::Merchants(v) => v.len(),
            Parsed::Communities(v) => v.len(),
            Parsed::Areas(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> ImportKind {
        match self {
            Parsed::Outlets(_) => ImportKind::Outlets,
            Parsed::Merchants(_) => ImportKind::Merchants,
            Parsed::Communities(_) => ImportKind::Communities,
            Parsed::Areas(_) => ImportKind::Areas,
        }
    }

    fn push(&mut self, item: build::Item) {
        // The builder is chosen by the same kind as `self`, so the arms always match.
        match (self, item) {
            (Parsed::Outlets(v), build::Item::Outlet(x)) => v.push(x),
            (Parsed::Merchants(v), build::Item::Merchant(x)) => v.push(x),
            (Parsed::Communities(v), build::Item::Community(x)) => v.push(x),
            (Parsed::Areas(v), build::Item::Area(x)) => v.push(x),
            _ => debug_assert!(false, "item kind does not match the import kind"),
        }
    }
}

/// One problem in an import, located as a user would find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The spreadsheet row (header = 1) for CSV.
    pub row: Option<usize>,
    /// The 1-based feature position for GeoJSON.
    pub feature: Option<usize>,
    /// The canonical field name (`lat`, `category`, …), or `encoding` / `file` / `type`.
    pub field: String,
    pub reason: String,
}

impl RowError {
    fn at(place: Place, field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (row, feature) = match place {
            Place::Row(r) => (Some(r), None),
            Place::Feature(f) => (None, Some(f)),
            Place::File => (None, None),
        };
        Self {
            row,
            feature,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = self.row {
            write!(f, "row {r}, ")?;
        }
        if let Some(n) = self.feature {
            write!(f, "feature {n}, ")?;
        }
        write!(f, "field {}: {}", self.field, self.reason)
    }
}

/// Why an import produced nothing: every problem found, up to [`MAX_ERRORS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", summarize(.errors, *.truncated))]
pub struct ImportError {
    pub errors: Vec<RowError>,
    /// More problems were found than are listed.
    pub truncated: bool,
}

/// How many errors `Display` spells out; the rest are in `errors`.
const SHOWN_ERRORS: usize = 5;

fn summarize(errors: &[RowError], truncated: bool) -> String {
    let count = if truncated {
        format!("more than {}", errors.len())
    } else {
        errors.len().to_string()
    };
    let plural = if errors.len() == 1 && !truncated {
        "problem"
    } else {
        "problems"
    };
    let mut s = format!("import failed with {count} {plural}, nothing was imported");
    for e in errors.iter().take(SHOWN_ERRORS) {
        s.push_str("; ");
        s.push_str(&e.to_string());
    }
    if errors.len() > SHOWN_ERRORS || truncated {
        s.push_str("; …");
    }
    s
}

/// Parses a whole file of `kind`. `name` (a file name or path) helps detect the format when
/// `opts.format` is `None`. `progress` is called with the number of rows or features handled
/// every 1,000 and once at the end.
pub fn parse(
    kind: ImportKind,
    name: Option<&str>,
    bytes: &[u8],
    opts: &ImportOptions,
    categories: &Categories,
    progress: &mut dyn FnMut(usize),
) -> Result<Parsed, ImportError> {
    let format = opts.format.unwrap_or_else(|| detect_format(name, bytes));
    let mut sink = Sink::new(kind, opts, categories, progress);
    match format {
        Format::Csv => csv::read(bytes, opts.encoding, &mut sink),
        Format::GeoJson => geojson::read(bytes, opts.encoding, &mut sink),
    }
    sink.finish()
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Row(usize),
    Feature(usize),
    File,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Row(r) => write!(f, "row {r}"),
            Place::Feature(n) => write!(f, "feature {n}"),
            Place::File => f.write_str("the file"),
        }
    }
}

/// One row or feature, reduced to field values: what the per-kind builders read.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub place: Place,
    pub values: HashMap<Field, String>,
    /// The geometry column or the feature's geometry, if any; `Err` holds why it is unusable.
    pub geometry: Option<Result<geometry::RawGeometry, String>>,
    /// Problems the reader found already (undecodable bytes, duplicate property names).
    pub errors: Vec<FieldError>,
}

impl Record {
    pub(crate) fn new(place: Place) -> Self {
        Self {
            place,
            values: HashMap::new(),
            geometry: None,
            errors: Vec::new(),
        }
    }

    /// The trimmed value, `None` when absent or blank.
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        self.values
            .get(&field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// True when the record has nothing in it (Excel's `,,,,` rows).
    pub(crate) fn is_blank(&self) -> bool {
        self.values.values().all(|v| v.trim().is_empty())
            && self.geometry.is_none()
            && self.errors.is_empty()
    }
}

/// Collects records into values or errors, enforcing the row limit, the error cap, id
/// uniqueness and progress reporting, the same way for every format.
pub(crate) struct Sink<'a> {
    ctx: build::Ctx<'a>,
    max_rows: usize,
    items: Parsed,
    errors: Vec<RowError>,
    truncated: bool,
    /// Ids seen so far and where, to name the first row of a duplicate.
    ids: HashMap<String, Place>,
    done: usize,
    progress: &'a mut dyn FnMut(usize),
}

impl<'a> Sink<'a> {
    fn new(
        kind: ImportKind,
        opts: &ImportOptions,
        categories: &'a Categories,
        progress: &'a mut dyn FnMut(usize),
    ) -> Self {
        Self {
            ctx: build::Ctx {
                kind,
                crs: opts.crs,
                categories,
                explicit_ids: false,
            },
            max_rows: opts.max_rows,
            items: Parsed::empty(kind),
            errors: Vec::new(),
            truncated: false,
            ids: HashMap::new(),
            done: 0,
            progress,
        }
    }

    pub(crate) fn kind(&self) -> ImportKind {
        self.ctx.kind
    }

    /// Whether the file has ids of its own (an id column, or ids on GeoJSON features).
    pub(crate) fn set_explicit_ids(&mut self, explicit: bool) {
        self.ctx.explicit_ids = explicit;
    }

    /// Records an error; `Break` once the cap is passed, so readers stop early.
    pub(crate) fn fail(&mut self, err: RowError) -> ControlFlow<()> {
        if self.errors.len() >= MAX_ERRORS {
            self.truncated = true;
            return ControlFlow::Break(());
        }
        self.errors.push(err);
        ControlFlow::Continue(())
    }

    pub(crate) fn fail_at(
        &mut self,
        place: Place,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> ControlFlow<()> {
        self.fail(RowError::at(place, field, reason))
    }

    /// Counts a row or feature against the limit, reporting progress; `Break` past the limit.
    pub(crate) fn count(&mut self, unit: &str) -> ControlFlow<()> {
        self.done += 1;
        if self.done > self.max_rows {
            self.done -= 1;
            let reason = format!("too many {unit} (limit {})", self.max_rows);
            // The limit is the answer; earlier row errors still stand beside it.
            let _ = self.fail_at(Place::File, "file", reason);
            return ControlFlow::Break(());
        }
        if self.done.is_multiple_of(PROGRESS_EVERY) {
            (self.progress)(self.done);
        }
        ControlFlow::Continue(())
    }

    /// Builds one record (already counted) and keeps its value or its errors.
    pub(crate) fn record(&mut self, rec: Record) -> ControlFlow<()> {
        // Only spreadsheet rows can be blank filler; an empty feature is still a feature.
        if matches!(rec.place, Place::Row(_)) && rec.is_blank() {
            return ControlFlow::Continue(());
        }
        let place = rec.place;
        let mut errors = rec.errors.clone();
        if self.ctx.explicit_ids {
            if let Some(id) = rec.get(Field::Id) {
                if let Some(first) = self.ids.get(id) {
                    errors.push(FieldError::new(
                        "id",
                        format!("duplicate id {id:?}: already used on {first}"),
                    ));
                } else {
                    self.ids.insert(id.to_string(), place);
                }
            }
        }
        // A record the reader already faulted (undecodable bytes, a malformed feature) is not
        // built: its values are incomplete, and "missing name" after "bad bytes in the name
        // column" would only repeat the same problem.
        let built = if rec.errors.is_empty() {
            build::build(&self.ctx, &rec)
        } else {
            Err(Vec::new())
        };
        match built {
            Ok(item) if errors.is_empty() => {
                if !self.ctx.explicit_ids {
                    let id = item.id();
                    if let Some(first) = self.ids.get(id) {
                        errors.push(FieldError::new(
                            "id",
                            format!(
                                "same name and address (or position) as {first}, which \
                                 gives the same derived id {id}; add an id column to import both"
                            ),
                        ));
                    } else {
                        self.ids.insert(id.to_string(), place);
                    }
                }
                if errors.is_empty() {
                    self.items.push(item);
                }
            }
            Ok(_) => {}
            Err(mut e) => errors.append(&mut e),
        }
        for e in errors {
            self.fail_at(place, e.field, e.reason)?;
        }
        ControlFlow::Continue(())
    }

    fn finish(self) -> Result<Parsed, ImportError> {
        (self.progress)(self.done);
        if self.errors.is_empty() {
            Ok(self.items)
        } else {
            Err(ImportError {
                errors: self.errors,
                truncated: self.truncated,
            })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small catalogue so that tests do not depend on the shipped `data/categories.toml`.
    pub(crate) fn categories() -> Categories {
        Categories::from_toml(
            r#"
            [[category]]
            code = "dining"
            zh = "餐饮美食"
            en = "Dining"
            amap = ["0501"]

            [[category]]
            code = "snacks"
            zh = "小吃快餐"
            en = "Snacks"
            amap = ["0503", "050301"]

            [[category]]
            code = "supermarket"
            zh = "超市便利"
            en = "Supermarket"
            amap = ["0604", "060400"]

            [[category]]
            code = "pharmacy"
            zh = "医药健康"
            en = "Pharmacy"
            amap = ["0901"]
            "#,
        )
        .expect("test catalogue is valid")
    }

    pub(crate) fn run(
        kind: ImportKind,
        name: Option<&str>,
        bytes: &[u8],
        opts: &ImportOptions,
    ) -> Result<Parsed, ImportError> {
        parse(kind, name, bytes, opts, &categories(), &mut |_| {})
    }

    #[test]
    fn kinds_formats_and_encodings_parse_from_their_names() {
        assert_eq!("merchants".parse::<ImportKind>(), Ok(ImportKind::Merchants));
        assert_eq!(" Areas ".parse::<ImportKind>(), Ok(ImportKind::Areas));
        assert_eq!("outlets".parse::<ImportKind>(), Ok(ImportKind::Outlets));
        assert_eq!(
            "communities".parse::<ImportKind>(),
            Ok(ImportKind::Communities)
        );
        assert!("shops".parse::<ImportKind>().is_err());
        assert_eq!("GeoJSON".parse::<Format>(), Ok(Format::GeoJson));
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        for (s, e) in [
            ("auto", Encoding::Auto),
            ("utf8", Encoding::Utf8),
            ("UTF-8", Encoding::Utf8),
            ("gbk", Encoding::Gbk),
            ("gb18030", Encoding::Gbk),
        ] {
            assert_eq!(s.parse::<Encoding>(), Ok(e), "{s}");
        }
        let e = "latin1".parse::<Encoding>().unwrap_err();
        assert!(e.to_string().contains("utf8"), "{e}");
    }

    #[test]
    fn format_comes_from_the_extension_then_the_first_byte() {
        assert_eq!(detect_format(Some("a/b/商户.CSV"), b"{"), Format::Csv);
        assert_eq!(detect_format(Some("list.txt"), b""), Format::Csv);
        assert_eq!(detect_format(Some("x.geojson"), b"name"), Format::GeoJson);
        assert_eq!(detect_format(Some("x.json"), b""), Format::GeoJson);
        assert_eq!(
            detect_format(None, b"\xEF\xBB\xBF \n {\"type\":1}"),
            Format::GeoJson
        );
        assert_eq!(detect_format(Some("upload"), b"name,lon,lat"), Format::Csv);
        assert_eq!(detect_format(None, b""), Format::Csv);
    }

    #[test]
    fn row_error_reads_like_a_sentence() {
        let e = RowError::at(Place::Row(17), "lat", "missing coordinate");
        assert_eq!(e.to_string(), "row 17, field lat: missing coordinate");
        let e = RowError::at(Place::Feature(3), "geometry", "missing");
        assert_eq!(e.to_string(), "feature 3, field geometry: missing");
        let e = RowError::at(Place::File, "file", "too many rows (limit 5)");
        assert_eq!(e.to_string(), "field file: too many rows (limit 5)");
    }

    #[test]
    fn row_error_serializes_for_api_clients() {
        let e = RowError::at(Place::Row(2), "lat", "bad");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"row": 2, "feature": null, "field": "lat", "reason": "bad"})
        );
    }

    #[test]
    fn import_error_display_lists_the_first_few_and_says_there_are_more() {
        let errors: Vec<_> = (2..12)
            .map(|r| RowError::at(Place::Row(r), "lat", "missing coordinate"))
            .collect();
        let e = ImportError {
            errors,
            truncated: false,
        };
        let s = e.to_string();
        assert!(s.starts_with("import failed with 10 problems"), "{s}");
        assert!(s.contains("row 2, field lat"), "{s}");
        assert!(s.contains("row 6, field lat"), "{s}");
        assert!(!s.contains("row 7,"), "{s}");
        assert!(s.ends_with('…'), "{s}");
        let one = ImportError {
            errors: vec![RowError::at(Place::Row(1), "name", "missing column")],
            truncated: false,
        };
        assert_eq!(
            one.to_string(),
            "import failed with 1 problem, nothing was imported; row 1, field name: missing column"
        );
    }

    #[test]
    fn progress_is_reported_every_thousand_and_at_the_end() {
        let mut csv = String::from("name,category,lon,lat\n");
        for i in 0..2_500 {
            csv.push_str(&format!("店{i},dining,103.76,29.5{}\n", i % 10));
        }
        let mut calls = Vec::new();
        let parsed = parse(
            ImportKind::Merchants,
            Some("m.csv"),
            csv.as_bytes(),
            &ImportOptions::default(),
            &categories(),
            &mut |n| calls.push(n),
        );
        assert_eq!(parsed.map(|p| p.len()), Ok(2_500));
        assert_eq!(calls, vec![1_000, 2_000, 2_500]);
    }

    #[test]
    fn more_rows_than_the_limit_fail_the_import() {
        let csv = "name,category,lon,lat\na,dining,103.76,29.57\nb,dining,103.76,29.58\nc,dining,103.76,29.59\n";
        let opts = ImportOptions {
            max_rows: 2,
            ..Default::default()
        };
        let e = run(ImportKind::Merchants, None, csv.as_bytes(), &opts).unwrap_err();
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].reason, "too many rows (limit 2)");
        let opts = ImportOptions {
            max_rows: 3,
            ..Default::default()
        };
        assert!(run(ImportKind::Merchants, None, csv.as_bytes(), &opts).is_ok());
    }

    #[test]
    fn errors_stop_at_one_hundred_and_say_they_were_truncated() {
        let mut csv = String::from("name,category,lon,lat\n");
        for i in 0..150 {
            csv.push_str(&format!("店{i},dining,abc,29.57\n"));
        }
        let e = run(
            ImportKind::Merchants,
            None,
            csv.as_bytes(),
            &ImportOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.errors.len(), MAX_ERRORS);
        assert!(e.truncated);
        assert_eq!(e.errors[0].row, Some(2));
        assert_eq!(e.errors[99].row, Some(101));
    }
}

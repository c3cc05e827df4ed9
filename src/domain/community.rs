use super::{
    check_id, check_range, optional_text, required_text, FieldError, Location, ValidPolygon,
};

/// A community's footprint: a polygon when known, else a point.
#[derive(Debug, Clone, PartialEq)]
pub enum CommunityShape {
    Point(Location),
    Polygon(ValidPolygon),
}

#[derive(Debug, Clone, Default)]
pub struct CommunityDraft {
    pub id: String,
    pub name: String,
    /// Rings of `[lon, lat]` (WGS-84) when the community has a polygon.
    pub polygon: Option<Vec<Vec<[f64; 2]>>>,
    /// The point when there is no polygon.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub households: f64,
    pub population: Option<f64>,
    pub avg_house_price_cny_m2: Option<f64>,
    pub bank_customers: Option<f64>,
    pub owner_org_id: Option<String>,
}

/// A residential community (小区), in WGS-84.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Community {
    pub id: String,
    pub name: String,
    pub shape: CommunityShape,
    /// The point used for distances and the index: the point itself or a point inside the polygon.
    pub location: Location,
    pub address: Option<String>,
    /// 户数
    pub households: u32,
    pub population: Option<u32>,
    /// Average house price in CNY per m² (a proxy for spending power).
    pub avg_house_price_cny_m2: Option<f64>,
    /// Residents already known as our bank's customers.
    pub bank_customers: Option<u32>,
    /// The org node that owns it; `None`: only administrators see it.
    pub owner_org_id: Option<String>,
}

impl TryFrom<CommunityDraft> for Community {
    type Error = FieldError;

    fn try_from(d: CommunityDraft) -> Result<Self, FieldError> {
        let shape = match (&d.polygon, d.lon, d.lat) {
            (Some(rings), _, _) => CommunityShape::Polygon(ValidPolygon::from_rings(rings)?),
            (None, Some(lon), Some(lat)) => CommunityShape::Point(Location::new(lon, lat)?),
            (None, None, _) => {
                return Err(FieldError::new("lon", "missing: give a point or a polygon"))
            }
            (None, _, None) => {
                return Err(FieldError::new("lat", "missing: give a point or a polygon"))
            }
        };
        let location = match &shape {
            CommunityShape::Point(p) => *p,
            CommunityShape::Polygon(p) => p.representative_point(),
        };
        let households = check_range("households", Some(d.households), 0.0, 1_000_000.0)?
            .map(|v| v.round() as u32)
            .unwrap_or(0);
        let population =
            check_range("population", d.population, 0.0, 10_000_000.0)?.map(|v| v.round() as u32);
        let bank_customers = check_range("bank_customers", d.bank_customers, 0.0, 10_000_000.0)?
            .map(|v| v.round() as u32);
        if let (Some(c), Some(p)) = (bank_customers, population) {
            if c > p {
                return Err(FieldError::new(
                    "bank_customers",
                    format!("{c} bank customers exceed the population of {p}"),
                ));
            }
        }
        Ok(Self {
            id: check_id(&d.id)?,
            name: required_text("name", &d.name)?,
            shape,
            location,
            address: optional_text(d.address),
            households,
            population,
            avg_house_price_cny_m2: check_range(
                "avg_house_price_cny_m2",
                d.avg_house_price_cny_m2,
                0.0,
                1_000_000.0,
            )?,
            bank_customers,
            owner_org_id: optional_text(d.owner_org_id),
        })
    }
}

impl Community {
    pub fn to_draft(&self) -> CommunityDraft {
        let (polygon, lon, lat) = match &self.shape {
            CommunityShape::Polygon(p) => (Some(p.rings()), None, None),
            CommunityShape::Point(p) => (None, Some(p.lon()), Some(p.lat())),
        };
        CommunityDraft {
            id: self.id.clone(),
            name: self.name.clone(),
            polygon,
            lon,
            lat,
            address: self.address.clone(),
            households: f64::from(self.households),
            population: self.population.map(f64::from),
            avg_house_price_cny_m2: self.avg_house_price_cny_m2,
            bank_customers: self.bank_customers.map(f64::from),
            owner_org_id: self.owner_org_id.clone(),
        }
    }
}

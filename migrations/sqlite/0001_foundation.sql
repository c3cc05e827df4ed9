-- ecomap foundation schema (SQLite). Coordinates are WGS-84 degrees; polygons are GeoJSON
-- ring arrays ([[[lon, lat], ...], ...]) in WGS-84. Flags are 0/1 integers so that the same
-- queries work on PostgreSQL through sqlx's Any driver.

CREATE TABLE org_units (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL CHECK (level IN ('head_office', 'province_branch', 'city_branch', 'sub_branch')),
    parent_id  TEXT REFERENCES org_units (id),
    updated_at TEXT NOT NULL
);

CREATE TABLE outlets (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    competitor_bank TEXT,
    kind            TEXT NOT NULL,
    parent_org_id   TEXT REFERENCES org_units (id),
    address         TEXT,
    lon             REAL NOT NULL,
    lat             REAL NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE merchants (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL,
    lon               REAL NOT NULL,
    lat               REAL NOT NULL,
    address           TEXT,
    footfall_daily    INTEGER,
    avg_spend_cny     REAL,
    rating            REAL,
    opening_hours     TEXT,
    accepts_ecny      INTEGER NOT NULL DEFAULT 0,
    competitor_signed TEXT,
    chain             TEXT,
    status            TEXT NOT NULL DEFAULT 'prospect',
    updated_at        TEXT NOT NULL
);

CREATE TABLE communities (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    lon                    REAL NOT NULL,
    lat                    REAL NOT NULL,
    polygon                TEXT,
    address                TEXT,
    households             INTEGER NOT NULL,
    population             INTEGER,
    avg_house_price_cny_m2 REAL,
    bank_customers         INTEGER,
    updated_at             TEXT NOT NULL
);

CREATE TABLE areas (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    polygon    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per completed import: what came in, in which system, how much.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    source      TEXT,
    crs         TEXT NOT NULL,
    inserted    INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

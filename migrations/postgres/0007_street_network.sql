-- The walking network (issue 9): built from an OpenStreetMap extract by `ecomap import osm`,
-- stored as one compact blob (vertices and adjacency, `network::StreetNetwork::to_bytes`) so
-- that every ecomap process loads the same network at start-up. The newest row is the network
-- in use; older ones stay as the history of imports.
CREATE TABLE street_networks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source     TEXT NOT NULL,
    report     TEXT NOT NULL,
    data       BYTEA NOT NULL,
    built_by   TEXT NOT NULL,
    built_at   TEXT NOT NULL
);

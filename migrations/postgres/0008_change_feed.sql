-- The change feed (issue 10): every write that changes what an ecomap process holds in memory
-- (merchants, outlets, communities, areas, org units, weights, the street network; a visit
-- outcome that moves a merchant's status) adds a row in its own transaction. Other processes
-- on the same database are woken by NOTIFY ecomap_changes (PostgreSQL) or poll (SQLite), read
-- the rows after the last one they applied, and reload just those objects. Writers take a
-- transaction-level advisory lock before adding their row, so sequence order is commit order.
CREATE TABLE change_feed (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    -- JSON array of the ids changed; NULL: reload every object of the kind.
    ids        TEXT,
    -- The process that wrote it (it has applied the change already).
    origin     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Scoring weights per org node, versioned: every change is a new row (who, when); the newest
-- version of the nearest node at or above an outlet applies, else the defaults in data/.
CREATE TABLE scoring_weights (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_node_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    weights     TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    UNIQUE (org_node_id, version)
);

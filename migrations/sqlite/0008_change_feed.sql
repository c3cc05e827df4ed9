-- The change feed (issue 10): see migrations/postgres/0008_change_feed.sql. SQLite serialises
-- writers, so AUTOINCREMENT order is commit order; other processes poll it.
CREATE TABLE change_feed (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    ids        TEXT,
    origin     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

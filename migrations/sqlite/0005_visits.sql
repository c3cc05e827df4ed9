-- Field visits (issue 7): every outcome a member of staff records is an event, appended and
-- never changed; a merchant's pipeline status follows from its events (src/visits/outcome.rs).

-- One row per recorded event. `id` is given by the writer, in commit order, under the write
-- lock (BEGIN IMMEDIATE). Dates are China Standard Time; instants RFC 3339 UTC (sort as text).
CREATE TABLE visit_events (
    id              INTEGER PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    -- A visit's outcome, or 'imported': an import changed the merchant's status.
    outcome         TEXT NOT NULL CHECK (outcome IN ('visited', 'interested', 'signed', 'rejected',
                        'closed', 'not_found', 'imported')),
    reason          TEXT,
    imported_status TEXT,
    notes           TEXT,
    next_follow_up  TEXT,
    visited_at      TEXT NOT NULL,
    visit_date      TEXT NOT NULL,
    visit_week      TEXT NOT NULL,
    recorded_by_id  TEXT,
    recorded_by     TEXT NOT NULL,
    -- The merchant's owner node (normally an outlet) when the event was recorded.
    org_node_id     TEXT,
    -- Personal information, shown masked; the merchant's contact follows the latest given.
    owner_name      TEXT,
    owner_phone     TEXT,
    -- The phone's idempotency key: a retried post with the same key is not stored twice.
    client_id       TEXT,
    recorded_at     TEXT NOT NULL,
    CHECK ((outcome = 'rejected') = (reason IS NOT NULL)),
    CHECK ((outcome = 'imported') = (imported_status IS NOT NULL))
);
CREATE UNIQUE INDEX visit_events_client ON visit_events (client_id, recorded_by);
CREATE INDEX visit_events_merchant ON visit_events (merchant_id, visited_at, id);
CREATE INDEX visit_events_node_date ON visit_events (org_node_id, visit_date);
CREATE INDEX visit_events_date ON visit_events (visit_date);

CREATE TRIGGER visit_events_never_updated BEFORE UPDATE ON visit_events
BEGIN
    SELECT RAISE(ABORT, 'visit events are never changed');
END;

CREATE TRIGGER visit_events_never_deleted BEFORE DELETE ON visit_events
BEGIN
    SELECT RAISE(ABORT, 'visit events are never deleted');
END;

-- Where each merchant with events stands: recomputed from its events (and baseline) by every
-- write that touches it, in the same transaction. A projection, not a source of truth.
CREATE TABLE merchant_pipeline (
    merchant_id     TEXT PRIMARY KEY REFERENCES merchants (id),
    -- The status (and its date) the merchant had before its first event.
    base_status     TEXT NOT NULL,
    base_since      TEXT,
    -- The status imports last gave it: an import saying the same again is not news.
    import_status   TEXT NOT NULL,
    status          TEXT NOT NULL,
    status_since    TEXT,
    reason          TEXT,
    flag            TEXT CHECK (flag IS NULL OR flag IN ('closed', 'not_found')),
    flag_since      TEXT,
    next_follow_up  TEXT,
    last_visit      TEXT,
    visits          INTEGER NOT NULL,
    events          INTEGER NOT NULL,
    -- When its latest event happened: later events carry the state forward from here.
    last_event_at   TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX merchant_pipeline_follow_up ON merchant_pipeline (next_follow_up);

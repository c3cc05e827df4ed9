-- Accounts, scopes and data protection (issue 4).
-- Owners: every merchant, community and area belongs to a node of the organisation tree (an
-- org unit or one of our outlets); a user sees the objects owned inside their subtree.
ALTER TABLE merchants ADD COLUMN owner_org_id TEXT;
ALTER TABLE merchants ADD COLUMN contact_name TEXT;
ALTER TABLE merchants ADD COLUMN contact_phone TEXT;
ALTER TABLE communities ADD COLUMN owner_org_id TEXT;
ALTER TABLE areas ADD COLUMN owner_org_id TEXT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'branch', 'staff')),
    org_node_id   TEXT,
    can_unmask    BIGINT NOT NULL DEFAULT 0,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- Browser sessions; the cookie holds a random token, the table only its SHA-256.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Bearer tokens for scripts, stored hashed, revocable.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT,
    action   TEXT NOT NULL,
    target   TEXT,
    detail   TEXT,
    client   TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

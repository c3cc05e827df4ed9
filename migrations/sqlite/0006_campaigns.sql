-- Campaigns (issue 8): every save is a new version row (who, when, the whole spec as JSON);
-- the newest version is the campaign, a deletion is a version marked deleted. Nothing is
-- overwritten: a stale edit (its base version is no longer the newest) is refused by the
-- primary key, so two team members editing at once cannot lose each other's work.
CREATE TABLE campaign_versions (
    campaign_id  TEXT NOT NULL,
    version      INTEGER NOT NULL,
    owner_org_id TEXT,
    name         TEXT NOT NULL,
    spec         TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    changed_by   TEXT NOT NULL,
    changed_at   TEXT NOT NULL,
    PRIMARY KEY (campaign_id, version)
);

CREATE TRIGGER campaign_versions_never_updated BEFORE UPDATE ON campaign_versions
BEGIN
    SELECT RAISE(ABORT, 'campaign versions are never changed');
END;

CREATE TRIGGER campaign_versions_never_deleted BEFORE DELETE ON campaign_versions
BEGIN
    SELECT RAISE(ABORT, 'campaign versions are never deleted');
END;

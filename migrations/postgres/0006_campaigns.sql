-- Campaigns (issue 8): every save is a new version row (who, when, the whole spec as JSON);
-- the newest version is the campaign, a deletion is a version marked deleted. Nothing is
-- overwritten: a stale edit (its base version is no longer the newest) is refused by the
-- primary key, so two team members editing at once cannot lose each other's work.
CREATE TABLE campaign_versions (
    campaign_id  TEXT NOT NULL,
    version      BIGINT NOT NULL,
    owner_org_id TEXT,
    name         TEXT NOT NULL,
    spec         TEXT NOT NULL,
    deleted      BIGINT NOT NULL DEFAULT 0,
    changed_by   TEXT NOT NULL,
    changed_at   TEXT NOT NULL,
    PRIMARY KEY (campaign_id, version)
);

CREATE FUNCTION campaign_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'campaign versions are never changed or deleted';
END;
$$;

CREATE TRIGGER campaign_versions_never_changed BEFORE UPDATE OR DELETE ON campaign_versions
    FOR EACH ROW EXECUTE FUNCTION campaign_versions_immutable();
CREATE TRIGGER campaign_versions_never_truncated BEFORE TRUNCATE ON campaign_versions
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_versions_immutable();

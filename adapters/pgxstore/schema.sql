-- The tables of adapters/pgxstore with the default TablePrefix "oidcmw_",
-- for teams that manage the schema themselves. Store.Migrate runs the same
-- statements (under an advisory lock); New never does.
CREATE TABLE IF NOT EXISTS "oidcmw_values" (key bytea PRIMARY KEY, value bytea NOT NULL, expires timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS "oidcmw_values_expires" ON "oidcmw_values" (expires);
CREATE TABLE IF NOT EXISTS "oidcmw_sets" (key bytea NOT NULL, member bytea NOT NULL, expires timestamptz NOT NULL, PRIMARY KEY (key, member));
CREATE INDEX IF NOT EXISTS "oidcmw_sets_expires" ON "oidcmw_sets" (expires);

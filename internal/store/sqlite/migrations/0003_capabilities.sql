-- Anonymous mode: a job may be reached by the hash of an unguessable
-- capability instead of by its owner's token.
ALTER TABLE jobs ADD COLUMN capability BLOB;
CREATE UNIQUE INDEX jobs_capability ON jobs (capability) WHERE capability IS NOT NULL;

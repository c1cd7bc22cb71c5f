-- A job enters the retention index once, when it ends: a PENDING or ACTIVE
-- job has no finished time and is never expired, and indexing it cost
-- index writes at every transition.
DROP INDEX jobs_retention;
CREATE INDEX jobs_retention ON jobs (state, finished) WHERE NOT keep AND finished IS NOT NULL;

-- Two per-process caches made shared.
--
-- A drain or resume through one controller must reach every controller's
-- cached set of drained executors at once: the jobs channel also carries
-- a notice with "drains" set whenever drained_workers changes (any write
-- path, `bumpserve migrate` included, cannot forget to tell).
CREATE FUNCTION drained_workers_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('bumpserve_jobs_' || TG_TABLE_SCHEMA, json_build_object(
		'drains', true, 'from', current_setting('application_name'))::text);
	RETURN NULL;
END $$;
CREATE TRIGGER drained_workers_notify AFTER INSERT OR DELETE ON drained_workers
	FOR EACH STATEMENT EXECUTE FUNCTION drained_workers_notify();

-- Each submitter's token bucket (--submit-rate), one row a key, so that
-- every controller draws on one allowance: tokens as of time at.
CREATE TABLE submit_buckets (
	key    text PRIMARY KEY,
	tokens double precision NOT NULL,
	at     timestamptz NOT NULL
);

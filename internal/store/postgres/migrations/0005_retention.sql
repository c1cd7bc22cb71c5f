-- Retention and accounting, as SQLite's migration 0008.
--
-- keep pins a finished job against the retention cleaner. disk_bytes is
-- what the job's directory holds: its uploads from submission, all its
-- files once the cleaner has measured it after it finished (disk_measured;
-- NULL = not measured since it finished).
ALTER TABLE jobs ADD COLUMN keep boolean NOT NULL DEFAULT false,
	ADD COLUMN disk_bytes bigint NOT NULL DEFAULT 0,
	ADD COLUMN disk_measured timestamptz;
CREATE INDEX jobs_retention ON jobs (state, finished) WHERE NOT keep;
CREATE INDEX jobs_unmeasured ON jobs (id)
	WHERE disk_measured IS NULL AND state IN ('COMPLETE', 'ERROR', 'CANCEL');

-- Each owner's jobs and the disk they hold, kept by a trigger: the disk
-- quota, checked at every submission, and the usage report read one
-- small row per owner, whatever the history.
CREATE TABLE disk_totals (
	owner text PRIMARY KEY,
	jobs  bigint NOT NULL,
	bytes bigint NOT NULL
);
INSERT INTO disk_totals (owner, jobs, bytes) SELECT owner, count(*), sum(disk_bytes) FROM jobs GROUP BY owner;
CREATE FUNCTION jobs_disk_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO disk_totals (owner, jobs, bytes) VALUES (NEW.owner, 1, NEW.disk_bytes)
			ON CONFLICT (owner) DO UPDATE SET jobs = disk_totals.jobs + 1, bytes = disk_totals.bytes + excluded.bytes;
	ELSIF TG_OP = 'UPDATE' THEN
		UPDATE disk_totals SET bytes = bytes + NEW.disk_bytes - OLD.disk_bytes WHERE owner = NEW.owner;
	ELSE
		UPDATE disk_totals SET jobs = jobs - 1, bytes = bytes - OLD.disk_bytes WHERE owner = OLD.owner;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER jobs_disk_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_disk_totals();
CREATE TRIGGER jobs_disk_update AFTER UPDATE OF disk_bytes ON jobs FOR EACH ROW
	WHEN (NEW.disk_bytes IS DISTINCT FROM OLD.disk_bytes) EXECUTE FUNCTION jobs_disk_totals();
CREATE TRIGGER jobs_disk_delete AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_disk_totals();

-- The CPU ledger: one row per run that ended, written by a trigger so
-- that every path to a final state is charged, and kept when the job is
-- deleted. Its charge is job.ChargedCPUSeconds: CPUs held × wall time.
CREATE TABLE accounting (
	job_id      bigint           NOT NULL,
	attempt     integer          NOT NULL,
	owner       text             NOT NULL,
	service     text             NOT NULL,
	cpus        integer          NOT NULL,
	started     timestamptz      NOT NULL,
	finished    timestamptz      NOT NULL,
	cpu_seconds double precision NOT NULL,
	PRIMARY KEY (job_id, attempt)
);
-- Covering: a report sums a period without reading the rows.
CREATE INDEX accounting_finished ON accounting (finished, owner, cpu_seconds);
CREATE INDEX accounting_owner ON accounting (owner, finished, cpu_seconds);

CREATE FUNCTION jobs_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO accounting (job_id, attempt, owner, service, cpus, started, finished, cpu_seconds)
		VALUES (NEW.id, NEW.attempt, NEW.owner, NEW.service, NEW.cpus, NEW.started, NEW.finished,
			greatest(NEW.cpus, 1) * greatest(extract(epoch FROM NEW.finished - NEW.started), 0))
		ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER jobs_account AFTER UPDATE OF state ON jobs FOR EACH ROW
	WHEN (OLD.state = 'ACTIVE' AND NEW.state IN ('COMPLETE', 'ERROR', 'CANCEL')
	      AND NEW.started IS NOT NULL AND NEW.finished IS NOT NULL)
	EXECUTE FUNCTION jobs_account();

INSERT INTO accounting (job_id, attempt, owner, service, cpus, started, finished, cpu_seconds)
	SELECT id, attempt, owner, service, cpus, started, finished,
		greatest(cpus, 1) * greatest(extract(epoch FROM finished - started), 0)
	FROM jobs WHERE state IN ('COMPLETE', 'ERROR', 'CANCEL') AND started IS NOT NULL AND finished IS NOT NULL;

-- Retention and accounting.
--
-- keep pins a finished job against the retention cleaner. disk_bytes is
-- what the job's directory holds: its uploads from submission, all its
-- files once the cleaner has measured it after it finished (disk_measured,
-- Unix nanoseconds; NULL = not measured since it finished).
ALTER TABLE jobs ADD COLUMN keep INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN disk_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN disk_measured INTEGER;
-- The cleaner finds the oldest unpinned jobs of one state.
CREATE INDEX jobs_retention ON jobs (state, finished) WHERE keep = 0;
-- It measures finished jobs not yet measured.
CREATE INDEX jobs_unmeasured ON jobs (id)
	WHERE disk_measured IS NULL AND state IN ('COMPLETE', 'ERROR', 'CANCEL');

-- Each owner's jobs and the disk they hold, kept by triggers (as
-- pending_counts): the disk quota, checked at every submission, and the
-- usage report read one small row per owner, whatever the history.
CREATE TABLE disk_totals (
	owner TEXT PRIMARY KEY,
	jobs  INTEGER NOT NULL,
	bytes INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO disk_totals (owner, jobs, bytes) SELECT owner, count(*), sum(disk_bytes) FROM jobs GROUP BY owner;
CREATE TRIGGER jobs_disk_insert AFTER INSERT ON jobs BEGIN
	INSERT INTO disk_totals (owner, jobs, bytes) VALUES (NEW.owner, 1, NEW.disk_bytes)
		ON CONFLICT (owner) DO UPDATE SET jobs = jobs + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER jobs_disk_update AFTER UPDATE OF disk_bytes ON jobs
	WHEN NEW.disk_bytes != OLD.disk_bytes BEGIN
	UPDATE disk_totals SET bytes = bytes + NEW.disk_bytes - OLD.disk_bytes WHERE owner = NEW.owner;
END;
CREATE TRIGGER jobs_disk_delete AFTER DELETE ON jobs BEGIN
	UPDATE disk_totals SET jobs = jobs - 1, bytes = bytes - OLD.disk_bytes WHERE owner = OLD.owner;
END;

-- The CPU ledger: one row per run that ended (a job requeued by an admin
-- runs again as a new attempt), written by a trigger so that every path
-- to a final state is charged, and kept when the job is deleted. Its
-- charge is job.ChargedCPUSeconds: CPUs held × wall time.
CREATE TABLE accounting (
	job_id      INTEGER NOT NULL,
	attempt     INTEGER NOT NULL,
	owner       TEXT    NOT NULL,
	service     TEXT    NOT NULL,
	cpus        INTEGER NOT NULL,
	started     INTEGER NOT NULL,
	finished    INTEGER NOT NULL,
	cpu_seconds REAL    NOT NULL,
	PRIMARY KEY (job_id, attempt)
);
-- Covering: a report sums a period without reading the rows.
CREATE INDEX accounting_finished ON accounting (finished, owner, cpu_seconds);
CREATE INDEX accounting_owner ON accounting (owner, finished, cpu_seconds);

CREATE TRIGGER jobs_account AFTER UPDATE OF state ON jobs
	WHEN OLD.state = 'ACTIVE' AND NEW.state IN ('COMPLETE', 'ERROR', 'CANCEL')
	AND NEW.started IS NOT NULL AND NEW.finished IS NOT NULL BEGIN
	INSERT INTO accounting (job_id, attempt, owner, service, cpus, started, finished, cpu_seconds)
		VALUES (NEW.id, NEW.attempt, NEW.owner, NEW.service, NEW.cpus, NEW.started, NEW.finished,
			max(NEW.cpus, 1) * max(NEW.finished - NEW.started, 0) / 1e9)
		ON CONFLICT DO NOTHING;
END;

-- Jobs that ended before this migration are charged as they stand.
INSERT INTO accounting (job_id, attempt, owner, service, cpus, started, finished, cpu_seconds)
	SELECT id, attempt, owner, service, cpus, started, finished, max(cpus, 1) * max(finished - started, 0) / 1e9
	FROM jobs WHERE state IN ('COMPLETE', 'ERROR', 'CANCEL') AND started IS NOT NULL AND finished IS NOT NULL;

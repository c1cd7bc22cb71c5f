-- Fewer b-tree writes on the hot path (issue 15), same contents.
--
-- A job enters the retention index once, when it ends: a PENDING or ACTIVE
-- job has no finished time and is never expired, and indexing it cost a
-- delete and an insert at every transition.
DROP INDEX jobs_retention;
CREATE INDEX jobs_retention ON jobs (state, finished) WHERE keep = 0 AND finished IS NOT NULL;
-- The CPU ledger keyed by its primary key (WITHOUT ROWID): one b-tree
-- fewer for every run that ends. Its trigger is dropped and made again
-- around the swap, so that the rename never meets a trigger naming a
-- table that is not there.
DROP TRIGGER jobs_account;
CREATE TABLE accounting_keyed (
	job_id      INTEGER NOT NULL,
	attempt     INTEGER NOT NULL,
	owner       TEXT    NOT NULL,
	service     TEXT    NOT NULL,
	cpus        INTEGER NOT NULL,
	started     INTEGER NOT NULL,
	finished    INTEGER NOT NULL,
	cpu_seconds REAL    NOT NULL,
	PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
INSERT INTO accounting_keyed SELECT job_id, attempt, owner, service, cpus, started, finished, cpu_seconds FROM accounting;
DROP TABLE accounting;
ALTER TABLE accounting_keyed RENAME TO accounting;
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

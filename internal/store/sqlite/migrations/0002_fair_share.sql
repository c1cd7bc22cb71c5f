-- Fair share: each owner's decayed CPU usage (CPU-seconds as of updated).
CREATE TABLE usage (
	owner   TEXT PRIMARY KEY,
	value   REAL    NOT NULL,
	updated INTEGER NOT NULL
);
-- Claims pick an owner first, then that owner's next job.
CREATE INDEX jobs_pending_owner ON jobs (owner, priority DESC, id) WHERE state = 'PENDING';

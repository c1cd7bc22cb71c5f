-- Each owner's PENDING jobs, kept by triggers: the queue quota and the
-- claim's list of owners read one small row each instead of counting
-- the queue, so their cost does not grow with it.
CREATE TABLE pending_counts (
	owner TEXT PRIMARY KEY,
	n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO pending_counts (owner, n) SELECT owner, count(*) FROM jobs WHERE state = 'PENDING' GROUP BY owner;

CREATE TRIGGER jobs_pending_insert AFTER INSERT ON jobs WHEN NEW.state = 'PENDING' BEGIN
	INSERT INTO pending_counts (owner, n) VALUES (NEW.owner, 1)
		ON CONFLICT (owner) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER jobs_pending_leave AFTER UPDATE OF state ON jobs
	WHEN OLD.state = 'PENDING' AND NEW.state != 'PENDING' BEGIN
	UPDATE pending_counts SET n = n - 1 WHERE owner = OLD.owner;
END;
CREATE TRIGGER jobs_pending_enter AFTER UPDATE OF state ON jobs
	WHEN OLD.state != 'PENDING' AND NEW.state = 'PENDING' BEGIN
	INSERT INTO pending_counts (owner, n) VALUES (NEW.owner, 1)
		ON CONFLICT (owner) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER jobs_pending_delete AFTER DELETE ON jobs WHEN OLD.state = 'PENDING' BEGIN
	UPDATE pending_counts SET n = n - 1 WHERE owner = OLD.owner;
END;

-- Claims read jobs_pending_owner; nothing reads this one any more, and
-- every submission and claim paid to keep it.
DROP INDEX jobs_pending;

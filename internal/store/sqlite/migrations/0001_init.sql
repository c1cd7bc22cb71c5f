-- Jobs: times are Unix nanoseconds; JSON columns hold text.
CREATE TABLE jobs (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	owner            TEXT    NOT NULL,
	name             TEXT    NOT NULL DEFAULT '',
	service          TEXT    NOT NULL,
	spec             TEXT    NOT NULL DEFAULT '{}',
	cpus             INTEGER NOT NULL DEFAULT 1,
	priority         INTEGER NOT NULL DEFAULT 0,
	state            TEXT    NOT NULL,
	reason           TEXT    NOT NULL DEFAULT '',
	attempt          INTEGER NOT NULL DEFAULT 1,
	max_attempts     INTEGER NOT NULL DEFAULT 3,
	worker           TEXT    NOT NULL DEFAULT '',
	lease_token      TEXT,
	lease_expires    INTEGER,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	progress         TEXT,
	result           TEXT,
	protections      TEXT,
	submitted        INTEGER NOT NULL,
	started          INTEGER,
	finished         INTEGER
);
-- Claims scan pending jobs in queue order.
CREATE INDEX jobs_pending ON jobs (priority DESC, id) WHERE state = 'PENDING';
-- The reaper finds expired leases.
CREATE INDEX jobs_lease ON jobs (lease_expires) WHERE state = 'ACTIVE';
-- Listings are per owner, newest first.
CREATE INDEX jobs_owner ON jobs (owner, id);
-- Quotas count one owner's jobs in one state.
CREATE INDEX jobs_owner_state ON jobs (owner, state);

CREATE TABLE users (
	name    TEXT PRIMARY KEY,
	role    TEXT    NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE tokens (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	user      TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	label     TEXT    NOT NULL DEFAULT '',
	hash      BLOB    NOT NULL UNIQUE,
	created   INTEGER NOT NULL,
	revoked   INTEGER,
	last_used INTEGER
);

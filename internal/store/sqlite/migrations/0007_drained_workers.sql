-- Executors an operator drained: they finish what they hold and claim
-- nothing more until resumed. Kept here so a drain outlives a restart.
CREATE TABLE drained_workers (
	name    TEXT PRIMARY KEY,
	drained INTEGER NOT NULL
);

-- Executors an operator drained: they finish what they hold and claim
-- nothing more until resumed. Kept here so a drain outlives a restart
-- and holds for every controller on this database.
CREATE TABLE drained_workers (
	name    text PRIMARY KEY,
	drained timestamptz NOT NULL
);

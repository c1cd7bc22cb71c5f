-- Every change to a job bumps its version, so that watchers can tell a
-- late-arriving older snapshot from a newer one.
ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- Fit series: a parent job whose children fit one model to each of
-- several data files. parent is a child's parent id; series is the
-- parent's series JSON (files, x source, chain); held keeps a PENDING
-- job from being claimed (a parent always, a chained child until the
-- fit before it ends).
ALTER TABLE jobs ADD COLUMN parent bigint;
ALTER TABLE jobs ADD COLUMN series text;
ALTER TABLE jobs ADD COLUMN held boolean NOT NULL DEFAULT false;
-- A parent's page and each child's end read its children.
CREATE INDEX jobs_parent ON jobs (parent, id) WHERE parent IS NOT NULL;
-- The start-up sweep finds parents still waiting on their children.
CREATE INDEX jobs_series_live ON jobs (id) WHERE series IS NOT NULL AND state = 'PENDING';

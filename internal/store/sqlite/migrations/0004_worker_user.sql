-- The identity (user) whose token claimed a job, so that one worker
-- identity cannot act on the jobs another holds, whatever names they use.
ALTER TABLE jobs ADD COLUMN worker_user TEXT NOT NULL DEFAULT '';

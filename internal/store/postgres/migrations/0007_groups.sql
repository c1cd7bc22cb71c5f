-- Groups of users, and the jobs shared with them (read-only for the
-- members). A group, user or job that goes takes its rows here with it.
CREATE TABLE groups (
	name    text PRIMARY KEY,
	created timestamptz NOT NULL
);

CREATE TABLE group_members (
	grp       text NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	user_name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	PRIMARY KEY (grp, user_name)
);
-- Access checks ask for one user's groups.
CREATE INDEX group_members_user ON group_members (user_name, grp);

CREATE TABLE job_groups (
	job bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	grp text   NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	PRIMARY KEY (job, grp)
);
-- Listings of shared jobs start from the group.
CREATE INDEX job_groups_grp ON job_groups (grp, job);

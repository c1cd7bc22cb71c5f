-- Notifications when a job ends: an outbox row per destination, written
-- with the job and due once the job is terminal; a log of every attempt;
-- each user's default notification and webhook signing secret.
CREATE TABLE notifications (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id        INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	channel       TEXT    NOT NULL,
	destination   TEXT    NOT NULL,
	status        TEXT    NOT NULL DEFAULT 'waiting',
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       INTEGER NOT NULL DEFAULT 0,
	lease_token   TEXT,
	lease_expires INTEGER
);
CREATE INDEX notifications_job ON notifications (job_id);
CREATE INDEX notifications_due ON notifications (next_at) WHERE status = 'waiting';

CREATE TABLE notification_log (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
	job_id          INTEGER NOT NULL,
	at              INTEGER NOT NULL,
	attempt         INTEGER NOT NULL,
	status          TEXT    NOT NULL,
	error           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX notification_log_job ON notification_log (job_id);
CREATE INDEX notification_log_notification ON notification_log (notification_id);

CREATE TABLE user_notify (
	user    TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
	email   TEXT NOT NULL DEFAULT '',
	webhook TEXT NOT NULL DEFAULT '',
	secret  TEXT NOT NULL DEFAULT ''
);

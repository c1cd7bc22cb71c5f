-- A finished job put back in the queue (an admin's requeue) will end
-- again: its notifications are due again then, counted afresh. The log
-- keeps the earlier deliveries.
CREATE TRIGGER jobs_renotify AFTER UPDATE OF state ON jobs
	WHEN OLD.state IN ('COMPLETE', 'ERROR', 'CANCEL') AND NEW.state NOT IN ('COMPLETE', 'ERROR', 'CANCEL') BEGIN
	UPDATE notifications SET status = 'waiting', attempts = 0, next_at = 0, lease_token = NULL, lease_expires = NULL
		WHERE job_id = NEW.id;
END;

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// insertNotifications stores a new job's notifications, waiting.
func insertNotifications(ctx context.Context, tx *wtx, jobID int64, ts []job.Target) error {
	for _, t := range ts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notifications (job_id, channel, destination) VALUES (?, ?, ?)`,
			jobID, t.Channel, t.Destination); err != nil {
			return fmt.Errorf("notification: %w", err)
		}
	}
	return nil
}

const notificationColumns = `id, job_id, channel, destination, status, attempts, next_at`

func scanNotification(row scanner) (*store.Notification, error) {
	var n store.Notification
	var next int64
	if err := row.Scan(&n.ID, &n.JobID, &n.Channel, &n.Destination, &n.Status, &n.Attempts, &next); err != nil {
		return nil, err
	}
	n.NextAt = fromNanos(next)
	return &n, nil
}

// ClaimNotifications implements store.NotifyStore.
func (s *Store) ClaimNotifications(ctx context.Context, p *store.ClaimNotificationsParams) ([]*store.Notification, error) {
	busy, err := json.Marshal(append([]string{}, p.Busy...))
	if err != nil {
		return nil, err
	}
	// Most wake-ups (every job's end) find nothing due: look with a
	// reader first, so they cost the single writer nothing.
	var due int
	err = s.readRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM notifications n JOIN jobs j ON j.id = n.job_id
		WHERE n.status = 'waiting' AND n.next_at <= ? AND coalesce(n.lease_expires, 0) <= ?
		AND j.state IN ('COMPLETE', 'ERROR', 'CANCEL') LIMIT 1)`, nanos(p.Now), nanos(p.Now)).Scan(&due)
	if err != nil || due == 0 {
		if err != nil {
			err = fmt.Errorf("claim notifications: %w", err)
		}
		return nil, err
	}
	var out []*store.Notification
	err = s.tx(ctx, func(tx *wtx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE notifications SET attempts = attempts + 1, lease_token = ?, lease_expires = ?
			WHERE id IN (SELECT n.id FROM notifications n JOIN jobs j ON j.id = n.job_id
				WHERE n.status = 'waiting' AND n.next_at <= ? AND coalesce(n.lease_expires, 0) <= ?
				AND j.state IN ('COMPLETE', 'ERROR', 'CANCEL')
				AND n.destination NOT IN (SELECT value FROM json_each(?))
				ORDER BY n.next_at, n.id LIMIT ?)
			RETURNING `+notificationColumns,
			p.Token, nanos(p.Now.Add(p.Lease)), nanos(p.Now), nanos(p.Now), string(busy), max(p.Max, 1))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return out, nil
}

// RecordDelivery implements store.NotifyStore.
func (s *Store) RecordDelivery(ctx context.Context, p *store.DeliveryParams) error {
	status, next := p.Status, int64(0)
	if p.Status == store.NotifyRetry {
		status, next = store.NotifyWaiting, nanos(p.NextAt)
	}
	err := s.tx(ctx, func(tx *wtx) error {
		var jobID int64
		err := tx.QueryRowContext(ctx, `UPDATE notifications SET status = ?, next_at = ?, lease_token = NULL, lease_expires = NULL
			WHERE id = ? AND lease_token = ? RETURNING job_id`, status, next, p.ID, p.Token).Scan(&jobID)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO notification_log (notification_id, job_id, at, attempt, status, error) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, jobID, nanos(p.Now), p.Attempt, p.Status, p.Error)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrLeaseLost) {
		return fmt.Errorf("record delivery of notification %d: %w", p.ID, err)
	}
	return err
}

// JobNotifications implements store.NotifyStore.
func (s *Store) JobNotifications(ctx context.Context, jobID int64) (*store.JobNotifications, error) {
	out := &store.JobNotifications{Notifications: []*store.Notification{}, Log: []*store.Delivery{}}
	rows, err := s.readRows(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE job_id = ? ORDER BY id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("job notifications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out.Notifications = append(out.Notifications, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	logRows, err := s.readRows(ctx, `SELECT l.at, n.channel, n.destination, l.attempt, l.status, l.error
		FROM notification_log l JOIN notifications n ON n.id = l.notification_id WHERE l.job_id = ? ORDER BY l.id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("job notifications: %w", err)
	}
	defer logRows.Close()
	for logRows.Next() {
		var d store.Delivery
		var at int64
		if err := logRows.Scan(&at, &d.Channel, &d.Destination, &d.Attempt, &d.Status, &d.Error); err != nil {
			return nil, err
		}
		d.At = fromNanos(at)
		out.Log = append(out.Log, &d)
	}
	return out, logRows.Err()
}

// NotifySettings implements store.NotifyStore.
func (s *Store) NotifySettings(ctx context.Context, user string) (*store.NotifySettings, error) {
	var ns store.NotifySettings
	var secret string
	err := s.readRow(ctx, `SELECT coalesce(n.email, ''), coalesce(n.webhook, ''), coalesce(n.secret, '')
		FROM users u LEFT JOIN user_notify n ON n.user = u.name WHERE u.name = ?`, user).
		Scan(&ns.Default.Email, &ns.Default.Webhook, &secret)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("notify settings of %q: %w", user, err)
	}
	ns.HasSecret = secret != ""
	return &ns, nil
}

// SetNotifyDefault implements store.NotifyStore.
func (s *Store) SetNotifyDefault(ctx context.Context, user string, n job.Notify) error {
	err := s.tx(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO user_notify (user, email, webhook) VALUES (?, ?, ?)
			ON CONFLICT (user) DO UPDATE SET email = excluded.email, webhook = excluded.webhook`, user, n.Email, n.Webhook)
		return err
	})
	return userWriteError("set default notification", user, err)
}

// WebhookSecret implements store.NotifyStore.
func (s *Store) WebhookSecret(ctx context.Context, p *store.WebhookSecretParams) (string, error) {
	var secret string
	err := s.tx(ctx, func(tx *wtx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO user_notify (user, secret) VALUES (?, ?)
			ON CONFLICT (user) DO UPDATE SET secret = CASE WHEN ? OR secret = '' THEN excluded.secret ELSE secret END
			RETURNING secret`, p.User, p.Fresh, p.Rotate).Scan(&secret)
	})
	return secret, userWriteError("webhook secret", p.User, err)
}

// userWriteError translates a write naming a user who does not exist.
func userWriteError(what, user string, err error) error {
	if err == nil {
		return nil
	}
	if isForeignKey(err) {
		return store.ErrNotFound
	}
	return fmt.Errorf("%s of %q: %w", what, user, err)
}

func isForeignKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY")
}

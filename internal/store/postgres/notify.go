package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// insertNotifications stores the new jobs' notifications, waiting, in
// one statement.
func insertNotifications(ctx context.Context, tx pgx.Tx, ps []*store.CreateJobParams, js []*job.Job) error {
	var ids []int64
	var channels, dests []string
	for i, p := range ps {
		for _, t := range p.Notify {
			ids, channels, dests = append(ids, js[i].ID), append(channels, t.Channel), append(dests, t.Destination)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO notifications (job_id, channel, destination)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`, ids, channels, dests)
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	return nil
}

const notificationColumns = `id, job_id, channel, destination, status, attempts, next_at`

func scanNotification(row pgx.Row) (*store.Notification, error) {
	var n store.Notification
	if err := row.Scan(&n.ID, &n.JobID, &n.Channel, &n.Destination, &n.Status, &n.Attempts, &n.NextAt); err != nil {
		return nil, err
	}
	n.NextAt = n.NextAt.UTC()
	return &n, nil
}

// ClaimNotifications implements store.NotifyStore: SKIP LOCKED lets
// several controllers claim at once without waiting for or taking each
// other's rows.
func (s *Store) ClaimNotifications(ctx context.Context, p *store.ClaimNotificationsParams) ([]*store.Notification, error) {
	busy := append([]string{}, p.Busy...)
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT n.id FROM notifications n JOIN jobs j ON j.id = n.job_id
			WHERE n.status = 'waiting' AND n.next_at <= $3 AND coalesce(n.lease_expires, 'epoch') <= $3
			AND j.state IN ('COMPLETE', 'ERROR', 'CANCEL') AND NOT (n.destination = ANY ($4))
			ORDER BY n.next_at, n.id LIMIT $5 FOR UPDATE OF n SKIP LOCKED)
		UPDATE notifications SET attempts = attempts + 1, lease_token = $1, lease_expires = $2
		FROM due WHERE notifications.id = due.id
		RETURNING notifications.id, job_id, channel, destination, status, attempts, next_at`,
		p.Token, p.Now.Add(p.Lease), p.Now, busy, max(p.Max, 1))
	var out []*store.Notification
	if err == nil {
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Notification, error) { return scanNotification(r) })
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return out, nil
}

// RecordDelivery implements store.NotifyStore.
func (s *Store) RecordDelivery(ctx context.Context, p *store.DeliveryParams) error {
	status, next := p.Status, time.Unix(0, 0)
	if p.Status == store.NotifyRetry {
		status, next = store.NotifyWaiting, p.NextAt
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var jobID int64
		err := tx.QueryRow(ctx, `UPDATE notifications SET status = $1, next_at = $2, lease_token = NULL, lease_expires = NULL
			WHERE id = $3 AND lease_token = $4 RETURNING job_id`, status, next, p.ID, p.Token).Scan(&jobID)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO notification_log (notification_id, job_id, at, attempt, status, error) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, jobID, p.Now, p.Attempt, p.Status, p.Error)
		return err
	})
	if errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("record delivery of notification %d: %w", p.ID, err)
	}
	return nil
}

// JobNotifications implements store.NotifyStore.
func (s *Store) JobNotifications(ctx context.Context, jobID int64) (*store.JobNotifications, error) {
	out := &store.JobNotifications{Notifications: []*store.Notification{}, Log: []*store.Delivery{}}
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE job_id = $1 ORDER BY id`, jobID)
	var ns []*store.Notification
	if err == nil {
		ns, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Notification, error) { return scanNotification(r) })
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("job notifications: %w", err)
	}
	out.Notifications = append(out.Notifications, ns...)
	rows, err = s.pool.Query(ctx, `SELECT l.at, n.channel, n.destination, l.attempt, l.status, l.error
		FROM notification_log l JOIN notifications n ON n.id = l.notification_id WHERE l.job_id = $1 ORDER BY l.id`, jobID)
	var ds []*store.Delivery
	if err == nil {
		ds, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Delivery, error) {
			var d store.Delivery
			err := r.Scan(&d.At, &d.Channel, &d.Destination, &d.Attempt, &d.Status, &d.Error)
			d.At = d.At.UTC()
			return &d, err
		})
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("job notifications: %w", err)
	}
	out.Log = append(out.Log, ds...)
	return out, nil
}

// NotifySettings implements store.NotifyStore.
func (s *Store) NotifySettings(ctx context.Context, user string) (*store.NotifySettings, error) {
	var ns store.NotifySettings
	var secret string
	err := s.pool.QueryRow(ctx, `SELECT coalesce(n.email, ''), coalesce(n.webhook, ''), coalesce(n.secret, '')
		FROM users u LEFT JOIN user_notify n ON n.user_name = u.name WHERE u.name = $1`, user).
		Scan(&ns.Default.Email, &ns.Default.Webhook, &secret)
	if err = s.check(err, store.ErrNotFound); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("notify settings of %q: %w", user, err)
	}
	ns.HasSecret = secret != ""
	return &ns, nil
}

// SetNotifyDefault implements store.NotifyStore.
func (s *Store) SetNotifyDefault(ctx context.Context, user string, n job.Notify) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO user_notify (user_name, email, webhook) VALUES ($1, $2, $3)
		ON CONFLICT (user_name) DO UPDATE SET email = excluded.email, webhook = excluded.webhook`, user, n.Email, n.Webhook)
	return s.userWriteError("set default notification", user, err)
}

// WebhookSecret implements store.NotifyStore.
func (s *Store) WebhookSecret(ctx context.Context, p *store.WebhookSecretParams) (string, error) {
	var secret string
	err := s.pool.QueryRow(ctx, `INSERT INTO user_notify (user_name, secret) VALUES ($1, $2)
		ON CONFLICT (user_name) DO UPDATE SET secret = CASE WHEN $3 OR user_notify.secret = '' THEN excluded.secret ELSE user_notify.secret END
		RETURNING secret`, p.User, p.Fresh, p.Rotate).Scan(&secret)
	return secret, s.userWriteError("webhook secret", p.User, err)
}

// userWriteError translates a write naming a user who does not exist.
func (s *Store) userWriteError(what, user string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation
		return store.ErrNotFound
	}
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("%s of %q: %w", what, user, err)
	}
	return nil
}

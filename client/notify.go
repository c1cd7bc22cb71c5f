package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/bumpserve/bumpserve/api"
)

// Notifications: who is told when a job ends (docs/notifications.md).

// NotifySettings are the caller's default notification and whether a
// webhook secret exists.
type NotifySettings struct {
	Default          Notify `json:"default"`
	HasWebhookSecret bool   `json:"has_webhook_secret"`
}

// JobNotifications returns a job's notifications and their delivery log
// (the job's owner only).
func (c *Client) JobNotifications(ctx context.Context, id int64) (*api.JobNotifications, error) {
	var jn api.JobNotifications
	return &jn, c.do(ctx, http.MethodGet, jobPath(id, "/notifications"), nil, "", nil, &jn)
}

// NotifyDefault returns the caller's notification settings.
func (c *Client) NotifyDefault(ctx context.Context) (*NotifySettings, error) {
	var ns NotifySettings
	return &ns, c.do(ctx, http.MethodGet, "/api/v1/me/notify", nil, "", nil, &ns)
}

// SetNotifyDefault sets the notification the caller's jobs get when they
// name none; the zero Notify clears it.
func (c *Client) SetNotifyDefault(ctx context.Context, n Notify) (*NotifySettings, error) {
	body, err := jsonBody(n)
	if err != nil {
		return nil, err
	}
	var ns NotifySettings
	return &ns, c.do(ctx, http.MethodPut, "/api/v1/me/notify", nil, "application/json", body, &ns)
}

// WebhookSecret returns the caller's webhook signing secret, made on
// first use; rotate replaces it.
func (c *Client) WebhookSecret(ctx context.Context, rotate bool) (*api.WebhookSecret, error) {
	var q url.Values
	if rotate {
		q = url.Values{"rotate": {"true"}}
	}
	var ws api.WebhookSecret
	return &ws, c.do(ctx, http.MethodPost, "/api/v1/me/webhook-secret", q, "", nil, &ws)
}

package api

import "time"

// The notification routes' documents (docs/notifications.md). The store
// keeps them in these shapes too (store.Notification and the like are
// these types).

// Notification is one destination to tell that a job ended.
type Notification struct {
	ID          int64     `json:"id"`
	JobID       int64     `json:"job_id"`
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	NextAt      time.Time `json:"next_at"`
}

// Delivery is one attempt to send a notification.
type Delivery struct {
	At          time.Time `json:"at"`
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	Attempt     int       `json:"attempt"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
}

// JobNotifications is the answer of GET /api/v1/jobs/{id}/notifications.
type JobNotifications struct {
	Notifications []*Notification `json:"notifications"`
	Log           []*Delivery     `json:"log"`
}

// WebhookSecret is the answer of POST /api/v1/me/webhook-secret.
type WebhookSecret struct {
	Secret string `json:"secret"`
	Header string `json:"header"`
}

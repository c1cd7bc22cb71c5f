package job

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// Notify says where to tell that a job ended: an email address, a
// webhook URL, or both. The zero value asks for nothing.
type Notify struct {
	Email   string `json:"email,omitempty"`
	Webhook string `json:"webhook,omitempty"`
}

// Empty reports whether n asks for no notification.
func (n Notify) Empty() bool { return n.Email == "" && n.Webhook == "" }

// The channels a notification travels by.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Target is one destination of a Notify: a channel and an address.
type Target struct {
	Channel     string `json:"channel"`
	Destination string `json:"destination"`
}

// Targets lists n's destinations, email first.
func (n Notify) Targets() []Target {
	var ts []Target
	if n.Email != "" {
		ts = append(ts, Target{ChannelEmail, n.Email})
	}
	if n.Webhook != "" {
		ts = append(ts, Target{ChannelWebhook, n.Webhook})
	}
	return ts
}

// Check validates n; field names the document's key ("notify") for the
// errors, which say what is accepted. A webhook must be an https URL
// unless allowHTTP.
func (n Notify) Check(field string, allowHTTP bool) error {
	if n.Email != "" {
		if err := CheckEmail(n.Email); err != nil {
			return fmt.Errorf("%s.email: %w", field, err)
		}
	}
	if n.Webhook != "" {
		if err := CheckWebhook(n.Webhook, allowHTTP); err != nil {
			return fmt.Errorf("%s.webhook: %w", field, err)
		}
	}
	return nil
}

// CheckEmail accepts one bare address such as alice@example.org.
func CheckEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") || strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("%q is not an email address (accepted: a bare address such as alice@example.org)", s)
	}
	return nil
}

// CheckWebhook accepts an absolute https URL with a host (http too if
// allowHTTP), without user information, which would be sent in the clear
// in logs and delivery records.
func CheckWebhook(s string, allowHTTP bool) error {
	accepted := "an https:// URL"
	if allowHTTP {
		accepted = "an https:// or http:// URL"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || strings.ContainsAny(s, " \r\n\t") {
		return fmt.Errorf("%q is not a URL (accepted: %s)", s, accepted)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return fmt.Errorf("%q is not https (accepted: %s; the server's serve --allow-http-webhooks admits http)", s, accepted)
	default:
		return fmt.Errorf("%q: scheme %q is not accepted (accepted: %s)", s, u.Scheme, accepted)
	}
	if u.User != nil {
		return fmt.Errorf("%q: user information in the URL is not accepted (the request is signed instead)", s)
	}
	if len(s) > 2000 {
		return fmt.Errorf("URL longer than 2000 bytes")
	}
	return nil
}

// AddTarget reads one destination as people type it (the CLI's --notify,
// the submit form's field) into n: an email address, a URL (a webhook),
// or "none", which clears n. Each kind may be given once.
func (n *Notify) AddTarget(v string) error {
	v = strings.TrimSpace(v)
	switch {
	case v == "none":
		*n = Notify{}
	case strings.Contains(v, "://"):
		if n.Webhook != "" {
			return fmt.Errorf("a second webhook URL %q (one email address and one webhook at most)", v)
		}
		n.Webhook = v
	case strings.Contains(v, "@"):
		if n.Email != "" {
			return fmt.Errorf("a second email address %q (one email address and one webhook at most)", v)
		}
		n.Email = v
	default:
		return fmt.Errorf("%q is neither an email address nor a webhook URL (accepted: an address, an https:// URL, or none)", v)
	}
	return nil
}

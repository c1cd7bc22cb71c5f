package main

import (
	"context"
	"crypto/x509"
	"flag"
	"os"
	"time"

	"github.com/bumpserve/bumpserve/internal/notify"
)

// notifyFlags configure the notifications sent when jobs end
// (docs/notifications.md).
type notifyFlags struct {
	smtp, from, ca       string
	allowHTTP, allowPriv bool
	retryBase, retryCap  time.Duration
	attempts             int
}

func (f *notifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.smtp, "smtp", "", "SMTP server for job-ended email: smtp://[USER:PASS@]HOST[:PORT] (STARTTLS; 587), smtps://… (TLS; 465) or HOST:PORT; checked at start (default: no email)")
	fs.StringVar(&f.from, "smtp-from", "", "with --smtp: the sender address of job-ended email")
	fs.StringVar(&f.ca, "notify-ca", "", "PEM file of CAs trusted for the SMTP server and webhook receivers (default: the system's)")
	fs.BoolVar(&f.allowHTTP, "allow-http-webhooks", false, "accept http:// webhook URLs (https only otherwise)")
	fs.BoolVar(&f.allowPriv, "allow-private-webhooks", false, "let webhooks reach loopback, private and link-local addresses (refused otherwise, so a webhook cannot probe the controller's network)")
	fs.DurationVar(&f.retryBase, "notify-retry", notify.RetryBaseDefault, "wait after a failed notification; doubled after each failure up to --notify-retry-max")
	fs.DurationVar(&f.retryCap, "notify-retry-max", notify.RetryCapDefault, "longest wait between attempts of a notification")
	fs.IntVar(&f.attempts, "notify-attempts", notify.MaxAttemptsDefault, "attempts of a notification before it is given up")
}

// config checks the flags and, with --smtp, that the server answers: a
// mistake stops the start with exit code 2, naming the flag or server.
func (f *notifyFlags) config(ctx context.Context) (notify.Config, error) {
	var cfg notify.Config
	if f.retryBase <= 0 || f.retryCap <= 0 {
		return cfg, usagef("notify-retry and notify-retry-max must be positive durations")
	}
	if f.attempts < 1 {
		return cfg, usagef("notify-attempts: %d is not a positive number", f.attempts)
	}
	cfg.RetryBase, cfg.RetryCap, cfg.MaxAttempts = f.retryBase, f.retryCap, f.attempts
	var pool *x509.CertPool
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return cfg, usagef("notify-ca: %v", err)
		}
		if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, usagef("notify-ca: %s holds no PEM certificate", f.ca)
		}
	}
	cfg.Webhooks = notify.NewWebhooks(notify.WebhookConfig{RootCAs: pool, AllowPrivate: f.allowPriv})
	switch {
	case f.smtp == "" && f.from != "":
		return cfg, usagef("smtp-from: given without --smtp (the SMTP server to send through)")
	case f.smtp == "":
		return cfg, nil
	case f.from == "":
		return cfg, usagef("smtp: needs --smtp-from, the sender address of job-ended email")
	}
	m, err := notify.NewMailer(notify.MailConfig{Server: f.smtp, From: f.from, RootCAs: pool})
	if err != nil {
		return cfg, usagef("%v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := m.Check(cctx); err != nil {
		return cfg, usagef("%v (from --smtp; the server must answer at start)", err)
	}
	cfg.Mailer = m
	return cfg, nil
}

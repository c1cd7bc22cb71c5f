package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A lab moves from SQLite to PostgreSQL while its server runs: users,
// tokens (still valid, revoked ones still revoked), jobs with their ids,
// states and results come over; a second copy is refused, --merge copies
// nothing twice; a controller on PostgreSQL with the same --data serves
// the old jobs' files and numbers new jobs after them.
func TestMigrateToPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	data := t.TempDir()
	old := startServer(t, data, "--workers", "1", "--sandbox-uids", "67380-67384")
	out, errOut, code := bs(t, nil, "user", "add", "alice", "--data", data)
	if code != 0 {
		t.Fatal(errOut)
	}
	alice := lastWord(out)
	out, _, _ = bs(t, nil, "user", "token", "alice", "--label", "old", "--data", data)
	revoked := lastWord(out)
	out, _, _ = bs(t, nil, "user", "tokens", "alice", "--json", "--data", data)
	ids := regexp.MustCompile(`"id": ?(\d+)`).FindAllStringSubmatch(out, -1)
	if len(ids) != 2 {
		t.Fatalf("tokens: %s", out)
	}
	if _, errOut, code := bs(t, nil, "user", "revoke", ids[1][1], "--data", data); code != 0 {
		t.Fatal(errOut)
	}
	cl, _ := client.New(old.URL, alice, client.Options{})
	jobs := waitAll(t, cl, submitSleeps(t, cl, 3, `{"seconds":0}`), time.Minute)
	var pinned int64
	var charged float64
	for id, j := range jobs {
		pinned = id
		charged += j.CPUSeconds
	}
	if _, err := cl.Keep(context.Background(), pinned, true); err != nil {
		t.Fatal(err)
	}
	// Notifications move too: a default, a secret, and a job's outbox and
	// log (a loopback receiver is refused at once, so the log has a row).
	if _, errOut, code := bs(t, nil, "user", "notify", "alice", "--email", "alice@example.org", "--data", data); code != 0 {
		t.Fatal(errOut)
	}
	out, _, _ = bs(t, nil, "user", "webhook-secret", "alice", "--data", data)
	secret := lastWord(out)
	told, err := cl.Submit(context.Background(), client.Submission{Service: "sleep", Notify: &client.Notify{Webhook: "https://127.0.0.1:1/x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "the refused webhook is logged", func() bool {
		jn, err := cl.JobNotifications(context.Background(), told.ID)
		return err == nil && len(jn.Log) == 1
	})
	jobs[told.ID] = waitAll(t, cl, []int64{told.ID}, time.Minute)[told.ID]
	charged += jobs[told.ID].CPUSeconds
	// A group with a member and a job shared with it come over too.
	for _, args := range [][]string{{"group", "add", "optics"}, {"group", "member", "optics", "alice"}} {
		if _, errOut, code := bs(t, nil, append(args, "--data", data)...); code != 0 {
			t.Fatal(errOut)
		}
	}
	var shared int64
	for id := range jobs {
		shared = id
	}
	if _, err := cl.Share(context.Background(), shared, []string{"optics"}, true); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, string, int) {
		return bs(t, nil, append([]string{"migrate", "--from", data, "--to", url}, args...)...)
	}
	if out, errOut, code := run(); code != 0 || !strings.Contains(out, "copied 2 users, 3 tokens, 4 jobs") || !strings.Contains(out, "4 accounting rows") ||
		!strings.Contains(out, "3 group rows") {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run(); code == 0 || !strings.Contains(errOut, "--merge") {
		t.Fatalf("second migrate into a full target: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run("--merge"); code != 0 || !strings.Contains(out, "copied 0 users, 0 tokens, 0 jobs") {
		t.Fatalf("migrate --merge again: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run("--to", "mysql://x"); code != 2 || !strings.Contains(errOut, "to:") {
		t.Fatalf("migrate to a non-PostgreSQL URL: exit %d %s", code, errOut)
	}
	old.Cmd.Process.Kill()
	<-old.Ended

	srv := startServer(t, data, "--store", url, "--workers", "1", "--sandbox-uids", "67385-67389")
	cl, _ = client.New(srv.URL, alice, client.Options{})
	ctx := context.Background()
	for id, before := range jobs {
		j, err := cl.Get(ctx, id)
		if err != nil || j.State != before.State || j.Attempt != before.Attempt || !j.Finished.Equal(before.Finished.Truncate(time.Microsecond)) {
			t.Errorf("job %d after the move = %+v, %v; before %+v", id, j, err, before)
		}
		if res, err := cl.Results(ctx, id); err != nil || len(res) == 0 {
			t.Errorf("results of job %d after the move: %s %v", id, res, err)
		}
	}
	// Pins and the CPU ledger move with the jobs.
	if j, err := cl.Get(ctx, pinned); err != nil || !j.Keep {
		t.Errorf("pinned job %d after the move: %+v, %v", pinned, j, err)
	}
	if u, err := cl.Usage(ctx, "", ""); err != nil || len(u.Users) != 1 || u.Users[0].Runs != 4 || math.Abs(u.Users[0].CPUSeconds-charged) > 1e-3 {
		t.Errorf("alice's usage after the move = %+v, %v; want 4 runs and %g CPU-seconds", u, err, charged)
	}
	if jn, err := cl.JobNotifications(ctx, told.ID); err != nil || len(jn.Notifications) != 1 || jn.Notifications[0].Status != "failed" || len(jn.Log) != 1 {
		t.Errorf("notifications after the move: %+v, %v", jn, err)
	}
	if ns, err := cl.NotifyDefault(ctx); err != nil || ns.Default.Email != "alice@example.org" || !ns.HasWebhookSecret {
		t.Errorf("notify settings after the move: %+v, %v", ns, err)
	}
	if ws, err := cl.WebhookSecret(ctx, false); err != nil || ws.Secret != secret {
		t.Errorf("webhook secret after the move: %+v, %v; want %s", ws, err, secret)
	}
	if j, err := cl.Get(ctx, shared); err != nil || len(j.Groups) != 1 || j.Groups[0] != "optics" {
		t.Errorf("the shared job after the move: groups %v, %v; want optics", j.Groups, err)
	}
	fresh := submitSleeps(t, cl, 1, `{"seconds":0}`)[0]
	for id := range jobs {
		if fresh <= id {
			t.Errorf("new job %d numbered at or below an old one %d", fresh, id)
		}
	}
	waitAll(t, cl, []int64{fresh}, time.Minute)
	stale, _ := client.New(srv.URL, revoked, client.Options{})
	if _, err := stale.List(ctx, client.ListOptions{}); err == nil {
		t.Error("a token revoked before the move works after it")
	}
}

// A backup taken while jobs are submitted and run is a data directory a
// server starts on: every job in its store is there, finished ones with
// their results.
func TestBackupWhileRunning(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	srv := startServer(t, data, "--workers", "1", "--submit-rate", "100000", "--sandbox-uids", "67390-67394")
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	waitAll(t, cl, submitSleeps(t, cl, 20, `{"seconds":0}`), time.Minute)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				submitSleeps(t, cl, 1, `{"seconds":0}`)
			}
		}
	}()
	dest := filepath.Join(t.TempDir(), "copy")
	out, errOut, code := bs(t, nil, "backup", "--data", data, dest)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	var n int
	if _, err := fmt.Sscanf(out, "backed up %d jobs", &n); err != nil || n < 20 {
		t.Fatalf("backup said %q", out)
	}
	if _, errOut, code := bs(t, nil, "backup", "--data", data, dest); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("backup into a used directory: exit %d %s", code, errOut)
	}
	srv.Cmd.Process.Kill()
	<-srv.Ended

	restored := startServer(t, dest, "--workers", "1", "--sandbox-uids", "67395-67399")
	cl, _ = client.New(restored.URL, restored.adminToken(), client.Options{})
	list, err := cl.List(context.Background(), client.ListOptions{Limit: 1000})
	if err != nil || len(list.Jobs) != n {
		t.Fatalf("restored server lists %v jobs (%v); the backup held %d", list, err, n)
	}
	for _, j := range list.Jobs {
		if j.State != job.Complete {
			continue
		}
		if files, err := cl.Files(context.Background(), j.ID); err != nil || len(files) == 0 {
			t.Errorf("job %d restored without its files: %v %v", j.ID, files, err)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// freePort returns a loopback address free just now, so that a
// controller restarted after kill -9 comes back at the same address,
// under the same default name.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sharedController is one of several `bumpserve serve` on one store.
type sharedController struct {
	t                 *testing.T
	addr, data, store string
	uids              string
	proc              *testenv.Proc
	URL               string
	log               strings.Builder // the logs of its earlier processes
}

func (c *sharedController) start() {
	c.t.Helper()
	if c.proc != nil {
		c.log.WriteString(c.proc.Log())
	}
	c.proc = testenv.StartProc(c.t, "controller "+c.addr, binary, "serve", "--addr", c.addr, "--data", c.data, "--store", c.store,
		"--workers", "1", "--lease", "10s", "--drain-timeout", "1s", "--submit-rate", "100000", "--max-queued", "100000", "--sandbox-uids", c.uids)
	c.URL = c.proc.WaitLog(c.t, listening, 30*time.Second)[1]
}

// TestControllersSurviveKill runs two controllers on one PostgreSQL and
// one job directory, each with a local slot and an HTTP worker, under a
// stream of submissions, and kills one of them with SIGKILL several
// times (restarting it at the same address). Every job the API accepted
// is in the store, every job in the store ends COMPLETE, and none
// completes twice (a trigger counts transitions to COMPLETE). With
// BUMPSERVE_LONG=1 (make test-long): thousands of jobs, more kills.
func TestControllersSurviveKill(t *testing.T) {
	t.Parallel()
	jobs, kills := 600, 3
	if os.Getenv("BUMPSERVE_LONG") != "" {
		jobs, kills = 4000, 8
	}
	url, data := pgtest.URL(t), t.TempDir()
	ctrl := []*sharedController{
		{t: t, addr: freePort(t), data: data, store: url, uids: "67300-67319"},
		{t: t, addr: freePort(t), data: data, store: url, uids: "67320-67339"},
	}
	for _, c := range ctrl {
		c.start()
	}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE TABLE completions (id bigint NOT NULL);
		CREATE FUNCTION count_completion() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO completions VALUES (NEW.id); RETURN NULL; END $$;
		CREATE TRIGGER count_completion AFTER UPDATE ON jobs FOR EACH ROW
		WHEN (NEW.state = 'COMPLETE' AND OLD.state IS DISTINCT FROM 'COMPLETE') EXECUTE FUNCTION count_completion();`); err != nil {
		t.Fatal(err)
	}
	admin, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(admin))
	out, errOut, code := bs(t, nil, "user", "add", "farm", "--worker", "--data", data, "--store", url)
	if code != 0 {
		t.Fatalf("user add --worker --store: %s", errOut)
	}
	farm := lastWord(out)
	for i, c := range ctrl {
		testenv.StartProc(t, fmt.Sprint("worker ", i), binary, "worker", "--server", c.URL, "--token", farm, "--name", fmt.Sprint("node", i),
			"--slots", "2", "--work-dir", t.TempDir(), "--drain-timeout", "1s", "--sandbox-uids", fmt.Sprintf("%d-%d", 67340+20*i, 67359+20*i))
	}

	// Submissions go to either controller; one refused (its controller
	// just died) is sent to the other.
	var accepted sync.Map
	var submitted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		clients := make([]*client.Client, len(ctrl))
		for i, c := range ctrl {
			clients[i], _ = client.New(c.URL, token, client.Options{})
		}
		for n := 0; n < jobs; {
			cl := clients[n%2]
			if j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0.02}`)}, nil); err == nil {
				accepted.Store(j.ID, true)
				submitted.Add(1)
				n++
				continue
			}
			if j, err := clients[(n+1)%2].Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0.02}`)}, nil); err == nil {
				accepted.Store(j.ID, true)
				submitted.Add(1)
				n++
			}
		}
	}()

	completed := func() int {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE state = 'COMPLETE'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	victim := ctrl[0]
	for k := range kills {
		// Kill while work is flowing: after some more jobs completed.
		target := (k + 1) * jobs / (kills + 2)
		testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("%d jobs complete before kill %d", target, k+1), func() bool { return completed() >= target })
		victim.proc.Cmd.Process.Signal(syscall.SIGKILL)
		<-victim.proc.Ended
		victim.start()
	}
	<-done
	testenv.Eventually(t, 5*time.Minute, "every job ends", func() bool {
		var open int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE state IN ('PENDING', 'ACTIVE')`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		return open == 0
	})
	rows, err := db.Query(ctx, `SELECT id, state, reason FROM jobs WHERE state <> 'COMPLETE'`)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	var state, reason string
	pgx.ForEachRow(rows, []any{&id, &state, &reason}, func() error {
		t.Errorf("job %d ended %s (%s)", id, state, reason)
		return nil
	})
	accepted.Range(func(k, _ any) bool {
		var exists bool
		db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)`, k).Scan(&exists)
		if !exists {
			t.Errorf("job %d was accepted (201) and is gone", k)
		}
		return true
	})
	var twice, total, inStore int
	db.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM completions GROUP BY id HAVING count(*) > 1) x`).Scan(&twice)
	db.QueryRow(ctx, `SELECT count(*) FROM completions`).Scan(&total)
	db.QueryRow(ctx, `SELECT count(*) FROM jobs`).Scan(&inStore)
	if twice > 0 || total != inStore {
		t.Errorf("%d jobs completed more than once; %d completions for %d jobs", twice, total, inStore)
	}
	if int(submitted.Load()) != jobs || inStore < jobs {
		t.Errorf("%d submissions accepted, %d jobs in the store; want %d", submitted.Load(), inStore, jobs)
	}
	// A restarted controller takes back only its own slot's runs: the
	// other controller's slot never had a result refused.
	if n := strings.Count(ctrl[1].proc.Log(), "result refused: lease lost"); n > 0 {
		t.Errorf("the surviving controller's slot lost %d runs", n)
	}
	t.Logf("%d jobs, %d kills; the restarted controller requeued its own slot's run %d times", inStore, kills,
		len(regexp.MustCompile(`requeued jobs left running`).FindAllString(victim.log.String()+victim.proc.Log(), -1)))
}

package controller_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// Short limits, so that the test sees them act.
var testTimeouts = server.Timeouts{Header: 2 * time.Second, Body: 2 * time.Second, Write: 2 * time.Second, Idle: time.Second}

// trickle opens a connection that sends head at once and then slow one
// byte at a time, as a slow-loris client does; closed is bumped when the
// server hangs up on it.
func trickle(t *testing.T, addr, head, slow string, closed *atomic.Int64, connected chan<- struct{}) {
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		_, err = io.WriteString(conn, head)
	}
	if err != nil {
		t.Error(err)
		connected <- struct{}{}
		return
	}
	t.Cleanup(func() { conn.Close() })
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn) // until the server hangs up
		closed.Add(1)
		close(gone)
	}()
	first := true
	for i := 0; ; i++ {
		if _, err := conn.Write([]byte{slow[i%len(slow)]}); err != nil {
			return
		}
		if first {
			connected <- struct{}{}
			first = false
		}
		select {
		case <-gone:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Hundreds of clients trickling headers or bodies a byte at a time do not
// keep a normal request from being answered, and the server hangs up on
// each of them; an idle kept-alive connection is closed; a long-poll claim
// and an event stream that outlast every limit still work.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1, Timeouts: testTimeouts})
	addr := strings.TrimPrefix(env.URL, "http://")
	cl := env.Client(env.AdminToken)
	ctx := context.Background()

	const n = 300
	var closed atomic.Int64
	connected := make(chan struct{}, n)
	for i := range n {
		// Headers that never end, or a body of 100 kB sent at 10 bytes/s.
		head, slow := "", "GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: "+strings.Repeat("x", 100000)
		if i%2 == 1 {
			head = "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + env.AdminToken +
				"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
			slow = strings.Repeat(" ", 100000)
		}
		go trickle(t, addr, head, slow, &closed, connected)
	}
	for range n {
		<-connected
	}
	// Normal requests go through meanwhile (generous deadline, no timing claim).
	quick, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	j, err := cl.Submit(quick, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, nil)
	if err != nil {
		t.Fatalf("submission beside %d slow clients: %v", n, err)
	}
	if _, err := cl.List(quick, client.ListOptions{}); err != nil {
		t.Fatalf("listing beside %d slow clients: %v", n, err)
	}
	waitFor(t, cl, j.ID, "completes", inState(job.Complete))
	testenv.Eventually(t, 60*time.Second, "the server hangs up on every slow client", func() bool { return closed.Load() == n })

	t.Run("idle connection closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("idle connection: read %v, want EOF (closed by the server)", err)
		}
	})

	t.Run("long poll outlasts the limits", func(t *testing.T) {
		body := `{"name":"w1","slots":1,"free":1,"wait_seconds":5}`
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/v1/worker/claim", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+env.User("w", store.RoleWorker))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"jobs"`) {
			t.Errorf("claim waiting 5 s: %d %s %v", resp.StatusCode, got, err)
		}
	})

	t.Run("event stream outlasts the limits", func(t *testing.T) {
		j := submit(t, cl, `{"seconds":5}`)
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/jobs/%d/events", env.URL, j.ID), nil)
		req.Header.Set("Authorization", "Bearer "+env.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		all, err := io.ReadAll(resp.Body) // the stream ends after the final state
		if !strings.Contains(string(all), `"state":"COMPLETE"`) {
			t.Errorf("one event stream did not carry the job to COMPLETE (%v): %s", err, all)
		}
	})
}

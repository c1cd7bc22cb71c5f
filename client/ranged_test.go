package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// logServer serves one growing file as the files route does (through
// http.ServeContent, so with Range support unless plain is set) and
// records the Range header and the bytes each answer carried.
type logServer struct {
	mu     sync.Mutex
	data   []byte
	plain  bool
	ranges []string
	sent   []int
}

func (s *logServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data := bytes.Clone(s.data)
	plain := s.plain
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	cw := &countingWriter{ResponseWriter: w}
	if plain {
		cw.Write(data)
	} else {
		http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(data))
	}
	s.mu.Lock()
	s.sent = append(s.sent, cw.n)
	s.mu.Unlock()
}

type countingWriter struct {
	http.ResponseWriter
	n int
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}

func (s *logServer) set(data string, plain bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data, s.plain = []byte(data), plain
}

func (s *logServer) last() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ranges[len(s.ranges)-1], s.sent[len(s.sent)-1]
}

func readFrom(t *testing.T, c *Client, offset int64) (string, int64) {
	t.Helper()
	body, size, err := c.ReadFrom(context.Background(), 1, "output/job.log", offset)
	if err != nil {
		t.Fatalf("ReadFrom(%d): %v", offset, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), size
}

// Following a growing file asks only for the new bytes and gets only
// those; a file that started again reports a size below the offset; a
// server that ignores Range still yields just the new bytes.
func TestReadFrom(t *testing.T) {
	t.Parallel()
	srv := &logServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := New(hs.URL, "tok", Options{})
	if err != nil {
		t.Fatal(err)
	}

	srv.set("line 1\n", false)
	if got, size := readFrom(t, c, 0); got != "line 1\n" || size != 7 {
		t.Errorf("from 0: %q size %d", got, size)
	}
	srv.set("line 1\nline 2\n", false)
	got, size := readFrom(t, c, 7)
	if rng, sent := srv.last(); got != "line 2\n" || size != 14 || rng != "bytes=7-" || sent != 7 {
		t.Errorf("from 7: %q size %d; server saw Range %q and sent %d bytes", got, size, rng, sent)
	}
	// Nothing new: the server refuses the range (416), which is no error.
	if got, size := readFrom(t, c, 14); got != "" || size != 14 {
		t.Errorf("at the end: %q size %d", got, size)
	}
	// A new attempt's log is shorter than what was read.
	srv.set("again\n", false)
	if got, size := readFrom(t, c, 14); got != "" || size != 6 {
		t.Errorf("after a restart: %q size %d", got, size)
	}
	srv.set("line 1\nline 2\nline 3\n", true)
	if got, size := readFrom(t, c, 14); got != "line 3\n" || size != 21 {
		t.Errorf("server without Range: %q size %d", got, size)
	}
	// Other errors stay errors.
	hs404 := httptest.NewServer(http.NotFoundHandler())
	defer hs404.Close()
	c404, _ := New(hs404.URL, "tok", Options{})
	if _, _, err := c404.ReadFrom(context.Background(), 1, "output/job.log", 5); !IsNotFound(err) {
		t.Errorf("missing file: %v", err)
	}
	if srv.ranges[0] != "" {
		t.Errorf("a read from 0 sent Range %q", srv.ranges[0])
	}
}

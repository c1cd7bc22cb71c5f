package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The resource flags merge into the spec, keep its other keys, and win
// over the same keys; bad values are usage errors naming the flag.
func TestResourceFlags(t *testing.T) {
	for _, c := range []struct {
		args       []string
		spec, want string
		bad        string
	}{
		{args: nil, spec: `{"seconds":1}`, want: `{"seconds":1}`},
		{args: []string{"--cpus", "4"}, spec: ``, want: `{"resources":{"cpus":4}}`},
		{args: []string{"--wall", "1h30m", "--memory-mb", "256"}, spec: `{"limits":{"processes":9,"wall_seconds":5},"x":[1]}`,
			want: `{"limits":{"memory_mb":256,"processes":9,"wall_seconds":5400},"x":[1]}`},
		{args: []string{"--wall", "0.5", "--cpus", "2"}, spec: `{"resources":{"cpus":1}}`,
			want: `{"limits":{"wall_seconds":0.5},"resources":{"cpus":2}}`},
		{args: []string{"--tasks", "2"}, spec: `{"model":"m.py","resources":{"cpus":1}}`,
			want: `{"model":"m.py","resources":{"cpus":1,"tasks":2}}`},
		{args: []string{"--tasks", "0"}, bad: "--tasks"},
		{args: []string{"--cpus", "0"}, bad: "--cpus"},
		{args: []string{"--wall", "0s"}, bad: "--wall"},
		{args: []string{"--wall", "NaN"}, bad: "--wall"},
		{args: []string{"--memory-mb", "0"}, bad: "--memory-mb"},
		{args: []string{"--cpus", "1"}, spec: `"text"`, bad: "not a JSON object"},
		{args: []string{"--cpus", "1"}, spec: `{"resources":3}`, bad: "spec.resources"},
	} {
		fs := newFlags("t", "")
		var rf resourceFlags
		rf.register(fs)
		if _, err := parseFlags(fs, c.args, nil); err != nil {
			t.Fatal(err)
		}
		got, err := rf.apply(fs, json.RawMessage(c.spec))
		var ue *usageError
		if c.bad != "" {
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%v on %s: %v; want a usage error naming %s", c.args, c.spec, err, c.bad)
			}
			continue
		}
		if err != nil || !sameJSON(got, c.want) {
			t.Errorf("%v on %s: %s (%v); want %s", c.args, c.spec, got, err, c.want)
		}
	}
}

func TestDefaultName(t *testing.T) {
	for _, c := range []struct {
		spec  string
		files []string
		want  string
	}{
		{`{"model":"curve.py","args":[]}`, []string{"", ""}, "curve.py"},
		{`{"model":"m.py"}`, []string{"dir/spec.json"}, "m.py"},
		{`{"fitter":"lm"}`, []string{"dir/misra.json", ""}, "misra.json"},
		{`{"seconds":1}`, []string{"", "jobs/nap.json"}, "nap.json"},
		{`{"seconds":1}`, []string{"", ""}, ""},
	} {
		if got := defaultName(json.RawMessage(c.spec), c.files...); got != c.want {
			t.Errorf("defaultName(%s, %q) = %q, want %q", c.spec, c.files, got, c.want)
		}
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

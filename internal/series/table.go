package series

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Table is a series' results: one row per file, in series order.
type Table struct {
	Parent int64  `json:"parent"`
	State  string `json:"state"`
	X      string `json:"x"`
	// Parameters are the fitted parameters' names, sorted, the union over
	// the rows.
	Parameters []string `json:"parameters"`
	Rows       []Row    `json:"rows"`
}

// Row is one fit of a series.
type Row struct {
	Index  int       `json:"index"`
	File   string    `json:"file"`
	X      float64   `json:"x"`
	Job    int64     `json:"job"`
	State  job.State `json:"state"`
	Reason string    `json:"reason,omitempty"`
	// Params holds the fit's values and standard errors (empty until the
	// fit completes).
	Params       map[string]Parameter `json:"params,omitempty"`
	Chisq        *float64             `json:"chisq,omitempty"`
	ReducedChisq *float64             `json:"reduced_chisq,omitempty"`
}

// Build makes the table of parent from its children (in series order).
// A child deleted on its own shows as a row in state DELETED.
func Build(parent *job.Job, children []*job.Job) (*Table, error) {
	s := parent.Series
	if s == nil {
		return nil, fmt.Errorf("job %d is not a series", parent.ID)
	}
	xs := s.XValues
	if len(xs) != len(s.Files) { // a series stored before x values were kept
		var err error
		if xs, err = XValues(s.X, s.Files, nil); err != nil {
			return nil, err
		}
	}
	t := &Table{Parent: parent.ID, State: string(State(parent, children)), X: s.X, Parameters: []string{}, Rows: make([]Row, len(s.Files))}
	if t.X == "" {
		t.X = "index"
	}
	for i, f := range s.Files {
		t.Rows[i] = Row{Index: i, File: f, X: xs[i], State: "DELETED"}
		if i < len(s.Children) {
			t.Rows[i].Job = s.Children[i]
		}
	}
	byID := map[int64]*job.Job{}
	for _, c := range children {
		byID[c.ID] = c
	}
	for i := range t.Rows {
		r := &t.Rows[i]
		c := byID[r.Job]
		if c == nil {
			continue
		}
		r.State, r.Reason = c.State, c.Reason
		if c.State != job.Complete || len(c.Result) == 0 {
			continue
		}
		res, err := ParseResult(c.Result)
		if err != nil {
			r.Reason = err.Error()
			continue
		}
		r.Params, r.Chisq, r.ReducedChisq = res.Parameters, res.Chisq, res.ReducedChisq
		for name := range res.Parameters {
			if !slices.Contains(t.Parameters, name) {
				t.Parameters = append(t.Parameters, name)
			}
		}
	}
	slices.Sort(t.Parameters)
	return t, nil
}

// State is what a parent shows: its own state once it has ended, else
// ACTIVE while any child runs and PENDING before.
func State(parent *job.Job, children []*job.Job) job.State {
	if parent.State.Terminal() {
		return parent.State
	}
	for _, c := range children {
		if c.State == job.Active {
			return job.Active
		}
	}
	return job.Pending
}

// Ended reports whether every child has ended (a child deleted on its
// own counts as ended), and how the parent should end: COMPLETE when at
// least one fit completed, the failures counted in the reason and shown
// in their rows; ERROR when none did; CANCEL when the fits were
// cancelled and none completed.
func Ended(s *job.Series, children []*job.Job) (ended bool, state job.State, reason string) {
	complete, failed, cancelled := 0, 0, 0
	for _, c := range children {
		switch c.State {
		case job.Complete:
			complete++
		case job.Error:
			failed++
		case job.Cancel:
			cancelled++
		default:
			return false, "", ""
		}
	}
	n := len(s.Files)
	gone := n - len(children)
	switch {
	case complete > 0:
		state = job.Complete
	case failed > 0:
		state = job.Error
	default:
		state = job.Cancel
	}
	reason = fmt.Sprintf("%d of %d fits completed", complete, n)
	if failed > 0 {
		reason += fmt.Sprintf(", %d failed", failed)
	}
	if cancelled > 0 {
		reason += fmt.Sprintf(", %d cancelled", cancelled)
	}
	if gone > 0 {
		reason += fmt.Sprintf(", %d deleted", gone)
	}
	return true, state, reason
}

// WriteCSV writes the table as CSV: index, file, x, job, state, then
// each parameter's value and stderr, chisq, reduced_chisq and reason.
// Numbers are written in full (shortest round-trip form), empty where
// there is none.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"index", "file", "x", "job", "state"}
	for _, p := range t.Parameters {
		head = append(head, p, p+"_stderr")
	}
	head = append(head, "chisq", "reduced_chisq", "reason")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range t.Rows {
		rec := []string{strconv.Itoa(r.Index), r.File, num(r.X), strconv.FormatInt(r.Job, 10), string(r.State)}
		for _, name := range t.Parameters {
			p, ok := r.Params[name]
			if !ok {
				rec = append(rec, "", "")
				continue
			}
			rec = append(rec, num(p.Value), optNum(p.Stderr))
		}
		rec = append(rec, optNum(r.Chisq), optNum(r.ReducedChisq), r.Reason)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func optNum(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

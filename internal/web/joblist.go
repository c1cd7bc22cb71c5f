package web

import (
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// listRow is one line of the jobs table: the job and what the table shows
// of its spec and results, read once here rather than in the template.
type listRow struct {
	*job.Job
	Fitter  string   // the spec's fitter ("" for services without one)
	Reduced *float64 // reduced χ² of a finished fit
	Run     string   // run time, start to finish (or to now while running)
	RunSecs float64  // the same in seconds, for sorting; -1 when not started
}

// rowsOf arranges jobs for the table. now is the end of a running job's
// run time.
func rowsOf(js []*job.Job, now time.Time) []listRow {
	out := make([]listRow, len(js))
	for i, j := range js {
		r := listRow{Job: j, Fitter: fitterOf(j), RunSecs: -1, Run: "–"}
		if res, ok := reducedChisq(j.Result); ok {
			r.Reduced = &res
		}
		if j.Started != nil {
			end := now
			if j.Finished != nil {
				end = *j.Finished
			}
			r.Run = duration(j.Started, &end)
			r.RunSecs = end.Sub(*j.Started).Seconds()
		}
		out[i] = r
	}
	return out
}

// fitterOf is the fitter a fit or Bumps job's spec names, with the
// native engine's default.
func fitterOf(j *job.Job) string {
	var s struct {
		Fitter string `json:"fitter"`
	}
	if json.Unmarshal(j.Spec, &s) != nil {
		return ""
	}
	if j.Service == "fit" {
		return cmp.Or(s.Fitter, "lm")
	}
	return s.Fitter
}

func reducedChisq(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var r struct {
		Reduced *float64 `json:"reduced_chisq"`
	}
	if json.Unmarshal(raw, &r) != nil || r.Reduced == nil || math.IsNaN(*r.Reduced) || math.IsInf(*r.Reduced, 0) {
		return 0, false
	}
	return *r.Reduced, true
}

// matches reports whether a job answers a text search: every word of q
// appears, ignoring case, in its id, name, service, fitter, owner or reason.
func matches(j *job.Job, q string) bool {
	hay := strings.ToLower(strings.Join([]string{strconv.FormatInt(j.ID, 10), j.Name, j.Service,
		fitterOf(j), j.Owner, j.Reason}, "\x00"))
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// Searching reads the store in batches and keeps what matches, so a text
// search needs nothing of the store but its ordinary listing. It stops
// after searchScan jobs, and the page then says how far it looked.
const (
	searchBatch = 200
	searchScan  = 5000
)

// lister lists up to limit jobs with ids below before (0: from the
// newest), newest first, under the page's other filters.
type lister func(before int64, limit int) ([]*job.Job, error)

// searchPage reads one page of the list: up to pageSize jobs below before
// that match q, and next, the cursor of the following page (0 when there
// is none). cut says the search stopped after searchScan jobs without
// filling the page; next then goes on from where it stopped.
func searchPage(list lister, before int64, q string) (page []*job.Job, next int64, cut bool, err error) {
	if q == "" {
		js, err := list(before, pageSize+1)
		if err != nil || len(js) <= pageSize {
			return js, 0, false, err
		}
		return js[:pageSize], js[pageSize-1].ID, false, nil
	}
	for scanned := 0; scanned < searchScan; {
		js, err := list(before, searchBatch)
		if err != nil {
			return nil, 0, false, err
		}
		for _, j := range js {
			if !matches(j, q) {
				continue
			}
			if len(page) == pageSize {
				return page, page[pageSize-1].ID, false, nil
			}
			page = append(page, j)
		}
		if len(js) < searchBatch {
			return page, 0, false, nil
		}
		scanned += len(js)
		before = js[len(js)-1].ID
	}
	return page, before, true, nil
}

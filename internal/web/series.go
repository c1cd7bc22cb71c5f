package web

import (
	"math"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/series"
	"github.com/bumpserve/bumpserve/internal/server"
)

// seriesData is a series parent's part of its page: the table, one row
// per file, and a plot per parameter.
type seriesData struct {
	Table *series.Table
	Rows  []seriesRow
}

// seriesRow is a table row with its cells in the table's parameter order.
type seriesRow struct {
	series.Row
	Cells []seriesCell
}

type seriesCell struct {
	Value, Stderr float64
	Has           bool
}

// seriesOf builds the series part of parent j's page.
func (h *Handler) seriesOf(r *http.Request, j *job.Job) (*seriesData, error) {
	t, err := h.cfg.API.SeriesTable(r.Context(), j)
	if err != nil {
		return nil, err
	}
	d := &seriesData{Table: t}
	for _, row := range t.Rows {
		sr := seriesRow{Row: row}
		for _, name := range t.Parameters {
			p, ok := row.Params[name]
			c := seriesCell{Value: p.Value, Stderr: math.NaN(), Has: ok}
			if ok && p.Stderr != nil {
				c.Stderr = *p.Stderr
			}
			sr.Cells = append(sr.Cells, c)
		}
		d.Rows = append(d.Rows, sr)
	}
	return d, nil
}

// seriesFile answers /ui/jobs/{id}/series.csv and series.svg?param=NAME.
func (h *Handler) seriesFile(serve func(http.ResponseWriter, *http.Request, *series.Table)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		j := h.jobFor(w, r, s)
		if j == nil {
			return
		}
		if j.Series == nil {
			h.notFound(w, r, s)
			return
		}
		t, err := h.cfg.API.SeriesTable(r.Context(), j)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		serve(w, r, t)
	}
}

func serveCSV(w http.ResponseWriter, _ *http.Request, t *series.Table) { server.ServeSeriesCSV(w, t) }

package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/series"
	"github.com/bumpserve/bumpserve/internal/store"
)

// canSeeJob decides whether u may see j. A series child is seen by whoever
// may see its parent: this is the one place that decides a child's
// visibility, so sharing (groups) decided on the parent reaches its
// children without a rule of their own.
func (s *Server) canSeeJob(ctx context.Context, u *User, j *job.Job) bool {
	if j.Parent != 0 {
		p, err := s.cfg.Store.GetJob(ctx, j.Parent)
		if err == nil {
			return CanSee(u, p.Owner)
		}
		// The parent is gone (deleted between the two reads): the
		// child's own owner decides, as for any job.
	}
	return CanSee(u, j.Owner)
}

// seriesView fills a parent's children and shows its state as its
// children make it: ACTIVE while any runs, though the stored parent,
// never claimed, stays PENDING until they have all ended.
func (s *Server) seriesView(ctx context.Context, j *job.Job) error {
	j.Series.Children = series.ChildIDs(j)
	if j.State.Terminal() {
		return nil
	}
	kids, err := s.cfg.Queue.Children(ctx, j.ID)
	if err != nil {
		return err
	}
	j.State = series.State(j, kids)
	return nil
}

// SeriesTable is the results table of series parent j, which the caller
// may see (the children's results as they are now).
func (s *Server) SeriesTable(ctx context.Context, j *job.Job) (*series.Table, error) {
	if j.Series == nil {
		return nil, fmt.Errorf("job %d is not a series: %w", j.ID, ErrNotASeries)
	}
	kids, err := s.cfg.Queue.Children(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	j.Series.Children = series.ChildIDs(j)
	return series.Build(j, kids)
}

// ErrNotASeries says a series route named a job that is not a parent.
var ErrNotASeries = errors.New("not a series")

// CancelJob cancels job j, and for a series parent every live child as
// well.
func (s *Server) CancelJob(ctx context.Context, j *job.Job) (*job.Job, error) {
	if j.Series != nil {
		return s.cfg.Queue.CancelSeries(ctx, j.ID)
	}
	return s.cfg.Queue.Cancel(ctx, j.ID)
}

// seriesFor loads the series parent named in the path, answering 404 for
// anything else (a job that is not a series says so).
func (s *Server) seriesFor(w http.ResponseWriter, r *http.Request, u *store.User) (*series.Table, bool) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return nil, false
	}
	t, err := s.SeriesTable(r.Context(), j)
	switch {
	case errors.Is(err, ErrNotASeries):
		writeError(w, http.StatusNotFound, "job %d is not a series", j.ID)
		return nil, false
	case err != nil:
		writeError(w, http.StatusInternalServerError, "series table: %v", err)
		return nil, false
	}
	return t, true
}

// seriesTable answers GET /api/v1/jobs/{id}/series: the table as JSON.
func (s *Server) seriesTable(w http.ResponseWriter, r *http.Request, u *store.User) {
	if t, ok := s.seriesFor(w, r, u); ok {
		writeJSON(w, http.StatusOK, t)
	}
}

// seriesCSV answers GET /api/v1/jobs/{id}/series.csv.
func (s *Server) seriesCSV(w http.ResponseWriter, r *http.Request, u *store.User) {
	t, ok := s.seriesFor(w, r, u)
	if !ok {
		return
	}
	ServeSeriesCSV(w, t)
}

// ServeSeriesCSV sends a series table as a CSV download.
func ServeSeriesCSV(w http.ResponseWriter, t *series.Table) {
	var b bytes.Buffer
	if err := t.WriteCSV(&b); err != nil {
		writeError(w, http.StatusInternalServerError, "series csv: %v", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"series-%d.csv\"", t.Parent))
	w.Write(b.Bytes())
}

// seriesPlot answers GET /api/v1/jobs/{id}/series.svg?param=NAME: the
// parameter against the series' x values, with error bars.
func (s *Server) seriesPlot(w http.ResponseWriter, r *http.Request, u *store.User) {
	t, ok := s.seriesFor(w, r, u)
	if !ok {
		return
	}
	ServeSeriesPlot(w, r, t)
}

// ServeSeriesPlot sends the plot of the parameter named by the query's
// param as SVG; an unknown name is a 400 that lists the known ones.
func ServeSeriesPlot(w http.ResponseWriter, r *http.Request, t *series.Table) {
	var b bytes.Buffer
	if err := t.Plot(&b, r.URL.Query().Get("param")); err != nil {
		writeError(w, http.StatusBadRequest, "param: %v", err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	// An SVG may carry script; this one is drawn here, but keep any
	// browser from running what it might hold.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Write(b.Bytes())
}

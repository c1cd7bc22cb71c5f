package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// What a signed-in caller may reach, in the server's words: the API's
// routes and the pages (package web) both go through these, so the two
// faces agree on who sees what, and the pages never speak to the store.

// User is an account as the server's callers see it.
type User = store.User

var (
	// ErrNotFound says there is no such job (or none the user may see:
	// the two look the same), or no such token.
	ErrNotFound = store.ErrNotFound
	// ErrFinished says a job to cancel has already ended.
	ErrFinished = store.ErrFinished
	// ErrReadOnly says the user may see the job (it is shared with a
	// group of theirs) but not change it: only its owner or an admin may.
	ErrReadOnly = errors.New("shared read-only")
)

// IsAdmin reports whether u administers the server: an admin sees every
// job, the workers and the queue.
func IsAdmin(u *User) bool { return u.Role == store.RoleAdmin }

// IsPerson reports whether u is a user or an admin, as opposed to a
// worker's account, which may only use the worker routes.
func IsPerson(u *User) bool { return u.Role == store.RoleUser || u.Role == store.RoleAdmin }

// UserOf resolves an API token to its user; ErrNotFound means the token is
// unknown or revoked. Verified tokens are kept in memory (auth.Cache): a
// request reads no store unless a token was revoked since.
func (s *Server) UserOf(ctx context.Context, token string) (*User, error) {
	return s.tokens.Lookup(ctx, auth.Hash(token))
}

// Job loads job id if u may see it: u owns it, administers the server,
// or belongs to a group it is shared with (who may read it, and copy it,
// but not change it). ErrNotFound otherwise: a job someone else keeps to
// themselves looks like no job at all. The job's groups are filled in.
func (s *Server) Job(ctx context.Context, u *User, id int64) (*job.Job, error) {
	j, _, err := s.jobAccess(ctx, u, id)
	return j, err
}

// JobToChange loads job id if u may change it (cancel, delete, stop,
// continue, share): its owner or an admin. A group member, who can see
// the job, gets ErrReadOnly (403); anyone else ErrNotFound (404).
func (s *Server) JobToChange(ctx context.Context, u *User, id int64) (*job.Job, error) {
	j, full, err := s.jobAccess(ctx, u, id)
	if err == nil && !full {
		return nil, fmt.Errorf("job %d belongs to %s and is shared with you read-only: only its owner or an admin can change it: %w",
			j.ID, j.Owner, ErrReadOnly)
	}
	return j, err
}

// CanChange reports whether u may change j, which u can see: the pages
// offer the forms that change a job only to them.
func CanChange(u *User, j *job.Job) bool { return CanSee(u, j.Owner) }

// jobAccess loads job id with what u may do with it: full (owner,
// admin), read-only (a member of a group it is shared with), or
// ErrNotFound. Only those who do not own the job pay for the group check.
func (s *Server) jobAccess(ctx context.Context, u *User, id int64) (j *job.Job, full bool, err error) {
	if j, err = s.cfg.Store.GetJob(ctx, id); err != nil {
		return nil, false, err
	}
	full = s.canSeeJob(ctx, u, j)
	if !full {
		// A series child is shared when its parent is: sharing acts on
		// the whole series.
		sharedID := id
		if j.Parent != 0 {
			sharedID = j.Parent
		}
		shared, err := s.cfg.Store.SharedWith(ctx, sharedID, u.Name)
		if err != nil {
			return nil, false, err
		}
		if !shared {
			return nil, false, ErrNotFound
		}
	}
	if j.Groups, err = s.cfg.Store.JobGroups(ctx, id); err != nil {
		return nil, false, err
	}
	if j.Series != nil {
		if err := s.seriesView(ctx, j); err != nil {
			return nil, false, err
		}
	}
	return j, full, nil
}

// ListOptions filter and page a listing of jobs, newest first.
type ListOptions struct {
	// Owner narrows an admin's listing to one user's jobs ("" lists
	// everyone's); a user's listing holds only their own, whatever it says.
	Owner   string
	State   job.State // "" for any state
	Service string    // "" for any service
	Before  int64     // only jobs with smaller ids (the next page's cursor); 0 from the newest
	Limit   int
	// Shared lists instead the jobs shared with a group the user belongs
	// to (whoever owns them; Owner narrows that to one owner's).
	Shared bool
}

// ListJobs lists the jobs u may see that o selects.
func (s *Server) ListJobs(ctx context.Context, u *User, o ListOptions) ([]*job.Job, error) {
	p := store.ListJobsParams{Owner: u.Name, State: o.State, Service: o.Service, BeforeID: o.Before, Limit: o.Limit}
	if IsAdmin(u) || o.Shared {
		p.Owner = o.Owner
	}
	if o.Shared {
		p.SharedWith = u.Name
	}
	return s.cfg.Store.ListJobs(ctx, &p)
}

// UserJobs is one user's jobs, counted by state.
type UserJobs struct {
	Name   string
	Counts map[job.State]int
}

// QueueDepth counts the jobs by state, in all and for each user who has
// any (workers own none). It is for admins, which the caller checks.
func (s *Server) QueueDepth(ctx context.Context) (map[job.State]int, []UserJobs, error) {
	total, err := s.cfg.Store.CountJobs(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	users, err := s.cfg.Store.ListUsers(ctx)
	if err != nil {
		return nil, nil, err
	}
	var per []UserJobs
	for _, u := range users {
		if !IsPerson(u) {
			continue
		}
		c, err := s.cfg.Store.CountJobs(ctx, u.Name)
		if err != nil {
			return nil, nil, err
		}
		if len(c) > 0 {
			per = append(per, UserJobs{Name: u.Name, Counts: c})
		}
	}
	return total, per, nil
}

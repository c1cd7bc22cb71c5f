package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
)

// Groups (docs/groups.md): an admin makes groups of users; an owner
// shares a job with groups of theirs, whose members may then read it
// (its page, JSON, results, files, events) and copy it as their own, but
// not change it.
//
//	GET    /api/v1/groups                       all groups (admins), or the caller's own
//	POST   /api/v1/groups                       {"name": "optics"} (admins)
//	POST   /api/v1/groups/{name}/members/{user} add a member (admins)
//	DELETE /api/v1/groups/{name}/members/{user} take a member out (admins)
//	POST   /api/v1/jobs/{id}/share              {"groups": [...]} (owner or admin)
//	POST   /api/v1/jobs/{id}/unshare            {"groups": [...]} (owner or admin)
//	POST   /api/v1/jobs/{id}/copy               {"name"?} a new job of the caller's, same spec and input files
func (s *Server) groupRoutes() {
	m := s.mux
	admin := func(h handlerFunc) http.Handler { return s.authenticate(h, store.RoleAdmin) }
	m.Handle("GET /api/v1/groups", s.forUsers(s.listGroups))
	m.Handle("POST /api/v1/groups", admin(s.createGroup))
	m.Handle("POST /api/v1/groups/{name}/members/{user}", admin(s.addMember))
	m.Handle("DELETE /api/v1/groups/{name}/members/{user}", admin(s.removeMember))
	m.Handle("POST /api/v1/jobs/{id}/share", s.forUsers(s.shareJob))
	m.Handle("POST /api/v1/jobs/{id}/unshare", s.forUsers(s.unshareJob))
	m.Handle("POST /api/v1/jobs/{id}/copy", s.forUsers(s.copyJob))
}

var groupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateGroup checks name and makes the group: the API's route and
// `bumpserve group add` share it. Errors name the field.
func CreateGroup(ctx context.Context, st store.GroupStore, name string) (*store.Group, error) {
	if !groupName.MatchString(name) {
		return nil, badRequest("name: %q is not accepted (letters, digits, '.', '_', '-'; at most 64; starting with a letter or digit)", name)
	}
	g, err := st.CreateGroup(ctx, name, time.Now())
	if errors.Is(err, store.ErrExists) {
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("name: a group %q exists already", name)}
	}
	return g, err
}

// GroupList is the answer of GET /api/v1/groups.
type GroupList struct {
	Groups []*store.Group `json:"groups"`
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, u *store.User) {
	gs, err := s.cfg.Store.ListGroups(r.Context())
	if err != nil {
		storageError(w, err)
		return
	}
	out := GroupList{Groups: []*store.Group{}}
	for _, g := range gs {
		if IsAdmin(u) || slices.Contains(g.Members, u.Name) {
			out.Groups = append(out.Groups, g)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// GroupRequest is the body of POST /api/v1/groups.
type GroupRequest struct {
	Name string `json:"name"`
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req GroupRequest
	if err := decodeBody(r, &req, 4<<10); err != nil {
		s.replyError(w, err)
		return
	}
	g, err := CreateGroup(r.Context(), s.cfg.Store, req.Name)
	if err != nil {
		s.replyError(w, err)
		return
	}
	s.log.Info("group created", "group", g.Name, "by", u.Name)
	writeJSON(w, http.StatusCreated, g)
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.setMember(w, r, u, true)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.setMember(w, r, u, false)
}

// setMember puts a user in a group or takes them out, and answers with
// the group as it is now.
func (s *Server) setMember(w http.ResponseWriter, r *http.Request, u *store.User, member bool) {
	name, user := r.PathValue("name"), r.PathValue("user")
	if refusedChange(w, s.cfg.Store.SetGroupMember(r.Context(), name, user, member)) {
		return
	}
	s.log.Info("group member", "group", name, "user", user, "member", member, "by", u.Name)
	gs, err := s.cfg.Store.ListGroups(r.Context())
	if err != nil {
		storageError(w, err)
		return
	}
	for _, g := range gs {
		if g.Name == name {
			writeJSON(w, http.StatusOK, g)
			return
		}
	}
	writeError(w, http.StatusNotFound, "no group %q", name)
}

// checkOwnGroups refuses to share a job of owner's with a group owner is
// not in (nor one that does not exist), naming owner's groups.
func (s *Server) checkOwnGroups(ctx context.Context, owner string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	mine, err := s.cfg.Store.UserGroups(ctx, owner)
	if err != nil {
		return storeFailed(err.Error(), err)
	}
	for _, g := range groups {
		if !slices.Contains(mine, g) {
			accepted := "none: " + owner + " belongs to no group (an admin adds members with bumpserve group member)"
			if len(mine) > 0 {
				accepted = owner + "'s groups: " + strings.Join(mine, ", ")
			}
			return badRequest("groups: %q is not a group of %s (accepted: %s)", g, owner, accepted)
		}
	}
	return nil
}

// ShareRequest is the body of POST /api/v1/jobs/{id}/share and unshare.
type ShareRequest struct {
	Groups []string `json:"groups"`
}

func (s *Server) shareJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.share(w, r, u, true)
}

func (s *Server) unshareJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.share(w, r, u, false)
}

// share shares the job with groups of its owner's, or stops sharing it,
// and answers with the job as it is now.
func (s *Server) share(w http.ResponseWriter, r *http.Request, u *store.User, share bool) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	var req ShareRequest
	if err := decodeBody(r, &req, 64<<10); err != nil {
		s.replyError(w, err)
		return
	}
	if len(req.Groups) == 0 {
		writeError(w, http.StatusBadRequest, "groups: missing (a list of group names, such as [\"optics\"])")
		return
	}
	if share {
		if err := s.checkOwnGroups(r.Context(), j.Owner, req.Groups); err != nil {
			s.replyError(w, err)
			return
		}
	}
	if refusedChange(w, s.cfg.Store.ShareJob(r.Context(), j.ID, req.Groups, share)) {
		return
	}
	s.log.Info("job shared", "job", j.ID, "groups", req.Groups, "shared", share, "by", u.Name)
	j, err := s.Job(r.Context(), u, j.ID)
	if err != nil {
		s.answerJob(w, r, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// refusedChange answers a group change the store refused: 404 naming
// the group, user or job that does not exist, else a storage error. It
// reports whether there was an error to answer.
func refusedChange(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	default:
		storageError(w, err)
	}
	return true
}

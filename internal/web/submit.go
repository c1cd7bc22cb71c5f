package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/server"
)

type submitData struct {
	Kind         string // "fit" or "bumps"
	Fit          *fitForm
	Bumps        *bumpsForm
	BumpsRuns    bool // this server runs the bumps service
	Fitters      any
	FitOptions   any
	BumpsFitters any
	BumpsOptions any
}

func (h *Handler) submitData(kind string) *submitData {
	return &submitData{Kind: kind, Fit: newFitForm(), Bumps: newBumpsForm(),
		BumpsRuns: slices.Contains(h.cfg.Services, "bumps"),
		Fitters:   fitters, FitOptions: fitOptions, BumpsFitters: bumpsFitters, BumpsOptions: bumpsOptions}
}

// submitPage shows the native form, or the Bumps form with ?kind=bumps;
// ?from=ID fills it from an earlier job ("submit again with changes").
func (h *Handler) submitPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := h.submitData("fit")
	if q.Get("kind") == "bumps" {
		d.Kind = "bumps"
	}
	if from := q.Get("from"); from != "" {
		j, _ := h.visibleJob(r, s, from)
		if j == nil {
			h.notFound(w, r, s)
			return
		}
		d.Fit.Name, d.Bumps.Name = j.Name, j.Name
		d.Fit.From, d.Bumps.From = from, from
		if j.Service == "bumps" {
			d.Kind = "bumps"
			prefillBumps(d.Bumps, j.Spec)
			d.Bumps.Reuse = inputNames(h.cfg.Root.Job(j.ID))
		} else {
			prefillFit(d.Fit, j.Spec)
		}
	}
	h.render(w, r, http.StatusOK, "submit", &view{Title: "Submit a fit", S: s, Nav: "submit", Data: d})
}

// visibleJob loads job id (text) if s may see it; someone else's job, a
// missing one and a malformed id are all nil, with no error.
func (h *Handler) visibleJob(r *http.Request, s *session, id string) (*job.Job, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return nil, nil
	}
	j, err := h.cfg.API.Job(r.Context(), s.User, n)
	if errors.Is(err, server.ErrNotFound) {
		return nil, nil
	}
	return j, err
}

// submit takes either form. Uploads are staged like the API's: the
// staging directory becomes the job's directory just before the
// transaction that creates the job (see queue.SubmitAll).
func (h *Handler) submit(w http.ResponseWriter, r *http.Request, s *session) {
	staging, err := h.cfg.Root.Stage()
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	defer h.cfg.Root.Discard(staging) // gone already if the job adopted it
	up := &uploader{h: h, r: r, s: s, input: filepath.Join(staging, "input"), budget: h.cfg.MaxUpload}
	d := h.submitData("fit")
	var sub *server.Submission
	var place func(string)
	if r.PostFormValue("kind") == "bumps" {
		d.Kind = "bumps"
		d.Bumps = readBumpsForm(r)
		sub, place = h.bumpsSubmission(d.Bumps, up), d.Bumps.placeError
	} else {
		d.Fit = readFitForm(r)
		sub, place = h.fitSubmission(d.Fit, up), d.Fit.placeError
	}
	if sub != nil {
		notify := d.Fit.Notify
		if d.Kind == "bumps" {
			notify = d.Bumps.Notify
		}
		if sub.Notify, err = notifyField(notify); err != nil {
			place(err.Error())
			sub = nil
		}
	}
	code := http.StatusBadRequest
	if sub != nil {
		j, err := h.cfg.API.SubmitJob(r.Context(), s.User, sub, staging)
		if err == nil {
			http.Redirect(w, r, fmt.Sprintf("/ui/jobs/%d?submitted=1", j.ID), http.StatusSeeOther)
			return
		}
		var se *server.SubmitError
		if !errors.As(err, &se) {
			h.serverError(w, r, err)
			return
		}
		if c, ok := err.(interface{ Code() int }); ok {
			code = c.Code()
		}
		place(err.Error())
	}
	if d.Fit != nil {
		keepUpload(d.Fit, up)
	}
	h.render(w, r, code, "submit", &view{Title: "Submit a fit", S: s, Nav: "submit", Data: d})
}

// fitSubmission builds the native job from the form, or returns nil with
// the form's errors set.
func (h *Handler) fitSubmission(f *fitForm, up *uploader) *server.Submission {
	dataset := map[string]any{}
	fileCols := func(name string) {
		cols, err := columnNames(f.Columns, up.fieldCount(name))
		if err != nil {
			f.Errors["datafile"] = "columns: " + err.Error()
		}
		dataset["file"], dataset["columns"] = name, cols
	}
	switch {
	case up.has("datafile"):
		name, err := up.save("datafile")
		if err != nil {
			f.Errors["datafile"] = err.Error()
			break
		}
		f.ReuseFile, f.uploaded = "", name
		fileCols(name)
	case strings.TrimSpace(f.Data) != "":
		cols, names, err := parseColumns(f.Data, f.Columns)
		if err != nil {
			f.Errors["data"] = "data: " + err.Error()
			break
		}
		for _, n := range names {
			switch n {
			case "x", "y", "dy":
				dataset[n] = cols[n]
			default:
				vars, _ := dataset["vars"].(map[string][]float64)
				if vars == nil {
					vars = map[string][]float64{}
					dataset["vars"] = vars
				}
				vars[n] = cols[n]
			}
		}
		f.ReuseFile = ""
	case f.ReuseFile != "":
		if err := up.reuse(f.From, f.ReuseFile); err != nil {
			f.Errors["datafile"] = err.Error()
			break
		}
		fileCols(f.ReuseFile)
	default:
		f.Errors["data"] = "data: paste the data as columns or upload a data file"
	}
	if !f.valid() {
		return nil
	}
	spec, err := f.spec(dataset)
	if err != nil {
		f.Errors["form"] = err.Error()
		return nil
	}
	return &server.Submission{Name: f.Name, Service: "fit", Spec: spec}
}

// bumpsSubmission builds the Bumps job: the model script and data files
// uploaded now, plus (on a resubmission) the earlier job's files that
// were not replaced.
func (h *Handler) bumpsSubmission(f *bumpsForm, up *uploader) *server.Submission {
	if up.has("model_file") {
		name, err := up.save("model_file")
		if err != nil {
			f.Errors["model"] = err.Error()
		}
		f.Model = name
	}
	var data []string
	for _, fh := range up.files("data_files") {
		name, err := up.saveHeader(fh)
		if err != nil {
			f.Errors["data_files"] = err.Error()
		}
		data = append(data, name)
	}
	if f.Series && len(data) == 0 {
		f.Errors["series"] = "series: upload the data files to fit one by one"
	}
	if f.From != "" {
		if j, _ := h.visibleJob(up.r, up.s, f.From); j != nil {
			for _, name := range inputNames(h.cfg.Root.Job(j.ID)) {
				if up.exists(name) {
					continue
				}
				if err := up.copyInput(j, name); err != nil {
					f.Errors["data_files"] = err.Error()
				}
				f.Reuse = append(f.Reuse, name)
			}
		}
	}
	if f.Model == "" && f.Errors["model"] == "" {
		f.Errors["model"] = "model: upload the model script (a .py file)"
	}
	if len(f.Errors) > 0 {
		return nil
	}
	spec, err := f.spec()
	if err != nil {
		f.Errors["form"] = err.Error()
		return nil
	}
	sub := &server.Submission{Name: f.Name, Service: "bumps", Spec: spec}
	if f.Series {
		sub.Series = &server.SeriesRequest{Files: data, X: f.SeriesX, Chain: f.Chain}
	}
	return sub
}

// uploader stores a form's files into the staging input directory within
// one byte budget, by the same rules as the API's uploads.
type uploader struct {
	h      *Handler
	r      *http.Request
	s      *session
	input  string
	budget int64
}

func (u *uploader) files(field string) []*multipart.FileHeader {
	if u.r.MultipartForm == nil {
		return nil
	}
	var out []*multipart.FileHeader
	for _, fh := range u.r.MultipartForm.File[field] {
		if fh.Filename != "" {
			out = append(out, fh)
		}
	}
	return out
}

func (u *uploader) has(field string) bool { return len(u.files(field)) > 0 }

func (u *uploader) save(field string) (string, error) { return u.saveHeader(u.files(field)[0]) }

func (u *uploader) saveHeader(fh *multipart.FileHeader) (string, error) {
	name, err := archive.CleanName(fh.Filename)
	if err != nil {
		return "", fmt.Errorf("file: %v", err)
	}
	f, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	n, err := archive.WriteFile(u.input, name, f, u.budget)
	if errors.Is(err, archive.ErrTooLarge) {
		return "", fmt.Errorf("file %s: %s", name, server.UploadTooLarge(u.h.cfg.MaxUpload))
	}
	if err != nil {
		return "", fmt.Errorf("file %s: %v", name, err)
	}
	u.budget -= n
	return name, nil
}

// reuse copies input file name of the earlier job from, which the user
// must be allowed to see.
func (u *uploader) reuse(from, name string) error {
	j, _ := u.h.visibleJob(u.r, u.s, from)
	if j == nil {
		return fmt.Errorf("file %s: the earlier job %s is gone; upload the file again", name, from)
	}
	return u.copyInput(j, name)
}

// inputNames lists the uploaded files of a job, by name under input/.
func inputNames(d jobdir.Dir) []string {
	files, _ := d.ListInput()
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimPrefix(f.Path, "input/"))
	}
	return names
}

// copyInput copies input file name of job j, which the user may see, into
// the new submission.
func (u *uploader) copyInput(j *job.Job, name string) error {
	f, _, err := u.h.cfg.Root.Job(j.ID).Open("input/" + name)
	if err != nil {
		return fmt.Errorf("file %s: job %d no longer has it; upload it again", name, j.ID)
	}
	defer f.Close()
	n, err := archive.WriteFile(u.input, name, f, u.budget)
	if err != nil {
		return fmt.Errorf("file %s: %v", name, err)
	}
	u.budget -= n
	return nil
}

func (u *uploader) exists(name string) bool {
	_, err := jobfs.Lstat(u.input, name)
	return err == nil
}

// fieldCount reads how many fields the first data line of a staged file has.
func (u *uploader) fieldCount(name string) int {
	f, _, err := jobfs.Open(u.input, name)
	if err != nil {
		return 0
	}
	defer f.Close()
	return firstFieldCount(f)
}

// keptBytes bounds an uploaded data file put back into the form as text.
const keptBytes = 256 << 10

// keepUpload puts a refused submission's uploaded data file, if small,
// into the data box, so the values are kept (and a bad cell can be
// corrected in place) rather than the file having to be chosen again.
func keepUpload(f *fitForm, up *uploader) {
	if f.uploaded == "" || strings.TrimSpace(f.Data) != "" {
		return
	}
	file, info, err := jobfs.Open(up.input, f.uploaded)
	if err != nil || info.Size() > keptBytes {
		if file != nil {
			file.Close()
		}
		return
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, keptBytes))
	if err != nil || !utf8.Valid(b) || strings.Count(string(b), "\n") > maxPastedPoints {
		return
	}
	f.Data, f.Kept = string(b), f.uploaded
	if msg, ok := f.Errors["datafile"]; ok {
		f.Errors["data"] = msg
		delete(f.Errors, "datafile")
	}
}

// notifyField reads the form's notify field: empty takes the user's
// default (nil), otherwise an address, an https:// URL or "none".
func notifyField(v string) (*job.Notify, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var n job.Notify
	if err := n.AddTarget(v); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return &n, nil
}

package web

import (
	"encoding/json"
	"net/http"
	"strings"
)

// bumpsForm is the Bumps form: a model script and its data files are
// uploaded; the fitter and its options become the spec.
type bumpsForm struct {
	Name    string
	Notify  string // who to tell when the job ends, as typed
	Model   string // the script's file name (an upload, or reused)
	Args    string // model arguments, separated by spaces
	Fitter  string
	Options map[string]string
	From    string
	Reuse   []string // input files of job From used again
	// Series fits the model to each data file on its own (a fit
	// series); SeriesX names the rows' x values; Chain starts each fit
	// from the one before it's best values.
	Series  bool
	SeriesX string
	Chain   bool
	Errors  map[string]string
	Note    string
}

// bumpsFitters are the fitters Bumps offers. lm is left out: Debian's
// Bumps cannot run it (it uses numpy.float); scipy.leastsq does that job.
var bumpsFitters = []struct{ Name, Label string }{
	{"dream", "DREAM MCMC (dream)"},
	{"amoeba", "Nelder–Mead simplex (amoeba)"},
	{"de", "Differential evolution (de)"},
	{"newton", "Quasi-Newton BFGS (newton)"},
	{"scipy.leastsq", "Levenberg–Marquardt via SciPy (scipy.leastsq)"},
	{"pt", "Parallel tempering (pt)"},
}

// bumpsOptions are the numeric options of the Bumps form; only those
// given are passed to bumps.
var bumpsOptions = []formOption{
	{"steps", "Steps", "iterations or generations"},
	{"samples", "Samples", "dream: draws in all"},
	{"burn", "Burn-in", "dream: generations discarded"},
	{"pop", "Population", "per parameter"},
	{"seed", "Seed", "for reproducible runs"},
}

func newBumpsForm() *bumpsForm {
	return &bumpsForm{Fitter: "dream", Options: map[string]string{}, Errors: map[string]string{}}
}

func readBumpsForm(r *http.Request) *bumpsForm {
	f := &bumpsForm{
		Name: r.PostFormValue("name"), Notify: r.PostFormValue("notify"), Args: r.PostFormValue("args"), Fitter: r.PostFormValue("fitter"),
		From: r.PostFormValue("from"), Model: r.PostFormValue("reuse_model"),
		Series: r.PostFormValue("series") != "", SeriesX: strings.TrimSpace(r.PostFormValue("series_x")),
		Chain:   r.PostFormValue("series_chain") != "",
		Options: map[string]string{}, Errors: map[string]string{},
	}
	readOptions(r, bumpsOptions, f.Options, f.Errors)
	return f
}

func (f *bumpsForm) spec() (json.RawMessage, error) {
	opts := intOptions(f.Options)
	spec := map[string]any{"model": f.Model, "fitter": f.Fitter, "args": strings.Fields(f.Args)}
	if len(opts) > 0 {
		spec["options"] = opts
	}
	return json.Marshal(spec)
}

// placeError puts a submission error beside the field it names.
func (f *bumpsForm) placeError(msg string) {
	show := humane(msg)
	field, _, _ := strings.Cut(show, ":")
	switch {
	case strings.HasPrefix(msg, "series"):
		f.Errors["series"] = msg
	case field == "name":
		f.Errors["name"] = show
	case strings.HasPrefix(field, "notify"):
		f.Errors["notify"] = show
	case field == "model":
		f.Errors["model"] = show
	case field == "args" || strings.HasPrefix(field, "args["):
		f.Errors["args"] = show
	case field == "fitter":
		f.Errors["fitter"] = show
	case strings.HasPrefix(field, "options."):
		f.Errors[strings.TrimPrefix(field, "options.")] = show
	default:
		f.Errors["form"] = show
	}
}

// prefillBumps fills the form from an earlier Bumps job's spec.
func prefillBumps(f *bumpsForm, raw json.RawMessage) {
	var s struct {
		Model   string                     `json:"model"`
		Args    []string                   `json:"args"`
		Fitter  string                     `json:"fitter"`
		Options map[string]json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		f.Note = "The earlier job's spec could not be read back into the form: " + err.Error()
		return
	}
	f.Model, f.Args, f.Fitter = s.Model, strings.Join(s.Args, " "), s.Fitter
	for k, v := range s.Options {
		f.Options[k] = string(v)
	}
}

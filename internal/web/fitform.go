package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/fit"
)

// fitForm is the native fit form: what the user typed, and the errors to
// show beside each field.
type fitForm struct {
	Name        string
	Notify      string // who to tell when the job ends, as typed
	Model       string
	Params      []paramField
	Data        string // pasted columns
	Columns     string // column names; "" infers x y [dy]
	ReuseFile   string // a data file of job From to use again
	Fitter      string
	Options     map[string]string // steps, seed, samples, burn, pop
	ScaleErrors bool
	From        string
	Errors      map[string]string // by field name
	Note        string
	// Kept names an uploaded data file whose text, after a refused
	// submission, fills the data box (a browser cannot refill a file field).
	Kept     string
	uploaded string
}

type paramField struct {
	Name, Value, Min, Max string
	Fixed                 bool
	Error                 string
}

// fitters are the native fitters the form offers, with what they do.
var fitters = []struct{ Name, Label string }{
	{"lm", "Levenberg–Marquardt (lm)"},
	{"amoeba", "Nelder–Mead simplex (amoeba)"},
	{"de", "Differential evolution (de)"},
	{"dream", "DREAM MCMC, with posterior statistics (dream)"},
}

// fitOptions are the numeric options of the native form, in form order.
var fitOptions = []formOption{
	{"steps", "Steps", "iterations or generations"},
	{"samples", "Samples", "dream: draws in all"},
	{"burn", "Burn-in", "dream: generations discarded"},
	{"pop", "Population", "de, dream: per free parameter"},
	{"seed", "Seed", "for reproducible random draws"},
}

// extraParamRows is how many empty parameter rows the form offers beyond
// those filled in, so it works without JavaScript.
const extraParamRows = 3

func newFitForm() *fitForm {
	f := &fitForm{Fitter: "lm", Options: map[string]string{}, Errors: map[string]string{}}
	f.padParams()
	return f
}

func (f *fitForm) padParams() {
	for range extraParamRows {
		f.Params = append(f.Params, paramField{})
	}
}

// readFitForm reads the posted fields, noting what is not even a number.
func readFitForm(r *http.Request) *fitForm {
	f := &fitForm{
		Name: r.PostFormValue("name"), Notify: r.PostFormValue("notify"), Model: strings.TrimSpace(r.PostFormValue("model")),
		Data: r.PostFormValue("data"), Columns: strings.TrimSpace(r.PostFormValue("columns")),
		ReuseFile: r.PostFormValue("reuse_file"), Fitter: r.PostFormValue("fitter"),
		ScaleErrors: r.PostFormValue("scale_errors") != "", From: r.PostFormValue("from"),
		Options: map[string]string{}, Errors: map[string]string{},
	}
	for i := 0; ; i++ {
		p := fmt.Sprintf("p%d_", i)
		if _, ok := r.PostForm[p+"name"]; !ok {
			break
		}
		pf := paramField{
			Name: strings.TrimSpace(r.PostFormValue(p + "name")), Value: strings.TrimSpace(r.PostFormValue(p + "value")),
			Min: strings.TrimSpace(r.PostFormValue(p + "min")), Max: strings.TrimSpace(r.PostFormValue(p + "max")),
			Fixed: r.PostFormValue(p+"fixed") != "",
		}
		if pf.Name == "" && pf.Value == "" && pf.Min == "" && pf.Max == "" {
			continue // an unused row
		}
		for _, v := range []struct{ label, s string }{{"value", pf.Value}, {"min", pf.Min}, {"max", pf.Max}} {
			if _, err := optFloat(v.s); err != nil && pf.Error == "" {
				pf.Error = fmt.Sprintf("%s: %q is not a number", v.label, v.s)
			}
		}
		if pf.Name == "" && pf.Error == "" {
			pf.Error = "name: missing; give the name the model uses"
		}
		f.Params = append(f.Params, pf)
	}
	if len(f.Params) == 0 {
		f.Errors["params"] = "parameters: give at least one parameter the model uses"
	}
	readOptions(r, fitOptions, f.Options, f.Errors)
	return f
}

// valid reports whether reading found no errors.
func (f *fitForm) valid() bool {
	if len(f.Errors) > 0 {
		return false
	}
	for _, p := range f.Params {
		if p.Error != "" {
			return false
		}
	}
	return true
}

// spec builds the native fit spec. dataset holds the data part (inline
// arrays or a file with columns); the model is added here.
func (f *fitForm) spec(dataset map[string]any) (json.RawMessage, error) {
	var params bytes.Buffer
	// Parameters keep the form's order, which becomes the order of the
	// results table, so they are written by hand rather than from a map.
	params.WriteByte('{')
	for i, p := range f.Params {
		if i > 0 {
			params.WriteByte(',')
		}
		name, _ := json.Marshal(p.Name)
		body := map[string]any{}
		for k, s := range map[string]string{"value": p.Value, "min": p.Min, "max": p.Max} {
			if v, _ := optFloat(s); v != nil {
				body[k] = *v
			}
		}
		if p.Fixed {
			body["fixed"] = true
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		params.Write(name)
		params.WriteByte(':')
		params.Write(b)
	}
	params.WriteByte('}')
	dataset["model"] = f.Model
	spec := map[string]any{
		"fitter":     f.Fitter,
		"parameters": json.RawMessage(params.Bytes()),
		"datasets":   []any{dataset},
	}
	if f.ScaleErrors {
		spec["scale_errors"] = true
	}
	if opts := intOptions(f.Options); len(opts) > 0 {
		spec["options"] = opts
	}
	return json.Marshal(spec)
}

// placeError puts a submission error beside the field it names: the
// service's errors start with the spec path, such as
// "spec.datasets[0].model: …" or "spec.parameters.b1: …".
func (f *fitForm) placeError(msg string) {
	field, _, _ := strings.Cut(strings.TrimPrefix(msg, "spec."), ":")
	show := humane(msg)
	switch {
	case field == "name":
		f.Errors["name"] = show
	case strings.HasPrefix(field, "notify"):
		f.Errors["notify"] = show
	case strings.HasPrefix(field, "datasets[0].model"):
		f.Errors["model"] = show
	case strings.HasPrefix(field, "datasets[0].file") || strings.HasPrefix(field, "datasets[0].columns"):
		f.Errors["datafile"] = show
	case strings.HasPrefix(field, "datasets"):
		f.Errors["data"] = show
	case field == "fitter":
		f.Errors["fitter"] = show
	case strings.HasPrefix(field, "options."):
		f.Errors[strings.TrimPrefix(field, "options.")] = show
	case strings.HasPrefix(field, "parameters."):
		name, _, _ := strings.Cut(strings.TrimPrefix(field, "parameters."), ".")
		for i := range f.Params {
			if f.Params[i].Name == name {
				f.Params[i].Error = show
				return
			}
		}
		f.Errors["params"] = show
	case field == "parameters":
		f.Errors["params"] = show
	default:
		f.Errors["form"] = show
	}
}

// prefillFit fills the form from an earlier job's spec, for "submit again
// with changes". The form edits one dataset; others are mentioned.
func prefillFit(f *fitForm, raw json.RawMessage) {
	s, err := fit.ParseSpec(raw)
	if err != nil {
		f.Note = "The earlier job's spec could not be read back into the form: " + err.Error()
		return
	}
	f.Fitter = cmp.Or(s.Fitter, "lm")
	f.ScaleErrors = s.ScaleErrors
	o := s.Options
	for k, v := range map[string]int64{"steps": int64(o.Steps), "seed": o.Seed, "samples": int64(o.Samples), "burn": int64(o.Burn), "pop": int64(o.Pop)} {
		if v != 0 {
			f.Options[k] = strconv.FormatInt(v, 10)
		}
	}
	f.Params = nil
	for _, p := range s.Parameters {
		pf := paramField{Name: p.Name, Value: strconv.FormatFloat(p.Value, 'g', -1, 64), Fixed: p.Fixed}
		if !math.IsInf(p.Min, 0) {
			pf.Min = strconv.FormatFloat(p.Min, 'g', -1, 64)
		}
		if !math.IsInf(p.Max, 0) {
			pf.Max = strconv.FormatFloat(p.Max, 'g', -1, 64)
		}
		f.Params = append(f.Params, pf)
	}
	f.padParams()
	if len(s.Datasets) == 0 {
		return
	}
	d := s.Datasets[0]
	f.Model = d.Model
	if len(s.Datasets) > 1 {
		f.Note = fmt.Sprintf("The earlier job fitted %d datasets; this form edits only the first. Submit several datasets through the API.", len(s.Datasets))
	}
	if d.File != "" {
		f.ReuseFile = d.File
		f.Columns = strings.Join(d.Columns, " ")
		return
	}
	names := []string{"x"}
	cols := [][]float64{d.X}
	vars := make([]string, 0, len(d.Vars))
	for k := range d.Vars {
		vars = append(vars, k)
	}
	slices.Sort(vars)
	for _, k := range vars {
		names, cols = append(names, k), append(cols, d.Vars[k])
	}
	names, cols = append(names, "y"), append(cols, d.Y)
	if d.DY != nil {
		names, cols = append(names, "dy"), append(cols, d.DY)
	}
	if d.X == nil {
		names, cols = names[1:], cols[1:]
	}
	f.Columns = strings.Join(names, " ")
	f.Data = formatColumns(names, cols)
}

// optFloat parses an optional number: "" is nil.
func optFloat(s string) (*float64, error) {
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

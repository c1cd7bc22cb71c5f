package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/bumps"
)

// bumpsFlags build a bumps spec from command-line flags, so a user can
// submit a model script as they would run bumps by hand.
type bumpsFlags struct {
	fit                        string
	samples, burn, steps, seed int
	parallel                   int
}

var bumpsOptionFlags = []string{"fit", "samples", "burn", "steps", "seed", "parallel"}

func (b *bumpsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.fit, "fit", "", "bumps: the fitter (amoeba, de, dream, lm, newton, pt, scipy.leastsq)")
	fs.IntVar(&b.samples, "samples", 0, "bumps: dream samples")
	fs.IntVar(&b.burn, "burn", 0, "bumps: dream burn-in steps")
	fs.IntVar(&b.steps, "steps", 0, "bumps: fitter steps")
	fs.IntVar(&b.seed, "seed", 0, "bumps: random seed")
	fs.IntVar(&b.parallel, "parallel", 0, "bumps: CPUs for bumps' own mapper (at most the job's cpus)")
}

// used reports whether any bumps flag was given.
func (b *bumpsFlags) used(fs *flag.FlagSet) bool {
	used := false
	fs.Visit(func(f *flag.Flag) { used = used || slices.Contains(bumpsOptionFlags, f.Name) })
	return used
}

// spec builds {"model", "args", "fitter", "options"} from the flags. The
// first positional argument is the model script, further ones before
// "--" are data files, and those after "--" are the model's arguments.
// It returns the spec and the files to upload.
func (b *bumpsFlags) spec(fs *flag.FlagSet, pos, rawArgs []string) (json.RawMessage, []string, error) {
	files, modelArgs := pos, []string{}
	if i := slices.Index(rawArgs, "--"); i >= 0 {
		after := rawArgs[i+1:]
		if len(after) <= len(pos) {
			files, modelArgs = pos[:len(pos)-len(after)], after
		}
	}
	if len(files) == 0 {
		return nil, nil, usagef("submit: --service bumps needs the model script as the first file")
	}
	// Only the options given on the command line: a zero seed is a seed.
	values := map[string]int{"samples": b.samples, "burn": b.burn, "steps": b.steps, "seed": b.seed, "parallel": b.parallel}
	opts := map[string]int{}
	fs.Visit(func(f *flag.Flag) {
		if v, ok := values[f.Name]; ok {
			opts[f.Name] = v
		}
	})
	spec := map[string]any{"model": filepath.Base(files[0]), "args": modelArgs}
	if b.fit != "" {
		spec["fitter"] = b.fit
	}
	if len(opts) > 0 {
		spec["options"] = opts
	}
	// The service refuses more parallel CPUs than the job occupies, so
	// --parallel N asks for N.
	if n := opts["parallel"]; n > 1 {
		spec["resources"] = map[string]int{"cpus": n}
	}
	out, err := json.Marshal(spec)
	return out, files, err
}

// warnUnsent warns, before a Bumps job is sent, about files its model
// script names that are not among the uploads: the job would fail when
// the model opens them. The look is quick and static (see
// bumps.FilesNamed), so it warns and still submits.
func warnUnsent(w io.Writer, sub client.Submission, files []client.Upload) {
	var spec struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(sub.Spec, &spec) != nil || spec.Model == "" {
		return
	}
	names := map[string]bool{}
	model := ""
	for _, f := range files {
		name := filepath.ToSlash(cmp.Or(f.Name, filepath.Base(f.Path)))
		names[name] = true
		if name == spec.Model {
			model = f.Path
		}
	}
	src, err := os.ReadFile(model)
	if model == "" || err != nil {
		return // the server says what is wrong with the model itself
	}
	for _, ref := range bumps.FilesNamed(string(src)) {
		if !names[ref.Name] {
			fmt.Fprintf(w, "bumpserve: warning: %s line %d names %s, which is not among the files given (%s); the job fails if the model opens it\n",
				spec.Model, ref.Line, ref.Name, givenNames(names))
		}
	}
}

func givenNames(names map[string]bool) string {
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// Command comparebumps runs bumpserve's native fitters and Debian's
// python3-bumps side by side on NIST StRD problems and prints a table of
// wall times and agreement (with each other and with the certified values).
//
//	go run ./fit/internal/comparebumps [-markdown FILE] [-problems A,B] ...
//
// For every problem, certified start and fitter pair (bumpserve lm vs bumps
// scipy.leastsq, amoeba vs amoeba, dream vs dream) it writes a Bumps model
// script and the equivalent bumpserve spec into a temporary directory, then
// times "bumps model.py --batch --store=DIR --fit=...", "bumpserve fit
// spec.json" and fit.Run in process. It needs /usr/bin/bumps and is not
// part of go test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/fit"
)

type config struct {
	nistDir   string
	bumps     string
	python    string
	bumpserve string
	cpus      int
	reps      int
	timeout   time.Duration
}

const defaultProblems = "Misra1a,Chwirut2,DanWood,Thurber,MGH09,Eckerle4,BoxBOD,Lanczos3"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "comparebumps:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	flag.StringVar(&cfg.nistDir, "nist", "", "directory of the NIST StRD .dat files (default: fit/testdata/nist of this module)")
	flag.StringVar(&cfg.bumps, "bumps", "/usr/bin/bumps", "the bumps command")
	flag.StringVar(&cfg.python, "python", "/usr/bin/python3", "the Python that has bumps, for the start-up measurement")
	flag.StringVar(&cfg.bumpserve, "bumpserve", "", "a built bumpserve binary (default: go build ./cmd/bumpserve into the scratch directory)")
	flag.IntVar(&cfg.cpus, "cpus", 1, "CPUs for bumpserve (bumps runs serially without --parallel)")
	flag.IntVar(&cfg.reps, "reps", 5, "bumpserve runs per case, CLI and in-process; the median wall time is reported")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "limit per subprocess")
	problems := flag.String("problems", defaultProblems, "NIST problems for lm and amoeba (both certified starts)")
	fitters := flag.String("fitters", "lm,amoeba,dream", "fitter pairs to run: lm (vs scipy.leastsq), amoeba, dream")
	dreamProblems := flag.String("dream-problems", "Misra1a,DanWood,BoxBOD", "NIST problems for dream")
	dreamStart := flag.Int("dream-start", 2, "certified start (1 or 2) dream begins from")
	samples := flag.Int("samples", 3000, "dream: samples (both programs)")
	burns := flag.String("burn", "100,1000", "dream: burn-in generations (both programs); a list runs each problem once per value")
	seed := flag.Int64("seed", 1, "random seed (both programs)")
	mdPath := flag.String("markdown", "", "also write the tables as Markdown to this file")
	keep := flag.Bool("keep", false, "keep the scratch directory with the generated model scripts, specs and bumps stores")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if cfg.reps < 1 || cfg.cpus < 1 || (*dreamStart != 1 && *dreamStart != 2) {
		return fmt.Errorf("-reps and -cpus must be positive and -dream-start 1 or 2")
	}
	if cfg.nistDir == "" {
		cfg.nistDir = defaultNISTDir()
	}
	if _, err := exec.LookPath(cfg.bumps); err != nil {
		return fmt.Errorf("bumps not found (%v); install Debian's python3-bumps", err)
	}

	tmp, err := os.MkdirTemp("", "comparebumps-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "scratch directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	var notes []string
	if cfg.bumpserve == "" {
		cfg.bumpserve = filepath.Join(tmp, "bumpserve")
		fmt.Fprintln(os.Stderr, "building ./cmd/bumpserve ...")
		if err := buildBumpserve(ctx, cfg.bumpserve); err != nil {
			notes = append(notes, "bumpserve CLI not built, CLI columns empty: "+err.Error())
			fmt.Fprintln(os.Stderr, "warning:", notes[len(notes)-1])
			cfg.bumpserve = ""
		}
	}

	// Start-up costs, so readers can subtract them.
	env := [][2]string{
		{"CPU", fmt.Sprintf("%s/%s, %d logical CPUs; bumpserve --cpus %d, bumps serial", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cfg.cpus)},
		{"bumps", bumpsVersion(ctx, cfg.python) + " (" + cfg.bumps + ")"},
	}
	if d, err := timeCommand(ctx, 3, cfg.python, "-c", "import bumps.fitters"); err == nil {
		env = append(env, [2]string{"python3 -c 'import bumps.fitters'", ms(d) + " (median of 3)"})
	} else {
		notes = append(notes, err.Error())
	}
	if d, err := timeCommand(ctx, 3, cfg.python, "-c", "import bumps.fitters, bumps.cli, matplotlib.pyplot"); err == nil {
		env = append(env, [2]string{"... + bumps.cli, matplotlib.pyplot (what --batch loads)", ms(d) + " (median of 3)"})
	}
	if cfg.bumpserve != "" {
		if d, err := timeCommand(ctx, 3, cfg.bumpserve, "help"); err == nil {
			env = append(env, [2]string{"bumpserve help (Go process start-up)", ms(d) + " (median of 3)"})
		}
	}

	pairs := map[string]pair{
		"lm":     {label: "lm / scipy.leastsq", ours: "lm", bumps: "scipy.leastsq"},
		"amoeba": {label: "amoeba / amoeba", ours: "amoeba", bumps: "amoeba", bumpsArgs: []string{"--seed=" + strconv.FormatInt(*seed, 10)}, opts: fit.FitOptions{Seed: *seed}},
	}
	var dreamPairs []pair
	for _, b := range splitList(*burns) {
		burn, err := strconv.Atoi(b)
		if err != nil || burn < 1 {
			return fmt.Errorf("-burn: %q is not a positive integer", b)
		}
		dreamPairs = append(dreamPairs, pair{label: fmt.Sprintf("dream / dream, burn %d", burn), ours: "dream", bumps: "dream",
			bumpsArgs: []string{"--samples=" + strconv.Itoa(*samples), "--burn=" + strconv.Itoa(burn), "--seed=" + strconv.FormatInt(*seed, 10)},
			opts:      fit.FitOptions{Samples: *samples, Burn: burn, Seed: *seed}})
	}
	loaded := map[string]*nistProblem{}
	load := func(name string) (*nistProblem, error) {
		if p, ok := loaded[name]; ok {
			return p, nil
		}
		p, err := loadNIST(cfg.nistDir, name)
		loaded[name] = p
		return p, err
	}
	var cases []*fitCase
	for _, fname := range splitList(*fitters) {
		prs := []pair{pairs[fname]}
		names, starts := splitList(*problems), []int{1, 2}
		switch fname {
		case "lm", "amoeba":
		case "dream":
			prs, names, starts = dreamPairs, splitList(*dreamProblems), []int{*dreamStart}
		default:
			return fmt.Errorf("-fitters: unknown %q; use lm, amoeba, dream", fname)
		}
		for _, name := range names {
			p, err := load(name)
			if err != nil {
				return err
			}
			for _, pr := range prs {
				for _, s := range starts {
					dy := 1.0
					if fname == "dream" {
						dy = p.ResSD // chisq ~ DOF at the optimum, so the posterior is the NIST one
					}
					cases = append(cases, &fitCase{p: p, start: s, pair: pr, dy: dy,
						dir: filepath.Join(tmp, fmt.Sprintf("%s-start%d-%s-%d", name, s, fname, len(cases)))})
				}
			}
		}
	}

	var rows []resultRow
	t0 := time.Now()
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "[%d/%d] %s start %d %s ...", i+1, len(cases), c.p.Name, c.start, c.pair.label)
		r, err := runCase(ctx, &cfg, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, " bumps %s, bumpserve %s\n", ms(r.bumps.wall), ms(r.cli.wall))
		rows = append(rows, r)
	}
	notes = append(notes, fmt.Sprintf("total benchmark time %s", time.Since(t0).Round(time.Second)))

	tables := buildTables(env, rows, &cfg, *samples, *burns, *seed)
	writeText(os.Stdout, tables, notes)
	if *mdPath != "" {
		f, err := os.Create(*mdPath)
		if err != nil {
			return err
		}
		writeMarkdown(f, tables, notes)
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", *mdPath)
	}
	return nil
}

type resultRow struct {
	c                *fitCase
	bumps, cli, proc answer
}

func runCase(ctx context.Context, cfg *config, c *fitCase) (resultRow, error) {
	r := resultRow{c: c}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return r, err
	}
	spec, err := c.specJSON()
	if err != nil {
		return r, err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "spec.json"), spec, 0o644); err != nil {
		return r, err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "model.py"), []byte(c.bumpsScript()), 0o644); err != nil {
		return r, err
	}
	r.bumps = runBumps(ctx, cfg, c)
	if cfg.bumpserve != "" {
		r.cli = runCLI(ctx, cfg, c)
	} else {
		r.cli.err = fmt.Errorf("no bumpserve binary")
	}
	r.proc = runInProcess(ctx, cfg, c, spec)
	return r, nil
}

// defaultNISTDir finds fit/testdata/nist from the working directory (the
// module root, as with go run) or from this source file's location.
func defaultNISTDir() string {
	if _, err := os.Stat("fit/testdata/nist/Misra1a.dat"); err == nil {
		return "fit/testdata/nist"
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "nist")
	}
	return "fit/testdata/nist"
}

// buildBumpserve builds ./cmd/bumpserve of this module into out.
func buildBumpserve(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return fmt.Errorf("cannot find the module root (run from inside the bumpserve module, or pass -bumpserve)")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/bumpserve")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/bumpserve: %v: %s", err, tail(string(b), 500))
	}
	return nil
}

func bumpsVersion(ctx context.Context, python string) string {
	b, err := exec.CommandContext(ctx, python, "-c", "import bumps; print(bumps.__version__)").Output()
	if err != nil {
		return "version unknown"
	}
	return strings.TrimSpace(string(b))
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 1:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.3f ms", v)
	}
}

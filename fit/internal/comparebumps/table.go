package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumpserve/bumpserve/fit/internal/nist"
)

// table is one titled grid of cells.
type table struct {
	title   string
	intro   []string
	headers []string
	rows    [][]string
}

func buildTables(env [][2]string, rows []resultRow, cfg *config, samples int, burns string, seed int64) []table {
	setup := table{title: "Setup", headers: []string{"item", "value"}}
	for _, kv := range env {
		setup.rows = append(setup.rows, []string{kv[0], kv[1]})
	}
	setup.rows = append(setup.rows,
		[]string{"bounds (both)", "per parameter [min/10, max*10] of {start 1, start 2, certified} (one-signed values)"},
		[]string{"lm / scipy.leastsq", "dy = 1; defaults: bumps steps=200 (maxfev=200*(n+1)), ftol=xtol=1.5e-8; bumpserve 20000 iterations, restarts from its best point"},
		[]string{"amoeba / amoeba", fmt.Sprintf("dy = 1, seed %d; defaults: bumps steps=1000, starts=1, xtol=1e-6, ftol=1e-8; bumpserve 1000*n iterations per start, 3 restarts", seed)},
		[]string{"dream / dream", fmt.Sprintf("dy = certified residual SD; samples=%d, burn=%s (one run per value), seed %d, pop=10, thin=1 in both; bumps init=eps (ball around the start), bumpserve: start + uniform over the bounds", samples, burns, seed)},
		[]string{"timing", fmt.Sprintf("wall clock; bumps: one subprocess run incl. Python start-up and its plots; bumpserve CLI (incl. process start-up) and in-process fit.ParseSpec+fit.Run: median of %d runs", cfg.reps)},
	)

	main := table{
		title: "Results",
		intro: []string{
			"RSS is the unweighted residual sum of squares, computed in Go from each program's best parameters (bumps: its .par file).",
			"agree = min over parameters of -log10(|a-b|/|b|), a = bumpserve (CLI), b = bumps; cert = the same against the NIST certified parameters / certified RSS.",
			"ratio = bumps wall time / bumpserve CLI wall time.",
		},
		headers: []string{"problem", "start", "bumpserve / bumps", "bumps", "bumpserve CLI", "in-process", "ratio",
			"RSS bumps", "RSS bumpserve", "agree", "cert bumps par/RSS", "cert bumpserve par/RSS"},
	}
	var failures []string
	var dreamRows []resultRow
	for _, r := range rows {
		c := r.c
		ours := r.cli
		if ours.err != nil {
			ours = r.proc // the CLI could not run; score the in-process answer
		}
		rssB, rssO := math.NaN(), math.NaN()
		if r.bumps.err == nil {
			rssB = c.p.residualSS(r.bumps.values)
		} else {
			failures = append(failures, fmt.Sprintf("%s start %d %s: %v", c.p.Name, c.start, c.pair.bumps, r.bumps.err))
		}
		if ours.err == nil {
			rssO = c.p.residualSS(ours.values)
		}
		for _, a := range []struct {
			n string
			a answer
		}{{"bumpserve fit", r.cli}, {"fit.Run", r.proc}} {
			if a.a.err != nil && cfg.bumpserve != "" {
				failures = append(failures, fmt.Sprintf("%s start %d %s (%s): %v", c.p.Name, c.start, c.pair.ours, a.n, a.a.err))
			}
		}
		ratio := "-"
		if r.bumps.err == nil && r.cli.err == nil {
			ratio = fmt.Sprintf("%.0fx", float64(r.bumps.wall)/float64(r.cli.wall))
		}
		main.rows = append(main.rows, []string{
			c.p.Name, fmt.Sprint(c.start), c.pair.label,
			wall(r.bumps), wall(r.cli), wall(r.proc), ratio,
			g(rssB, 8), g(rssO, 8),
			digits(nist.MinLRE(ours.values, r.bumps.values)),
			certDigits(r.bumps, rssB, c.p),
			certDigits(ours, rssO, c.p),
		})
		if c.pair.ours == "dream" {
			dreamRows = append(dreamRows, r)
		}
	}
	tables := []table{setup, main}
	if len(dreamRows) > 0 {
		post := table{
			title: "DREAM posteriors",
			intro: []string{
				"With dy = the certified residual SD the posterior standard deviations should be close to the certified parameter SDs.",
				"dmean = |mean bumpserve - mean bumps| / std bumps; sd ratio = std bumpserve / std bumps.",
			},
			headers: []string{"problem", "run", "param", "certified ± SD", "bumps mean ± std", "bumpserve mean ± std", "dmean", "sd ratio"},
		}
		for _, r := range dreamRows {
			ours := r.cli
			if ours.err != nil {
				ours = r.proc
			}
			for k, n := range r.c.p.paramNames() {
				row := []string{r.c.p.Name, strings.TrimPrefix(r.c.pair.label, "dream / dream, "), n, pm(r.c.p.Cert[k], r.c.p.CertSD[k]), "-", "-", "-", "-"}
				if k < len(r.bumps.mean) {
					row[4] = pm(r.bumps.mean[k], r.bumps.std[k])
				}
				if k < len(ours.mean) {
					row[5] = pm(ours.mean[k], ours.std[k])
				}
				if k < len(r.bumps.mean) && k < len(ours.mean) {
					row[6] = fmt.Sprintf("%.2f", math.Abs(ours.mean[k]-r.bumps.mean[k])/r.bumps.std[k])
					row[7] = fmt.Sprintf("%.2f", ours.std[k]/r.bumps.std[k])
				}
				post.rows = append(post.rows, row)
			}
		}
		tables = append(tables, post)
	}
	if len(failures) > 0 {
		f := table{title: "Failures", headers: []string{"run", "error"}}
		for _, s := range failures {
			name, msg, _ := strings.Cut(s, ": ")
			f.rows = append(f.rows, []string{name, msg})
		}
		tables = append(tables, f)
	}
	return tables
}

func wall(a answer) string {
	if a.err != nil {
		return "FAIL"
	}
	return ms(a.wall)
}

func certDigits(a answer, rss float64, p *nistProblem) string {
	if a.err != nil {
		return "FAIL"
	}
	return digits(nist.MinLRE(a.values, p.Cert)) + "/" + digits(nist.LRE(rss, p.RSS))
}

func digits(d float64) string {
	if math.IsNaN(d) {
		return "-"
	}
	return fmt.Sprintf("%.1f", d)
}

func g(v float64, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.*g", prec, v)
}

func pm(v, sd float64) string { return fmt.Sprintf("%.6g ± %.2g", v, sd) }

func writeText(w io.Writer, tables []table, notes []string) {
	for _, t := range tables {
		fmt.Fprintf(w, "\n== %s ==\n", t.title)
		for _, s := range t.intro {
			fmt.Fprintln(w, s)
		}
		if len(t.intro) > 0 {
			fmt.Fprintln(w)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.headers, "\t"))
		for _, r := range t.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	for _, n := range notes {
		fmt.Fprintln(w, "\nnote:", n)
	}
}

func writeMarkdown(w io.Writer, tables []table, notes []string) {
	fmt.Fprintf(w, "# bumpserve vs bumps on NIST StRD (%s)\n", time.Now().Format("2006-01-02"))
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, t := range tables {
		fmt.Fprintf(w, "\n## %s\n\n", t.title)
		for _, s := range t.intro {
			fmt.Fprintln(w, s)
		}
		if len(t.intro) > 0 {
			fmt.Fprintln(w)
		}
		hs := make([]string, len(t.headers))
		seps := make([]string, len(t.headers))
		for i, h := range t.headers {
			hs[i], seps[i] = esc(h), "---"
		}
		fmt.Fprintf(w, "| %s |\n| %s |\n", strings.Join(hs, " | "), strings.Join(seps, " | "))
		for _, r := range t.rows {
			cs := make([]string, len(r))
			for i, c := range r {
				cs[i] = esc(c)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cs, " | "))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", esc(n))
		}
	}
}

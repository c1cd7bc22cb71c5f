package web

import (
	"regexp"
	"strings"
)

// A submission refused by the API names the spec path at fault
// ("spec.datasets[0].file: data.txt line 3, column 2: ..."), which is right
// for a program and noise on a form, where the message already stands
// beside its field. humane turns the path into the words a person filled
// in: "data file: data.txt line 3, column 2: ...".

var (
	datasetPath = regexp.MustCompile(`^datasets\[(\d+)\]\.(\w+)`)
	paramPath   = regexp.MustCompile(`^parameters\.([^.:]+)(?:\.(\w+))?(?:\.(\w+))?`)
)

// datasetWords names a dataset's fields as the form labels them.
var datasetWords = map[string]string{
	"model": "model", "file": "data file", "columns": "data columns",
	"x": "data", "y": "data", "dy": "data", "vars": "data", "name": "dataset name",
}

// humane rewrites an API error for the form.
func humane(msg string) string {
	msg = strings.TrimPrefix(msg, "spec.")
	path, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(path, " ") {
		return msg // no path to replace
	}
	label := ""
	switch {
	case datasetPath.MatchString(path):
		m := datasetPath.FindStringSubmatch(path)
		label = datasetWords[m[2]]
		if label == "" {
			label = m[2]
		}
		if m[1] != "0" {
			label = "dataset " + m[1] + " " + label
		}
	case paramPath.MatchString(path):
		m := paramPath.FindStringSubmatch(path)
		label = "parameter " + m[1]
		for _, part := range m[2:] {
			if part != "" {
				label += " " + part
			}
		}
	case strings.HasPrefix(path, "options."):
		label = strings.TrimPrefix(path, "options.")
	default:
		// The last key of any other path: "fitter", "name", "args".
		label = path[strings.LastIndexAny(path, ".]")+1:]
		if label == "" {
			label = path
		}
	}
	return label + ": " + rest
}

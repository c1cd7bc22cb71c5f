package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// warnIfUntrusted prints to stderr why a results document should not be
// trusted: its own warning (DREAM that has not converged), or else a
// fitter that reports it did not converge. Standard output keeps exactly
// the JSON document.
func warnIfUntrusted(id string, results []byte) {
	if msg := resultWarning(results); msg != "" {
		fmt.Fprintf(os.Stderr, "bumpserve: warning: %s%s\n", id, msg)
	}
}

func resultWarning(results []byte) string {
	var r struct {
		Converged *bool  `json:"converged"`
		Warning   string `json:"warning"`
	}
	if json.Unmarshal(results, &r) != nil {
		return ""
	}
	switch {
	case r.Warning != "":
		return r.Warning
	case r.Converged != nil && !*r.Converged:
		return "the fitter reports that it did not converge"
	}
	return ""
}

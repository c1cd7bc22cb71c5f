package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// formOption is a numeric option of a submit form (steps, seed, ...);
// only those given go into the spec.
type formOption struct{ Name, Label, Help string }

// readOptions reads opts from the posted form into values, noting in errs
// each one given that is not a whole number.
func readOptions(r *http.Request, opts []formOption, values, errs map[string]string) {
	for _, o := range opts {
		v := strings.TrimSpace(r.PostFormValue(o.Name))
		values[o.Name] = v
		if v == "" {
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			errs[o.Name] = fmt.Sprintf("options.%s: %q is not a whole number", o.Name, v)
		}
	}
}

// intOptions are the options given in values, as numbers.
func intOptions(values map[string]string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range values {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

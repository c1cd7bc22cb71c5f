package bumps

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/bumpserve/bumpserve/fit"
)

// Posterior is one parameter's entry in dream's <model>-err.json.
type Posterior struct {
	Best   fit.Float    `json:"best"`
	Mean   fit.Float    `json:"mean"`
	Median fit.Float    `json:"median"`
	Std    fit.Float    `json:"std"`
	P68    [2]fit.Float `json:"p68"`
	P95    [2]fit.Float `json:"p95"`
	Label  string       `json:"label"`
	Index  int          `json:"index"`
}

// Python's json module writes NaN and ±Infinity as bare words, which are
// not JSON; fit.Float reads null as NaN, so they become null first.
var nonFinite = regexp.MustCompile(`(:\s*|\[\s*|,\s*)-?(?:NaN|Infinity)\b`)

// ParseErrJSON reads dream's <model>-err.json, keyed by parameter label.
func ParseErrJSON(b []byte) (map[string]Posterior, error) {
	b = nonFinite.ReplaceAll(b, []byte("${1}null"))
	var out map[string]Posterior
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("-err.json: %v", err)
	}
	return out, nil
}

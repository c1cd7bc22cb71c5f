package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// exerciseSeries submits a two-file fit series, completes its fits as a
// worker, and reads the series routes, each answer checked against the
// description.
func exerciseSeries(t *testing.T, c *apiCheck, env *testenv.Env, dora string) {
	wk := env.User("seriesfarm", store.RoleWorker)
	doc := `{"service":"fit","name":"scan","spec":{"parameters":{"a":{"value":1}},` +
		`"datasets":[{"model":"a*x","file":"data.txt","columns":["x","y"]}]},"series":{"files":["s1.txt","s2.txt"],"x":"name:s(\\d)"}}`
	ctype, body := submissionParts(doc, map[string]string{"s1.txt": "1 2\n2 4\n", "s2.txt": "1 3\n2 6\n"})
	code, b := must(c.do("POST", "/api/v1/jobs", dora, ctype, body))
	expect(t, "submit series", code, b, 201)
	parent := decode[idOnly](t, b)
	ctype, body = submissionParts(strings.Replace(doc, `"s2.txt"]`, `"s3.txt"]`, 1), map[string]string{"s1.txt": "1 2\n"})
	code, b = must(c.do("POST", "/api/v1/jobs", dora, ctype, body))
	expect(t, "series naming a file not uploaded", code, b, 400)

	claimed := decode[api.ClaimResponse](t, must2(t, c, "POST", "/api/v1/worker/claim", wk,
		`{"name":"seriesfarm","slots":8,"free":8,"wait_seconds":0}`, 200))
	for i, j := range claimed.Jobs {
		result := fmt.Sprintf(`{"chisq":%d.5,"parameters":{"a":{"value":%d,"stderr":0.1}}}`, i, 2+i)
		ctype, body := completion(fmt.Sprintf(`{"token":%q,"state":"COMPLETE","result":%s}`, j.LeaseToken, result), nil)
		code, b := must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/complete", j.ID), wk, ctype, body))
		expect(t, "complete a fit", code, b, 204)
	}
	p := fmt.Sprintf("/api/v1/jobs/%d", parent.ID)
	must2(t, c, "GET", p, dora, "", 200)
	must2(t, c, "GET", p+"/series", dora, "", 200)
	must2(t, c, "GET", p+"/series.csv", dora, "", 200)
	must2(t, c, "GET", p+"/series.svg?param=a", dora, "", 200)
	must2(t, c, "GET", p+"/series.svg?param=zz", dora, "", 400)
}

func must2(t *testing.T, c *apiCheck, method, path, tok, body string, codes ...int) []byte {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	var code int
	var b []byte
	if r != nil {
		code, b = must(c.do(method, path, tok, "application/json", r))
	} else {
		code, b = must(c.do(method, path, tok, "", nil))
	}
	expect(t, method+" "+path, code, b, codes...)
	return b
}

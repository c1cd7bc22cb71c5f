package strictjson

import "testing"

type inner struct {
	CPUs int `json:"cpus"`
}

type outer struct {
	Name  string   `json:"name"`
	Tags  []string `json:"tags,omitempty"`
	Inner inner    `json:"inner"`
	Skip  int      `json:"-"`
	hid   int
}

func TestDecodeNamesPath(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"name":"a","bogus":1}`, `spec.bogus: unknown field (accepted: name, tags, inner)`},
		{`{"inner":{"cpus":"2"}}`, `spec.inner.cpus: expected a whole number, got string`},
		{`{"tags":"x"}`, `spec.tags: expected an array, got string`},
		{`[1]`, `spec: expected an object, got array`},
		{`{"name":`, `spec: not valid JSON: unexpected EOF`},
		{`nope`, `spec: not valid JSON: invalid character 'o' in literal null (expecting 'u')`},
		{``, `spec: empty; expected a JSON object`},
		{`{} {}`, `spec: unexpected data after the JSON object`},
	} {
		var v outer
		if err := Decode([]byte(c.in), "spec", &v); err == nil || err.Error() != c.want {
			t.Errorf("Decode(%s) = %v, want %s", c.in, err, c.want)
		}
	}
	var v outer
	err := DecodeAllowing([]byte(`{"name":"a","limits":{},"x":1}`), "spec", &v, "limits")
	if err == nil || err.Error() != `spec.x: unknown field (accepted: name, tags, inner, limits)` {
		t.Errorf("DecodeAllowing = %v", err)
	}
	if err := DecodeAllowing([]byte(`{"name":"a","limits":{"any":1}}`), "spec", &v, "limits"); err != nil || v.Name != "a" {
		t.Errorf("DecodeAllowing of allowed keys = %v, %+v", err, v)
	}
}

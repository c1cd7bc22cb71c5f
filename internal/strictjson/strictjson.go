// Package strictjson decodes JSON objects that must hold only known
// fields, and words every error with the path of the field it concerns
// ("spec.resources.bogus: unknown field (accepted: cpus)"), so a typo in
// a job is refused at submission rather than silently ignored.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Decode decodes data, one JSON value, into v, a pointer to a struct,
// refusing fields v does not declare. path names data in errors ("spec",
// "spec.limits"); each error starts with the full path of the field at
// fault, and an unknown field's error lists the accepted ones.
func Decode(data []byte, path string, v any) error {
	return DecodeAllowing(data, path, v)
}

// DecodeAllowing is Decode for an object that may also carry the
// top-level keys named in others, which v does not declare (another part
// of the program reads them); they are skipped, and listed as accepted.
func DecodeAllowing(data []byte, path string, v any, others ...string) error {
	if len(others) > 0 {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil || top == nil {
			return fmt.Errorf("%s: must be a JSON object", path)
		}
		for _, k := range others {
			delete(top, k)
		}
		data, _ = json.Marshal(top)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describe(err, path, v, others)
	}
	if dec.More() {
		return fmt.Errorf("%s: unexpected data after the JSON object", path)
	}
	return nil
}

// Join appends a field name to a path.
func Join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func describe(err error, path string, v any, others []string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		at := path
		if te.Field != "" {
			at = Join(path, te.Field)
		}
		return fmt.Errorf("%s: expected %s, got %s", at, typeName(te.Type), te.Value)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return fmt.Errorf("%s: unknown field (accepted: %s)", Join(path, name), strings.Join(append(Fields(v), others...), ", "))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: not valid JSON: %s", path, strings.TrimPrefix(msg, "json: "))
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty; expected a JSON object", path)
	}
	return fmt.Errorf("%s: %s", path, strings.TrimPrefix(msg, "json: "))
}

// Fields lists the JSON names of the fields of v's struct type, in
// declaration order (embedded structs' fields inline).
func Fields(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-":
		case f.Anonymous && tag == "":
			names = append(names, Fields(reflect.New(f.Type).Interface())...)
		case tag != "":
			names = append(names, tag)
		default:
			names = append(names, f.Name)
		}
	}
	return names
}

// typeName says what JSON a Go type expects, in a user's words.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

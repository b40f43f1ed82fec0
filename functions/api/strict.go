package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/chorus-voice/chorus/functions/internal/apierr"
)

// checkStrict holds a JSON body to what encoding/json lets through: every
// object key of the body must name a field of the type it is decoded into
// exactly (encoding/json also matches "Text" or "TEXT" to "text"), and no
// object may name a key twice (encoding/json keeps the last, so a body
// could say one thing to a proxy or a log and another to the handler).
// Malformed JSON is left to the decoder, which says so.
func checkStrict(body []byte, into reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := strictValue(dec, into, "")
	if _, ok := err.(*apierr.Error); ok {
		return err
	}
	return nil
}

func strictValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return strictObject(dec, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := strictValue(dec, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ]
		return err
	}
	return nil
}

func strictObject(dec *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		name := key
		if path != "" {
			name = path + "." + key
		}
		if seen[key] {
			return apierr.Field("duplicate_field", name, fmt.Sprintf("The field %q appears twice.", name))
		}
		seen[key] = true
		var ft reflect.Type
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return &apierr.Error{Status: http.StatusBadRequest, Code: "unknown_field", Field: name,
					Message: fmt.Sprintf("Unknown field %q.", name) + caseHint(fields, key)}
			}
		}
		if err := strictValue(dec, ft, name); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return err
}

// caseHint names the field a key matches only in another case.
func caseHint(fields map[string]reflect.Type, key string) string {
	for f := range fields {
		if strings.EqualFold(f, key) {
			return fmt.Sprintf(" Field names are case-sensitive: did you mean %q?", f)
		}
	}
	return ""
}

// jsonFields maps the JSON names of t's exported fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

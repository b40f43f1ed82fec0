package message

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The Go type and synthesis_request.proto (the topic's schema) must stay
// in step: every JSON field is a proto field of a matching type, and back.
func TestSchemaMatchesProto(t *testing.T) {
	proto, err := os.ReadFile("synthesis_request.proto")
	if err != nil {
		t.Fatal(err)
	}
	fieldRE := regexp.MustCompile(`(?m)^\s*(int32|string|double)\s+(\w+)\s*=\s*\d+;`)
	protoFields := map[string]string{}
	for _, m := range fieldRE.FindAllStringSubmatch(string(proto), -1) {
		protoFields[m[2]] = m[1]
	}
	b, _ := json.Marshal(SynthesisRequest{V: 1, JobID: "a", MemberID: "b", Text: "c", Speed: 1.5, RequestID: "d", BatchID: "e"})
	var goFields map[string]any
	if err := json.Unmarshal(b, &goFields); err != nil {
		t.Fatal(err)
	}
	for f, v := range goFields {
		typ, ok := protoFields[f]
		if !ok {
			t.Errorf("field %q is not in synthesis_request.proto", f)
			continue
		}
		if _, isNum := v.(float64); isNum != (typ != "string") {
			t.Errorf("field %q: Go JSON %T, proto %s", f, v, typ)
		}
	}
	if len(protoFields) != len(goFields) {
		t.Errorf("proto has %d fields, Go type %d", len(protoFields), len(goFields))
	}
}

func TestDecodeValidates(t *testing.T) {
	ok := `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","speed":1.5}`
	if _, err := Decode([]byte(ok), 10); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	for name, body := range map[string]string{
		"bad json":          `{"v":1,`,
		"wrong version":     `{"v":2,"job_id":"abc","member_id":"aria","text":"hi"}`,
		"unknown field":     `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","x":1}`,
		"no job no request": `{"v":1,"member_id":"aria","text":"hi"}`,
		"empty text":        `{"v":1,"job_id":"abc","member_id":"aria","text":"  "}`,
		"long text":         `{"v":1,"job_id":"abc","member_id":"aria","text":"` + strings.Repeat("x", 11) + `"}`,
		"slow":              `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","speed":0.1}`,
		"member path":       `{"v":1,"job_id":"abc","member_id":"a/b","text":"hi"}`,
		"trailing":          `{"v":1,"job_id":"abc","member_id":"aria","text":"hi"} {}`,
	} {
		if _, err := Decode([]byte(body), 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

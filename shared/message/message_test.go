package message

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
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
	b, _ := json.Marshal(SynthesisRequest{V: 1, JobID: "a", MemberID: "b", Text: "c", Speed: 1.5, RequestID: "d", BatchID: "e", Format: "opus"})
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
	if m, err := Decode([]byte(ok), 10); err != nil || m.AudioFormat() != "wav" {
		t.Fatalf("valid message: %v", err)
	}
	for _, f := range []string{"wav", "opus", "mp3"} {
		m, err := Decode([]byte(`{"v":1,"member_id":"aria","text":"hi","request_id":"r","format":"`+f+`"}`), 10)
		if err != nil || m.AudioFormat() != f {
			t.Errorf("format %s: %v", f, err)
		}
	}
	for name, body := range map[string]string{
		"bad json":            `{"v":1,`,
		"wrong version":       `{"v":2,"job_id":"abc","member_id":"aria","text":"hi"}`,
		"unknown field":       `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","x":1}`,
		"no job no request":   `{"v":1,"member_id":"aria","text":"hi"}`,
		"empty text":          `{"v":1,"job_id":"abc","member_id":"aria","text":"  "}`,
		"long text":           `{"v":1,"job_id":"abc","member_id":"aria","text":"` + strings.Repeat("x", 11) + `"}`,
		"slow":                `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","speed":0.1}`,
		"member path":         `{"v":1,"job_id":"abc","member_id":"a/b","text":"hi"}`,
		"trailing":            `{"v":1,"job_id":"abc","member_id":"aria","text":"hi"} {}`,
		"unknown format":      `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","format":"flac"}`,
		"format in capitals":  `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","format":"MP3"}`,
		"format not a string": `{"v":1,"job_id":"abc","member_id":"aria","text":"hi","format":3}`,
	} {
		if _, err := Decode([]byte(body), 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestForJobCarriesTheFormat(t *testing.T) {
	j := job.New("aria", "v", 0, "hi", 1, time.Now())
	if m := ForJob(j); m.Format != "" || m.AudioFormat() != job.FormatWAV {
		t.Errorf("WAV job: message format %q", m.Format)
	}
	j.Format = job.FormatOpus
	if m := ForJob(j); m.Format != job.FormatOpus {
		t.Errorf("Opus job: message format %q", m.Format)
	}
}

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

// The Go types and their topics' schemas must stay in step: every JSON
// field is a proto field of a matching type, and back.
func TestSchemasMatchProto(t *testing.T) {
	checkProto(t, "synthesis_request.proto",
		SynthesisRequest{V: 1, JobID: "a", MemberID: "b", Text: "c", Speed: 1.5, RequestID: "d", BatchID: "e", Format: "opus"})
	checkProto(t, "synthesis_completed.proto", Completion{V: 1, Kind: "job", Status: "s", JobID: "j", BatchID: "b",
		RequestID: "r", MemberID: "m", Object: "o", DurationSeconds: 1.5, Format: "wav", Cached: true, ErrorCode: "e",
		FinishedAt: "t", Jobs: 1, Succeeded: 1, Failed: 1})
}

func checkProto(t *testing.T, file string, full any) {
	t.Helper()
	proto, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fieldRE := regexp.MustCompile(`(?m)^\s*(int32|string|double|bool)\s+(\w+)\s*=\s*\d+;`)
	protoFields := map[string]string{}
	for _, m := range fieldRE.FindAllStringSubmatch(string(proto), -1) {
		protoFields[m[2]] = m[1]
	}
	b, _ := json.Marshal(full)
	var goFields map[string]any
	if err := json.Unmarshal(b, &goFields); err != nil {
		t.Fatal(err)
	}
	for f, v := range goFields {
		typ, ok := protoFields[f]
		if !ok {
			t.Errorf("field %q is not in %s", f, file)
			continue
		}
		var match bool
		switch v.(type) {
		case float64:
			match = typ == "int32" || typ == "double"
		case bool:
			match = typ == "bool"
		case string:
			match = typ == "string"
		}
		if !match {
			t.Errorf("%s: field %q: Go JSON %T, proto %s", file, f, v, typ)
		}
	}
	if len(protoFields) != len(goFields) {
		t.Errorf("%s has %d fields, the Go type %d", file, len(protoFields), len(goFields))
	}
}

func TestCompletions(t *testing.T) {
	now := time.Now()
	ok := job.New("aria", "v", 0, "hi", 1, now)
	ok.BatchID, ok.Status, ok.FinishedAt = job.NewID(), job.Succeeded, now
	ok.Output = &job.Output{Object: ok.ObjectName(), DurationSeconds: 1.5}
	bad := job.New("aria", "v", 0, "hi", 1, now)
	bad.BatchID, bad.Status, bad.FinishedAt, bad.Error = ok.BatchID, job.Failed, now.Add(time.Second), &job.Error{Code: "text_unsupported"}
	for _, c := range []*Completion{JobCompletion(ok), JobCompletion(bad), BatchCompletion(ok.BatchID, []*job.Job{ok, bad})} {
		data, err := c.Encode()
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		back, err := DecodeCompletion(data)
		if err != nil || *back != *c {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	}
	if c := BatchCompletion(ok.BatchID, []*job.Job{ok, bad}); c.Status != BatchPartial || c.Succeeded != 1 || c.Failed != 1 {
		t.Errorf("batch %+v", c)
	}
	if c := JobCompletion(bad); c.ErrorCode != "text_unsupported" || c.Object != "" {
		t.Errorf("failed job %+v", c)
	}
	for _, body := range []string{`{"v":1,"kind":"job","status":"queued","job_id":"x","finished_at":"2026-01-01T00:00:00Z"}`, `{"v":2}`, `{`} {
		if _, err := DecodeCompletion([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", body, err)
		}
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

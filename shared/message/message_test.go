package message

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
)

// The Go types and their topics' schemas must stay in step: every JSON
// field of the Go type (found by reflection, so a new field is seen) is a
// proto field of a matching type, and back.
func TestSchemasMatchProto(t *testing.T) {
	checkProto(t, "synthesis_request.proto", reflect.TypeFor[SynthesisRequest]())
	checkProto(t, "synthesis_completed.proto", reflect.TypeFor[Completion]())
}

func checkProto(t *testing.T, file string, typ reflect.Type) {
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
	want := map[reflect.Kind]string{reflect.Int: "int32", reflect.Float64: "double", reflect.String: "string", reflect.Bool: "bool"}
	goFields := 0
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		goFields++
		if name == "" {
			t.Errorf("%s.%s has no JSON name", typ.Name(), f.Name)
			continue
		}
		pt, ok := protoFields[name]
		if !ok {
			t.Errorf("%s.%s (JSON %q) is not in %s", typ.Name(), f.Name, name, file)
			continue
		}
		if want[f.Type.Kind()] != pt {
			t.Errorf("%s: field %q: Go %s, proto %s", file, name, f.Type, pt)
		}
	}
	if len(protoFields) != goFields {
		t.Errorf("%s has %d fields, the Go type %s %d", file, len(protoFields), typ.Name(), goFields)
	}
}

// handled says, for every field of the message types, what looks after it.
// A field added to a type fails TestEveryFieldIsHandled until it is listed
// here, having been given its place in the proto, in Validate and in the
// constructors (ForJob, JobCompletion, BatchCompletion) as it needs.
var handled = map[reflect.Type]map[string]string{
	reflect.TypeFor[SynthesisRequest](): {
		"V":         "Validate: the version",
		"JobID":     "Validate: ValidRecordID; ForJob",
		"MemberID":  "Validate: ValidRecordID; ForJob",
		"Text":      "Validate: UTF-8, not blank, maxTextChars; ForJob",
		"Speed":     "Validate: the public range; ForJob",
		"RequestID": "Validate: ValidRequestID, required without JobID; ForJob",
		"BatchID":   "Validate: ValidRecordID; ForJob; the worker refuses an API batch for a direct message",
		"Format":    "Validate: job.ValidFormat; ForJob (WAV left out)",
	},
	reflect.TypeFor[Completion](): {
		"V": "Validate: the version", "Kind": "Validate: job or batch", "Status": "Validate (jobs); BatchCompletion",
		"JobID": "Validate: ValidGeneratedID (jobs)", "BatchID": "Validate (batches)", "RequestID": "JobCompletion",
		"MemberID": "JobCompletion", "Object": "JobCompletion", "DurationSeconds": "JobCompletion", "Format": "JobCompletion",
		"Cached": "JobCompletion", "ErrorCode": "JobCompletion", "FinishedAt": "Validate: RFC 3339",
		"Jobs": "Validate; BatchCompletion", "Succeeded": "Validate; BatchCompletion", "Failed": "Validate; BatchCompletion",
	},
}

func TestEveryFieldIsHandled(t *testing.T) {
	for typ, fields := range handled {
		seen := map[string]bool{}
		for f := range typ.Fields() {
			seen[f.Name] = true
			if _, ok := fields[f.Name]; !ok {
				t.Errorf("%s.%s is new: add it to %s's proto, Validate and constructors, then to handled", typ.Name(), f.Name, typ.Name())
			}
		}
		for name := range fields {
			if !seen[name] {
				t.Errorf("handled lists %s.%s, which no longer exists", typ.Name(), name)
			}
		}
	}
}

// Every field survives an encode/decode round trip: each is set by
// reflection to a valid, non-zero value, so a new field is exercised too.
func TestEveryRequestFieldRoundTrips(t *testing.T) {
	m := SynthesisRequest{}
	v := reflect.ValueOf(&m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x1")
		case reflect.Int:
			f.SetInt(1)
		case reflect.Float64:
			f.SetFloat(1.5)
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("field %s of kind %s: teach this test a valid value", v.Type().Field(i).Name, f.Kind())
		}
	}
	m.V, m.Format = Version, job.FormatOpus
	data, err := m.Encode(10)
	if err != nil {
		t.Fatalf("a request with every field set: %v", err)
	}
	back, err := Decode(data, 10)
	if err != nil || !reflect.DeepEqual(*back, m) {
		t.Fatalf("round trip %+v → %s → %+v, %v", m, data, back, err)
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

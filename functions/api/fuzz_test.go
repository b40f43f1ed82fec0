package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
)

// leaks are fragments of Go error text that must never reach a client.
var leaks = []string{"json:", "rpc error", "goroutine", ".go:", "panic", "runtime error", "invalid character", "http:"}

// FuzzSynthesizeRequest sends arbitrary bodies and content types through
// the real request path (wrap: CORS, method check, recovery, JSON errors)
// to the synthesize decoding and validation. Bad input is always a JSON 4xx
// with a code and a message and nothing internal; input it accepts is
// something the worker's message validation accepts too.
func FuzzSynthesizeRequest(f *testing.F) {
	f.Add([]byte(`{"member_id":"aria","text":"Hello there.","speed":1.5,"request_id":"r-1"}`), "application/json")
	f.Add([]byte(`{"member_id":" aria ","text":"  가나다  "}`), "application/json; charset=utf-8")
	f.Add([]byte(`{"member_id":"aria","text":"hi","speed":"fast"}`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi","speed":1e400}`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi","voice":"x"}`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi","format":"opus"}`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi","format":"flac"}`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi","format":1}`), "application/json")
	f.Add([]byte(`{"member_id":"../x","text":"hi"}`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"\ud800\udc00\ud800"}`), "application/json")
	f.Add([]byte("{\"member_id\":\"aria\",\"text\":\"caf\xe9\"}"), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi"}{"member_id":"b"}`), "application/json")
	f.Add([]byte(`{"member_id":`), "application/json")
	f.Add([]byte(`null`), "application/json")
	f.Add([]byte(`{"member_id":"aria","text":"hi"}`), "application/json; charset=latin1")
	f.Add([]byte(`{"member_id":"aria","text":"hi"}`), "text/plain")
	f.Add([]byte(`{"member_id":"aria","text":"hi"}`), "")
	const maxText = 50
	f.Add(bytes.Repeat([]byte("a"), int(MaxBodyBytes(1, maxText))+1), "application/json")
	s := &Server{cfg: &config.Functions{MaxTextChars: maxText, MaxBatchItems: 3, AllowedOrigins: []string{"http://app.example"}},
		limiter: NewLimiter(0, 1, 10), timeout: time.Second, now: time.Now}
	var accepted SynthesisItem
	h := s.wrap([]string{http.MethodPost}, func(w http.ResponseWriter, r *http.Request) error {
		var it SynthesisItem
		if err := decodeJSON(w, r, MaxBodyBytes(1, maxText), &it); err != nil {
			return err
		}
		if err := validateItem(&it, maxText, ""); err != nil {
			return err
		}
		accepted = it
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/api/synthesize", bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusAccepted {
			it := accepted
			m := &message.SynthesisRequest{V: message.Version, JobID: job.NewID(), MemberID: it.MemberID,
				Text: it.Text, Speed: it.speed(), RequestID: it.RequestID, Format: it.Format}
			if _, err := m.Encode(maxText); err != nil {
				t.Fatalf("API accepted %q but the worker would refuse it: %v", body, err)
			}
			return
		}
		if rec.Code < 400 || rec.Code > 499 {
			t.Fatalf("status %d for %q (%s)", rec.Code, body, rec.Body)
		}
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
			t.Fatalf("error body %q is not the JSON error format", rec.Body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("error content type %q", rec.Header().Get("Content-Type"))
		}
		msg := strings.ToLower(env.Error.Message)
		for _, l := range leaks {
			if strings.Contains(msg, l) {
				t.Fatalf("error message leaks %q: %s", l, rec.Body)
			}
		}
		if !utf8.ValidString(rec.Body.String()) {
			t.Fatalf("error body is not UTF-8: %q", rec.Body)
		}
	})
}

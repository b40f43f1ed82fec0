package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDeployment imitates the deployed functions and the bucket behind a
// signed URL, one TLS server (https, as deployed), with knobs to break it.
type fakeDeployment struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	members     []string
	profilesErr int    // status profiles answers instead of 200
	finalStatus string // what the job ends as ("" = stays queued)
	pollsToEnd  int    // status answers "running" this many times first
	polls       int
	unsigned    bool   // audio_url without X-Goog-Signature
	audioStatus int    // status of the signed URL (0 = 200)
	audio       []byte // served at the signed URL
	expiresIn   time.Duration
	submitted   []map[string]string
}

func newFakeDeployment(t *testing.T) *fakeDeployment {
	f := &fakeDeployment{t: t, members: []string{"aria", "juno"}, finalStatus: "succeeded", pollsToEnd: 2,
		audio: wav(t, 22050), expiresIn: 15 * time.Minute}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /profiles", f.profiles)
	mux.HandleFunc("POST /synthesize", f.synthesize)
	mux.HandleFunc("GET /status", f.status)
	mux.HandleFunc("GET /bucket/audio.wav", f.object)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDeployment) profiles(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.profilesErr != 0 {
		w.WriteHeader(f.profilesErr)
		_, _ = io.WriteString(w, `{"error":{"code":"internal","message":"Firestore unavailable"}}`)
		return
	}
	type member struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	ms := []member{}
	for _, id := range f.members {
		ms = append(ms, member{ID: id, Name: strings.ToUpper(id)})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"members": ms})
}

func (f *fakeDeployment) synthesize(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req map[string]string
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"code":"invalid_json","message":"bad body"}}`)
		return
	}
	f.submitted = append(f.submitted, req)
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"job_id": "job-1", "status": "queued", "status_url": f.srv.URL + "/status?id=job-1"})
}

func (f *fakeDeployment) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Query().Get("id") != "job-1" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"job_not_found","message":"no such job"}}`)
		return
	}
	f.polls++
	st := map[string]any{"job_id": "job-1", "status": "running"}
	if f.finalStatus == "" {
		st["status"] = "queued"
	} else if f.polls > f.pollsToEnd {
		st["status"] = f.finalStatus
		switch f.finalStatus {
		case "succeeded":
			u := f.srv.URL + "/bucket/audio.wav?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=900&X-Goog-Signature=abc123"
			if f.unsigned {
				u = f.srv.URL + "/bucket/audio.wav"
			}
			st["audio_url"] = u
			st["expires_at"] = time.Now().Add(f.expiresIn).UTC().Format(time.RFC3339)
			st["duration_seconds"] = 1.0
		case "failed":
			st["error"] = map[string]string{"code": "voice_unavailable", "message": "the voice could not be loaded"}
		}
	}
	_ = json.NewEncoder(w).Encode(st)
}

func (f *fakeDeployment) object(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.audioStatus != 0 {
		w.WriteHeader(f.audioStatus)
		_, _ = io.WriteString(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	_, _ = w.Write(f.audio)
}

// urlsFile writes the function URLs as terraform outputs them.
func (f *fakeDeployment) urlsFile() string {
	p := filepath.Join(f.t.TempDir(), "function_urls.json")
	b, err := json.Marshal(map[string]string{
		"profiles": f.srv.URL + "/profiles", "synthesize": f.srv.URL + "/synthesize",
		"batch": f.srv.URL + "/batch", "status": f.srv.URL + "/status",
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// wav returns a second of 16-bit mono silence as a WAV file.
func wav(t *testing.T, rate int) []byte {
	t.Helper()
	data := make([]byte, rate*2)
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestDeploymentPasses(t *testing.T) {
	f := newFakeDeployment(t)
	if err := run(t.Context(), []string{"-urls", f.urlsFile(), "-poll", "5ms"}, quiet(), f.srv.Client()); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(f.submitted) != 1 {
		t.Fatalf("%d syntheses submitted, want 1", len(f.submitted))
	}
	got := f.submitted[0]
	if got["member_id"] != "aria" || !strings.HasPrefix(got["text"], "This is the deployment check number ") {
		t.Errorf("submitted %v, want the first member and the check's own text", got)
	}
	if f.polls != f.pollsToEnd+1 {
		t.Errorf("status polled %d times, want %d (until the job ended)", f.polls, f.pollsToEnd+1)
	}

	// Two runs never send the same text: the result cache cannot answer.
	if err := run(t.Context(), []string{"-urls", f.urlsFile(), "-poll", "5ms", "-member", "juno"}, quiet(), f.srv.Client()); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if f.submitted[1]["member_id"] != "juno" || f.submitted[1]["text"] == f.submitted[0]["text"] {
		t.Errorf("second run submitted %v after %v: want member juno and a new text", f.submitted[1], f.submitted[0])
	}
}

func TestDeploymentFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		breakIt func(*fakeDeployment)
		want    string
	}{
		{name: "profiles down", breakIt: func(f *fakeDeployment) { f.profilesErr = http.StatusInternalServerError },
			want: "profiles: 500 Internal Server Error: internal: Firestore unavailable"},
		{name: "job failed", breakIt: func(f *fakeDeployment) { f.finalStatus = "failed" },
			want: "the job failed: voice_unavailable: the voice could not be loaded"},
		{name: "no worker ever runs", args: []string{"-timeout", "300ms"}, breakIt: func(f *fakeDeployment) { f.finalStatus = "" },
			want: "still queued at the deadline"},
		{name: "signed URL refused", breakIt: func(f *fakeDeployment) { f.audioStatus = http.StatusForbidden },
			want: "403 Forbidden: <Error><Code>SignatureDoesNotMatch"},
		{name: "URL not signed", breakIt: func(f *fakeDeployment) { f.unsigned = true },
			want: "not a V4 signed URL"},
		{name: "not a WAV", breakIt: func(f *fakeDeployment) { f.audio = []byte("<html>bucket listing</html>") },
			want: "not a WAV"},
		{name: "already expired", breakIt: func(f *fakeDeployment) { f.expiresIn = -time.Minute },
			want: "expires_at"},
		{name: "unknown member", args: []string{"-member", "nobody"}, breakIt: func(f *fakeDeployment) {},
			want: "status: 404"},
		{name: "no members, required", args: []string{"-empty", "fail"}, breakIt: func(f *fakeDeployment) { f.members = nil },
			want: "profiles lists no member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDeployment(t)
			tc.breakIt(f)
			if tc.name == "unknown member" {
				// The function would answer 404 member_not_found; the fake
				// queues it and status cannot find it.
				f.srv.Config.Handler = wrapStatusNotFound(f.srv.Config.Handler)
			}
			err := run(t.Context(), append([]string{"-urls", f.urlsFile(), "-poll", "5ms"}, tc.args...), quiet(), f.srv.Client())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// wrapStatusNotFound answers every status poll 404, as for a job that
// does not exist.
func wrapStatusNotFound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"job_not_found","message":"no such job"}}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// With no member yet (a first deploy before any voice import) the default
// checks profiles and stops, without queueing anything.
func TestNoMembersSkipsTheSynthesis(t *testing.T) {
	f := newFakeDeployment(t)
	f.members = nil
	if err := run(t.Context(), []string{"-urls", f.urlsFile()}, quiet(), f.srv.Client()); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(f.submitted) != 0 {
		t.Errorf("%d syntheses submitted with no member", len(f.submitted))
	}
}

func TestArguments(t *testing.T) {
	f := newFakeDeployment(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "http.json")
	if err := os.WriteFile(plain, []byte(fmt.Sprintf(`{"profiles":"http://x/p","synthesize":%q,"status":%q}`, f.srv.URL, f.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	if err := os.WriteFile(missing, []byte(fmt.Sprintf(`{"profiles":%q}`, f.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{},
		{"-urls", filepath.Join(dir, "absent.json")},
		{"-urls", plain},
		{"-urls", missing},
		{"-urls", f.urlsFile(), "-empty", "maybe"},
		{"-urls", f.urlsFile(), "-timeout", "0s"},
		{"-urls", f.urlsFile(), "stray"},
	} {
		if err := run(t.Context(), args, quiet(), f.srv.Client()); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
	if len(f.submitted) != 0 || f.polls != 0 {
		t.Error("bad arguments reached the deployment")
	}
}

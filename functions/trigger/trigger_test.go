package trigger

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnsure(t *testing.T) {
	const name = "projects/p/locations/l/jobs/synth"
	cases := []struct {
		name     string
		job      string
		wantRuns int32
	}{
		{"never ran", `{}`, 1},
		{"last finished", `{"latestCreatedExecution":{"name":"e1","completionTime":"2026-01-01T00:00:00Z"}}`, 1},
		{"one running", `{"latestCreatedExecution":{"name":"e2"}}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodGet && r.URL.Path == "/v2/"+name:
					w.Write([]byte(tc.job))
				case r.Method == http.MethodPost && r.URL.Path == "/v2/"+name+":run":
					runs.Add(1)
					w.Write([]byte(`{"name":"op"}`))
				default:
					http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
				}
			}))
			defer srv.Close()
			s := &JobStarter{Name: name, Client: srv.Client(), Endpoint: srv.URL, MinGap: time.Hour}
			s.Ensure(context.Background())
			s.Ensure(context.Background()) // debounced: no second check
			if got := runs.Load(); got != tc.wantRuns {
				t.Fatalf("runs = %d, want %d", got, tc.wantRuns)
			}
		})
	}
}

func TestEnsureRetriesAfterFailure(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		http.Error(w, `{"error":"denied"}`, http.StatusForbidden)
	}))
	defer srv.Close()
	s := &JobStarter{Name: "projects/p/locations/l/jobs/j", Client: srv.Client(), Endpoint: srv.URL, MinGap: time.Hour}
	s.Ensure(context.Background())
	s.Ensure(context.Background())
	if got := gets.Load(); got != 2 {
		t.Fatalf("a failed check must not debounce the next: %d calls, want 2", got)
	}
}

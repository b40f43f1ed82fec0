package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The recorded answer is shaped as the API documents QuotaInfo: the
// int64 value as a string, left out where it is 0 (the entry for every
// region without one of its own), dimensions as a map.
const (
	recorded = "quotainfo_l4.json"
	disabled = "quotas_api_disabled.json"
	// What the API is asked for project 123456789012.
	wantPath = "/v1/projects/123456789012/locations/global/services/run.googleapis.com/quotaInfos/NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion"
)

// fakeQuotas serves testdata/file with status at the quota's path (404
// elsewhere) and counts the requests.
func fakeQuotas(t *testing.T, status int, file string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != wantPath {
			http.Error(w, `{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q, want application/json", r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRegionLimitFromTheRecordedAnswer(t *testing.T) {
	srv, _ := fakeQuotas(t, http.StatusOK, recorded)
	q, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		region string
		want   int64
	}{
		{"us-central1", 3},  // an entry of its own
		{"europe-west1", 1}, // an entry of its own
		{"europe-west4", 0}, // the entry for the others, value left out
		{"asia-south1", 0},
	} {
		t.Run(tc.region, func(t *testing.T) {
			got, err := q.RegionLimit(tc.region)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("RegionLimit(%s) = %d, want %d", tc.region, got, tc.want)
			}
		})
	}
	if _, err := q.RegionLimit("mars-north1"); err == nil || !strings.Contains(err.Error(), "mars-north1") {
		t.Errorf("RegionLimit of a region no entry covers: err = %v, want one naming the region", err)
	}
}

func TestCheck(t *testing.T) {
	srv, _ := fakeQuotas(t, http.StatusOK, recorded)
	q, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, region string
		need         int64
		ok           bool
		wantText     []string
	}{
		{name: "enough", region: "us-central1", need: 1, ok: true},
		{name: "exactly enough", region: "us-central1", need: 3, ok: true},
		{name: "one short", region: "us-central1", need: 4,
			wantText: []string{"allows 3 in us-central1", "needs 4", "--preferred-value=4", "--dimensions=region=us-central1"}},
		{name: "a new project's zero", region: "europe-west4", need: 1,
			wantText: []string{"allows 0 in europe-west4", "worker_accelerator = \"none\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(q, "chorus-test-1", tc.region, tc.need)
			if tc.ok {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrQuota) {
				t.Fatalf("Check = %v, want ErrQuota", err)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	for _, tc := range []struct {
		region string
		need   int64
	}{{"us central", 1}, {"us-central1", 0}} {
		if _, err := Check(q, "chorus-test-1", tc.region, tc.need); err == nil || errors.Is(err, ErrQuota) {
			t.Errorf("Check(%q, need %d) = %v, want an input error", tc.region, tc.need, err)
		}
	}
}

func TestFetchRejects(t *testing.T) {
	t.Run("API disabled", func(t *testing.T) {
		srv, _ := fakeQuotas(t, http.StatusForbidden, disabled)
		_, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, "123456789012")
		if err == nil || !strings.Contains(err.Error(), "PERMISSION_DENIED") || !strings.Contains(err.Error(), "Cloud Quotas API has not been used") {
			t.Errorf("err = %v, want Google's status and message", err)
		}
	})
	t.Run("another quota", func(t *testing.T) {
		body, err := os.ReadFile(filepath.Join("testdata", recorded))
		if err != nil {
			t.Fatal(err)
		}
		other := strings.ReplaceAll(string(body), `"quotaId": "NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion"`, `"quotaId": "NvidiaL4GpuAllocPerProjectRegion"`)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, other) }))
		t.Cleanup(srv.Close)
		if _, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, "123456789012"); err == nil || !strings.Contains(err.Error(), "NvidiaL4GpuAllocPerProjectRegion") {
			t.Errorf("err = %v, want one naming the quota that came back", err)
		}
	})
	t.Run("oversized answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte(" "), maxResponse+1))
		}))
		t.Cleanup(srv.Close)
		if _, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, "123456789012"); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("err = %v, want the size refused", err)
		}
	})
	t.Run("value not a number", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"quotaId":"NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion","dimensionsInfos":[{"dimensions":{"region":"us-central1"},"details":{"value":"three"}}]}`)
		}))
		t.Cleanup(srv.Close)
		if _, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, "123456789012"); err == nil || !strings.Contains(err.Error(), "three") {
			t.Errorf("err = %v, want the bad value named", err)
		}
	})
	for _, project := range []string{"", "My_Project", "../../x", "1"} {
		t.Run("project "+project, func(t *testing.T) {
			srv, calls := fakeQuotas(t, http.StatusOK, recorded)
			if _, err := FetchQuotaInfo(t.Context(), srv.Client(), srv.URL, project); err == nil {
				t.Errorf("project %q accepted", project)
			}
			if calls.Load() != 0 {
				t.Errorf("project %q reached the API", project)
			}
		})
	}
}

// run end to end: flags, the request, the verdict and what it prints.
func TestRun(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, calls := fakeQuotas(t, http.StatusOK, recorded)
	client := func(context.Context) (*http.Client, error) { return srv.Client(), nil }

	var out bytes.Buffer
	if err := run(t.Context(), []string{"-project", "123456789012", "-region", "us-central1", "-need", "2", "-endpoint", srv.URL}, &out, log, client); err != nil {
		t.Fatalf("run: %v", err)
	}
	if want := "in us-central1: 3, need 2: ok"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q lacks %q", out.String(), want)
	}

	out.Reset()
	err := run(t.Context(), []string{"-project", "123456789012", "-region", "asia-southeast1", "-endpoint", srv.URL}, &out, log, client)
	if !errors.Is(err, ErrQuota) || out.Len() != 0 {
		t.Errorf("run in a region at 0: err = %v, output %q; want ErrQuota and nothing printed", err, out.String())
	}

	before := calls.Load()
	for _, args := range [][]string{
		{"-region", "us-central1", "-endpoint", srv.URL},
		{"-project", "123456789012", "-endpoint", srv.URL},
		{"-project", "123456789012", "-region", "us-central1", "-need", "x", "-endpoint", srv.URL},
		{"-project", "123456789012", "-region", "us-central1", "-timeout", "0s", "-endpoint", srv.URL},
		{"-project", "123456789012", "-region", "us-central1", "-endpoint", srv.URL, "extra"},
	} {
		if err := run(t.Context(), args, &out, log, client); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
	if calls.Load() != before {
		t.Error("bad arguments reached the API")
	}

	noCreds := func(context.Context) (*http.Client, error) {
		return nil, errors.New("could not find default credentials")
	}
	if err := run(t.Context(), []string{"-project", "123456789012", "-region", "us-central1", "-endpoint", srv.URL}, &out, log, noCreds); err == nil || !strings.Contains(err.Error(), "default credentials") {
		t.Errorf("run without credentials: err = %v", err)
	}
}

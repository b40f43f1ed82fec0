package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/config"
)

func builtApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<!doctype html><title>Chorus</title>", "assets/app.js": "console.log(1)", "config.json": `{"stale":true}`} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestWebConfigComesFromTheFunctionsSettings(t *testing.T) {
	cfg := &config.Functions{MaxTextChars: 500, AudioRetention: 48 * time.Hour, RatePerMinute: 30, RateBurst: 10}
	wc, err := newWebConfig(cfg, env(map[string]string{"CHORUS_WEB_JOB_DEADLINE": "90s", "CHORUS_WEB_STATUS_WAIT": "0s"}))
	if err != nil {
		t.Fatal(err)
	}
	h, err := webHandler(builtApp(t), wc, "http://127.0.0.1:4443")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"profilesUrl": "/api/profiles", "synthesizeUrl": "/api/synthesize", "batchUrl": "/api/batch", "statusUrl": "/api/status",
		"maxTextChars": 500.0, "audioRetentionSeconds": 172800.0, "ratePerMinute": 30.0, "rateBurst": 10.0, "jobDeadlineSeconds": 90.0, "statusWaitSeconds": 0.0}
	if len(got) != len(want) {
		t.Fatalf("config.json %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config.json %s = %v, want %v", k, got[k], v)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("config.json Cache-Control %q", resp.Header.Get("Cache-Control"))
	}

	for _, bad := range []map[string]string{{"CHORUS_WEB_JOB_DEADLINE": "1s"}, {"CHORUS_WEB_STATUS_WAIT": "21s"}, {"CHORUS_WEB_STATUS_WAIT": "1.5s"}, {"CHORUS_WEB_JOB_DEADLINE": "soon"}} {
		if _, err := newWebConfig(cfg, env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if d, _ := newWebConfig(cfg, env(nil)); d.JobDeadlineSeconds != 180 || d.StatusWaitSeconds != 20 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestWebAnswersCarryTheSecurityHeaders(t *testing.T) {
	wc, err := newWebConfig(&config.Functions{MaxTextChars: 1000, AudioRetention: time.Hour, RateBurst: 1}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	h, err := webHandler(builtApp(t), wc, "http://127.0.0.1:4443/")
	if err != nil {
		t.Fatal(err)
	}
	for _, tls := range []bool{false, true} {
		var srv *httptest.Server
		if tls {
			srv = httptest.NewTLSServer(h)
		} else {
			srv = httptest.NewServer(h)
		}
		for _, path := range []string{"/", "/assets/app.js", "/config.json", "/members/nobody", "/missing.js"} {
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self' http://127.0.0.1:4443",
				"media-src 'self' blob: http://127.0.0.1:4443", "object-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("%s: CSP allows unsafe sources: %q", path, csp)
			}
			if pp := resp.Header.Get("Permissions-Policy"); !strings.Contains(pp, "microphone=()") || !strings.Contains(pp, "camera=()") {
				t.Errorf("%s: Permissions-Policy %q", path, pp)
			}
			if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" {
				t.Errorf("%s: Referrer-Policy %q", path, rp)
			}
			hsts := resp.Header.Get("Strict-Transport-Security")
			if tls && !strings.HasPrefix(hsts, "max-age=") {
				t.Errorf("%s over HTTPS: no HSTS", path)
			}
			if !tls && hsts != "" {
				t.Errorf("%s over HTTP: HSTS %q (only HTTPS answers may set it)", path, hsts)
			}
		}
		srv.Close()
	}
	if _, err := webHandler(builtApp(t), wc, "not a url"); err == nil {
		t.Error("a storage URL without a host was accepted")
	}
}

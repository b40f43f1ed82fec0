package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chorus-voice/chorus/shared/config"
)

// webConfig is the app's config.json (web/src/lib/config.js reads it),
// made from the functions' own settings so the limits the app explains
// to fans are the ones the API applies.
type webConfig struct {
	ProfilesURL           string `json:"profilesUrl"`
	SynthesizeURL         string `json:"synthesizeUrl"`
	BatchURL              string `json:"batchUrl"`
	StatusURL             string `json:"statusUrl"`
	MaxTextChars          int    `json:"maxTextChars"`
	AudioRetentionSeconds int    `json:"audioRetentionSeconds"`
	RatePerMinute         int    `json:"ratePerMinute"`
	RateBurst             int    `json:"rateBurst"`
	JobDeadlineSeconds    int    `json:"jobDeadlineSeconds"`
	StatusWaitSeconds     int    `json:"statusWaitSeconds"`
}

// Bounds the app accepts (web/src/lib/config.js LIMITS).
const (
	minJobDeadline = 5 * time.Second
	maxJobDeadline = 24 * time.Hour
	maxStatusWait  = 20 * time.Second
)

// newWebConfig makes config.json for the functions' config. The web
// app's own settings come from CHORUS_WEB_JOB_DEADLINE (how long it waits
// for a clip before telling the fan, default 3m) and
// CHORUS_WEB_STATUS_WAIT (the status long-poll it asks for, default 20s,
// 0 to poll).
func newWebConfig(cfg *config.Functions, getenv func(string) string) (*webConfig, error) {
	deadline, err := durationEnv(getenv, "CHORUS_WEB_JOB_DEADLINE", 3*time.Minute, minJobDeadline, maxJobDeadline)
	if err != nil {
		return nil, err
	}
	wait, err := durationEnv(getenv, "CHORUS_WEB_STATUS_WAIT", 20*time.Second, 0, maxStatusWait)
	if err != nil {
		return nil, err
	}
	return &webConfig{
		ProfilesURL: "/api/profiles", SynthesizeURL: "/api/synthesize", BatchURL: "/api/batch", StatusURL: "/api/status",
		MaxTextChars:          cfg.MaxTextChars,
		AudioRetentionSeconds: int(cfg.AudioRetention / time.Second),
		RatePerMinute:         cfg.RatePerMinute,
		RateBurst:             max(cfg.RateBurst, 1),
		JobDeadlineSeconds:    int(deadline / time.Second),
		StatusWaitSeconds:     int(wait / time.Second),
	}, nil
}

func durationEnv(getenv func(string) string, name string, def, lo, hi time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi || d%time.Second != 0 {
		return 0, fmt.Errorf("%s must be whole seconds between %s and %s, got %q", name, lo, hi, v)
	}
	return d, nil
}

// contentSecurityPolicy allows the app's own files, the API (same origin
// locally), the storage host that serves signed audio and captions
// (fetched, and played directly when the bytes cannot be read) and blob:
// media (the app plays the audio it fetched from a blob URL). Member
// images may live on any https host.
func contentSecurityPolicy(storageOrigin string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: https:",
		"font-src 'self'",
		"connect-src 'self' " + storageOrigin,
		"media-src 'self' blob: " + storageOrigin,
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// permissionsPolicy turns off the powerful features the app never uses.
const permissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), " +
	"hid=(), midi=(), display-capture=(), accelerometer=(), gyroscope=(), magnetometer=(), browsing-topics=()"

// hsts is sent on HTTPS answers only (the local stack serves plain HTTP).
const hsts = "max-age=63072000; includeSubDomains"

// securityHeaders adds the web app's security headers to every answer.
func securityHeaders(storageURL string, next http.Handler) (http.Handler, error) {
	u, err := url.Parse(storageURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("storage URL %q is not an http(s) origin", storageURL)
	}
	csp := contentSecurityPolicy(u.Scheme + "://" + u.Host)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("Permissions-Policy", permissionsPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	}), nil
}

// webHandler serves the built app with its security headers and a
// config.json made from the stack's settings; unknown paths get
// index.html so that client-side routes survive a reload.
func webHandler(dir string, cfg *webConfig, storageURL string) (http.Handler, error) {
	body, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	files := http.FileServer(http.Dir(dir))
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/config.json" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
			return
		}
		index := filepath.Join(dir, "index.html")
		if _, err := os.Stat(index); err != nil {
			http.Error(w, "The web app is not built: run `cd web && npm run build` (make dev does).", http.StatusServiceUnavailable)
			return
		}
		p := filepath.Join(dir, filepath.Clean("/"+r.URL.Path))
		if st, err := os.Stat(p); err != nil || st.IsDir() && r.URL.Path != "/" {
			http.ServeFile(w, r, index)
			return
		}
		files.ServeHTTP(w, r)
	})
	return securityHeaders(storageURL, app)
}

// Package api implements the Chorus HTTP API: member profiles, synthesis
// and batch submission, and job status. Each handler is deployed as its own
// Cloud Function; Mux mounts them all under /api for the local stack.
package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chorus-voice/chorus/functions/internal/apierr"
	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/notice"
	"github.com/chorus-voice/chorus/shared/store"
)

// Publisher sends synthesis messages; *queue.Publisher implements it.
type Publisher interface {
	Publish(ctx context.Context, msgs []*message.SynthesisRequest) ([]error, error)
}

// Starter makes sure a worker is running after work was enqueued; the
// Cloud Run job trigger implements it. Optional.
type Starter interface {
	Ensure(ctx context.Context)
}

// Server holds the dependencies of the handlers.
type Server struct {
	cfg      *config.Functions
	store    *store.Store
	pub      Publisher
	signer   *blob.Signer
	limiter  *Limiter // enqueue requests, in jobs
	polls    *Limiter // status requests
	starter  Starter
	announce *notice.Announcer
	timeout  time.Duration
	now      func() time.Time
	// signed remembers each job's signed URLs for a while; signTimeout
	// bounds one signing.
	signed      *signCache
	signTimeout time.Duration
}

// Deps are what a Server needs.
type Deps struct {
	Config    *config.Functions
	Store     *store.Store
	Publisher Publisher
	Signer    *blob.Signer
	// Starter is optional.
	Starter Starter
	// Announcer publishes the completion of jobs the result cache answers
	// (nil: no completion topic).
	Announcer *notice.Announcer
	// Timeout bounds each request's calls to Firestore and Pub/Sub
	// (DefaultTimeout when zero), so that a hung dependency is answered
	// with 503 instead of a request that never ends.
	Timeout time.Duration
	// Now is the server's clock: job times, the retention, the rate
	// limits and signatures read it (time.Now when nil). Tests move it.
	Now func() time.Time
	// SignTimeout bounds the signing of one status answer's URLs
	// (DefaultSignTimeout when zero): a signBlob that hangs is a 503.
	SignTimeout time.Duration
}

// DefaultTimeout is the request deadline when Deps.Timeout is zero. It is
// well under the function's own timeout and the local server's write
// timeout, leaving time to abandon jobs whose publish did not complete.
const DefaultTimeout = 10 * time.Second

// NewServer wires the handlers.
func NewServer(d Deps) *Server {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg:      d.Config,
		store:    d.Store,
		pub:      d.Publisher,
		signer:   d.Signer,
		limiter:  NewLimiter(d.Config.RatePerMinute, d.Config.RateBurst, maxLimiterClients),
		polls:    NewLimiter(d.Config.StatusRatePerMinute, d.Config.StatusRateBurst, maxLimiterClients),
		starter:  d.Starter,
		announce: d.Announcer,
		timeout:  cmp.Or(d.Timeout, DefaultTimeout),
		now:      now,

		signed:      newSignCache(maxSignedPairs),
		signTimeout: cmp.Or(d.SignTimeout, DefaultSignTimeout),
	}
	s.limiter.now, s.polls.now = now, now
	return s
}

// maxLimiterClients is how many clients each limiter of an instance
// remembers (about 100 bytes each).
const maxLimiterClients = 10000

// Mux mounts every function under /api/ for local use. Patterns name
// paths only: each handler checks its methods itself, so that a wrong one
// gets the JSON error (405 with Allow) like every other refusal.
func (s *Server) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	profiles := s.profilesEndpoint()
	mux.Handle("/api/profiles", profiles)
	mux.Handle("/api/profiles/{$}", profiles)
	mux.Handle("/api/profiles/{id}", profiles)
	mux.Handle("/api/profiles/callback-keys.json", s.CallbackKeysHandler())
	mux.Handle("/api/synthesize", s.SynthesizeHandler())
	mux.Handle("/api/batch", s.BatchHandler())
	mux.Handle("/api/status", s.StatusHandler())
	mux.Handle("/api/", s.notFound())
	return mux
}

// ProfilesHandler serves the deployed profiles function, from its root:
// GET / (every active member), GET /{id} and GET /?id={id}, and the
// callback public keys at GET /callback-keys.json.
func (s *Server) ProfilesHandler() http.Handler {
	mux := http.NewServeMux()
	profiles := s.profilesEndpoint()
	mux.Handle("/{$}", profiles)
	mux.Handle("/{id}", profiles)
	mux.Handle("/callback-keys.json", s.CallbackKeysHandler())
	mux.Handle("/", s.notFound())
	return mux
}

func (s *Server) profilesEndpoint() http.Handler {
	return s.wrap([]string{http.MethodGet, http.MethodHead}, s.profiles)
}

func (s *Server) notFound() http.Handler {
	return s.wrap(nil, func(w http.ResponseWriter, r *http.Request) error {
		return apierr.New(http.StatusNotFound, "not_found", "No such endpoint.")
	})
}

// SynthesizeHandler serves POST synthesize.
func (s *Server) SynthesizeHandler() http.Handler {
	return s.wrap([]string{http.MethodPost}, s.synthesize)
}

// BatchHandler serves POST batch.
func (s *Server) BatchHandler() http.Handler {
	return s.wrap([]string{http.MethodPost}, s.batch)
}

// StatusHandler serves GET status?id= (and &wait=) and GET status?batch=.
// A long poll may take its wait on top of the request deadline.
func (s *Server) StatusHandler() http.Handler {
	return s.wrapLonger([]string{http.MethodGet, http.MethodHead}, s.status, func(r *http.Request) time.Duration {
		d, _ := waitParam(r)
		return d
	})
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// wrap adds what every endpoint shares: CORS, method check, panic
// recovery, the request deadline, the JSON error format and a structured
// access log.
func (s *Server) wrap(methods []string, h handlerFunc) http.Handler {
	return s.wrapLonger(methods, h, nil)
}

// wrapLonger is wrap with a request deadline longer by extra(r) (nil:
// none), for a request that waits on purpose.
func (s *Server) wrapLonger(methods []string, h handlerFunc, extra func(*http.Request) time.Duration) http.Handler {
	allow := strings.Join(append(append([]string{}, methods...), http.MethodOptions), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		// Every line logged for this request names its trace.
		if t, ok := logging.TraceFromRequest(r.Header); ok {
			r = r.WithContext(logging.WithTrace(r.Context(), t))
		}
		defer func() {
			if p := recover(); p != nil {
				slog.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(p))
				if !rec.wrote {
					apierr.Write(rec, r, apierr.ErrInternal)
				}
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			slog.LogAttrs(r.Context(), level, "request", logging.HTTPRequest{Method: r.Method, URL: r.URL.RequestURI(),
				Status: rec.status, ResponseSize: rec.size, Latency: time.Since(start), UserAgent: r.UserAgent(),
				RemoteIP: clientKey(r, s.cfg.TrustedProxyHops), Referer: r.Referer(), Protocol: r.Proto}.Attr())
		}()
		s.cors(rec, r)
		if r.Method == http.MethodOptions {
			rec.Header().Set("Allow", allow)
			rec.WriteHeader(http.StatusNoContent)
			return
		}
		if methods != nil && !contains(methods, r.Method) {
			rec.Header().Set("Allow", allow)
			apierr.Write(rec, r, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "Use "+strings.Join(methods, " or ")+"."))
			return
		}
		deadline := s.timeout
		if extra != nil {
			deadline += extra(r)
		}
		ctx, cancel := context.WithTimeout(r.Context(), deadline)
		defer cancel()
		r = r.WithContext(ctx)
		if err := h(rec, r); err != nil {
			apierr.Write(rec, r, s.classify(r, err))
		}
	})
}

// classify turns dependency failures into 503 and leaves API errors alone.
func (s *Server) classify(r *http.Request, err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	if store.Unavailable(err) || errors.Is(err, context.DeadlineExceeded) {
		slog.WarnContext(r.Context(), "dependency unavailable", "path", r.URL.Path, "error", err)
		e := *apierr.ErrUnavailable
		e.RetryAfter = 2 * time.Second
		return &e
	}
	return err // logged and answered as a generic 500 by apierr.Write
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cors answers browsers from the configured origins only.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	w.Header().Add("Vary", "Origin")
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || o == origin {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
			w.Header().Set("Access-Control-Max-Age", "3600")
			return
		}
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	size   int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.size += int64(n)
	return n, err
}

// statusURL is where a client polls a job.
func (s *Server) statusURL(jobID string) string {
	return s.cfg.StatusURL + "?id=" + url.QueryEscape(jobID)
}

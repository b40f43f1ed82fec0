// Package cloudfn registers the four HTTP Cloud Functions with
// functions-framework-go. Each deploys as its own gen2 function from the
// repository root (entry points Profiles, Synthesize, Batch, Status); run
// together locally without FUNCTION_TARGET, each is served at /<Name>.
package cloudfn

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/functions/app"
	"github.com/chorus-voice/chorus/functions/internal/apierr"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/logging"
)

func init() {
	slog.SetDefault(logging.New(os.Stderr, slog.LevelInfo))
	functions.HTTP("Profiles", lazy(func(s *api.Server) http.Handler { return s.ProfilesHandler() }))
	functions.HTTP("Synthesize", lazy(func(s *api.Server) http.Handler { return s.SynthesizeHandler() }))
	functions.HTTP("Batch", lazy(func(s *api.Server) http.Handler { return s.BatchHandler() }))
	functions.HTTP("Status", lazy(func(s *api.Server) http.Handler { return s.StatusHandler() }))
}

var (
	mu     sync.Mutex
	server *api.Server
)

// get builds the server on first use and keeps it. A failure (bad
// configuration, a dependency down at cold start) is retried on the next
// request instead of crash-looping the instance.
func get(ctx context.Context) (*api.Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		return server, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg, err := config.Load[config.Functions](ctx)
	if err != nil {
		return nil, err
	}
	a, err := app.New(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, err
	}
	server = a.Server
	return server, nil
}

// lazy serves one function's handler, made once the server is up.
func lazy(pick func(*api.Server) http.Handler) func(http.ResponseWriter, *http.Request) {
	var (
		mu sync.Mutex
		h  http.Handler
	)
	handler := func(ctx context.Context) (http.Handler, error) {
		mu.Lock()
		defer mu.Unlock()
		if h == nil {
			s, err := get(ctx)
			if err != nil {
				return nil, err
			}
			h = pick(s)
		}
		return h, nil
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h, err := handler(r.Context())
		if err != nil {
			slog.ErrorContext(r.Context(), "function start-up failed", "error", err)
			apierr.Write(w, r, apierr.ErrUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}
}

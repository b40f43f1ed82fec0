package api

import (
	"log/slog"
	"net/http"

	"github.com/chorus-voice/chorus/functions/internal/apierr"
	"github.com/chorus-voice/chorus/shared/callback"
)

// CallbackKeysHandler serves the public keys that completion callbacks are
// signed with, as a JSON Web Key Set (shared/callback.KeySet): one key, or
// two during a rotation. It lives beside the profiles, at
// /api/profiles/callback-keys.json locally and /callback-keys.json on the
// deployed profiles function (member ids have no '.', so no member shadows
// it). Receivers may cache it for a few minutes.
func (s *Server) CallbackKeysHandler() http.Handler {
	keys, err := callback.NewKeySet()
	if s.cfg.CallbackPublicKeys != "" {
		keys, err = callback.ParseKeySet([]byte(s.cfg.CallbackPublicKeys))
	}
	if err != nil {
		// config.Functions.Validate refuses this at start.
		slog.Error("callback public keys unreadable; serving none", "error", err)
		keys, _ = callback.NewKeySet()
	}
	return s.wrap([]string{http.MethodGet, http.MethodHead}, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "public, max-age=300")
		apierr.WriteJSON(w, http.StatusOK, keys)
		return nil
	})
}

// Package apierr is the one JSON error format of the Chorus HTTP API:
//
//	{"error":{"code":"text_too_long","message":"…","field":"text"}}
//
// Codes are stable and documented; messages are for people and never carry
// stack traces or internal names.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Error is an API error: an HTTP status, a stable code, a message and
// optionally the request field it concerns.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// New returns an error with the given status, code and message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Field returns a 400 error about one request field.
func Field(code, field, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message, Field: field}
}

// Common errors.
var (
	ErrInternal    = New(http.StatusInternalServerError, "internal", "Something went wrong on our side. Please try again.")
	ErrUnavailable = New(http.StatusServiceUnavailable, "unavailable", "The service is temporarily unavailable. Please try again shortly.")
)

type envelope struct {
	Error *Error `json:"error"`
}

// Write sends err as JSON. An error that is not an *Error is logged with its
// details and answered as a generic 500, so nothing internal leaks.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		e = ErrInternal
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	WriteJSON(w, e.Status, envelope{Error: e})
}

// WriteJSON sends v as a JSON body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing useful to do
}

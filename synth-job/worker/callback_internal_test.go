package worker

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// In the cloud (no loopback allowed) the dialer refuses a loopback address
// even when a name or a redirect led there; locally it is allowed.
func TestCallbackClientRefusesNonPublicAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	if _, err := callbackClient(false, nil).Post(srv.URL, "application/json", nil); !errors.Is(err, errForbiddenAddress) {
		t.Fatalf("cloud mode reached %s: %v", srv.URL, err)
	}
	resp, err := callbackClient(true, nil).Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatalf("local mode: %v", err)
	}
	resp.Body.Close()
}

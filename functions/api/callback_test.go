package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/config"
)

// The functions publish the keys the worker signs callbacks with: a
// receiver that fetches them verifies a genuine callback, and the same
// callback replayed to another receiver fails.
func TestCallbackKeysVerifyTheWorkersSignature(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signingKeys, err := callback.MarshalSigningKeys(callback.SigningKey{ID: "2026-12", Key: priv})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := callback.ParseSigningKeys(signingKeys) // what the worker holds
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(signer.PublicKeys()) // what Terraform or make dev hands the functions
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *config.Functions) { c.CallbackPublicKeys = string(jwks) })

	r := e.do(http.MethodGet, "/api/profiles/callback-keys.json", "", nil)
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET callback-keys.json: %d %s", r.status, r.raw)
	}
	keys, err := callback.ParseKeySet(r.raw)
	if err != nil {
		t.Fatalf("served key set %s: %v", r.raw, err)
	}
	const mine = "https://hooks.example.com/chorus"
	body := []byte(`{"v":1,"kind":"job","status":"succeeded","job_id":"svchb7rjnznndxmvben6cayvcq","finished_at":"2026-11-30T20:40:00Z"}`)
	h := http.Header{}
	if err := signer.Sign(h, time.Now(), "svchb7rjnznndxmvben6cayvcq", mine, body); err != nil {
		t.Fatal(err)
	}
	if id, err := callback.VerifyRequest(keys, mine, h, body, time.Now()); err != nil || id != "svchb7rjnznndxmvben6cayvcq" {
		t.Fatalf("genuine callback: %q, %v", id, err)
	}
	if _, err := callback.VerifyRequest(keys, "https://other.example.net/hook", h, body, time.Now()); err == nil {
		t.Fatal("a callback for another receiver verified")
	}
	// The member route still answers beside it.
	if r := e.do(http.MethodGet, "/api/profiles/aria", "", nil); r.status != http.StatusOK {
		t.Fatalf("GET /api/profiles/aria: %d", r.status)
	}
}

// A deployment without callback keys serves an empty set, not an error.
func TestCallbackKeysEmptyWithoutKeys(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(http.MethodGet, "/api/profiles/callback-keys.json", "", nil)
	if r.status != http.StatusOK || string(r.raw) != "{\"keys\":[]}\n" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

// Callback URLs a resolver reads as another address, special-use names and
// ports other than 443 are refused when the client gives them: 400
// invalid_callback_url on callback_url, and nothing is queued.
func TestCallbackURLRuleAtTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	for _, u := range []string{
		"https://2130706433/cb", "https://0x7f.0.0.1/cb", "https://127.1/cb", "https://LOCALHOST/cb", "https://localhost./cb",
		"https://metadata.google.internal/computeMetadata/v1/", "https://[64:ff9b::a9fe:a9fe]/cb", "https://[2002:a9fe:a9fe::1]/cb",
		"https://[::169.254.169.254]/cb", "https://198.18.0.1/cb", "https://240.0.0.1/cb", "https://192.0.0.170/cb",
		"https://0.0.0.0/cb", "https://203.0.113.9/cb", "https://[2001:db8::1]/cb", "https://hooks.example.com:8443/cb",
	} {
		r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "Hello there.", "callback_url": u})
		if code, field := r.errCode(); r.status != http.StatusBadRequest || code != "invalid_callback_url" || field != "callback_url" {
			t.Errorf("%s: %d %s", u, r.status, r.raw)
		}
	}
	if n := e.jobCount(); n != 0 {
		t.Fatalf("%d jobs written for refused callback URLs", n)
	}
	r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "Hello there.", "callback_url": "https://Hooks.Example.com./cb"})
	if r.status != http.StatusAccepted {
		t.Fatalf("a public name: %d %s", r.status, r.raw)
	}
}

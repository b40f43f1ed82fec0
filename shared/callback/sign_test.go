package callback_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/callback"
)

func newKey(t *testing.T, id string) callback.SigningKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return callback.SigningKey{ID: id, Key: priv}
}

func newSigner(t *testing.T, keys ...callback.SigningKey) *callback.Signer {
	t.Helper()
	s, err := callback.NewSigner(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	dest = "https://hooks.example.com/chorus?token=abc"
	id   = "svchb7rjnznndxmvben6cayvcq"
)

var (
	body = []byte(`{"v":1,"kind":"job","status":"succeeded","job_id":"svchb7rjnznndxmvben6cayvcq","finished_at":"2026-11-30T20:40:00Z"}`)
	sent = time.Date(2026, 11, 30, 20, 40, 0, 0, time.UTC)
)

func TestSignatureVerifies(t *testing.T) {
	s := newSigner(t, newKey(t, "2026-12"))
	h := http.Header{}
	if err := s.Sign(h, sent, id, dest, body); err != nil {
		t.Fatal(err)
	}
	if got := h.Get(callback.HeaderTimestamp); got != "1796071200" {
		t.Errorf("timestamp %q", got)
	}
	if !strings.HasPrefix(h.Get(callback.HeaderSignature), "v2=2026-12.") {
		t.Errorf("signature %q", h.Get(callback.HeaderSignature))
	}
	for _, now := range []time.Time{sent, sent.Add(callback.Window), sent.Add(-callback.Window)} {
		if got, err := callback.VerifyRequest(s.PublicKeys(), dest, h, body, now); err != nil || got != id {
			t.Errorf("at %s: %q, %v", now, got, err)
		}
	}
}

// A genuine callback verifies only as what it is: for this receiver, this
// id, this body, at about this time. Each case changes one thing.
func TestSignatureBindsReceiverIDBodyAndTime(t *testing.T) {
	s := newSigner(t, newKey(t, "k1"))
	h := http.Header{}
	if err := s.Sign(h, sent, id, dest, body); err != nil {
		t.Fatal(err)
	}
	ts, sig := h.Get(callback.HeaderTimestamp), h.Get(callback.HeaderSignature)
	keys := s.PublicKeys()
	for _, tt := range []struct {
		name              string
		dest, ts, id, sig string
		body              string
		now               time.Time
		want              error
	}{
		{"another receiver", "https://victim.example.net/chorus", ts, id, sig, string(body), sent, callback.ErrSignature},
		{"another query", "https://hooks.example.com/chorus?token=abd", ts, id, sig, string(body), sent, callback.ErrSignature},
		{"another id", dest, ts, "aaaaaaaaaaaaaaaaaaaaaaaaaa", sig, string(body), sent, callback.ErrSignature},
		{"another body", dest, ts, id, sig, strings.Replace(string(body), "succeeded", "failed", 1), sent, callback.ErrSignature},
		{"another second", dest, "1796071201", id, sig, string(body), sent, callback.ErrSignature},
		{"a plus sign", dest, "+" + ts, id, sig, string(body), sent, callback.ErrMalformed},
		{"a leading zero", dest, "0" + ts, id, sig, string(body), sent, callback.ErrMalformed},
		{"spaces", dest, " " + ts, id, sig, string(body), sent, callback.ErrMalformed},
		{"1970", dest, "1", id, sig, string(body), sent, callback.ErrStale},
		{"replayed later", dest, ts, id, sig, string(body), sent.Add(callback.Window + time.Second), callback.ErrStale},
		{"from the future", dest, ts, id, sig, string(body), sent.Add(-callback.Window - time.Second), callback.ErrStale},
		{"unknown key", dest, ts, id, strings.Replace(sig, "v2=k1.", "v2=k9.", 1), string(body), sent, callback.ErrUnknownKey},
		{"v1 only", dest, ts, id, "v1=00ff", string(body), sent, callback.ErrUnknownKey},
		{"truncated signature", dest, ts, id, sig[:len(sig)-2], string(body), sent, callback.ErrMalformed},
		{"padded signature", dest, ts, id, sig + "==", string(body), sent, callback.ErrMalformed},
		{"empty signature", dest, ts, id, "", string(body), sent, callback.ErrMalformed},
		{"id with a colon", dest, ts, "a:b", sig, string(body), sent, callback.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := callback.Verify(keys, tt.dest, tt.ts, tt.id, tt.sig, []byte(tt.body), tt.now)
			if !errors.Is(err, tt.want) || !errors.Is(err, callback.ErrInvalid) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// During a rotation the worker signs with both keys: a receiver holding
// either verifies; a receiver whose one known signature is forged does not.
func TestRotationSignsWithBothKeys(t *testing.T) {
	old, next := newKey(t, "2026-06"), newKey(t, "2026-12")
	both := newSigner(t, old, next)
	h := http.Header{}
	if err := both.Sign(h, sent, id, dest, body); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(h.Get(callback.HeaderSignature), "v2="); n != 2 {
		t.Fatalf("%d signatures: %q", n, h.Get(callback.HeaderSignature))
	}
	for _, keys := range []*callback.KeySet{newSigner(t, old).PublicKeys(), newSigner(t, next).PublicKeys(), both.PublicKeys()} {
		if _, err := callback.VerifyRequest(keys, dest, h, body, sent); err != nil {
			t.Errorf("keys %v: %v", keys.Keys()[0].ID, err)
		}
	}
	// The old key's signature replaced by one from an impostor's key of the same id.
	forged := http.Header{}
	if err := newSigner(t, newKey(t, "2026-06"), next).Sign(forged, sent, id, dest, body); err != nil {
		t.Fatal(err)
	}
	if _, err := callback.VerifyRequest(newSigner(t, old).PublicKeys(), dest, forged, body, sent); !errors.Is(err, callback.ErrSignature) {
		t.Errorf("forged old-key signature: %v", err)
	}
}

func TestVerifyRequestWantsEachHeaderOnce(t *testing.T) {
	s := newSigner(t, newKey(t, "k1"))
	h := http.Header{}
	if err := s.Sign(h, sent, id, dest, body); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{callback.HeaderTimestamp, callback.HeaderID, callback.HeaderSignature} {
		twice := h.Clone()
		twice.Add(name, twice.Get(name))
		if _, err := callback.VerifyRequest(s.PublicKeys(), dest, twice, body, sent); !errors.Is(err, callback.ErrMalformed) {
			t.Errorf("%s twice: %v", name, err)
		}
		missing := h.Clone()
		missing.Del(name)
		if _, err := callback.VerifyRequest(s.PublicKeys(), dest, missing, body, sent); !errors.Is(err, callback.ErrMalformed) {
			t.Errorf("%s missing: %v", name, err)
		}
	}
}

func TestKeyFormatsRoundTrip(t *testing.T) {
	a, b := newKey(t, "a"), newKey(t, "b")
	data, err := callback.MarshalSigningKeys(a, b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := callback.ParseSigningKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(s.PublicKeys())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := callback.ParseKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.Keys(); len(got) != 2 || got[0].ID != "a" || !got[0].Key.Equal(a.Key.Public()) || !got[1].Key.Equal(b.Key.Public()) {
		t.Fatalf("round trip: %s", jwks)
	}
	for name, bad := range map[string]string{
		"three keys":  threeKeys(t, a, b),
		"same id":     strings.Replace(string(mustMarshal(t, a, b)), `"kid":"b"`, `"kid":"a"`, 1),
		"no keys":     `{"keys":[]}`,
		"not json":    `{`,
		"extra field": `{"keys":[],"x":1}`,
		"not a key":   `{"keys":[{"kid":"a","private_key_pem":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}]}`,
	} {
		if _, err := callback.ParseSigningKeys([]byte(bad)); err == nil {
			t.Errorf("signing keys %s: accepted", name)
		}
	}
	for name, bad := range map[string]string{
		"private material": `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`,
		"not Ed25519":      `{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		"short x":          `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKx"}]}`,
		"no kid":           `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		"encryption key":   `{"keys":[{"kty":"OKP","crv":"Ed25519","use":"enc","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
	} {
		if _, err := callback.ParseKeySet([]byte(bad)); err == nil {
			t.Errorf("key set %s: accepted", name)
		}
	}
}

// threeKeys is a signing keys file of a, b and a again under another id.
func threeKeys(t *testing.T, a, b callback.SigningKey) string {
	t.Helper()
	var f struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(mustMarshal(t, a, b), &f); err != nil {
		t.Fatal(err)
	}
	f.Keys = append(f.Keys, map[string]string{"kid": "c", "private_key_pem": f.Keys[0]["private_key_pem"]})
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustMarshal(t *testing.T, keys ...callback.SigningKey) []byte {
	t.Helper()
	b, err := callback.MarshalSigningKeys(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The RFC 8037 test vector (Appendix A.1, A.4): its public key as JWK, its
// signature over "Example of Ed25519 signing", checked by the same code
// path a receiver runs, so the format is the standard's and not only ours.
func TestRFC8037Vector(t *testing.T) {
	keys, err := callback.ParseKeySet([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"rfc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(mustB64(t, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
	if !keys.Keys()[0].Key.Equal(priv.Public()) {
		t.Fatal("the RFC's x is not the public key of its d")
	}
}

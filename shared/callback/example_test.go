package callback_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/chorus-voice/chorus/shared/callback"
)

// A receiver checks each callback before trusting it, against the
// deployment's public keys (GET /api/profiles/callback-keys.json, or the
// Terraform output callback_public_keys): the signature covers the
// timestamp, the id, the receiver's own callback_url and the raw body, and
// the timestamp must be within five minutes. Then it checks that the id is
// a job (or batch) it asked for.
func ExampleVerifyRequest() {
	// The deployment's key (in the cloud it lives in Secret Manager).
	signer, _ := callback.NewSigner(callback.SigningKey{ID: "2026-12", Key: ed25519.NewKeyFromSeed(make([]byte, 32))})
	jwks := `{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"2026-12","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}]}`

	// What the receiver keeps: its keys, its callback_url, the jobs it asked for.
	keys, err := callback.ParseKeySet([]byte(jwks))
	if err != nil {
		panic(err)
	}
	const myURL = "https://hooks.example.com/chorus?token=abc"
	mine := map[string]bool{"svchb7rjnznndxmvben6cayvcq": true}
	now := func() time.Time { return time.Date(2026, 11, 30, 20, 40, 3, 0, time.UTC) }
	receive := func(r *http.Request) error {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			return err
		}
		id, err := callback.VerifyRequest(keys, myURL, r.Header, body, now())
		if err != nil {
			return err
		}
		if !mine[id] {
			return errors.New("not a job of mine")
		}
		return nil // now decode body (message.DecodeCompletion) and act on it
	}

	// What the worker sends, a few seconds earlier.
	body := `{"v":1,"kind":"job","status":"succeeded","job_id":"svchb7rjnznndxmvben6cayvcq","finished_at":"2026-11-30T20:40:00Z"}`
	send := func(destination, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, destination, strings.NewReader(body))
		_ = signer.Sign(r.Header, time.Date(2026, 11, 30, 20, 40, 0, 0, time.UTC), "svchb7rjnznndxmvben6cayvcq", destination, []byte(body))
		return r
	}

	fmt.Println(receive(send(myURL, body)))
	// The same genuine callback, signed for another receiver and replayed here:
	fmt.Println(receive(send("https://attacker.example.net/cb", body)))
	// Or with its body changed on the way:
	r := send(myURL, body)
	r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "succeeded", "failed", 1)))
	fmt.Println(receive(r))
	// Output:
	// <nil>
	// callback: not a valid Chorus callback: bad signature (key 2026-12)
	// callback: not a valid Chorus callback: bad signature (key 2026-12)
}

// The URL a client gives is checked when it is given: HTTPS on port 443,
// a fully qualified public name or a public address, no credentials.
func ExampleCheckURL() {
	for _, u := range []string{
		"https://hooks.example.com/chorus",
		"http://hooks.example.com/chorus",
		"https://hooks.example.com:8443/chorus",
		"https://10.0.0.7/chorus",
		"https://2130706433/chorus",
		"https://metadata.google.internal/computeMetadata/v1/",
	} {
		fmt.Println(callback.CheckURL(u, false) == nil, u)
	}
	// Output:
	// true https://hooks.example.com/chorus
	// false http://hooks.example.com/chorus
	// false https://hooks.example.com:8443/chorus
	// false https://10.0.0.7/chorus
	// false https://2130706433/chorus
	// false https://metadata.google.internal/computeMetadata/v1/
}

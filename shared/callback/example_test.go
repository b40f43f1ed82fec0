package callback_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/chorus-voice/chorus/shared/callback"
)

// A receiver checks each callback before trusting it: the signature over
// the timestamp and the raw body, and a recent timestamp (which stops a
// captured callback from being replayed later).
func ExampleVerifySignature() {
	secret := []byte("the value kept in Secret Manager")
	body := []byte(`{"kind":"job","job_id":"svchb7rjnznndxmvben6cayvcq","status":"succeeded"}`)
	sent := time.Date(2026, 11, 30, 20, 40, 0, 0, time.UTC)

	// What the worker sends.
	r := httptest.NewRequest(http.MethodPost, "https://receiver.example/chorus", strings.NewReader(string(body)))
	r.Header.Set("X-Chorus-Timestamp", strconv.FormatInt(sent.Unix(), 10))
	r.Header.Set("X-Chorus-Signature", callback.Signature(secret, sent.Unix(), body))

	// What the receiver does, a few seconds later.
	now := sent.Add(3 * time.Second)
	verify := func(r *http.Request, body []byte) error {
		ts, err := strconv.ParseInt(r.Header.Get("X-Chorus-Timestamp"), 10, 64)
		if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
			return fmt.Errorf("stale or missing timestamp")
		}
		if !callback.VerifySignature(secret, r.Header.Get("X-Chorus-Timestamp"), r.Header.Get("X-Chorus-Signature"), body) {
			return fmt.Errorf("bad signature")
		}
		return nil
	}
	fmt.Println(verify(r, body))
	fmt.Println(verify(r, []byte(`{"kind":"job","status":"failed"}`)))
	// Output:
	// <nil>
	// bad signature
}

// The URL a client gives is checked when it is given: HTTPS, a host name
// or a public address, no credentials.
func ExampleCheckURL() {
	for _, u := range []string{
		"https://hooks.example.com/chorus",
		"http://hooks.example.com/chorus",
		"https://10.0.0.7/chorus",
		"https://169.254.169.254/computeMetadata/v1/",
	} {
		fmt.Println(callback.CheckURL(u, false) == nil, u)
	}
	// Output:
	// true https://hooks.example.com/chorus
	// false http://hooks.example.com/chorus
	// false https://10.0.0.7/chorus
	// false https://169.254.169.254/computeMetadata/v1/
}

package faults_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/shared/job"
)

// The audio of a finished job is reachable through a V4 signed URL bound
// to its one object, with the configured expiry, and the object itself is
// not public. The GCS fake checks neither signatures nor ACLs on reads, so
// the test verifies the signature itself with the signing key's public
// half, and reads the object's ACL instead of expecting a 403.
func TestSignedURLIsBoundToOneObjectAndExpires(t *testing.T) {
	w := newWorld(t)
	srv, cfg := w.apiServer()
	w.startWorker()
	var ids []string
	for _, text := range []string{"First line.", "Second line."} {
		a := call(t, http.MethodPost, srv.URL+"/api/synthesize", map[string]any{"member_id": member, "text": text})
		id, _ := a.body["job_id"].(string)
		ids = append(ids, id)
	}
	done := w.waitJobs(ids, time.Minute, terminal)
	s := call(t, http.MethodGet, srv.URL+"/api/status?id="+ids[0], nil)
	raw, _ := s.body["audio_url"].(string)
	u, err := url.Parse(raw)
	if err != nil || done[ids[0]].Status != job.Succeeded {
		t.Fatalf("status %s (%v)", s.raw, err)
	}
	q := u.Query()
	date, _ := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	secs, _ := strconv.Atoi(q.Get("X-Goog-Expires"))
	exp, _ := time.Parse(time.RFC3339, s.body["expires_at"].(string))
	switch {
	case u.Path != "/"+w.bucket+"/"+done[ids[0]].ObjectName():
		t.Errorf("URL path %q is not the job's object", u.Path)
	case q.Get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256" || q.Get("X-Goog-SignedHeaders") != "host":
		t.Errorf("not a V4 URL signing only the host: %s", raw)
	// X-Goog-Date is the library's clock, which may have passed a second
	// boundary after the handler's: then X-Goog-Expires is a second short
	// and the URL still ends at expires_at.
	case (q.Get("X-Goog-Expires") != "600" && q.Get("X-Goog-Expires") != "599") ||
		!exp.Equal(date.Add(time.Duration(secs)*time.Second)):
		t.Errorf("expiry %s s, expires_at %s, want %s after %s", q.Get("X-Goog-Expires"), exp, cfg.SignedURLTTL, date)
	case !strings.HasSuffix(q.Get("X-Goog-Credential"), "/"+date.Format("20060102")+"/auto/storage/goog4_request"):
		t.Errorf("credential scope %q", q.Get("X-Goog-Credential"))
	}
	key := publicKey(t, cfg.SigningKeyFile)
	if err := verifyV4(key, u); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	// The same signature does not open the other job's audio, nor a
	// longer expiry.
	other := *u
	other.Path = "/" + w.bucket + "/" + done[ids[1]].ObjectName()
	if verifyV4(key, &other) == nil {
		t.Error("the signature also opens another job's object")
	}
	longer := *u
	lq := longer.Query()
	lq.Set("X-Goog-Expires", "604800")
	longer.RawQuery = lq.Encode()
	if verifyV4(key, &longer) == nil {
		t.Error("the signature also holds with a longer expiry")
	}
	// Not public: no ACL entry for allUsers or allAuthenticatedUsers.
	attrs, err := w.gcs.Bucket(w.bucket).Object(done[ids[0]].ObjectName()).Attrs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range attrs.ACL {
		if r.Entity == storage.AllUsers || r.Entity == storage.AllAuthenticatedUsers {
			t.Errorf("audio object is public: %+v", r)
		}
	}
	if res, err := http.Get(raw); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("signed URL does not serve the audio: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

func publicKey(t *testing.T, path string) *rsa.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

// verifyV4 checks a GOOG4-RSA-SHA256 query-string signature: the canonical
// request (method, path, sorted query without the signature, host name as
// the client library signs it, without the port)
// hashed into the string to sign.
func verifyV4(key *rsa.PublicKey, u *url.URL) error {
	q := u.Query()
	sig, err := hex.DecodeString(q.Get("X-Goog-Signature"))
	if err != nil {
		return err
	}
	q.Del("X-Goog-Signature")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(q.Get(k)), "+", "%20"))
	}
	canonical := strings.Join([]string{http.MethodGet, u.EscapedPath(), strings.Join(parts, "&"),
		"host:" + u.Hostname() + "\n", "host", "UNSIGNED-PAYLOAD"}, "\n")
	cred := strings.SplitN(q.Get("X-Goog-Credential"), "/", 2)
	if len(cred) != 2 {
		return os.ErrInvalid
	}
	sum := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"GOOG4-RSA-SHA256", q.Get("X-Goog-Date"), cred[1], hex.EncodeToString(sum[:])}, "\n")
	digest := sha256.Sum256([]byte(toSign))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig)
}

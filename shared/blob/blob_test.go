package blob

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
)

func testSigner(t *testing.T, ttl time.Duration) *Signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := storage.NewClient(context.Background(), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	s, err := NewSigner(client, "audio", SignerOptions{TTL: ttl, KeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The library stamps a URL with its own clock, read after the caller's:
// whatever second that clock has reached, the URL ends at the caller's
// second plus the TTL (or at the object's deletion), and the end reported
// is the one the URL carries.
func TestSignedURLEndsWhereReported(t *testing.T) {
	const ttl = 10 * time.Minute
	s := testSigner(t, ttl)
	for _, lag := range []time.Duration{0, 300 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond, 4 * time.Second} {
		now := time.Now().Add(-lag) // the caller read its clock lag ago
		want := now.UTC().Truncate(time.Second).Add(ttl)
		for _, notAfter := range []time.Time{{}, want.Add(-time.Minute)} {
			u, end, err := s.SignUntil(context.Background(), "audio/x.wav", now, notAfter)
			if err != nil {
				t.Fatal(err)
			}
			carried, err := signedUntil(u)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if !notAfter.IsZero() {
				w = notAfter
			}
			if !end.Equal(carried) || !carried.Equal(w) {
				t.Errorf("lag %s, notAfter %v: reported %s, URL ends %s, want %s", lag, notAfter, end, carried, w)
			}
		}
	}
	if _, _, err := s.SignUntil(context.Background(), "audio/x.wav", time.Now(), time.Now()); err == nil {
		t.Error("signed a URL for an object being deleted now")
	}
}

func TestSignedUntilRejectsURLsWithoutExpiry(t *testing.T) {
	for _, raw := range []string{
		"https://storage.googleapis.com/audio/x.wav",
		"https://storage.googleapis.com/audio/x.wav?X-Goog-Date=20261130T204040Z",
		"https://storage.googleapis.com/audio/x.wav?X-Goog-Date=20261130T204040Z&X-Goog-Expires=-3",
		"https://storage.googleapis.com/audio/x.wav?" + url.Values{"X-Goog-Date": {"yesterday"}, "X-Goog-Expires": {"600"}}.Encode(),
	} {
		if _, err := signedUntil(raw); err == nil {
			t.Errorf("%s: accepted", raw)
		}
	}
}

// Without a private key the signature is made remotely within the caller's
// context: a signBlob that does not answer ends with the caller's
// deadline instead of holding the request (the storage library's own
// signBlob path runs on context.Background()).
func TestRemoteSigningKeepsTheCallersDeadline(t *testing.T) {
	client, err := storage.NewClient(context.Background(), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hang := true
	var asked []string
	s, err := NewSigner(client, "audio", SignerOptions{TTL: time.Minute, Email: "status@p.iam.gserviceaccount.com",
		SignBlob: func(ctx context.Context, email string, payload []byte) ([]byte, error) {
			asked = append(asked, email)
			if hang {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			sum := sha256.Sum256(payload)
			return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := s.SignUntil(ctx, "audio/x.wav", time.Now(), time.Time{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a signBlob that never answers: %v, want the caller's deadline", err)
	}
	hang = false
	u, _, err := s.SignUntil(context.Background(), "audio/x.wav", time.Now(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	if cred := q.Query().Get("X-Goog-Credential"); !strings.HasPrefix(cred, "status@p.iam.gserviceaccount.com/") || len(asked) != 2 {
		t.Fatalf("signed as %q after %d signBlob calls, want the configured account", cred, len(asked))
	}
}

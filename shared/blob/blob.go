// Package blob stores audio in Cloud Storage and hands out V4 signed URLs
// that grant a short read of exactly one object.
package blob

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iamcredentials/v1"

	"github.com/chorus-voice/chorus/shared/config"
)

// SignerOptions configures how URLs are signed.
type SignerOptions struct {
	// TTL is how long a URL stays valid (1s … 7 days).
	TTL time.Duration
	// Email is the service account that signs. In the cloud, with no
	// KeyFile, signing goes through the IAM Credentials signBlob API as
	// this account; empty lets the library use the runtime's account.
	Email string
	// KeyFile is a PEM RSA private key that signs locally (emulator stack).
	KeyFile string
	// PublicURL, when set, is the scheme://host[:port] of signed URLs (the
	// GCS fake); empty means https://storage.googleapis.com.
	PublicURL string
	// SignBlob, when set, signs the bytes of a URL as Email (RSA-SHA256),
	// instead of the IAM Credentials signBlob API (tests count and delay
	// signatures with it). Not used with a KeyFile.
	SignBlob func(ctx context.Context, email string, payload []byte) ([]byte, error)
}

// Signer makes V4 signed GET URLs for objects of one bucket. Without a
// private key it signs through the IAM Credentials signBlob API, within
// the caller's context (the storage library's own path has no deadline).
type Signer struct {
	bucket   *storage.BucketHandle
	template storage.SignedURLOptions
	ttl      time.Duration
	// signBlob signs remotely; nil with a private key.
	signBlob func(ctx context.Context, email string, payload []byte) ([]byte, error)

	mu    sync.Mutex
	email string // the signing account, once known
	iam   *iamcredentials.Service
}

// NewSigner validates opts and prepares a signer for bucket.
func NewSigner(client *storage.Client, bucket string, opts SignerOptions) (*Signer, error) {
	if opts.TTL <= 0 || opts.TTL > config.MaxSignedURLTTL {
		return nil, fmt.Errorf("blob: signed URL TTL %s outside 1s–%s", opts.TTL, config.MaxSignedURLTTL)
	}
	t := storage.SignedURLOptions{
		Scheme:         storage.SigningSchemeV4,
		Method:         http.MethodGet,
		GoogleAccessID: opts.Email,
	}
	s := &Signer{bucket: client.Bucket(bucket), ttl: opts.TTL, email: opts.Email}
	if opts.KeyFile != "" {
		key, err := readKey(opts.KeyFile)
		if err != nil {
			return nil, err
		}
		t.PrivateKey = key
		if t.GoogleAccessID == "" {
			t.GoogleAccessID = "chorus-local@demo-chorus.iam.gserviceaccount.com"
		}
	} else {
		s.signBlob = opts.SignBlob
		if s.signBlob == nil {
			s.signBlob = s.iamSignBlob
		}
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("blob: public URL %q is not scheme://host", opts.PublicURL)
		}
		t.Hostname = u.Host
		t.Insecure = u.Scheme == "http"
		t.Style = storage.PathStyle()
	}
	s.template = t
	return s, nil
}

// account is the service account that signs: the configured one, or the
// runtime's default (asked of the metadata server once).
func (s *Signer) account(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.email != "" {
		return s.email, nil
	}
	email, err := metadata.EmailWithContext(ctx, "default")
	if err != nil {
		return "", fmt.Errorf("blob: find the service account that signs (set CHORUS_SIGNER_EMAIL): %w", err)
	}
	s.email = email
	return email, nil
}

// iamSignBlob signs payload as email through the IAM Credentials API,
// within ctx.
func (s *Signer) iamSignBlob(ctx context.Context, email string, payload []byte) ([]byte, error) {
	s.mu.Lock()
	if s.iam == nil {
		// The service outlives any one request: it is built on a
		// background context, and each call carries the caller's.
		svc, err := iamcredentials.NewService(context.Background())
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("blob: IAM credentials client: %w", err)
		}
		s.iam = svc
	}
	svc := s.iam
	s.mu.Unlock()
	resp, err := svc.Projects.ServiceAccounts.SignBlob("projects/-/serviceAccounts/"+email,
		&iamcredentials.SignBlobRequest{Payload: base64.StdEncoding.EncodeToString(payload)}).Context(ctx).Do()
	if err != nil {
		return nil, fmt.Errorf("blob: signBlob as %s: %w", email, err)
	}
	sig, err := base64.StdEncoding.DecodeString(resp.SignedBlob)
	if err != nil {
		return nil, fmt.Errorf("blob: signBlob answer: %w", err)
	}
	return sig, nil
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("blob: read signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("blob: signing key %s is not PEM", path)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 != nil {
			return nil, fmt.Errorf("blob: signing key %s is not an RSA private key: %w", path, err)
		}
	}
	return b, nil
}

// Sign returns a URL that reads object until the returned expiry. A
// remote signature is made within ctx.
func (s *Signer) Sign(ctx context.Context, object string, now time.Time) (string, time.Time, error) {
	return s.SignUntil(ctx, object, now, time.Time{})
}

// SignUntil is Sign for an object that is deleted at notAfter (zero: never
// known): the URL expires then at the latest, never later than the object.
func (s *Signer) SignUntil(ctx context.Context, object string, now, notAfter time.Time) (string, time.Time, error) {
	ttl := s.ttl
	if !notAfter.IsZero() {
		left := notAfter.Sub(now.UTC().Truncate(time.Second)).Truncate(time.Second)
		if left < time.Second {
			return "", time.Time{}, fmt.Errorf("blob: sign %s: the object is deleted at %s", object, notAfter.Format(time.RFC3339))
		}
		ttl = min(ttl, left)
	}
	opts := s.template
	if s.signBlob != nil {
		email, err := s.account(ctx)
		if err != nil {
			return "", time.Time{}, err
		}
		opts.GoogleAccessID = email
		opts.SignBytes = func(b []byte) ([]byte, error) { return s.signBlob(ctx, email, b) }
	}
	// The library reads its own clock: X-Goog-Date is that clock cut to
	// the second, X-Goog-Expires the whole seconds from it to Expires. An
	// Expires just short of a second past the intended end makes the URL
	// end exactly then, whichever second the library's clock is in, and
	// never later (the end is a whole second, so rounding down cannot pass
	// it).
	end := now.UTC().Truncate(time.Second).Add(ttl)
	opts.Expires = end.Add(time.Second - time.Millisecond)
	u, err := s.bucket.SignedURL(object, &opts)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("blob: sign %s: %w", object, err)
	}
	// Report the end the URL itself carries, not the one intended.
	got, err := signedUntil(u)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("blob: sign %s: %w", object, err)
	}
	return u, got, nil
}

// signedUntil is when a V4 signed URL stops working: X-Goog-Date plus
// X-Goog-Expires seconds.
func signedUntil(signed string) (time.Time, error) {
	u, err := url.Parse(signed)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse signed URL: %w", err)
	}
	q := u.Query()
	date, err := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("signed URL X-Goog-Date: %w", err)
	}
	secs, err := strconv.Atoi(q.Get("X-Goog-Expires"))
	if err != nil || secs <= 0 {
		return time.Time{}, fmt.Errorf("signed URL X-Goog-Expires %q", q.Get("X-Goog-Expires"))
	}
	return date.Add(time.Duration(secs) * time.Second), nil
}

// TTL is how long signed URLs stay valid.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Put writes data to object unless it already exists, and returns its
// size. Writing the same deterministic name twice (a redelivered message)
// keeps the first object: Cloud Storage uploads are atomic, so an existing
// object is complete.
func Put(ctx context.Context, bucket *storage.BucketHandle, object string, data []byte, contentType string) (int64, error) {
	obj := bucket.Object(object).If(storage.Conditions{DoesNotExist: true})
	w := obj.NewWriter(ctx)
	w.ContentType = contentType
	w.CacheControl = "private, max-age=86400"
	w.ChunkSize = 0 // one request: our objects are small
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		_ = w.Close()
		return 0, fmt.Errorf("blob: write %s: %w", object, err)
	}
	err := w.Close()
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && gerr.Code == http.StatusPreconditionFailed {
		attrs, aerr := bucket.Object(object).Attrs(ctx)
		if aerr != nil {
			return 0, fmt.Errorf("blob: stat existing %s: %w", object, aerr)
		}
		return attrs.Size, nil
	}
	if err != nil {
		return 0, fmt.Errorf("blob: upload %s: %w", object, err)
	}
	return int64(len(data)), nil
}

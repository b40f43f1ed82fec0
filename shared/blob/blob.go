// Package blob stores audio in Cloud Storage and hands out V4 signed URLs
// that grant a short read of exactly one object.
package blob

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

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
}

// Signer makes V4 signed GET URLs for objects of one bucket.
type Signer struct {
	bucket   *storage.BucketHandle
	template storage.SignedURLOptions
	ttl      time.Duration
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
	if opts.KeyFile != "" {
		key, err := readKey(opts.KeyFile)
		if err != nil {
			return nil, err
		}
		t.PrivateKey = key
		if t.GoogleAccessID == "" {
			t.GoogleAccessID = "chorus-local@demo-chorus.iam.gserviceaccount.com"
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
	return &Signer{bucket: client.Bucket(bucket), template: t, ttl: opts.TTL}, nil
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

// Sign returns a URL that reads object until the returned expiry.
func (s *Signer) Sign(object string, now time.Time) (string, time.Time, error) {
	return s.SignUntil(object, now, time.Time{})
}

// SignUntil is Sign for an object that is deleted at notAfter (zero: never
// known): the URL expires then at the latest, never later than the object.
func (s *Signer) SignUntil(object string, now, notAfter time.Time) (string, time.Time, error) {
	ttl := s.ttl
	if !notAfter.IsZero() {
		left := notAfter.Sub(now.UTC().Truncate(time.Second)).Truncate(time.Second)
		if left < time.Second {
			return "", time.Time{}, fmt.Errorf("blob: sign %s: the object is deleted at %s", object, notAfter.Format(time.RFC3339))
		}
		ttl = min(ttl, left)
	}
	opts := s.template
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

package callback

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The headers of a callback.
const (
	HeaderTimestamp = "X-Chorus-Timestamp"
	HeaderID        = "X-Chorus-Id"
	HeaderSignature = "X-Chorus-Signature"
)

// Window is how far a callback's timestamp may be from the receiver's
// clock, either way.
const Window = 5 * time.Minute

// MaxSigningKeys bounds the keys a deployment signs with: one, or two
// during a rotation.
const MaxSigningKeys = 2

// maxKeySet bounds a public key set a receiver holds (it may merge sets).
const maxKeySet = 8

const version = "v2"

var (
	kidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	sigEncoder = base64.RawURLEncoding.Strict()
)

// Errors of Verify; each wraps ErrInvalid.
var (
	// ErrInvalid is wrapped by every verification failure.
	ErrInvalid = errors.New("callback: not a valid Chorus callback")
	// ErrMalformed: a header is missing, repeated or not in its form.
	ErrMalformed = fmt.Errorf("%w: malformed headers", ErrInvalid)
	// ErrStale: the timestamp is more than Window from now.
	ErrStale = fmt.Errorf("%w: timestamp outside the window", ErrInvalid)
	// ErrUnknownKey: no signature names a key of the set (fetch the
	// deployment's keys again: it may have rotated).
	ErrUnknownKey = fmt.Errorf("%w: signed with no key of this set", ErrInvalid)
	// ErrSignature: a signature names a known key but does not verify.
	ErrSignature = fmt.Errorf("%w: bad signature", ErrInvalid)
)

// SigningString is what a callback's signature covers. timestamp is the
// X-Chorus-Timestamp value (decimal Unix seconds), id the X-Chorus-Id value
// (the job_id, or the batch_id of a batch completion), destination the
// callback_url exactly as the client gave it, and body the raw body.
func SigningString(timestamp, id, destination string, body []byte) string {
	sum := sha256.Sum256(body)
	return version + ":" + timestamp + ":" + id + ":" + destination + ":" + hex.EncodeToString(sum[:])
}

// SigningKey is one private key with its id.
type SigningKey struct {
	ID  string
	Key ed25519.PrivateKey
}

// Signer signs callbacks with every key it holds (one, or two during a
// rotation), so that a receiver holding either public key verifies them.
type Signer struct {
	keys []SigningKey
}

// NewSigner returns a signer of 1 to MaxSigningKeys keys with distinct ids.
func NewSigner(keys ...SigningKey) (*Signer, error) {
	if len(keys) < 1 || len(keys) > MaxSigningKeys {
		return nil, fmt.Errorf("callback: %d signing keys, want 1 to %d", len(keys), MaxSigningKeys)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !kidPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("callback: key id %q: want 1 to 64 letters, digits, '-' or '_'", k.ID)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("callback: key id %q appears twice", k.ID)
		}
		seen[k.ID] = true
		if len(k.Key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("callback: key %q is not an Ed25519 private key", k.ID)
		}
	}
	return &Signer{keys: append([]SigningKey(nil), keys...)}, nil
}

// signingKeysFile is the JSON that CHORUS_CALLBACK_SIGNING_KEYS holds (in
// the cloud, the Secret Manager secret Terraform writes).
type signingKeysFile struct {
	Keys []struct {
		ID            string `json:"kid"`
		PrivateKeyPEM string `json:"private_key_pem"`
	} `json:"keys"`
}

// ParseSigningKeys reads {"keys":[{"kid":"…","private_key_pem":"-----BEGIN
// PRIVATE KEY-----…"}]}: PKCS#8 Ed25519 keys, as Terraform's
// tls_private_key writes them.
func ParseSigningKeys(data []byte) (*Signer, error) {
	var f signingKeysFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("callback: signing keys are not {\"keys\":[{\"kid\",\"private_key_pem\"}]}: %w", err)
	}
	keys := make([]SigningKey, 0, len(f.Keys))
	for _, k := range f.Keys {
		block, rest := pem.Decode([]byte(k.PrivateKeyPEM))
		if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("callback: key %q: want one PEM block of type PRIVATE KEY", k.ID)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("callback: key %q: %w", k.ID, err)
		}
		priv, ok := parsed.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("callback: key %q is a %T, not an Ed25519 key", k.ID, parsed)
		}
		keys = append(keys, SigningKey{ID: k.ID, Key: priv})
	}
	return NewSigner(keys...)
}

// MarshalSigningKeys writes keys in the form ParseSigningKeys reads.
func MarshalSigningKeys(keys ...SigningKey) ([]byte, error) {
	if _, err := NewSigner(keys...); err != nil {
		return nil, err
	}
	var f signingKeysFile
	for _, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("callback: key %q: %w", k.ID, err)
		}
		f.Keys = append(f.Keys, struct {
			ID            string `json:"kid"`
			PrivateKeyPEM string `json:"private_key_pem"`
		}{k.ID, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	}
	return json.Marshal(f)
}

// PublicKeys is the set receivers verify with.
func (s *Signer) PublicKeys() *KeySet {
	ks := &KeySet{}
	for _, k := range s.keys {
		ks.keys = append(ks.keys, PublicKey{ID: k.ID, Key: k.Key.Public().(ed25519.PublicKey)})
	}
	return ks
}

// Sign sets a callback's three headers on h: the timestamp (at), the id
// and one signature per key.
func (s *Signer) Sign(h http.Header, at time.Time, id, destination string, body []byte) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("callback: id %q is not signable", id)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	msg := []byte(SigningString(ts, id, destination, body))
	sigs := make([]string, len(s.keys))
	for i, k := range s.keys {
		sigs[i] = version + "=" + k.ID + "." + sigEncoder.EncodeToString(ed25519.Sign(k.Key, msg))
	}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderID, id)
	h.Set(HeaderSignature, strings.Join(sigs, ","))
	return nil
}

// PublicKey is one public key with its id.
type PublicKey struct {
	ID  string
	Key ed25519.PublicKey
}

// KeySet is the public keys a deployment publishes (a JSON Web Key Set of
// Ed25519 keys, RFC 8037), and what receivers verify with.
type KeySet struct {
	keys []PublicKey
}

// NewKeySet returns a set of keys with distinct ids.
func NewKeySet(keys ...PublicKey) (*KeySet, error) {
	if len(keys) > maxKeySet {
		return nil, fmt.Errorf("callback: %d public keys, at most %d", len(keys), maxKeySet)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !kidPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("callback: key id %q: want 1 to 64 letters, digits, '-' or '_'", k.ID)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("callback: key id %q appears twice", k.ID)
		}
		seen[k.ID] = true
		if len(k.Key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("callback: key %q is not an Ed25519 public key", k.ID)
		}
	}
	return &KeySet{keys: append([]PublicKey(nil), keys...)}, nil
}

// Keys returns the set's keys.
func (ks *KeySet) Keys() []PublicKey { return append([]PublicKey(nil), ks.keys...) }

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid"`
	X   string `json:"x"`
	D   string `json:"d,omitempty"`
}

// MarshalJSON writes the set as a JSON Web Key Set:
// {"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"…","x":"…"}]}.
func (ks *KeySet) MarshalJSON() ([]byte, error) {
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range ks.keys {
		out.Keys = append(out.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Alg: "EdDSA", Use: "sig", Kid: k.ID,
			X: base64.RawURLEncoding.EncodeToString(k.Key)})
	}
	return json.Marshal(out)
}

// ParseKeySet reads a JSON Web Key Set of Ed25519 keys (what the
// deployment publishes; see MarshalJSON). Every key must be an Ed25519
// public key with a kid; a set with private material is refused.
func ParseKeySet(data []byte) (*KeySet, error) {
	var f struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("callback: key set is not a JSON Web Key Set: %w", err)
	}
	keys := make([]PublicKey, 0, len(f.Keys))
	for _, k := range f.Keys {
		switch {
		case k.D != "":
			return nil, fmt.Errorf("callback: key %q carries private key material", k.Kid)
		case k.Kty != "OKP" || k.Crv != "Ed25519":
			return nil, fmt.Errorf("callback: key %q is %s/%s, not OKP/Ed25519", k.Kid, k.Kty, k.Crv)
		case k.Alg != "" && k.Alg != "EdDSA" && k.Alg != "Ed25519":
			return nil, fmt.Errorf("callback: key %q has alg %q", k.Kid, k.Alg)
		case k.Use != "" && k.Use != "sig":
			return nil, fmt.Errorf("callback: key %q has use %q", k.Kid, k.Use)
		}
		x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("callback: key %q: x is not 32 bytes of unpadded base64url", k.Kid)
		}
		keys = append(keys, PublicKey{ID: k.Kid, Key: x})
	}
	return NewKeySet(keys...)
}

// VerifyRequest checks a callback's headers (each exactly once) and raw
// body against the key set: destination is your callback_url exactly as
// you gave it, now your clock. It returns the id the signature covers (the
// job_id, or the batch_id of a batch completion), which a receiver then
// checks is one of its own.
func VerifyRequest(keys *KeySet, destination string, h http.Header, body []byte, now time.Time) (string, error) {
	var vals [3]string
	for i, name := range []string{HeaderTimestamp, HeaderID, HeaderSignature} {
		v := h.Values(name)
		if len(v) != 1 {
			return "", fmt.Errorf("%w: %d %s headers, want 1", ErrMalformed, len(v), name)
		}
		vals[i] = v[0]
	}
	if err := Verify(keys, destination, vals[0], vals[1], vals[2], body, now); err != nil {
		return "", err
	}
	return vals[1], nil
}

// Verify checks the raw values of X-Chorus-Timestamp, X-Chorus-Id and
// X-Chorus-Signature and the raw body against the key set. The timestamp
// must be canonical decimal Unix seconds (no sign, no leading zero) within
// Window of now; at least one v2 signature must name a key of the set, and
// every such signature must verify. Signatures of other versions are
// ignored.
func Verify(keys *KeySet, destination, timestamp, id, signature string, body []byte, now time.Time) error {
	if keys == nil || len(keys.keys) == 0 {
		return fmt.Errorf("%w: no public keys to verify with", ErrUnknownKey)
	}
	ts, ok := canonicalSeconds(timestamp)
	if !ok {
		return fmt.Errorf("%w: %s is not canonical Unix seconds", ErrMalformed, HeaderTimestamp)
	}
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w: %s is not an id", ErrMalformed, HeaderID)
	}
	type sig struct {
		kid string
		sig []byte
	}
	var sigs []sig
	for entry := range strings.SplitSeq(signature, ",") {
		entry = strings.Trim(entry, " \t")
		name, value, found := strings.Cut(entry, "=")
		if !found || name == "" {
			return fmt.Errorf("%w: %s is not a list of VERSION=VALUE", ErrMalformed, HeaderSignature)
		}
		if name != version {
			continue
		}
		kid, b64, found := strings.Cut(value, ".")
		raw, err := sigEncoder.DecodeString(b64)
		if !found || !kidPattern.MatchString(kid) || err != nil || len(raw) != ed25519.SignatureSize {
			return fmt.Errorf("%w: %s entry is not v2=KID.BASE64URL(64 bytes)", ErrMalformed, HeaderSignature)
		}
		sigs = append(sigs, sig{kid, raw})
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return fmt.Errorf("%w: sent %s, now %s", ErrStale, time.Unix(ts, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	msg := []byte(SigningString(timestamp, id, destination, body))
	matched := 0
	for _, s := range sigs {
		for _, k := range keys.keys {
			if k.ID != s.kid {
				continue
			}
			if !ed25519.Verify(k.Key, msg, s.sig) {
				return fmt.Errorf("%w (key %s)", ErrSignature, k.ID)
			}
			matched++
		}
	}
	if matched == 0 {
		return ErrUnknownKey
	}
	return nil
}

// canonicalSeconds parses decimal Unix seconds written the one way Sign
// writes them: digits only, no sign, no leading zero, at most 12 digits.
func canonicalSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 12 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

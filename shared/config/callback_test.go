package config

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/chorus-voice/chorus/shared/callback"
)

// Callback keys are checked at start, and a refusal names the variable
// without echoing the key material.
func TestCallbackKeys(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	signing, err := callback.MarshalSigningKeys(callback.SigningKey{ID: "k1", Key: priv})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := callback.ParseSigningKeys(signing)
	if err != nil {
		t.Fatal(err)
	}
	public, err := json.Marshal(signer.PublicKeys())
	if err != nil {
		t.Fatal(err)
	}
	worker := func(keys string) map[string]string {
		return map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_SUBSCRIPTION": "s", "CHORUS_AUDIO_BUCKET": "a",
			"CHORUS_MODELS_BUCKET": "m", "CHORUS_ORT_LIBRARY": "/x/lib.so", "CHORUS_CALLBACK_SUBSCRIPTION": "cb",
			"CHORUS_CALLBACK_SIGNING_KEYS": keys}
	}
	if _, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(worker(string(signing)))); err != nil {
		t.Fatalf("valid signing keys: %v", err)
	}
	for _, bad := range []string{"", "not json", `{"keys":[]}`, string(public)} {
		_, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(worker(bad)))
		if err == nil || !strings.Contains(err.Error(), "CHORUS_CALLBACK_SIGNING_KEYS") {
			t.Errorf("signing keys %.20q: %v, want an error naming the variable", bad, err)
		}
	}
	functions := func(keys string) map[string]string {
		return map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_TOPIC": "t", "CHORUS_AUDIO_BUCKET": "b", "CHORUS_CALLBACK_PUBLIC_KEYS": keys}
	}
	if _, err := LoadFrom[Functions](context.Background(), envconfig.MapLookuper(functions(string(public)))); err != nil {
		t.Fatalf("valid public keys: %v", err)
	}
	_, err = LoadFrom[Functions](context.Background(), envconfig.MapLookuper(functions(`{"keys":[{"kty":"RSA"}]}`)))
	if err == nil || !strings.Contains(err.Error(), "CHORUS_CALLBACK_PUBLIC_KEYS") {
		t.Errorf("bad public keys: %v", err)
	}
	// A private key set handed to the functions by mistake is refused, and not echoed.
	_, err = LoadFrom[Functions](context.Background(), envconfig.MapLookuper(functions(string(signing))))
	if err == nil || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("signing keys as public keys: %v", err)
	}
}

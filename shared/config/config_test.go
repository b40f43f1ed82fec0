package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func TestFunctionsRequiredVariablesAreNamed(t *testing.T) {
	_, err := LoadFrom[Functions](context.Background(), envconfig.MapLookuper(map[string]string{
		"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_AUDIO_BUCKET": "b",
	}))
	if err == nil || !strings.Contains(err.Error(), "CHORUS_TOPIC") {
		t.Fatalf("missing CHORUS_TOPIC not named: %v", err)
	}
}

func TestFunctionsDefaultsAndLimits(t *testing.T) {
	base := map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_TOPIC": "t", "CHORUS_AUDIO_BUCKET": "b"}
	c, err := LoadFrom[Functions](context.Background(), envconfig.MapLookuper(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.SignedURLTTL != 15*time.Minute || c.MaxTextChars != 1000 || c.MaxBatchItems != 100 || c.StatusURL != "/api/status" {
		t.Fatalf("defaults: %+v", c)
	}
	bad := map[string]string{
		"CHORUS_SIGNED_URL_TTL":  "169h", // over 7 days
		"CHORUS_MAX_TEXT_CHARS":  "0",
		"CHORUS_ALLOWED_ORIGINS": "example.com",
		"CHORUS_WORKER_JOB":      "synth-job",
	}
	for k, v := range bad {
		env := map[string]string{k: v}
		for bk, bv := range base {
			env[bk] = bv
		}
		_, err := LoadFrom[Functions](context.Background(), envconfig.MapLookuper(env))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v should name the variable", k, v, err)
		}
	}
	env := map[string]string{"CHORUS_SIGNED_URL_TTL": "168h", "CHORUS_ALLOWED_ORIGINS": "https://a.example,http://127.0.0.1:8080"}
	for bk, bv := range base {
		env[bk] = bv
	}
	if c, err := LoadFrom[Functions](context.Background(), envconfig.MapLookuper(env)); err != nil || len(c.AllowedOrigins) != 2 {
		t.Fatalf("7 days and two origins should load: %v %+v", err, c)
	}
}

func TestWorker(t *testing.T) {
	base := map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_SUBSCRIPTION": "s", "CHORUS_AUDIO_BUCKET": "a",
		"CHORUS_MODELS_BUCKET": "m", "CHORUS_ORT_LIBRARY": "/x/libonnxruntime.so"}
	c, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.ExecutionProvider != "auto" || c.MaxAttempts != 5 || c.Lease != 2*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	for k, v := range map[string]string{"CHORUS_EXECUTION_PROVIDER": "tpu", "CHORUS_BATCH_SIZE": "0", "CHORUS_LEASE": "1s"} {
		env := map[string]string{k: v}
		for bk, bv := range base {
			env[bk] = bv
		}
		if _, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(env)); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	delete(base, "CHORUS_ORT_LIBRARY")
	if _, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(base)); err == nil || !strings.Contains(err.Error(), "CHORUS_ORT_LIBRARY") {
		t.Fatalf("missing library not named: %v", err)
	}
}

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
	if c.GPUMemLimit != 18<<30 || c.RunMaxIDs != 0 || c.RunMaxItems != 0 || c.ConcurrentRuns != 0 || c.CPUOffloadIDs != 128 {
		t.Fatalf("run defaults: %+v", c)
	}
	with := func(k, v string) map[string]string {
		env := map[string]string{k: v}
		for bk, bv := range base {
			env[bk] = bv
		}
		return env
	}
	for _, tt := range []struct{ k, v string }{
		{"CHORUS_EXECUTION_PROVIDER", "tpu"}, {"CHORUS_BATCH_SIZE", "0"}, {"CHORUS_BATCH_SIZE", "1025"},
		{"CHORUS_LEASE", "1s"}, {"CHORUS_RUN_MAX_ITEMS", "-1"}, {"CHORUS_RUN_MAX_ITEMS", "5000"},
		{"CHORUS_RUN_MAX_IDS", "10"}, {"CHORUS_CONCURRENT_RUNS", "17"}, {"CHORUS_GPU_MEM_LIMIT", "12"},
		{"CHORUS_GPU_MEM_LIMIT", "2TiB"}, {"CHORUS_GPU_MEM_LIMIT", "lots"}, {"CHORUS_CPU_OFFLOAD_IDS", "-3"},
	} {
		t.Run(tt.k+"="+tt.v, func(t *testing.T) {
			if _, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(with(tt.k, tt.v))); err == nil || !strings.Contains(err.Error(), tt.k) {
				t.Errorf("%s=%s: %v, want an error naming the variable", tt.k, tt.v, err)
			}
		})
	}
	for v, want := range map[string]Bytes{"12GiB": 12 << 30, "4096MiB": 4 << 30, "1073741824": 1 << 30} {
		c, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(with("CHORUS_GPU_MEM_LIMIT", v)))
		if err != nil || c.GPUMemLimit != want {
			t.Errorf("CHORUS_GPU_MEM_LIMIT=%s: %v, %v; want %v", v, c, err, want)
		}
	}
	delete(base, "CHORUS_ORT_LIBRARY")
	if _, err := LoadFrom[Worker](context.Background(), envconfig.MapLookuper(base)); err == nil || !strings.Contains(err.Error(), "CHORUS_ORT_LIBRARY") {
		t.Fatalf("missing library not named: %v", err)
	}
}

func TestBytesString(t *testing.T) {
	for b, want := range map[Bytes]string{18 << 30: "18GiB", 1536 << 20: "1536MiB", 1 << 40: "1TiB", 1000: "1000B", 0: "0B"} {
		if got := b.String(); got != want {
			t.Errorf("%d: %q, want %q", int64(b), got, want)
		}
	}
}

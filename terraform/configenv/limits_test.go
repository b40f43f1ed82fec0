package configenv

import (
	"context"
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/sethvargo/go-envconfig"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/chorus-voice/chorus/shared/config"
)

// The request limits have one default: Terraform's variables default to
// what shared/config defaults to (the contract's numbers are held to the
// same by functions/api), so a deployment and a local stack agree.
func TestLimitDefaultsAreTheConfigDefaults(t *testing.T) {
	cfg, err := config.LoadFrom[config.Functions](context.Background(), envconfig.MapLookuper(map[string]string{
		"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_TOPIC": "t", "CHORUS_AUDIO_BUCKET": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	defaults := variableDefaults(t, "../variables.tf")
	for name, want := range map[string]int{
		"max_text_chars":         cfg.MaxTextChars,
		"max_batch_items":        cfg.MaxBatchItems,
		"rate_per_minute":        cfg.RatePerMinute,
		"rate_burst":             cfg.RateBurst,
		"status_rate_per_minute": cfg.StatusRatePerMinute,
		"status_rate_burst":      cfg.StatusRateBurst,
	} {
		got, ok := defaults[name]
		if !ok {
			t.Errorf("variable %q has no number default", name)
			continue
		}
		if got != want {
			t.Errorf("variable %q defaults to %d, shared/config to %d", name, got, want)
		}
	}
}

// variableDefaults reads the whole-number defaults of a file's variables.
func variableDefaults(t *testing.T, path string) map[string]int {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out := map[string]int{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 {
			continue
		}
		a := b.Body.Attributes["default"]
		if a == nil {
			continue
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			continue
		}
		var n int
		if gocty.FromCtyValue(v, &n) == nil {
			out[b.Labels[0]] = n
		}
	}
	return out
}

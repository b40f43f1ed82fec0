package configenv

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/config"
)

var update = flag.Bool("update", false, "rewrite terraform/tests/config_env.json")

const (
	envFile   = "../tests/config_env.json"
	webScript = "../../web/deploy/40-chorus-config.sh"
)

// The file terraform test reads lists exactly what the Go configuration and
// the web start script read today. A variable added to shared/config (or
// removed) makes this test fail until the file is regenerated, and the new
// file makes terraform/tests/config_env.tftest.hcl fail until Terraform
// sets the variable or says why it leaves it at its default.
func TestEnvFileIsCurrent(t *testing.T) {
	script, err := os.ReadFile(webScript)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Build(config.Functions{}, config.Worker{}, string(script))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(envFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("%v: run go test ./terraform/configenv -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: shared/config or the web start script changed. Run\n\tgo test ./terraform/configenv -update\nthen make Terraform set each new variable (or list it as left at its default in terraform/tests/config_env.tftest.hcl). Want:\n%s",
			filepath.Clean(envFile), want)
	}
}

func TestFromStructReadsTags(t *testing.T) {
	type inner struct {
		Host string `env:"HOST, required"`
		Port int    `env:"PORT"`
	}
	type cfg struct {
		Project  string `env:"PROJECT,required"`
		Optional string `env:"OPTIONAL, default=x"`
		Untagged string
		DB       inner `env:", prefix=DB_"`
		Plain    inner
		private  string `env:"PRIVATE, required"`
	}
	got, err := FromStruct(&cfg{private: ""})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"DB_HOST", "HOST", "PROJECT"}; !slices.Equal(got.Required, want) {
		t.Errorf("Required = %v, want %v", got.Required, want)
	}
	if want := []string{"DB_HOST", "DB_PORT", "HOST", "OPTIONAL", "PORT", "PROJECT"}; !slices.Equal(got.Read, want) {
		t.Errorf("Read = %v, want %v", got.Read, want)
	}
	if _, err := FromStruct("not a struct"); err == nil {
		t.Error("FromStruct(string) returned no error")
	}
}

func TestFromScript(t *testing.T) {
	got := FromScript(`#!/bin/sh
# CHORUS_IN_A_COMMENT is documentation, not a read.
root=${CHORUS_WEB_ROOT:-/srv}
max=${CHORUS_MAX_TEXT_CHARS:-1000}
profiles=$(url CHORUS_PROFILES_URL)
status=$(url CHORUS_STATUS_URL)
`)
	if want := []string{"CHORUS_PROFILES_URL", "CHORUS_STATUS_URL"}; !slices.Equal(got.Required, want) {
		t.Errorf("Required = %v, want %v", got.Required, want)
	}
	if want := []string{"CHORUS_MAX_TEXT_CHARS", "CHORUS_PROFILES_URL", "CHORUS_STATUS_URL"}; !slices.Equal(got.Read, want) {
		t.Errorf("Read = %v, want %v", got.Read, want)
	}
}

// The real configuration has what the Terraform tests rely on.
func TestBuildFromTheRealConfiguration(t *testing.T) {
	script, err := os.ReadFile(webScript)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(config.Functions{}, config.Worker{}, string(script))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"GOOGLE_CLOUD_PROJECT"`, `"CHORUS_SUBSCRIPTION"`, `"CHORUS_STATUS_URL"`, `"CHORUS_MAX_TEXT_CHARS"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the file lacks %s", want)
		}
	}
	if _, err := Build(config.Functions{}, struct{}{}, string(script)); err == nil {
		t.Error("Build accepted a worker configuration without variables")
	}
	if _, err := Build(config.Functions{}, config.Worker{}, "#!/bin/sh\n"); err == nil {
		t.Error("Build accepted a web script without variables")
	}
}

package checks

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/terraform/configenv"
)

// webEnv returns the environment Terraform gives the web container, with a
// plausible value for each variable it sets: the names come from
// terraform/tests/config_env.json, whose web section terraform test
// checks against the service's env blocks (config_env.tftest.hcl).
func webEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "terraform", "tests", "config_env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f configenv.File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("config_env.json: %v", err)
	}
	if len(f.Web.Read) == 0 {
		t.Fatal("config_env.json lists no variable of the web container")
	}
	env := map[string]string{}
	for _, n := range f.Web.Read {
		if v, ok := webNumbers[n]; ok {
			env[n] = v
		} else {
			env[n] = "https://us-central1-p.cloudfunctions.net/" + strings.ToLower(n)
		}
	}
	return env
}

// webNumbers are the web container's optional numeric variables (each has
// a default), with a plausible value.
var webNumbers = map[string]string{
	"CHORUS_MAX_TEXT_CHARS": "750", "CHORUS_AUDIO_RETENTION_SECONDS": "259200", "CHORUS_RATE_PER_MINUTE": "30",
	"CHORUS_RATE_BURST": "10", "CHORUS_JOB_DEADLINE_SECONDS": "90", "CHORUS_STATUS_WAIT_SECONDS": "15",
}

// runWebConfig runs the container's start script with only env set and
// returns config.json (nil when the script failed) and its output.
func runWebConfig(t *testing.T, env map[string]string) (map[string]any, string) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), sh, filepath.Join(repoRoot, "web", "deploy", "40-chorus-config.sh"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CHORUS_WEB_ROOT=" + dir, "CHORUS_NGINX_HEADERS=" + filepath.Join(dir, "headers.conf")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "config.json")); statErr == nil {
			t.Errorf("script failed but left a config.json behind")
		}
		return nil, string(out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("config.json is not JSON: %v\n%s", err, b)
	}
	return cfg, string(out)
}

// The web container's start script accepts exactly what Terraform sets and
// writes the config.json the web app reads.
func TestWebConfigFromTerraformEnvironment(t *testing.T) {
	env := webEnv(t)
	cfg, out := runWebConfig(t, env)
	if cfg == nil {
		t.Fatalf("start script rejected the environment Terraform sets (%v):\n%s", env, out)
	}
	for key, name := range map[string]string{
		"profilesUrl": "CHORUS_PROFILES_URL", "synthesizeUrl": "CHORUS_SYNTHESIZE_URL",
		"batchUrl": "CHORUS_BATCH_URL", "statusUrl": "CHORUS_STATUS_URL",
	} {
		if cfg[key] != env[name] {
			t.Errorf("config.json %s = %v, want %s's value %q", key, cfg[key], name, env[name])
		}
	}
	for key, name := range map[string]string{
		"maxTextChars": "CHORUS_MAX_TEXT_CHARS", "audioRetentionSeconds": "CHORUS_AUDIO_RETENTION_SECONDS",
		"ratePerMinute": "CHORUS_RATE_PER_MINUTE", "rateBurst": "CHORUS_RATE_BURST", "jobDeadlineSeconds": "CHORUS_JOB_DEADLINE_SECONDS",
	} {
		if _, set := env[name]; !set {
			t.Errorf("terraform does not give the web container %s: the app would explain the default, not this deployment's %s", name, key)
			continue
		}
		if fmt.Sprint(cfg[key]) != env[name] {
			t.Errorf("config.json %s = %v, want %s's value %s", key, cfg[key], name, env[name])
		}
	}

	// Every variable Terraform sets is one the script needs or reads.
	for name := range env {
		if _, ok := webNumbers[name]; ok || name == "CHORUS_STORAGE_ORIGIN" {
			continue // optional, has a default
		}
		t.Run("without "+name, func(t *testing.T) {
			broken := map[string]string{}
			for k, v := range env {
				if k != name {
					broken[k] = v
				}
			}
			if cfg, out := runWebConfig(t, broken); cfg != nil || !strings.Contains(out, name) {
				t.Errorf("script did not refuse to start without %s:\n%s", name, out)
			}
		})
	}
}

func TestWebConfigRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"CHORUS_STATUS_URL", `https://x/"};alert(1)`},
		{"CHORUS_STATUS_URL", "javascript:alert(1)"},
		{"CHORUS_STATUS_URL", "https://"},
		{"CHORUS_BATCH_URL", "https://x/a b"},
		{"CHORUS_MAX_TEXT_CHARS", "0"},
		{"CHORUS_MAX_TEXT_CHARS", "10001"},
		{"CHORUS_MAX_TEXT_CHARS", "12abc"},
		{"CHORUS_MAX_TEXT_CHARS", "99999999999999999999"},
		{"CHORUS_MAX_TEXT_CHARS", "-5"},
		{"CHORUS_STATUS_WAIT_SECONDS", "21"},
		{"CHORUS_JOB_DEADLINE_SECONDS", "1"},
		{"CHORUS_RATE_BURST", "0"},
		{"CHORUS_AUDIO_RETENTION_SECONDS", "1e6"},
		{"CHORUS_STORAGE_ORIGIN", "ftp://x"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			env := webEnv(t)
			env[tc.name] = tc.value
			if cfg, out := runWebConfig(t, env); cfg != nil || !strings.Contains(out, tc.name) {
				t.Errorf("script accepted %s=%q (config %v):\n%s", tc.name, tc.value, cfg, out)
			}
		})
	}
}

// The web container's headers: a Content-Security-Policy that lets the app
// reach exactly its functions and the storage host (and play blob: media),
// the other security headers, and HSTS left to HTTPS answers.
func TestWebSecurityHeadersFromTerraformEnvironment(t *testing.T) {
	env := webEnv(t)
	env["CHORUS_STATUS_URL"] = "https://status-abc-uc.a.run.app/"
	env["CHORUS_STORAGE_ORIGIN"] = "https://storage.googleapis.com"
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "sh", filepath.Join(repoRoot, "web", "deploy", "40-chorus-config.sh"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CHORUS_WEB_ROOT=" + dir, "CHORUS_NGINX_HEADERS=" + filepath.Join(dir, "h", "headers.conf")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "h", "headers.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	var csp string
	for _, line := range strings.Split(conf, "\n") {
		if strings.HasPrefix(line, "add_header Content-Security-Policy ") {
			csp = line
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
		"connect-src 'self' https://status-abc-uc.a.run.app https://storage.googleapis.com https://us-central1-p.cloudfunctions.net;",
		"media-src 'self' blob: https://storage.googleapis.com;"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Count(csp, "us-central1-p.cloudfunctions.net") != 1 {
		t.Errorf("CSP allows unsafe sources or repeats an origin: %q", csp)
	}
	for _, want := range []string{"add_header Permissions-Policy \"camera=(), microphone=()", "add_header Referrer-Policy no-referrer always;",
		"add_header Strict-Transport-Security $chorus_hsts always;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("headers lack %q:\n%s", want, conf)
		}
	}
	site, err := os.ReadFile(filepath.Join(repoRoot, "web", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(site), "include /etc/nginx/chorus/security-headers.conf;"); n != 4 {
		t.Errorf("nginx.conf includes the headers %d times, want the server and each of its 3 locations", n)
	}
	if !strings.Contains(string(site), `https   "max-age=`) || !strings.Contains(string(site), `default "";`) {
		t.Error("nginx.conf does not limit HSTS to HTTPS answers (map $http_x_forwarded_proto $chorus_hsts)")
	}
}

// The function archive is reproducible, holds the root package, go.mod,
// go.sum and the Go sources it builds from, and nothing else.
func TestPackageFunctions(t *testing.T) {
	if _, err := exec.LookPath("zip"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("zip is not installed")
		}
		t.Fatal("zip is not installed (Debian: apt-get install zip)")
	}
	pack := func() string {
		cmd := exec.CommandContext(t.Context(), filepath.Join(repoRoot, "scripts", "package-functions.sh"), t.TempDir())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("package-functions.sh: %v\n%s", err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	first, second := pack(), pack()
	if filepath.Base(first) != filepath.Base(second) {
		t.Errorf("two runs on the same sources gave %s and %s: the archive is not reproducible", filepath.Base(first), filepath.Base(second))
	}
	if !strings.HasPrefix(filepath.Base(first), "functions-") || !strings.HasSuffix(first, ".zip") {
		t.Errorf("archive name %s does not match functions-HASH.zip (terraform validates .zip)", first)
	}
	r, err := zip.OpenReader(first)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	have := map[string]bool{}
	for _, f := range r.File {
		have[f.Name] = true
		switch {
		case strings.HasSuffix(f.Name, "_test.go"):
			t.Errorf("archive holds test file %s", f.Name)
		case strings.HasPrefix(f.Name, "synth-job/"), strings.HasPrefix(f.Name, "web/"), strings.HasPrefix(f.Name, "terraform/"):
			t.Errorf("archive holds %s, which the functions do not build from", f.Name)
		case !strings.HasSuffix(f.Name, ".go") && f.Name != "go.mod" && f.Name != "go.sum":
			t.Errorf("archive holds unexpected file %s", f.Name)
		}
	}
	for _, want := range []string{"go.mod", "go.sum"} {
		if !have[want] {
			t.Errorf("archive lacks %s", want)
		}
	}
	roots, _ := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	for _, p := range roots {
		if name := filepath.Base(p); !strings.HasSuffix(name, "_test.go") && !have[name] {
			t.Errorf("archive lacks the root package file %s", name)
		}
	}
	if len(roots) == 0 {
		t.Error("the repository root holds no Go package to deploy")
	}

	// Build the archive as the Go buildpack does: the root package of the
	// unpacked source, without cgo, and nothing else.
	src := t.TempDir()
	for _, f := range r.File {
		dst := filepath.Join(src, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		in, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(in)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.CommandContext(t.Context(), "go", "build", "-o", os.DevNull, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the function archive does not build on its own (CGO_ENABLED=0 go build .): %v\n%s", err, out)
	}
}

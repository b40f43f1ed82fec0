package checks

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// tools locates terraform, its offline CLI configuration and tflint, as
// scripts/test-terraform.sh leaves them. Missing tools skip the tests on a
// developer machine and fail them in CI.
type tools struct {
	terraform, tflint, tfrc string
}

func findTools(t *testing.T) tools {
	t.Helper()
	cache := os.Getenv("CHORUS_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "chorus")
	}
	var tl tools
	var missing []string
	if p, err := exec.LookPath("terraform"); err == nil {
		tl.terraform = p
	} else {
		missing = append(missing, "terraform on PATH")
	}
	tl.tfrc = filepath.Join(cache, "terraform", "terraformrc")
	if p := os.Getenv("TF_CLI_CONFIG_FILE"); p != "" && fileExists(p) && strings.HasPrefix(p, cache) {
		tl.tfrc = p
	}
	if !fileExists(tl.tfrc) {
		missing = append(missing, tl.tfrc)
	}
	tl.tflint = os.Getenv("CHORUS_TFLINT")
	if tl.tflint == "" {
		tl.tflint = filepath.Join(cache, "terraform", "bin", "tflint-v0.64.0")
	}
	if !fileExists(tl.tflint) {
		missing = append(missing, tl.tflint)
	}
	if len(missing) > 0 {
		msg := "offline Terraform tools missing (" + strings.Join(missing, ", ") + "); run scripts/test-terraform.sh tools"
		if os.Getenv("CI") == "" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return tl
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// scratch copies the Terraform configuration (and the proto schema it
// reads through ../shared) into a temporary tree, replacing old with new
// in file when file is not empty, and returns the copy's terraform dir.
func scratch(t *testing.T, file, old, new string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join(repoRoot, "terraform")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			switch d.Name() {
			case ".terraform", "policy", "checks":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, "terraform", rel), 0o755)
		}
		if !strings.HasSuffix(p, ".tf") && !strings.HasSuffix(p, ".tftest.hcl") && d.Name() != ".tflint.hcl" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, "terraform", rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The topics' schemas the module reads (file("../shared/message/…")).
	for _, name := range []string{"synthesis_request.proto", "synthesis_completed.proto"} {
		proto := filepath.Join("shared", "message", name)
		b, err := os.ReadFile(filepath.Join(repoRoot, proto))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(proto)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, proto), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(dst, "terraform")
	if file != "" {
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s no longer contains %q: update the fixture", file, old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs a tool in dir and returns its combined output and whether it
// exited 0. Anything but a clean exit or an exit status (a tool that could
// not start, a timeout) fails the test.
func (tl tools) run(t *testing.T, dir string, name string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+tl.tfrc,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"TF_PLUGIN_CACHE_DIR=",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), err == nil
}

// mustInit initialises dir from the local mirror only.
func (tl tools) mustInit(t *testing.T, dir string) {
	t.Helper()
	if out, ok := tl.run(t, dir, tl.terraform, "init", "-backend=false", "-input=false", "-no-color"); !ok {
		t.Fatalf("terraform init failed:\n%s", out)
	}
}

// The unbroken configuration passes every check, so a failure below is
// caused by the breakage and nothing else.
func TestChecksPassOnRepositoryConfiguration(t *testing.T) {
	tl := findTools(t)
	dir := scratch(t, "", "", "")
	if out, ok := tl.run(t, dir, tl.terraform, "fmt", "-check", "-recursive"); !ok {
		t.Errorf("terraform fmt -check failed:\n%s", out)
	}
	tl.mustInit(t, dir)
	if out, ok := tl.run(t, dir, tl.terraform, "validate", "-no-color"); !ok {
		t.Errorf("terraform validate failed:\n%s", out)
	}
	if out, ok := tl.run(t, dir, tl.tflint, "--no-color"); !ok {
		t.Errorf("tflint failed:\n%s", out)
	}
	if out, ok := tl.run(t, dir, tl.terraform, "test", "-no-color"); !ok {
		t.Errorf("terraform test failed:\n%s", out)
	}
}

func TestFmtCheckFailsOnUnformattedFile(t *testing.T) {
	tl := findTools(t)
	dir := scratch(t, "web.tf", "  location            = var.region\n", "  location = var.region\n")
	out, ok := tl.run(t, dir, tl.terraform, "fmt", "-check", "-recursive")
	if ok || !strings.Contains(out, "web.tf") {
		t.Errorf("terraform fmt -check passed an unformatted web.tf (ok=%v):\n%s", ok, out)
	}
}

func TestValidateFailsAgainstProviderSchema(t *testing.T) {
	tl := findTools(t)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{
			// Only the real provider schema knows this argument does not exist.
			name: "unknown argument", file: "worker.tf",
			old:  "      gpu_zonal_redundancy_disabled = true\n",
			new:  "      gpu_zonal_redundancy_disabled = true\n      gpu_count                     = 1\n",
			want: `An argument named "gpu_count" is not expected here`,
		},
		{
			name: "missing required argument", file: "worker.tf",
			old:  "        image = var.worker_image\n",
			new:  "",
			want: `The argument "image" is required`,
		},
		{
			name: "wrong type", file: "pubsub.tf",
			old:  "ack_deadline_seconds       = 60",
			new:  `ack_deadline_seconds       = "a minute"`,
			want: "a number is required",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := scratch(t, tc.file, tc.old, tc.new)
			tl.mustInit(t, dir)
			out, ok := tl.run(t, dir, tl.terraform, "validate", "-no-color")
			if ok || !strings.Contains(strings.Join(strings.Fields(out), " "), tc.want) {
				t.Errorf("terraform validate did not report %q (ok=%v):\n%s", tc.want, ok, out)
			}
		})
	}
}

func TestTflintFailsOnLintErrors(t *testing.T) {
	tl := findTools(t)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{
			name: "unused variable", file: "variables.tf",
			old:  "# --- Web app",
			new:  "variable \"unused\" {\n  description = \"Not used anywhere.\"\n  type        = string\n  default     = \"\"\n}\n\n# --- Web app",
			want: "terraform_unused_declarations",
		},
		{
			name: "interpolation-only expression", file: "web.tf",
			old:  "location            = var.region",
			new:  `location            = "${var.region}"`,
			want: "terraform_deprecated_interpolation",
		},
		{
			name: "undocumented output", file: "outputs.tf",
			old:  "  description = \"Bucket the voices are uploaded to (NAME.onnx + NAME.onnx.json).\"\n",
			new:  "",
			want: "terraform_documented_outputs",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := scratch(t, tc.file, tc.old, tc.new)
			out, ok := tl.run(t, dir, tl.tflint, "--no-color")
			if ok || !strings.Contains(out, tc.want) {
				t.Errorf("tflint did not report %s (ok=%v):\n%s", tc.want, ok, out)
			}
		})
	}
}

func TestTerraformTestFailsOnBrokenConfiguration(t *testing.T) {
	tl := findTools(t)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{
			name: "no GPU", file: "worker.tf",
			old:  "            \"nvidia.com/gpu\" = \"1\"\n",
			new:  "",
			want: "the worker container must request exactly one GPU",
		},
		{
			name: "worker attempts out of step with the subscription", file: "worker.tf",
			old:  "CHORUS_MAX_ATTEMPTS   = tostring(var.max_delivery_attempts)",
			new:  `CHORUS_MAX_ATTEMPTS   = "5"`,
			want: "the worker's CHORUS_MAX_ATTEMPTS must equal the subscription's max_delivery_attempts",
		},
		{
			name: "token creator granted to the wrong account", file: "modules/http_function/main.tf",
			old:  "  member             = google_service_account.this.member\n",
			new:  "  member             = \"serviceAccount:chorus-worker@chorus-test-1.iam.gserviceaccount.com\"\n",
			want: "the status service account must hold token creator on itself",
		},
		{
			name: "worker keeps audio its own way", file: "worker.tf",
			old:  "CHORUS_AUDIO_RETENTION = local.audio_retention",
			new:  `CHORUS_AUDIO_RETENTION = "168h"`,
			want: "the worker must get CHORUS_AUDIO_RETENTION = audio_retention_days × 24h",
		},
		{
			name: "worker may overwrite audio", file: "iam.tf",
			old:  `"roles/storage.objectCreator"`,
			new:  `"roles/storage.objectUser"`,
			want: "the worker only creates audio and reads it back",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := scratch(t, tc.file, tc.old, tc.new)
			tl.mustInit(t, dir)
			out, ok := tl.run(t, dir, tl.terraform, "test", "-no-color")
			if ok || !strings.Contains(strings.Join(strings.Fields(out), " "), tc.want) {
				t.Errorf("terraform test did not fail with %q (ok=%v):\n%s", tc.want, ok, out)
			}
		})
	}
}

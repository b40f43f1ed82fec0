package policy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/config"
)

// moduleDir is the repository's Terraform configuration.
const moduleDir = ".."

// requirements derives the rule's input from the Go configuration structs:
// the functions read config.Functions, the worker job reads config.Worker.
func requirements(t *testing.T) Requirements {
	t.Helper()
	fn, err := RequiredEnv(config.Functions{})
	if err != nil {
		t.Fatal(err)
	}
	worker, err := RequiredEnv(config.Worker{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fn) == 0 || len(worker) == 0 {
		t.Fatalf("no required variables found in shared/config (functions %v, worker %v): are the env tags still there?", fn, worker)
	}
	return Requirements{
		"google_cloudfunctions2_function": fn,
		"google_cloud_run_v2_job":         worker,
	}
}

func TestRepositoryConfigurationFollowsPolicy(t *testing.T) {
	m, err := Load(moduleDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Check(m, requirements(t)) {
		t.Error(v)
	}
	// The rules must have had something to look at.
	for typ, min := range map[string]int{
		"google_cloudfunctions2_function": 4,
		"google_cloud_run_v2_job":         1,
		"google_pubsub_subscription":      2,
		"google_storage_bucket":           3,
		"google_service_account":          5,
	} {
		if got := len(m.ResourcesOf(typ)); got < min {
			t.Errorf("found %d %s resources, want at least %d: is the parser reading the module?", got, typ, min)
		}
	}
}

func TestRequiredEnvReadsTags(t *testing.T) {
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
	got, err := RequiredEnv(&cfg{private: ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PROJECT", "DB_HOST", "HOST"}
	if !slices.Equal(got, want) {
		t.Errorf("RequiredEnv = %v, want %v", got, want)
	}
	if _, err := RequiredEnv("not a struct"); err == nil {
		t.Error("RequiredEnv(string) returned no error")
	}
}

// mutation breaks a copy of the repository's configuration in one way.
type mutation struct {
	name string
	// file is edited by replacing old with new (old must occur); an empty
	// file adds new as an extra file instead.
	file, old, new string
	// wantRule must be among the violations; wantText in one of its messages.
	wantRule, wantText string
}

// brokenCopy writes the module with mut applied to a temporary directory.
func brokenCopy(t *testing.T, file, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	paths, err := filepath.Glob(filepath.Join(moduleDir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) == file {
			if !strings.Contains(string(src), old) {
				t.Fatalf("%s no longer contains %q: update the fixture", file, old)
			}
			src = []byte(strings.Replace(string(src), old, new, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if file == "" {
		if err := os.WriteFile(filepath.Join(dir, "zz_broken.tf"), []byte(new), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func checkBroken(t *testing.T, dir, wantRule, wantText string) {
	t.Helper()
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	violations := Check(m, requirements(t))
	for _, v := range violations {
		if v.Rule == wantRule && strings.Contains(v.Message, wantText) {
			return
		}
	}
	t.Errorf("no [%s] violation mentioning %q; got %v", wantRule, wantText, violations)
}

func TestPolicyCatchesBrokenConfiguration(t *testing.T) {
	for _, mu := range []mutation{
		{
			name: "function shares an account", file: "functions.tf",
			old:      "service_account_email            = google_service_account.batch.email",
			new:      "service_account_email            = google_service_account.synthesize.email",
			wantRule: RuleDedicatedServiceAccount, wantText: "shares google_service_account.synthesize",
		},
		{
			name: "job without account", file: "worker.tf",
			old:      "service_account = google_service_account.worker.email",
			new:      "",
			wantRule: RuleDedicatedServiceAccount, wantText: "default compute service account",
		},
		{
			name: "function runs as a hard-coded account", file: "functions.tf",
			old:      "service_account_email            = google_service_account.profiles.email",
			new:      `service_account_email            = "123-compute@developer.gserviceaccount.com"`,
			wantRule: RuleDedicatedServiceAccount, wantText: "must run as a google_service_account",
		},
		{
			name: "requests subscription without dead-letter policy", file: "pubsub.tf",
			old: `  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }`,
			new:      "",
			wantRule: RuleDeadLetter, wantText: "google_pubsub_subscription.worker on google_pubsub_topic.requests has no dead_letter_policy",
		},
		{
			name: "second subscription on the requests topic", file: "",
			new: `resource "google_pubsub_subscription" "audit" {
  name  = "audit"
  topic = google_pubsub_topic.requests.id
}
`,
			wantRule: RuleDeadLetter, wantText: "google_pubsub_subscription.audit on google_pubsub_topic.requests has no dead_letter_policy",
		},
		{
			name: "dead letters to its own topic", file: "pubsub.tf",
			old:      "dead_letter_topic     = google_pubsub_topic.dead_letter.id",
			new:      "dead_letter_topic     = google_pubsub_topic.requests.id",
			wantRule: RuleDeadLetter, wantText: "own topic",
		},
		{
			name: "dead-letter policy without attempts", file: "pubsub.tf",
			old:      "max_delivery_attempts = var.max_delivery_attempts",
			new:      "",
			wantRule: RuleDeadLetter, wantText: "max_delivery_attempts",
		},
		{
			name: "bucket allows public access", file: "storage.tf",
			old:      `public_access_prevention    = "enforced"`,
			new:      `public_access_prevention    = "inherited"`,
			wantRule: RulePrivateBucket, wantText: "google_storage_bucket.audio: public_access_prevention",
		},
		{
			name: "bucket with fine-grained ACLs", file: "storage.tf",
			old:      "uniform_bucket_level_access = true\n  public_access_prevention    = \"enforced\"\n  force_destroy               = false",
			new:      "public_access_prevention    = \"enforced\"\n  force_destroy               = false",
			wantRule: RulePrivateBucket, wantText: "google_storage_bucket.models must set uniform_bucket_level_access",
		},
		{
			name: "bucket readable by everyone", file: "",
			new: `resource "google_storage_bucket_iam_member" "open" {
  bucket = google_storage_bucket.audio.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}
`,
			wantRule: RulePrivateBucket, wantText: "to allUsers",
		},
		{
			name: "object ACL", file: "",
			new: `resource "google_storage_default_object_acl" "open" {
  bucket      = google_storage_bucket.audio.name
  role_entity = ["READER:allUsers"]
}
`,
			wantRule: RulePrivateBucket, wantText: "ACLs are not used",
		},
		{
			name: "primitive role in a grant", file: "iam.tf",
			old:      `"roles/datastore.viewer"`,
			new:      `"roles/viewer"`,
			wantRule: RuleNoPrimitiveRole, wantText: "roles/viewer",
		},
		{
			name: "primitive role hidden in a set", file: "",
			new: `resource "google_project_iam_member" "extra" {
  for_each = toset(["roles/logging.logWriter", "roles/editor"])
  project  = var.project_id
  role     = each.value
  member   = google_service_account.worker.member
}
`,
			wantRule: RuleNoPrimitiveRole, wantText: "roles/editor",
		},
		{
			name: "primitive role spelled through a template", file: "",
			new: `resource "google_project_iam_member" "extra" {
  project = var.project_id
  role    = "roles/${"owner"}"
  member  = google_service_account.worker.member
}
`,
			wantRule: RuleNoPrimitiveRole, wantText: "roles/owner",
		},
		{
			name: "undeclared variable", file: "web.tf",
			old:      "max_instance_count = var.web_max_instances",
			new:      "max_instance_count = var.web_instances",
			wantRule: RuleDocumentedVariables, wantText: "var.web_instances is used but not declared",
		},
		{
			name: "variable without description", file: "variables.tf",
			old:      `description = "Most instances of the web app service."`,
			new:      "",
			wantRule: RuleDocumentedVariables, wantText: `"web_max_instances" has no description`,
		},
		{
			name: "variable with empty description", file: "variables.tf",
			old:      `description = "Most instances of the web app service."`,
			new:      `description = " "`,
			wantRule: RuleDocumentedVariables, wantText: `"web_max_instances": description must be a non-empty string`,
		},
		{
			name: "variable without type", file: "variables.tf",
			old:      "type        = number\n  default     = 3\n}",
			new:      "default     = 3\n}",
			wantRule: RuleDocumentedVariables, wantText: `"web_max_instances" has no type`,
		},
		{
			name: "worker job removed", file: "worker.tf",
			old:      `resource "google_cloud_run_v2_job" "worker"`,
			new:      `resource "google_cloud_run_v2_service" "worker"`,
			wantRule: RuleRequiredEnv, wantText: "no google_cloud_run_v2_job resource",
		},
	} {
		t.Run(mu.name, func(t *testing.T) {
			checkBroken(t, brokenCopy(t, mu.file, mu.old, mu.new), mu.wantRule, mu.wantText)
		})
	}
}

// TestPolicyCatchesMissingRequiredEnv removes, one at a time, each variable
// the Go configuration requires from the place Terraform sets it, and
// expects the rule to name it. The names come from shared/config.
func TestPolicyCatchesMissingRequiredEnv(t *testing.T) {
	req := requirements(t)
	for _, tc := range []struct {
		typ, file, addr string
	}{
		{"google_cloudfunctions2_function", "functions.tf", "google_cloudfunctions2_function.profiles"},
		{"google_cloud_run_v2_job", "worker.tf", "google_cloud_run_v2_job.worker"},
	} {
		src, err := os.ReadFile(filepath.Join(moduleDir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range req[tc.typ] {
			t.Run(tc.typ+"/"+name, func(t *testing.T) {
				line := regexp.MustCompile(`(?m)^[ \t]*` + regexp.QuoteMeta(name) + `[ \t]*=.*$`).FindString(string(src))
				if line == "" {
					t.Fatalf("%s sets %s nowhere as NAME = value", tc.file, name)
				}
				checkBroken(t, brokenCopy(t, tc.file, line+"\n", ""), RuleRequiredEnv, tc.addr+" does not set "+name)
			})
		}
	}
}

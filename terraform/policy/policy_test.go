package policy

import (
	"io/fs"
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

// facts are the settings several workloads share, each of which must come
// from one variable (issue "One source per fact"). Every name is checked
// against shared/config below, so a fact cannot outlive the setting.
var facts = []Fact{
	{
		// Audio, its job and request records (Firestore TTL on expire_at,
		// which the functions and the worker set from this span) and
		// status's 410 all expire together.
		Env: "CHORUS_AUDIO_RETENTION", Variable: "audio_retention_days",
		SetBy:  []string{"google_cloudfunctions2_function", "google_cloud_run_v2_job"},
		Places: []Place{{"google_storage_bucket", "audio", []string{"lifecycle_rule", "condition", "age"}}},
	},
	{
		Env: "CHORUS_TRUSTED_PROXY_HOPS", Variable: "trusted_proxy_hops",
		SetBy: []string{"google_cloudfunctions2_function"},
	},
	{
		// The worker fails a job on the subscription's last delivery.
		Env: "CHORUS_MAX_ATTEMPTS", Variable: "max_delivery_attempts",
		SetBy:  []string{"google_cloud_run_v2_job"},
		Places: []Place{{"google_pubsub_subscription", "worker", []string{"dead_letter_policy", "max_delivery_attempts"}}},
	},
	{
		Env: "CHORUS_MAX_TEXT_CHARS", Variable: "max_text_chars",
		SetBy: []string{"google_cloudfunctions2_function", "google_cloud_run_v2_job", "google_cloud_run_v2_service"},
	},
	{
		// Every function reads it: the enqueue functions enforce it (and
		// derive the body limit from it), profiles tells the web app,
		// status lists a batch up to it.
		Env: "CHORUS_MAX_BATCH_ITEMS", Variable: "max_batch_items",
		SetBy: []string{"google_cloudfunctions2_function"},
	},
}

// TestFactsAreReadByTheCode keeps the facts honest: each environment
// variable is one the Go configuration of the functions or the worker
// reads (the web app's start script reads CHORUS_MAX_TEXT_CHARS too).
func TestFactsAreReadByTheCode(t *testing.T) {
	read := map[string]bool{}
	for _, cfg := range []any{config.Functions{}, config.Worker{}} {
		names, err := ConfigEnv(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			read[n] = true
		}
	}
	for _, f := range facts {
		if !read[f.Env] {
			t.Errorf("fact %s: shared/config reads no such variable", f.Env)
		}
	}
}

// Both root configurations follow the policy: the main one every rule, the
// bootstrap (APIs, registry, sources bucket, deployer) the rules about text
// (private buckets, no primitive roles, documented variables), having no
// workloads.
func TestRepositoryConfigurationFollowsPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		req       Requirements
		facts     []Fact
		// The rules must have had something to look at (functions and
		// their accounts are counted once per module instance).
		atLeast map[string]int
	}{
		{name: "main", dir: moduleDir, req: requirements(t), facts: facts, atLeast: map[string]int{
			"google_cloudfunctions2_function": 4,
			"google_cloud_run_v2_job":         1,
			"google_pubsub_subscription":      2,
			"google_storage_bucket":           2,
			"google_service_account":          8,
		}},
		{name: "bootstrap", dir: filepath.Join(moduleDir, "bootstrap"), atLeast: map[string]int{
			"google_storage_bucket":     1,
			"google_service_account":    1,
			"google_project_iam_member": 1,
			"google_project_service":    1,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range Check(m, tc.req, tc.facts...) {
				t.Error(v)
			}
			for typ, min := range tc.atLeast {
				if got := len(m.Instances(typ)); got < min {
					t.Errorf("found %d %s resources, want at least %d: is the parser reading the module?", got, typ, min)
				}
			}
		})
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
	// file (a path below terraform/, such as modules/http_function/main.tf)
	// is edited by replacing old with new (old must occur); an empty file
	// adds new as an extra file of the root module instead.
	file, old, new string
	// wantRule must be among the violations; wantText in one of its messages.
	wantRule, wantText string
}

// brokenCopy writes the configuration (the root module and the local
// modules under it) with one edit applied to a temporary directory.
func brokenCopy(t *testing.T, file, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	edited := false
	err := filepath.WalkDir(moduleDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(moduleDir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir // .terraform
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !strings.HasSuffix(p, ".tf") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.ToSlash(rel) == file {
			if !strings.Contains(string(src), old) {
				t.Fatalf("%s no longer contains %q: update the fixture", file, old)
			}
			src = []byte(strings.Replace(string(src), old, new, 1))
			edited = true
		}
		return os.WriteFile(filepath.Join(dir, rel), src, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if file == "" {
		if err := os.WriteFile(filepath.Join(dir, "zz_broken.tf"), []byte(new), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if !edited {
		t.Fatalf("no file %s in the configuration: update the fixture", file)
	}
	return dir
}

func checkBroken(t *testing.T, dir, wantRule, wantText string) {
	t.Helper()
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	violations := Check(m, requirements(t), facts...)
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
			name: "job shares the web app's account", file: "worker.tf",
			old:      "service_account = google_service_account.worker.email",
			new:      "service_account = google_service_account.web.email",
			wantRule: RuleDedicatedServiceAccount, wantText: "shares google_service_account.web",
		},
		{
			name: "job without account", file: "worker.tf",
			old:      "service_account = google_service_account.worker.email",
			new:      "",
			wantRule: RuleDedicatedServiceAccount, wantText: "default compute service account",
		},
		{
			name: "function runs as a hard-coded account", file: "modules/http_function/main.tf",
			old:      "service_account_email            = google_service_account.this.email",
			new:      `service_account_email            = "123-compute@developer.gserviceaccount.com"`,
			wantRule: RuleDedicatedServiceAccount, wantText: "module.profiles.google_cloudfunctions2_function.this must run as a google_service_account of its own module",
		},
		{
			name: "function runs as an account passed in", file: "modules/http_function/main.tf",
			old:      "service_account_email            = google_service_account.this.email",
			new:      "service_account_email            = var.build.service_account",
			wantRule: RuleDedicatedServiceAccount, wantText: "must run as a google_service_account of its own module",
		},
		{
			name: "two functions in the module share its account", file: "modules/http_function/main.tf",
			old: "# Public invoke, for a function the browser calls.",
			new: `resource "google_cloudfunctions2_function" "twin" {
  name     = "${var.prefix}-${var.name}-twin"
  location = var.region
  service_config {
    service_account_email = google_service_account.this.email
  }
}

# Public invoke, for a function the browser calls.`,
			wantRule: RuleDedicatedServiceAccount, wantText: "module.status.google_cloudfunctions2_function.twin shares module.status.google_service_account.this with module.status.google_cloudfunctions2_function.this",
		},
		{
			name: "module account with several instances", file: "modules/http_function/main.tf",
			old:      `resource "google_service_account" "this" {`,
			new:      "resource \"google_service_account\" \"this\" {\n  count = 2",
			wantRule: RuleDedicatedServiceAccount, wantText: "runs as module.batch.google_service_account.this, which has several instances",
		},
		{
			name: "two calls of one name", file: "functions.tf",
			old:      `name                = "batch"`,
			new:      `name                = "synthesize"`,
			wantRule: RuleDedicatedServiceAccount, wantText: `module.batch.google_service_account.this has the account id "${var.name_prefix}-synthesize" of module.synthesize.google_service_account.this`,
		},
		{
			name: "function named like the worker", file: "functions.tf",
			old:      `name                = "profiles"`,
			new:      `name                = "worker"`,
			wantRule: RuleDedicatedServiceAccount, wantText: `has the account id "${var.name_prefix}-worker"`,
		},
		{
			name: "module repeated with count", file: "functions.tf",
			old:      "module \"profiles\" {\n",
			new:      "module \"profiles\" {\n  count = 2\n",
			wantRule: RuleDedicatedServiceAccount, wantText: "module.profiles uses count",
		},
		{
			name: "module repeated with for_each under one name", file: "functions.tf",
			old:      "module \"profiles\" {\n",
			new:      "module \"profiles\" {\n  for_each = toset([\"a\", \"b\"])\n",
			wantRule: RuleDedicatedServiceAccount, wantText: `module.profiles["b"].google_service_account.this has the account id "${var.name_prefix}-profiles" of module.profiles["a"].google_service_account.this`,
		},
		{
			name: "module repeated with for_each over unknown keys", file: "functions.tf",
			old:      "module \"profiles\" {\n",
			new:      "module \"profiles\" {\n  for_each = var.function_settings\n",
			wantRule: RuleDedicatedServiceAccount, wantText: "module.profiles: the keys of its for_each cannot be read",
		},
		{
			name: "worker retention spelled out", file: "worker.tf",
			old:      "CHORUS_AUDIO_RETENTION = local.audio_retention",
			new:      `CHORUS_AUDIO_RETENTION = "168h"`,
			wantRule: RuleOneSource, wantText: "CHORUS_AUDIO_RETENTION comes from constants, not from var.audio_retention_days alone",
		},
		{
			name: "worker retention from another variable", file: "worker.tf",
			old:      "CHORUS_AUDIO_RETENTION = local.audio_retention",
			new:      `CHORUS_AUDIO_RETENTION = "${var.request_retention_seconds}s"`,
			wantRule: RuleOneSource, wantText: "CHORUS_AUDIO_RETENTION comes from var.request_retention_seconds, not from var.audio_retention_days alone",
		},
		{
			name: "worker without retention", file: "worker.tf",
			old:      "CHORUS_AUDIO_RETENTION = local.audio_retention\n",
			new:      "",
			wantRule: RuleOneSource, wantText: "google_cloud_run_v2_job.worker does not set CHORUS_AUDIO_RETENTION",
		},
		{
			name: "a function without the batch limit", file: "functions.tf",
			old:      "    CHORUS_MAX_BATCH_ITEMS = tostring(var.max_batch_items)\n",
			new:      "",
			wantRule: RuleOneSource, wantText: "does not set CHORUS_MAX_BATCH_ITEMS",
		},
		{
			name: "a function's own retention", file: "functions.tf",
			old:      "CHORUS_SIGNED_URL_TTL         = \"${var.signed_url_ttl_seconds}s\"",
			new:      "CHORUS_SIGNED_URL_TTL         = \"${var.signed_url_ttl_seconds}s\"\n    CHORUS_AUDIO_RETENTION = \"24h\"",
			wantRule: RuleOneSource, wantText: "CHORUS_AUDIO_RETENTION comes from constants",
		},
		{
			name: "bucket lifecycle from a constant", file: "storage.tf",
			old:      "age = var.audio_retention_days",
			new:      "age = 30",
			wantRule: RuleOneSource, wantText: "google_storage_bucket.audio.lifecycle_rule.condition.age comes from constants",
		},
		{
			name: "module sets the retention itself", file: "modules/http_function/main.tf",
			old:      "environment_variables = merge(var.environment, var.sign_as_itself ? {",
			new:      "environment_variables = merge(var.environment, { CHORUS_AUDIO_RETENTION = \"${var.settings.timeout_seconds}s\" }, var.sign_as_itself ? {",
			wantRule: RuleOneSource, wantText: "module.profiles.CHORUS_AUDIO_RETENTION comes from var.function_settings",
		},
		{
			name: "proxy hops left out", file: "functions.tf",
			old:      "CHORUS_TRUSTED_PROXY_HOPS = tostring(var.trusted_proxy_hops)\n",
			new:      "",
			wantRule: RuleOneSource, wantText: "module.status.google_cloudfunctions2_function.this does not set CHORUS_TRUSTED_PROXY_HOPS",
		},
		{
			name: "attempts out of step", file: "pubsub.tf",
			old:      "max_delivery_attempts = var.max_delivery_attempts",
			new:      "max_delivery_attempts = 5",
			wantRule: RuleOneSource, wantText: "google_pubsub_subscription.worker.dead_letter_policy.max_delivery_attempts comes from constants",
		},
		{
			name: "web text limit spelled out", file: "web.tf",
			old:      "value = tostring(var.max_text_chars)",
			new:      `value = "1000"`,
			wantRule: RuleOneSource, wantText: "CHORUS_MAX_TEXT_CHARS comes from constants",
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
			name: "primitive role in the function module", file: "modules/http_function/main.tf",
			old:      `"roles/iam.serviceAccountTokenCreator"`,
			new:      `"roles/editor"`,
			wantRule: RuleNoPrimitiveRole, wantText: "roles/editor",
		},
		{
			name: "undocumented module variable", file: "modules/http_function/variables.tf",
			old:      `description = "Region of the function."`,
			new:      "",
			wantRule: RuleDocumentedVariables, wantText: `"region" has no description`,
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
		{"google_cloudfunctions2_function", "functions.tf", "module.profiles.google_cloudfunctions2_function.this"},
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

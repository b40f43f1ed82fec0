// Package configenv lists the environment variables each Chorus workload
// reads, for Terraform's tests: the Go configuration's `env` tags
// (shared/config: config.Functions for the HTTP functions, config.Worker
// for the worker job) and the web container's start script. Its test writes
// them to terraform/tests/config_env.json and fails when that file is
// stale; terraform/tests/config_env.tftest.hcl asserts that Terraform sets
// every variable a workload requires, and sets or knowingly leaves at its
// default every variable it reads.
package configenv

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Workload is what one workload reads from its environment.
type Workload struct {
	// Required are the variables it refuses to start without.
	Required []string `json:"required"`
	// Read are all the variables it reads, the required ones included.
	Read []string `json:"read"`
}

// File is the content of terraform/tests/config_env.json.
type File struct {
	GeneratedBy string   `json:"generated_by"`
	Functions   Workload `json:"functions"`
	Worker      Workload `json:"worker"`
	Web         Workload `json:"web"`
}

// generatedBy says where the file comes from, in the file.
const generatedBy = "go test ./terraform/configenv -update (from shared/config's env tags and web/deploy/40-chorus-config.sh); do not edit"

// FromStruct reads a go-envconfig struct's tags (`env:"NAME, required"`):
// nested structs are followed with their `prefix=` option applied.
func FromStruct(cfg any) (Workload, error) {
	t := reflect.TypeOf(cfg)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return Workload{}, fmt.Errorf("configenv: need a struct, got %T", cfg)
	}
	var w Workload
	envTags(t, "", &w)
	slices.Sort(w.Required)
	slices.Sort(w.Read)
	w.Required = slices.Compact(w.Required)
	w.Read = slices.Compact(w.Read)
	return w, nil
}

var timeType = reflect.TypeFor[time.Time]()

func envTags(t reflect.Type, prefix string, w *Workload) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		name = strings.TrimSpace(name)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && ft.Kind() == reflect.Struct && ft != timeType {
			nested := prefix
			for _, o := range strings.Split(opts, ",") {
				if p, ok := strings.CutPrefix(strings.TrimSpace(o), "prefix="); ok {
					nested += p
				}
			}
			envTags(ft, nested, w)
			continue
		}
		if name == "" {
			continue
		}
		w.Read = append(w.Read, prefix+name)
		for _, o := range strings.Split(opts, ",") {
			if strings.TrimSpace(o) == "required" {
				w.Required = append(w.Required, prefix+name)
				break
			}
		}
	}
}

var (
	// A variable the web start script reads (CHORUS_WEB_ROOT and
	// CHORUS_NGINX_HEADERS are where it writes, set by the image, not by a
	// deployment).
	scriptVar = regexp.MustCompile(`\bCHORUS_[A-Z0-9_]+\b`)
	// `url NAME` is the script's check of a required URL.
	scriptRequired = regexp.MustCompile(`\burl (CHORUS_[A-Z0-9_]+)\b`)
)

// FromScript reads the CHORUS_ variables a start script uses outside its
// comments; the ones it passes to its `url` check are required.
func FromScript(script string) Workload {
	var w Workload
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, name := range scriptVar.FindAllString(line, -1) {
			if name != "CHORUS_WEB_ROOT" && name != "CHORUS_NGINX_HEADERS" {
				w.Read = append(w.Read, name)
			}
		}
		for _, m := range scriptRequired.FindAllStringSubmatch(line, -1) {
			w.Required = append(w.Required, m[1])
		}
	}
	slices.Sort(w.Required)
	slices.Sort(w.Read)
	w.Required = slices.Compact(w.Required)
	w.Read = slices.Compact(w.Read)
	return w
}

// Build makes the file's content from the functions' and the worker's
// configuration structs and the web start script.
func Build(functions, worker any, webScript string) ([]byte, error) {
	fn, err := FromStruct(functions)
	if err != nil {
		return nil, err
	}
	wk, err := FromStruct(worker)
	if err != nil {
		return nil, err
	}
	web := FromScript(webScript)
	for name, w := range map[string]Workload{"functions": fn, "worker": wk, "web": web} {
		if len(w.Read) == 0 || len(w.Required) == 0 {
			return nil, fmt.Errorf("configenv: %s reads %d variables and requires %d: are the tags or the script still there?", name, len(w.Read), len(w.Required))
		}
	}
	b, err := json.MarshalIndent(File{GeneratedBy: generatedBy, Functions: fn, Worker: wk, Web: web}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("configenv: %w", err)
	}
	return append(b, '\n'), nil
}

package policy

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// RequiredEnv returns the environment variables that a configuration
// struct marks required, read from its go-envconfig tags
// (`env:"NAME, required"`), so that the infrastructure rules follow the Go
// code instead of a copied list. Nested structs are followed, with their
// `prefix=` option applied.
func RequiredEnv(cfg any) ([]string, error) {
	return configEnv(cfg, true)
}

// ConfigEnv returns every environment variable a configuration struct
// reads (see RequiredEnv), required or not.
func ConfigEnv(cfg any) ([]string, error) {
	return configEnv(cfg, false)
}

func configEnv(cfg any, requiredOnly bool) ([]string, error) {
	t := reflect.TypeOf(cfg)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("policy: RequiredEnv needs a struct, got %T", cfg)
	}
	var out []string
	envTags(t, "", requiredOnly, &out)
	return out, nil
}

var timeType = reflect.TypeFor[time.Time]()

func envTags(t reflect.Type, prefix string, requiredOnly bool, out *[]string) {
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
			envTags(ft, nested, requiredOnly, out)
			continue
		}
		if name == "" {
			continue
		}
		required := false
		for _, o := range strings.Split(opts, ",") {
			if strings.TrimSpace(o) == "required" {
				required = true
				break
			}
		}
		if required || !requiredOnly {
			*out = append(*out, prefix+name)
		}
	}
}

package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Rule names, as they appear in violations.
const (
	RuleDedicatedServiceAccount = "dedicated-service-account"
	RuleDeadLetter              = "dead-letter"
	RulePrivateBucket           = "private-bucket"
	RuleNoPrimitiveRole         = "no-primitive-role"
	RuleDocumentedVariables     = "documented-variables"
	RuleRequiredEnv             = "required-env"
	RuleOneSource               = "one-source"
)

// Violation is one broken rule at one place of the configuration.
type Violation struct {
	Rule    string
	Range   hcl.Range
	Message string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: [%s] %s", v.Range, v.Rule, v.Message)
}

// Requirements lists, per resource type, the environment variables every
// resource of that type must set (the required variables of the Go
// configuration that the workload reads; see RequiredEnv).
type Requirements map[string][]string

// Check applies every rule and returns the violations, ordered by place.
// The rules about one module's text (dead letters, private buckets,
// primitive roles, documented variables) apply to m and to every local
// module it calls; the rules about workloads see the whole configuration.
func Check(m *Module, req Requirements, facts ...Fact) []Violation {
	var out []Violation
	out = append(out, DedicatedServiceAccounts(m)...)
	for _, mod := range m.Modules() {
		out = append(out, DeadLetters(mod)...)
		out = append(out, PrivateBuckets(mod)...)
		out = append(out, NoPrimitiveRoles(mod)...)
		out = append(out, DocumentedVariables(mod)...)
	}
	out = append(out, RequiredEnvSet(m, req)...)
	out = append(out, OneSource(m, facts)...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Range, out[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return dedupe(out)
}

// dedupe drops repeats (a rule reading a child module once per instance
// reports a fault of its text once per instance), keeping the order.
func dedupe(vs []Violation) []Violation {
	seen := map[string]bool{}
	out := vs[:0]
	for _, v := range vs {
		if k := v.String(); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

// workloads are the resource types that run Chorus code, and where each
// names its runtime service account.
var workloads = []struct {
	typ    string
	saPath []string
}{
	{"google_cloudfunctions2_function", []string{"service_config", "service_account_email"}},
	{"google_cloudfunctions_function", []string{"service_account_email"}},
	{"google_cloud_run_v2_job", []string{"template", "template", "service_account"}},
	{"google_cloud_run_v2_service", []string{"template", "service_account"}},
}

// DedicatedServiceAccounts requires every function, job and service to run
// as a google_service_account of its own module that no other workload
// uses, and every service account instance to have an account id of its
// own: a shared or default identity would hold the union of everyone's
// roles. A workload in a local module runs as that module instance's
// account; a module repeated with for_each gets one account per key, so its
// account id must follow the key (and the keys must be readable).
func DedicatedServiceAccounts(m *Module) []Violation {
	var out []Violation

	// Repeated module instances whose service accounts the text cannot
	// tell apart.
	for _, sc := range m.scopes() {
		if !declaresAccounts(sc.mod) {
			continue
		}
		switch sc.expansion {
		case "count":
			out = append(out, Violation{RuleDedicatedServiceAccount, sc.call.Range, fmt.Sprintf("%s uses count: its instances' service accounts cannot be told apart; use for_each, one key per instance", strings.TrimSuffix(sc.prefix, "[count.index]."))})
		case "for_each?":
			out = append(out, Violation{RuleDedicatedServiceAccount, sc.call.Range, fmt.Sprintf("%s: the keys of its for_each cannot be read from the text, so its instances' service accounts cannot be told apart", strings.TrimSuffix(sc.prefix, "[each.key]."))})
		}
	}

	// One account id per account.
	ids := map[string]string{}
	for _, sa := range m.Instances("google_service_account") {
		if sa.Body.Attributes["count"] != nil || sa.Body.Attributes["for_each"] != nil {
			continue // a workload running as it is reported below
		}
		a := sa.Body.Attributes["account_id"]
		if a == nil {
			out = append(out, Violation{RuleDedicatedServiceAccount, sa.Range, sa.Addr() + " sets no account_id"})
			continue
		}
		id := sa.scope.render(a.Expr)
		if prev, ok := ids[id]; ok {
			out = append(out, Violation{RuleDedicatedServiceAccount, a.SrcRange, fmt.Sprintf("%s has the account id %q of %s: they would be one account", sa.Addr(), id, prev)})
			continue
		}
		ids[id] = sa.Addr()
	}

	usedBy := map[string]string{}
	for _, w := range workloads {
		for _, r := range m.Instances(w.typ) {
			if _, ok := r.Body.Attributes["count"]; ok {
				out = append(out, Violation{RuleDedicatedServiceAccount, r.Range, r.Addr() + " uses count: its instances would share one service account"})
				continue
			}
			if _, ok := r.Body.Attributes["for_each"]; ok {
				out = append(out, Violation{RuleDedicatedServiceAccount, r.Range, r.Addr() + " uses for_each: its instances would share one service account"})
				continue
			}
			a := attr(r.Body, w.saPath...)
			if a == nil {
				out = append(out, Violation{RuleDedicatedServiceAccount, r.Range, fmt.Sprintf("%s sets no %s: it would run as the default compute service account", r.Addr(), strings.Join(w.saPath, "."))})
				continue
			}
			sa := resourceRef(a.Expr, "google_service_account")
			if sa == "" {
				out = append(out, Violation{RuleDedicatedServiceAccount, a.SrcRange, r.Addr() + " must run as a google_service_account of its own module (google_service_account.NAME.email)"})
				continue
			}
			saBlock := r.scope.mod.Resource("google_service_account", sa)
			saAddr := r.scope.prefix + "google_service_account." + sa
			switch {
			case saBlock == nil:
				out = append(out, Violation{RuleDedicatedServiceAccount, a.SrcRange, fmt.Sprintf("%s runs as %s, which is not declared", r.Addr(), saAddr)})
			case saBlock.Body.Attributes["count"] != nil || saBlock.Body.Attributes["for_each"] != nil:
				out = append(out, Violation{RuleDedicatedServiceAccount, a.SrcRange, fmt.Sprintf("%s runs as %s, which has several instances: declare one account per workload", r.Addr(), saAddr)})
			case usedBy[saAddr] != "":
				out = append(out, Violation{RuleDedicatedServiceAccount, a.SrcRange, fmt.Sprintf("%s shares %s with %s", r.Addr(), saAddr, usedBy[saAddr])})
			default:
				usedBy[saAddr] = r.Addr()
			}
		}
	}
	return out
}

// declaresAccounts reports whether mod, or a local module it calls,
// declares a service account.
func declaresAccounts(mod *Module) bool {
	for _, x := range mod.Modules() {
		if len(x.ResourcesOf("google_service_account")) > 0 {
			return true
		}
	}
	return false
}

// DeadLetters requires a dead-letter policy on every subscription, except
// on a subscription of a dead-letter topic (there is nowhere further to
// send a letter, and a loop would be worse). A dead-letter topic is one that
// some subscription's dead_letter_policy names. The policy must name
// another topic of this module and set max_delivery_attempts.
func DeadLetters(m *Module) []Violation {
	var out []Violation
	subs := m.ResourcesOf("google_pubsub_subscription")
	deadLetterTopics := map[string]bool{}
	for _, s := range subs {
		if a := attr(s.Body, "dead_letter_policy", "dead_letter_topic"); a != nil {
			if t := resourceRef(a.Expr, "google_pubsub_topic"); t != "" {
				deadLetterTopics[t] = true
			}
		}
	}
	for _, s := range subs {
		topicAttr := s.Body.Attributes["topic"]
		if topicAttr == nil {
			out = append(out, Violation{RuleDeadLetter, s.Range, s.Addr() + " names no topic"})
			continue
		}
		topic := resourceRef(topicAttr.Expr, "google_pubsub_topic")
		if topic == "" {
			out = append(out, Violation{RuleDeadLetter, topicAttr.SrcRange, s.Addr() + " must subscribe to a google_pubsub_topic of this module, so its dead-letter policy can be checked"})
			continue
		}
		dlp := block(s.Body, "dead_letter_policy")
		if dlp == nil {
			if !deadLetterTopics[topic] {
				out = append(out, Violation{RuleDeadLetter, s.Range, fmt.Sprintf("%s on google_pubsub_topic.%s has no dead_letter_policy: a message that always fails would be redelivered until it expires", s.Addr(), topic)})
			}
			continue
		}
		if deadLetterTopics[topic] {
			out = append(out, Violation{RuleDeadLetter, s.Range, fmt.Sprintf("%s subscribes to dead-letter topic google_pubsub_topic.%s and dead-letters again: letters would loop", s.Addr(), topic)})
		}
		if dlt := dlp.Attributes["dead_letter_topic"]; dlt == nil {
			out = append(out, Violation{RuleDeadLetter, s.Range, s.Addr() + ": dead_letter_policy has no dead_letter_topic"})
		} else if target := resourceRef(dlt.Expr, "google_pubsub_topic"); target == "" {
			out = append(out, Violation{RuleDeadLetter, dlt.SrcRange, s.Addr() + ": dead_letter_topic must be a google_pubsub_topic of this module"})
		} else if m.Resource("google_pubsub_topic", target) == nil {
			out = append(out, Violation{RuleDeadLetter, dlt.SrcRange, fmt.Sprintf("%s: dead_letter_topic google_pubsub_topic.%s is not declared", s.Addr(), target)})
		} else if target == topic {
			out = append(out, Violation{RuleDeadLetter, dlt.SrcRange, s.Addr() + ": dead_letter_topic is the subscription's own topic"})
		}
		if dlp.Attributes["max_delivery_attempts"] == nil {
			out = append(out, Violation{RuleDeadLetter, s.Range, s.Addr() + ": dead_letter_policy must set max_delivery_attempts explicitly"})
		}
	}
	return out
}

// aclResources grant access object by object or through legacy ACLs, which
// uniform bucket-level access forbids; none may appear.
var aclResources = []string{
	"google_storage_bucket_acl",
	"google_storage_bucket_access_control",
	"google_storage_default_object_acl",
	"google_storage_default_object_access_control",
	"google_storage_object_acl",
	"google_storage_object_access_control",
}

// publicMembers are the IAM principals that make a resource public.
var publicMembers = []string{"allUsers", "allAuthenticatedUsers"}

// PrivateBuckets requires every bucket to enforce public access prevention
// and uniform bucket-level access (literally, not through a variable), and
// forbids ACL resources and grants of bucket roles to allUsers or
// allAuthenticatedUsers.
func PrivateBuckets(m *Module) []Violation {
	var out []Violation
	for _, b := range m.ResourcesOf("google_storage_bucket") {
		if a := b.Body.Attributes["public_access_prevention"]; a == nil {
			out = append(out, Violation{RulePrivateBucket, b.Range, b.Addr() + ` must set public_access_prevention = "enforced"`})
		} else if v, ok := literalString(a.Expr); !ok || v != "enforced" {
			out = append(out, Violation{RulePrivateBucket, a.SrcRange, b.Addr() + `: public_access_prevention must be the literal "enforced"`})
		}
		if a := b.Body.Attributes["uniform_bucket_level_access"]; a == nil {
			out = append(out, Violation{RulePrivateBucket, b.Range, b.Addr() + " must set uniform_bucket_level_access = true"})
		} else if v, ok := literal(a.Expr); !ok || !v.True() {
			out = append(out, Violation{RulePrivateBucket, a.SrcRange, b.Addr() + ": uniform_bucket_level_access must be the literal true"})
		}
	}
	for _, r := range m.Resources {
		if slices.Contains(aclResources, r.Type) {
			out = append(out, Violation{RulePrivateBucket, r.Range, r.Addr() + ": storage ACLs are not used; grant bucket IAM roles to service accounts"})
			continue
		}
		if !strings.HasPrefix(r.Type, "google_storage_") || !strings.Contains(r.Type, "_iam_") {
			continue
		}
		for _, name := range []string{"member", "members", "policy_data"} {
			a := r.Body.Attributes[name]
			if a == nil {
				continue
			}
			_ = hclsyntax.VisitAll(a.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
				if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && !lit.Val.IsNull() {
					for _, p := range publicMembers {
						if strings.Contains(lit.Val.AsString(), p) {
							out = append(out, Violation{RulePrivateBucket, lit.SrcRange, fmt.Sprintf("%s grants a bucket role to %s", r.Addr(), p)})
						}
					}
				}
				return nil
			})
		}
	}
	return out
}

// primitiveRoles are the basic roles that grant (nearly) everything in a project.
var primitiveRoles = []string{"roles/owner", "roles/editor", "roles/viewer"}

// NoPrimitiveRoles forbids the basic roles anywhere in the configuration:
// in a role attribute, a for_each set of roles, a local or a default.
func NoPrimitiveRoles(m *Module) []Violation {
	var out []Violation
	m.stringLiterals(func(s string, rng hcl.Range) {
		if slices.Contains(primitiveRoles, strings.TrimSpace(s)) {
			out = append(out, Violation{RuleNoPrimitiveRole, rng, fmt.Sprintf("primitive role %s: grant a predefined role on the narrowest resource instead", s)})
		}
	})
	return out
}

// DocumentedVariables requires every var.NAME the module refers to to be
// declared, and every declared variable to have a type and a non-empty
// description (the only documentation an operator reads).
func DocumentedVariables(m *Module) []Violation {
	var out []Violation
	reported := map[string]bool{}
	m.walkExpressions(func(expr hclsyntax.Expression) {
		for _, t := range expr.Variables() {
			if t.RootName() != "var" || len(t) < 2 {
				continue
			}
			step, ok := t[1].(hcl.TraverseAttr)
			if !ok || m.Variables[step.Name] != nil || reported[step.Name] {
				continue
			}
			reported[step.Name] = true
			out = append(out, Violation{RuleDocumentedVariables, t.SourceRange(), fmt.Sprintf("var.%s is used but not declared", step.Name)})
		}
	})
	names := make([]string, 0, len(m.Variables))
	for name := range m.Variables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := m.Variables[name]
		if v.Body.Attributes["type"] == nil {
			out = append(out, Violation{RuleDocumentedVariables, v.Range, fmt.Sprintf("variable %q has no type", name)})
		}
		d := v.Body.Attributes["description"]
		if d == nil {
			out = append(out, Violation{RuleDocumentedVariables, v.Range, fmt.Sprintf("variable %q has no description", name)})
			continue
		}
		if s, ok := literalString(d.Expr); !ok || strings.TrimSpace(s) == "" {
			out = append(out, Violation{RuleDocumentedVariables, d.SrcRange, fmt.Sprintf("variable %q: description must be a non-empty string", name)})
		}
	}
	return out
}

// RequiredEnvSet requires every resource of each type in req (in the root
// module and in every instance of a local module) to set each of that
// type's variables, and at least one such resource to exist (a rule about
// functions passes trivially when the functions are gone).
func RequiredEnvSet(m *Module, req Requirements) []Violation {
	var out []Violation
	types := make([]string, 0, len(req))
	for typ := range req {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		instances := m.Instances(typ)
		if len(instances) == 0 {
			out = append(out, Violation{RuleRequiredEnv, hcl.Range{Filename: "(module)"}, fmt.Sprintf("no %s resource: expected the workloads that read %s", typ, strings.Join(req[typ], ", "))})
			continue
		}
		for _, r := range instances {
			set, err := r.scope.envNames(r.Block)
			if err != nil {
				out = append(out, Violation{RuleRequiredEnv, r.Range, err.Error()})
				continue
			}
			for _, name := range req[typ] {
				if !slices.Contains(set, name) {
					out = append(out, Violation{RuleRequiredEnv, r.Range, fmt.Sprintf("%s does not set %s, which its configuration requires", r.Addr(), name)})
				}
			}
		}
	}
	return out
}

// Fact is a setting that several places share and that must have one
// source: every environment variable named Env, wherever the configuration
// sets one, takes its value from the root variable Variable and from no
// other (directly, or through locals and module arguments); every workload
// of the types in SetBy sets it; and each of Places (attributes of root
// resources that carry the same setting) takes its value from Variable too.
type Fact struct {
	Env      string
	Variable string
	SetBy    []string
	Places   []Place
}

// Place is an attribute of a root resource: Path names nested blocks (the
// first of each type) and then the attribute.
type Place struct {
	Type, Name string
	Path       []string
}

// OneSource checks each fact (see Fact).
func OneSource(m *Module, facts []Fact) []Violation {
	var out []Violation
	for _, f := range facts {
		from := func(sc *scope, expr hclsyntax.Expression, what string) {
			vars := sc.rootVariables(expr)
			if len(vars) == 1 && vars[f.Variable] {
				return
			}
			names := make([]string, 0, len(vars))
			for v := range vars {
				names = append(names, "var."+v)
			}
			sort.Strings(names)
			got := "constants"
			if len(names) > 0 {
				got = strings.Join(names, ", ")
			}
			out = append(out, Violation{RuleOneSource, expr.Range(), fmt.Sprintf("%s%s comes from %s, not from var.%s alone: one setting, one variable", sc.prefix, what, got, f.Variable)})
		}
		// Wherever it is set.
		for _, sc := range m.scopes() {
			sc.mod.walkExpressions(func(expr hclsyntax.Expression) {
				_ = hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
					if obj, ok := n.(*hclsyntax.ObjectConsExpr); ok {
						for _, item := range obj.Items {
							if k, ok := objectKey(item.KeyExpr); ok && k == f.Env {
								from(sc, item.ValueExpr, f.Env)
							}
						}
					}
					return nil
				})
			})
			sc.mod.walkBlocks(func(b *hclsyntax.Block) {
				if b.Type != "env" {
					return
				}
				if name := b.Body.Attributes["name"]; name != nil {
					if s, ok := literalString(name.Expr); ok && s == f.Env {
						if v := b.Body.Attributes["value"]; v != nil {
							from(sc, v.Expr, f.Env)
						} else {
							out = append(out, Violation{RuleOneSource, b.DefRange(), fmt.Sprintf("env %s has no value: it must come from var.%s", f.Env, f.Variable)})
						}
					}
				}
			})
		}
		// On every workload that reads it.
		for _, typ := range f.SetBy {
			instances := m.Instances(typ)
			if len(instances) == 0 {
				out = append(out, Violation{RuleOneSource, hcl.Range{Filename: "(module)"}, fmt.Sprintf("no %s resource: expected the workloads that read %s", typ, f.Env)})
			}
			for _, r := range instances {
				set, err := r.scope.envNames(r.Block)
				if err == nil && !slices.Contains(set, f.Env) {
					out = append(out, Violation{RuleOneSource, r.Range, fmt.Sprintf("%s does not set %s (from var.%s)", r.Addr(), f.Env, f.Variable)})
				}
			}
		}
		// And wherever else the same setting lives.
		root := &scope{mod: m}
		for _, p := range f.Places {
			addr := p.Type + "." + p.Name + "." + strings.Join(p.Path, ".")
			r := m.Resource(p.Type, p.Name)
			if r == nil {
				out = append(out, Violation{RuleOneSource, hcl.Range{Filename: "(module)"}, fmt.Sprintf("no %s.%s: expected it to carry %s", p.Type, p.Name, f.Env)})
				continue
			}
			a := attr(r.Body, p.Path...)
			if a == nil {
				out = append(out, Violation{RuleOneSource, r.Range, fmt.Sprintf("%s is not set: it must come from var.%s", addr, f.Variable)})
				continue
			}
			from(root, a.Expr, addr)
		}
	}
	return out
}

// EnvNames returns the names of the environment variables a resource of
// the root module sets, as far as the text tells (see scope.objectKeys).
func (m *Module) EnvNames(r *Block) ([]string, error) {
	return (&scope{mod: m}).envNames(r)
}

// envNames returns the names of the environment variables workload r sets
// in sc, as far as the text tells.
func (sc *scope) envNames(r *Block) ([]string, error) {
	switch r.Type {
	case "google_cloudfunctions2_function":
		a := attr(r.Body, "service_config", "environment_variables")
		if a == nil {
			return nil, nil
		}
		keys, _ := sc.objectKeys(a.Expr)
		return keys, nil
	case "google_cloudfunctions_function":
		a := r.Body.Attributes["environment_variables"]
		if a == nil {
			return nil, nil
		}
		keys, _ := sc.objectKeys(a.Expr)
		return keys, nil
	case "google_cloud_run_v2_job":
		tmpl := block(r.Body, "template")
		if tmpl != nil {
			tmpl = block(tmpl, "template")
		}
		if tmpl == nil {
			return nil, nil
		}
		return sc.containerEnv(tmpl), nil
	case "google_cloud_run_v2_service":
		tmpl := block(r.Body, "template")
		if tmpl == nil {
			return nil, nil
		}
		return sc.containerEnv(tmpl), nil
	}
	return nil, fmt.Errorf("%s: cannot read environment variables of a %s", r.Addr(), r.Type)
}

// containerEnv collects env names from the containers of a Cloud Run
// template: static env blocks, and dynamic "env" blocks whose for_each is a
// map built in the text and whose content takes name from the key.
func (sc *scope) containerEnv(tmpl *hclsyntax.Body) []string {
	var names []string
	for _, c := range tmpl.Blocks {
		if c.Type != "containers" {
			continue
		}
		for _, b := range c.Body.Blocks {
			switch {
			case b.Type == "env":
				if a := b.Body.Attributes["name"]; a != nil {
					if s, ok := literalString(a.Expr); ok {
						names = append(names, s)
					}
				}
			case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "env":
				iterator := "env"
				if it := b.Body.Attributes["iterator"]; it != nil {
					iterator = hcl.ExprAsKeyword(it.Expr)
				}
				content := block(b.Body, "content")
				forEach := b.Body.Attributes["for_each"]
				if content == nil || forEach == nil || content.Attributes["name"] == nil {
					continue
				}
				root, attrs, ok := reference(content.Attributes["name"].Expr)
				if !ok || root != iterator || len(attrs) != 1 || attrs[0] != "key" {
					continue
				}
				keys, _ := sc.objectKeys(forEach.Expr)
				names = append(names, keys...)
			}
		}
	}
	return names
}

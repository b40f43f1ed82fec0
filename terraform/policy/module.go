// Package policy checks the project's rules on the Terraform configuration
// by reading the .tf files, without Terraform, a provider or the network.
// Local child modules (module blocks whose source is ./path) are read too,
// and a rule about workloads sees each resource of a child module once per
// module instance, as Terraform creates it.
//
// terraform validate and tflint know the provider schema and HCL style but
// not Chorus's rules: that every workload runs as its own service account,
// that the request queue dead-letters, that no bucket is public, that no
// primitive role is granted, that variables are documented, that every
// environment variable the Go configuration requires is set where that
// configuration is read, and that a setting several workloads share comes
// from one variable. Those rules live here, so that a change to the
// configuration (or to shared/config) that breaks one fails `go test`.
package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Module is the parsed content of one Terraform module directory.
type Module struct {
	// Dir is the directory the module was read from.
	Dir string
	// Resources and DataSources are every resource and data block, in file order.
	Resources   []*Block
	DataSources []*Block
	// Variables are the variable blocks, by name.
	Variables map[string]*Block
	// Locals are every local value, by name.
	Locals map[string]*hclsyntax.Attribute
	// Calls are the module blocks, in file order.
	Calls []*Call
	// bodies are the top-level bodies of every file, for whole-module walks.
	bodies []*hclsyntax.Body
}

// Call is a module block.
type Call struct {
	// Name is the block's label: the module is module.NAME.
	Name string
	// Source is the source argument as written.
	Source string
	Body   *hclsyntax.Body
	Range  hcl.Range
	// Child is the called module when Source is a local path ("./..."),
	// nil otherwise (a registry module is not read).
	Child *Module
}

// Block is a labelled top-level block: a resource, data source or variable.
type Block struct {
	// Type is the resource type ("google_storage_bucket"); empty for variables.
	Type string
	// Name is the block's name label.
	Name string
	Body *hclsyntax.Body
	// Range locates the block's header, for messages.
	Range hcl.Range
}

// Addr is the block's address as Terraform writes it.
func (b *Block) Addr() string {
	if b.Type == "" {
		return "var." + b.Name
	}
	return b.Type + "." + b.Name
}

// Load parses every .tf file of dir (not its subdirectories, as Terraform),
// and the local modules it calls.
func Load(dir string) (*Module, error) {
	return (&loader{modules: map[string]*Module{}}).load(dir, 0)
}

// loader reads each module directory once, however many calls name it.
type loader struct {
	modules map[string]*Module
}

// maxModuleDepth bounds nested local module calls (and a module calling itself).
const maxModuleDepth = 8

func (l *loader) load(dir string, depth int) (*Module, error) {
	dir = filepath.Clean(dir)
	if m, ok := l.modules[dir]; ok {
		return m, nil
	}
	if depth > maxModuleDepth {
		return nil, fmt.Errorf("policy: %s: local modules nested more than %d deep", dir, maxModuleDepth)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, fmt.Errorf("policy: list %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("policy: no .tf files in %s", dir)
	}
	sort.Strings(paths)
	m := &Module{Dir: dir, Variables: map[string]*Block{}, Locals: map[string]*hclsyntax.Attribute{}}
	l.modules[dir] = m
	var errs []error
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		f, diags := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
		if diags.HasErrors() {
			errs = append(errs, fmt.Errorf("policy: parse: %w", diags))
			continue
		}
		body := f.Body.(*hclsyntax.Body)
		m.bodies = append(m.bodies, body)
		for _, blk := range body.Blocks {
			switch {
			case blk.Type == "resource" && len(blk.Labels) == 2:
				m.Resources = append(m.Resources, &Block{Type: blk.Labels[0], Name: blk.Labels[1], Body: blk.Body, Range: blk.DefRange()})
			case blk.Type == "data" && len(blk.Labels) == 2:
				m.DataSources = append(m.DataSources, &Block{Type: blk.Labels[0], Name: blk.Labels[1], Body: blk.Body, Range: blk.DefRange()})
			case blk.Type == "variable" && len(blk.Labels) == 1:
				if prev, ok := m.Variables[blk.Labels[0]]; ok {
					errs = append(errs, fmt.Errorf("policy: %s: variable %q declared again (first at %s)", blk.DefRange(), blk.Labels[0], prev.Range))
				}
				m.Variables[blk.Labels[0]] = &Block{Name: blk.Labels[0], Body: blk.Body, Range: blk.DefRange()}
			case blk.Type == "locals":
				for name, attr := range blk.Body.Attributes {
					m.Locals[name] = attr
				}
			case blk.Type == "module" && len(blk.Labels) == 1:
				c := &Call{Name: blk.Labels[0], Body: blk.Body, Range: blk.DefRange()}
				if a := blk.Body.Attributes["source"]; a != nil {
					c.Source, _ = literalString(a.Expr)
				}
				if strings.HasPrefix(c.Source, "./") || strings.HasPrefix(c.Source, "../") {
					child, err := l.load(filepath.Join(dir, filepath.FromSlash(c.Source)), depth+1)
					if err != nil {
						errs = append(errs, fmt.Errorf("policy: %s: module %q: %w", blk.DefRange(), c.Name, err))
						continue
					}
					c.Child = child
				}
				m.Calls = append(m.Calls, c)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Modules returns m and every local module it calls, directly or not, each
// once, m first.
func (m *Module) Modules() []*Module {
	seen := map[*Module]bool{}
	var out []*Module
	var walk func(*Module)
	walk = func(x *Module) {
		if seen[x] {
			return
		}
		seen[x] = true
		out = append(out, x)
		for _, c := range x.Calls {
			if c.Child != nil {
				walk(c.Child)
			}
		}
	}
	walk(m)
	return out
}

// ResourcesOf returns the resources of one type.
func (m *Module) ResourcesOf(typ string) []*Block {
	var out []*Block
	for _, r := range m.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Resource returns the resource typ.name, or nil.
func (m *Module) Resource(typ, name string) *Block {
	for _, r := range m.Resources {
		if r.Type == typ && r.Name == name {
			return r
		}
	}
	return nil
}

// attr finds the attribute at path inside body: every element but the
// last names a nested block (the first of that type; dynamic blocks are
// not followed), the last names the attribute.
func attr(body *hclsyntax.Body, path ...string) *hclsyntax.Attribute {
	for _, name := range path[:len(path)-1] {
		body = block(body, name)
		if body == nil {
			return nil
		}
	}
	return body.Attributes[path[len(path)-1]]
}

// block returns the body of the first nested block of type name, or nil.
func block(body *hclsyntax.Body, name string) *hclsyntax.Body {
	for _, b := range body.Blocks {
		if b.Type == name {
			return b.Body
		}
	}
	return nil
}

// literal returns the value of expr when it is a constant (no references,
// no function calls), and whether it was one.
func literal(expr hclsyntax.Expression) (cty.Value, bool) {
	if len(expr.Variables()) > 0 || hasCall(expr) {
		return cty.NilVal, false
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// literalString is literal for a string value.
func literalString(expr hclsyntax.Expression) (string, bool) {
	v, ok := literal(expr)
	if !ok || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func hasCall(expr hclsyntax.Expression) bool {
	found := false
	_ = hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if _, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			found = true
		}
		return nil
	})
	return found
}

// reference describes expr when it is a plain reference such as
// google_service_account.status.email or local.functions: the root name
// and the attribute names after it (index steps are skipped).
func reference(expr hclsyntax.Expression) (root string, attrs []string, ok bool) {
	st, isTraversal := expr.(*hclsyntax.ScopeTraversalExpr)
	if !isTraversal {
		return "", nil, false
	}
	for _, step := range st.Traversal {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			root = s.Name
		case hcl.TraverseAttr:
			attrs = append(attrs, s.Name)
		}
	}
	return root, attrs, true
}

// resourceRef reports which resource of type typ expr refers to
// (typ.NAME.anything), or "".
func resourceRef(expr hclsyntax.Expression, typ string) string {
	root, attrs, ok := reference(expr)
	if !ok || root != typ || len(attrs) == 0 {
		return ""
	}
	return attrs[0]
}

// objectKey reads an object constructor key: a bare word or a constant string.
func objectKey(expr hclsyntax.Expression) (string, bool) {
	if k, ok := expr.(*hclsyntax.ObjectConsKeyExpr); ok {
		if word := hcl.ExprAsKeyword(k.Wrapped); word != "" && !k.ForceNonLiteral {
			return word, true
		}
		return literalString(k.Wrapped)
	}
	return literalString(expr)
}

// walkExpressions calls fn for every expression of the module, nested
// blocks included.
func (m *Module) walkExpressions(fn func(hclsyntax.Expression)) {
	var walkBody func(*hclsyntax.Body)
	walkBody = func(b *hclsyntax.Body) {
		names := make([]string, 0, len(b.Attributes))
		for name := range b.Attributes {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			fn(b.Attributes[name].Expr)
		}
		for _, nested := range b.Blocks {
			walkBody(nested.Body)
		}
	}
	for _, b := range m.bodies {
		walkBody(b)
	}
}

// walkBlocks calls fn for every nested block of the module (not the
// top-level resource, variable and other blocks themselves).
func (m *Module) walkBlocks(fn func(*hclsyntax.Block)) {
	var walkBody func(*hclsyntax.Body)
	walkBody = func(b *hclsyntax.Body) {
		for _, nested := range b.Blocks {
			fn(nested)
			walkBody(nested.Body)
		}
	}
	for _, b := range m.bodies {
		for _, top := range b.Blocks {
			walkBody(top.Body)
		}
	}
}

// stringLiterals calls fn for every constant piece of text in the module:
// quoted strings and the literal parts of templates.
func (m *Module) stringLiterals(fn func(s string, rng hcl.Range)) {
	m.walkExpressions(func(expr hclsyntax.Expression) {
		_ = hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
			if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && !lit.Val.IsNull() {
				fn(lit.Val.AsString(), lit.SrcRange)
			}
			if tmpl, ok := n.(*hclsyntax.TemplateExpr); ok && len(tmpl.Parts) > 1 {
				// A template split into parts can spell a value across them
				// ("roles/${"owner"}"); constant-fold what can be folded.
				if v, ok := literalString(tmpl); ok {
					fn(v, tmpl.SrcRange)
				}
			}
			return nil
		})
	})
}

// Package policy checks the project's rules on the Terraform configuration
// by reading the .tf files, without Terraform, a provider or the network.
//
// terraform validate and tflint know the provider schema and HCL style but
// not Chorus's rules: that every workload runs as its own service account,
// that the request queue dead-letters, that no bucket is public, that no
// primitive role is granted, that variables are documented, and that every
// environment variable the Go configuration requires is set where that
// configuration is read. Those rules live here, so that a change to the
// configuration (or to shared/config) that breaks one fails `go test`.
package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Module is the parsed content of one Terraform module directory.
type Module struct {
	// Resources and DataSources are every resource and data block, in file order.
	Resources   []*Block
	DataSources []*Block
	// Variables are the variable blocks, by name.
	Variables map[string]*Block
	// Locals are every local value, by name.
	Locals map[string]*hclsyntax.Attribute
	// bodies are the top-level bodies of every file, for whole-module walks.
	bodies []*hclsyntax.Body
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

// Load parses every .tf file of dir (not its subdirectories, as Terraform).
func Load(dir string) (*Module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, fmt.Errorf("policy: list %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("policy: no .tf files in %s", dir)
	}
	sort.Strings(paths)
	m := &Module{Variables: map[string]*Block{}, Locals: map[string]*hclsyntax.Attribute{}}
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
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
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

// objectKeys returns the keys an expression building a map of strings is
// known to produce: object literals, merge() of such, and local values
// holding them. Keys that come from variables or other functions cannot be
// known from the text and are left out, so a rule that requires keys never
// counts them as present.
func (m *Module) objectKeys(expr hclsyntax.Expression) []string {
	return m.objectKeysDepth(expr, 0)
}

func (m *Module) objectKeysDepth(expr hclsyntax.Expression, depth int) []string {
	if depth > 16 { // a local referring to itself; Terraform rejects that anyway
		return nil
	}
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		var keys []string
		for _, item := range e.Items {
			if k, ok := objectKey(item.KeyExpr); ok {
				keys = append(keys, k)
			}
		}
		return keys
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			return nil
		}
		var keys []string
		for _, arg := range e.Args {
			keys = append(keys, m.objectKeysDepth(arg, depth+1)...)
		}
		return keys
	case *hclsyntax.ScopeTraversalExpr:
		root, attrs, _ := reference(e)
		if root != "local" || len(attrs) != 1 {
			return nil
		}
		if l, ok := m.Locals[attrs[0]]; ok {
			return m.objectKeysDepth(l.Expr, depth+1)
		}
	case *hclsyntax.ParenthesesExpr:
		return m.objectKeysDepth(e.Expression, depth+1)
	}
	return nil
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

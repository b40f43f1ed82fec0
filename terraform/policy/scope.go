package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// scope is one instance of a module as Terraform expands it: the root, or
// a local child module reached through a module call (one scope per key of
// a call's for_each). Expressions of the module are read in it: var.NAME is
// the call's argument NAME, read in the caller's scope.
type scope struct {
	mod    *Module
	call   *Call  // nil at the root
	parent *scope // nil at the root
	// prefix is the address prefix of the module instance:
	// "module.a." or `module.a["k"].`, "" at the root.
	prefix string
	// key is the for_each key of this instance (each.key), when hasKey.
	key    string
	hasKey bool
	// expansion says how the call repeats the module: "", "count",
	// "for_each", or "for_each?" when its keys cannot be read from the text.
	expansion string
}

// maxResolveDepth bounds the locals, arguments and defaults followed to
// read one expression (a local referring to itself; Terraform rejects that).
const maxResolveDepth = 32

// scopes returns the root scope and the scope of every instance of every
// local module below it, parents before children.
func (m *Module) scopes() []*scope {
	root := &scope{mod: m}
	out := []*scope{root}
	var expand func(sc *scope, depth int)
	expand = func(sc *scope, depth int) {
		if depth > maxModuleDepth {
			return
		}
		for _, c := range sc.mod.Calls {
			if c.Child == nil {
				continue
			}
			base := sc.prefix + "module." + c.Name
			var children []*scope
			switch {
			case c.Body.Attributes["for_each"] != nil:
				keys, ok := sc.setKeys(c.Body.Attributes["for_each"].Expr)
				if !ok {
					children = append(children, &scope{mod: c.Child, call: c, parent: sc, prefix: base + "[each.key].", key: "${each.key}", hasKey: true, expansion: "for_each?"})
					break
				}
				for _, k := range keys {
					children = append(children, &scope{mod: c.Child, call: c, parent: sc, prefix: fmt.Sprintf("%s[%q].", base, k), key: k, hasKey: true, expansion: "for_each"})
				}
			case c.Body.Attributes["count"] != nil:
				children = append(children, &scope{mod: c.Child, call: c, parent: sc, prefix: base + "[count.index].", expansion: "count"})
			default:
				children = append(children, &scope{mod: c.Child, call: c, parent: sc, prefix: base + "."})
			}
			for _, child := range children {
				out = append(out, child)
				expand(child, depth+1)
			}
		}
	}
	expand(root, 0)
	return out
}

// Instance is one resource of the configuration as Terraform creates it: a
// resource of the root module, or of one instance of a local module.
type Instance struct {
	*Block
	scope *scope
}

// Addr is the instance's address, module path included
// (module.status.google_cloudfunctions2_function.this).
func (i *Instance) Addr() string { return i.scope.prefix + i.Block.Addr() }

// Instances returns every resource of type typ in the root module and in
// every instance of the local modules it calls.
func (m *Module) Instances(typ string) []*Instance {
	var out []*Instance
	for _, sc := range m.scopes() {
		for _, r := range sc.mod.ResourcesOf(typ) {
			out = append(out, &Instance{Block: r, scope: sc})
		}
	}
	return out
}

// argument returns the expression a child module's var.name takes in sc
// (the call's argument, else the variable's default) and the scope to read
// it in, or nil at the root or when neither is set.
func (sc *scope) argument(name string) (hclsyntax.Expression, *scope) {
	if sc.call == nil {
		return nil, nil
	}
	if a := sc.call.Body.Attributes[name]; a != nil {
		// An argument is read in the caller's module, but its each.key
		// is this instance's key.
		in := *sc.parent
		in.key, in.hasKey = sc.key, sc.hasKey
		return a.Expr, &in
	}
	if v := sc.mod.Variables[name]; v != nil {
		if d := v.Body.Attributes["default"]; d != nil {
			return d.Expr, sc
		}
	}
	return nil, nil
}

// traversalName returns the second step of a traversal (var.NAME,
// local.NAME, each.key), or "".
func traversalName(t hcl.Traversal) string {
	if len(t) < 2 {
		return ""
	}
	if a, ok := t[1].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

// rootVariables returns the variables of the root module that expr's value
// is computed from, following locals and module arguments. References to
// resources, data sources and module outputs add nothing.
func (sc *scope) rootVariables(expr hclsyntax.Expression) map[string]bool {
	out := map[string]bool{}
	sc.collectRootVariables(expr, out, 0)
	return out
}

func (sc *scope) collectRootVariables(expr hclsyntax.Expression, out map[string]bool, depth int) {
	if depth > maxResolveDepth {
		return
	}
	for _, t := range expr.Variables() {
		name := traversalName(t)
		switch t.RootName() {
		case "var":
			if sc.call == nil {
				if name != "" {
					out[name] = true
				}
				continue
			}
			if arg, in := sc.argument(name); arg != nil {
				in.collectRootVariables(arg, out, depth+1)
			}
		case "local":
			if l := sc.mod.Locals[name]; l != nil {
				sc.collectRootVariables(l.Expr, out, depth+1)
			}
		}
	}
}

// render spells the value expr takes in sc as text, for comparing names
// (service account ids): constants as they are, var and local references
// and each.key followed to where they are set, and anything else as a
// placeholder that names it (${var.name_prefix}, ${expression at FILE:LINE}).
// Two names that render alike are the same name.
func (sc *scope) render(expr hclsyntax.Expression) string {
	return sc.renderDepth(expr, 0)
}

func (sc *scope) renderDepth(expr hclsyntax.Expression, depth int) string {
	opaque := fmt.Sprintf("${expression at %s}", expr.Range())
	if depth > maxResolveDepth {
		return opaque
	}
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		if e.Val.IsNull() || !e.Val.IsKnown() {
			return opaque
		}
		switch e.Val.Type() {
		case cty.String:
			return e.Val.AsString()
		case cty.Number:
			return e.Val.AsBigFloat().Text('f', -1)
		case cty.Bool:
			return fmt.Sprint(e.Val.True())
		}
	case *hclsyntax.TemplateExpr:
		var b strings.Builder
		for _, p := range e.Parts {
			b.WriteString(sc.renderDepth(p, depth+1))
		}
		return b.String()
	case *hclsyntax.TemplateWrapExpr:
		return sc.renderDepth(e.Wrapped, depth+1)
	case *hclsyntax.ParenthesesExpr:
		return sc.renderDepth(e.Expression, depth+1)
	case *hclsyntax.ScopeTraversalExpr:
		t := e.Traversal
		if len(t) != 2 {
			break
		}
		name := traversalName(t)
		switch t.RootName() {
		case "var":
			if sc.call == nil {
				return "${var." + name + "}"
			}
			if arg, in := sc.argument(name); arg != nil {
				return in.renderDepth(arg, depth+1)
			}
		case "local":
			if l := sc.mod.Locals[name]; l != nil {
				return sc.renderDepth(l.Expr, depth+1)
			}
		case "each":
			if name == "key" && sc.hasKey {
				return sc.key
			}
		}
	}
	return opaque
}

// setKeys returns the keys a for_each expression iterates over when the
// text tells them: an object or map literal (through locals), or toset()
// of a list of constant strings.
func (sc *scope) setKeys(expr hclsyntax.Expression) ([]string, bool) {
	if call, ok := expr.(*hclsyntax.FunctionCallExpr); ok && call.Name == "toset" && len(call.Args) == 1 {
		tuple, ok := call.Args[0].(*hclsyntax.TupleConsExpr)
		if !ok {
			return nil, false
		}
		var keys []string
		for _, el := range tuple.Exprs {
			k, ok := literalString(el)
			if !ok {
				return nil, false
			}
			keys = append(keys, k)
		}
		return keys, true
	}
	keys, complete := sc.objectKeys(expr)
	if !complete {
		return nil, false
	}
	sort.Strings(keys)
	return keys, true
}

// objectKeys returns the keys an expression building a map of strings is
// known to produce: object literals, merge() of such, and locals and module
// arguments holding them; complete is false when some keys could not be
// known (they come from variables or other functions). A rule that requires
// keys never counts an unknown one as present. Of a conditional, only the
// keys both branches produce are known.
func (sc *scope) objectKeys(expr hclsyntax.Expression) (keys []string, complete bool) {
	return sc.objectKeysDepth(expr, 0)
}

func (sc *scope) objectKeysDepth(expr hclsyntax.Expression, depth int) ([]string, bool) {
	if depth > maxResolveDepth {
		return nil, false
	}
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		var keys []string
		complete := true
		for _, item := range e.Items {
			if k, ok := objectKey(item.KeyExpr); ok {
				keys = append(keys, k)
			} else {
				complete = false
			}
		}
		return keys, complete
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			return nil, false
		}
		var keys []string
		complete := true
		for _, arg := range e.Args {
			k, c := sc.objectKeysDepth(arg, depth+1)
			keys = append(keys, k...)
			complete = complete && c
		}
		return keys, complete
	case *hclsyntax.ConditionalExpr:
		a, ca := sc.objectKeysDepth(e.TrueResult, depth+1)
		b, cb := sc.objectKeysDepth(e.FalseResult, depth+1)
		var both []string
		for _, k := range a {
			for _, j := range b {
				if k == j {
					both = append(both, k)
					break
				}
			}
		}
		return both, ca && cb && len(a) == len(both) && len(b) == len(both)
	case *hclsyntax.ScopeTraversalExpr:
		if len(e.Traversal) != 2 {
			return nil, false
		}
		name := traversalName(e.Traversal)
		switch e.Traversal.RootName() {
		case "local":
			if l := sc.mod.Locals[name]; l != nil {
				return sc.objectKeysDepth(l.Expr, depth+1)
			}
		case "var":
			if arg, in := sc.argument(name); arg != nil {
				return in.objectKeysDepth(arg, depth+1)
			}
		}
	case *hclsyntax.ParenthesesExpr:
		return sc.objectKeysDepth(e.Expression, depth+1)
	}
	return nil, false
}

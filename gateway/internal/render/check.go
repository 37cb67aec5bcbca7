package render

import (
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode"

	"github.com/triggergate/triggergate/sdk"
)

// The static checks walk a part's parse trees and refuse field chains
// that no data can satisfy: a first field that is not one of view's, or a
// field a struct type (sdk.Profile, sdk.Event, sdk.Stats, time.Time, a
// string) does not have. They stop at maps and interfaces, whose keys only
// the data knows, and at any dot they cannot type: inside with and range,
// and in templates defined with define or block, which may be called with
// anything. $ is the root in a part's main template.

var viewType = reflect.TypeFor[view]()

func checkText(name, part, src string, t *texttemplate.Template) []error {
	var errs []error
	for _, tt := range t.Templates() {
		errs = append(errs, checkTree(name, part, src, tt.Tree, tt.Name() == part)...)
	}
	return errs
}

func checkHTML(name, src string, t *htmltemplate.Template) []error {
	var errs []error
	for _, tt := range t.Templates() {
		errs = append(errs, checkTree(name, "html", src, tt.Tree, tt.Name() == "html")...)
	}
	return errs
}

// checker walks one parse tree.
type checker struct {
	name, part, src string
	// root is the type of $, nil when unknown.
	root reflect.Type
	errs []error
}

func checkTree(name, part, src string, tree *parse.Tree, main bool) []error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	c := &checker{name: name, part: part, src: src}
	var dot reflect.Type
	if main {
		dot = viewType
		if !redeclaresRoot(tree.Root) {
			c.root = viewType
		}
	}
	c.list(tree.Root, dot)
	return c.errs
}

// redeclaresRoot reports whether the tree assigns to $, after which $ is
// no longer the root.
func redeclaresRoot(n parse.Node) bool {
	found := false
	walkPipes(n, func(p *parse.PipeNode) {
		for _, v := range p.Decl {
			if len(v.Ident) == 1 && v.Ident[0] == "$" {
				found = true
			}
		}
	})
	return found
}

func walkPipes(n parse.Node, f func(*parse.PipeNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, m := range n.Nodes {
				walkPipes(m, f)
			}
		}
	case *parse.ActionNode:
		walkPipes(n.Pipe, f)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, f)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, f)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, f)
	case *parse.TemplateNode:
		walkPipes(n.Pipe, f)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		f(n)
		for _, cmd := range n.Cmds {
			for _, a := range cmd.Args {
				walkPipes(a, f)
			}
		}
	case *parse.ChainNode:
		walkPipes(n.Node, f)
	}
}

func walkBranch(b *parse.BranchNode, f func(*parse.PipeNode)) {
	walkPipes(b.Pipe, f)
	walkPipes(b.List, f)
	walkPipes(b.ElseList, f)
}

func (c *checker) list(l *parse.ListNode, dot reflect.Type) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(n, dot)
	}
}

func (c *checker) node(n parse.Node, dot reflect.Type) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(n.Pipe, dot)
	case *parse.IfNode:
		c.pipe(n.Pipe, dot)
		c.list(n.List, dot)
		c.list(n.ElseList, dot)
	case *parse.RangeNode:
		// Inside, dot is an element of whatever is ranged over.
		c.pipe(n.Pipe, dot)
		c.list(n.List, nil)
		c.list(n.ElseList, dot)
	case *parse.WithNode:
		c.pipe(n.Pipe, dot)
		c.list(n.List, nil)
		c.list(n.ElseList, dot)
	case *parse.TemplateNode:
		c.pipe(n.Pipe, dot)
	}
}

func (c *checker) pipe(p *parse.PipeNode, dot reflect.Type) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for _, a := range cmd.Args {
			c.arg(a, dot)
		}
	}
}

func (c *checker) arg(n parse.Node, dot reflect.Type) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if dot != nil {
			c.chain(n.Position(), "", dot, n.Ident)
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && c.root != nil && len(n.Ident) > 1 {
			c.chain(n.Position(), "$", c.root, n.Ident[1:])
		}
	case *parse.ChainNode:
		// (pipeline).Field: the pipeline is checked, its result's type
		// is not worked out.
		c.arg(n.Node, dot)
	case *parse.PipeNode:
		c.pipe(n, dot)
	}
}

// chain checks the field names idents, read from a value of type t that
// is written prefix ("" for dot, "$").
func (c *checker) chain(pos parse.Pos, prefix string, t reflect.Type, idents []string) {
	written := prefix
	for i, id := range idents {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Map || t.Kind() == reflect.Interface {
			return // keys are known only when rendering
		}
		next := written + "." + id
		if t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(id); ok && f.IsExported() {
				t, written = f.Type, next
				continue
			}
		}
		if m, ok := reflect.PointerTo(t).MethodByName(id); ok {
			if i == len(idents)-1 {
				return // the arguments follow
			}
			if m.Type.NumIn() != 1 || m.Type.NumOut() == 0 {
				return // wrong at run time, but not what this check is for
			}
			t, written = m.Type.Out(0), next
			continue
		}
		c.fail(pos, c.explain(written, next, t, id))
		return
	}
}

func (c *checker) fail(pos parse.Pos, msg string) {
	line := 1 + strings.Count(c.src[:min(int(pos), len(c.src))], "\n")
	c.errs = append(c.errs, fmt.Errorf("template %q %s: line %d: %s", c.name, c.part, line, msg))
}

// explain says why field id of a value of type t, written as owner, does
// not exist, and what to write instead.
func (c *checker) explain(owner, full string, t reflect.Type, id string) string {
	if t == viewType {
		return fmt.Sprintf("%s is not a field; templates see %s", full, "."+strings.Join(fieldList(t), ", ."))
	}
	if t == reflect.TypeFor[time.Time]() {
		return fmt.Sprintf("%s is not a method of time.Time; to print %s write %s.Format \"2006-01-02\" or date \"2006-01-02\" %s",
			full, owner, owner, owner)
	}
	if t.Kind() != reflect.Struct {
		return fmt.Sprintf("%s is not a field: %s is a %s, which has no fields", full, owner, t.Kind())
	}
	fields := fieldList(t)
	msg := fmt.Sprintf("%s is not a field; %s has %s", full, owner, strings.Join(fields, ", "))
	if near := nearest(id, fields); near != "" {
		return msg + "; did you mean " + owner + "." + near + "?"
	}
	switch t {
	case reflect.TypeFor[sdk.Profile]():
		return msg + "; a trait is " + owner + ".Traits." + snake(id)
	case reflect.TypeFor[sdk.Event]():
		return msg + "; an event property is " + owner + ".Properties." + snake(id)
	case reflect.TypeFor[sdk.Customer]():
		if _, ok := reflect.TypeFor[sdk.Profile]().FieldByName(id); ok {
			return msg + "; the profile has it: .Customer." + id
		}
	}
	return msg
}

// fieldList lists a struct's exported fields' names, promoted ones
// included and embedded ones left out.
func fieldList(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() && !f.Anonymous {
			out = append(out, f.Name)
		}
	}
	return out
}

// nearest returns the one of names that id is most likely a misspelling
// of, or "".
func nearest(id string, names []string) string {
	best, bestD := "", 3
	for _, name := range names {
		if strings.EqualFold(name, id) {
			return name
		}
		if d := distance(strings.ToLower(name), strings.ToLower(id)); d < bestD && d <= len(name)/2 {
			best, bestD = name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// snake turns a Go-style name into the snake_case keys data usually has:
// FirstName → first_name, OrderID → order_id.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

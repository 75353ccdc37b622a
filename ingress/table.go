// Package ingress decides the requests a reverse proxy (nginx auth_request, the ingress
// auth-url) asks Gatehouse about (C3): the route table that maps an original request
// (method and path) to a check (resource and permission), the path normalization that
// refuses traversal and encoding tricks, and the bounded decision cache of the hot path.
// The decision itself is authz's (authz.Authorizer.Ingress); the HTTP route is api's.
//
// A route table is YAML:
//
//	routes:
//	  - match: "GET /repos/{org}/{repo}/**"
//	    resource: "repo:{org}/{repo}"
//	    permission: read
//
// {name} matches one path segment, ** (last only) the rest, zero or more segments.
// Literal segments match exactly (case-sensitive). The segments a route names (literals
// and placeholders) must be written without percent escapes; under ** they are decoded. Two routes of
// one method may not both match a path, so the order of routes never matters. Every
// mistake is refused at load, naming the file and the line.
package ingress

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// Limits of a route table.
const (
	MaxTableBytes = 1 << 20
	MaxRoutes     = 10_000
)

// Methods a route may match.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// Table is a loaded, validated route table. It is immutable and safe for concurrent use.
type Table struct {
	Source string
	routes map[string][]*Route // by method
	n      int
}

// Route is one entry of a table.
type Route struct {
	Method, Pattern, Resource, Permission string
	Line                                  int // of the route's match key
	segs                                  []segment
	resType                               string
	resID                                 []segment // literal parts and placeholders
}

type segKind int

const (
	segLiteral segKind = iota
	segParam
	segRest // **
)

type segment struct {
	kind segKind
	text string // literal text or placeholder name
}

// Len is the number of routes.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// LineError is a mistake in a table, at a line of its file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Load reads and validates the route table at path.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator names the file
	if err != nil {
		return nil, fmt.Errorf("ingress routes: %w", err)
	}
	return Parse(path, b)
}

// Parse validates a route table; name is the file name errors give.
func Parse(name string, data []byte) (*Table, error) {
	if len(data) > MaxTableBytes {
		return nil, &LineError{File: name, Line: 1, Msg: fmt.Sprintf("the table exceeds %d bytes", MaxTableBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &LineError{File: name, Line: max(doc.Line, 1), Msg: "the table must be a mapping with a routes: list"}
	}
	top := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Value != "routes" || list != nil {
			return nil, &LineError{File: name, Line: k.Line, Msg: fmt.Sprintf("unexpected key %q (the table has one key, routes)", k.Value)}
		}
		list = v
	}
	if list == nil {
		return nil, &LineError{File: name, Line: top.Line, Msg: "no routes: key"}
	}
	if list.Kind != yaml.SequenceNode {
		return nil, &LineError{File: name, Line: list.Line, Msg: "routes must be a list"}
	}
	if len(list.Content) > MaxRoutes {
		return nil, &LineError{File: name, Line: list.Line, Msg: fmt.Sprintf("more than %d routes", MaxRoutes)}
	}
	t := &Table{Source: name, routes: map[string][]*Route{}}
	for _, item := range list.Content {
		r, err := parseRoute(item)
		if err != nil {
			return nil, &LineError{File: name, Line: err.line, Msg: err.msg}
		}
		for _, other := range t.routes[r.Method] {
			if overlap(r.segs, other.segs) {
				return nil, &LineError{File: name, Line: r.Line, Msg: fmt.Sprintf("%s %s overlaps %s %s (line %d): some path would match both",
					r.Method, r.Pattern, other.Method, other.Pattern, other.Line)}
			}
		}
		t.routes[r.Method] = append(t.routes[r.Method], r)
		t.n++
	}
	return t, nil
}

type routeErr struct {
	line int
	msg  string
}

func rerr(line int, format string, args ...any) *routeErr {
	return &routeErr{line: line, msg: fmt.Sprintf(format, args...)}
}

// parseRoute reads and checks one route mapping.
func parseRoute(n *yaml.Node) (*Route, *routeErr) {
	if n.Kind != yaml.MappingNode {
		return nil, rerr(n.Line, "a route must be a mapping with match, resource and permission")
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "match", "resource", "permission":
		default:
			return nil, rerr(k.Line, "unknown key %q (a route has match, resource and permission)", k.Value)
		}
		if fields[k.Value] != nil {
			return nil, rerr(k.Line, "%s is given twice", k.Value)
		}
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			return nil, rerr(v.Line, "%s must be a non-empty string", k.Value)
		}
		fields[k.Value] = v
	}
	for _, want := range []string{"match", "resource", "permission"} {
		if fields[want] == nil {
			return nil, rerr(n.Line, "the route has no %s", want)
		}
	}
	r := &Route{Line: fields["match"].Line, Resource: fields["resource"].Value, Permission: fields["permission"].Value}
	if err := r.parseMatch(fields["match"].Value); err != nil {
		return nil, rerr(fields["match"].Line, "match %q: %s", fields["match"].Value, err)
	}
	if err := r.parseResource(); err != nil {
		return nil, rerr(fields["resource"].Line, "resource %q: %s", r.Resource, err)
	}
	if err := authz.CheckPermission("permission", r.resType, r.Permission); err != nil {
		return nil, rerr(fields["permission"].Line, "permission: %s", message(err))
	}
	return r, nil
}

// message is an apperr's message without its field prefix.
func message(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

var placeholderRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// parseMatch reads "METHOD /pattern".
func (r *Route) parseMatch(s string) error {
	method, pattern, ok := strings.Cut(s, " ")
	if !ok {
		return errors.New(`must be "METHOD /pattern"`)
	}
	if !slices.Contains(Methods, method) {
		return fmt.Errorf("unknown method %q (known: %s)", method, strings.Join(Methods, ", "))
	}
	r.Method, r.Pattern = method, strings.TrimSpace(pattern)
	if !strings.HasPrefix(r.Pattern, "/") {
		return errors.New("the pattern must start with /")
	}
	if r.Pattern == "/" {
		return nil
	}
	seen := map[string]bool{}
	parts := strings.Split(r.Pattern[1:], "/")
	for i, p := range parts {
		switch {
		case p == "**":
			if i != len(parts)-1 {
				return errors.New("** must be the last segment")
			}
			r.segs = append(r.segs, segment{kind: segRest})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			if !placeholderRE.MatchString(name) {
				return fmt.Errorf("placeholder %s: names are lowercase letters, digits and _", p)
			}
			if seen[name] {
				return fmt.Errorf("placeholder {%s} is used twice", name)
			}
			seen[name] = true
			r.segs = append(r.segs, segment{kind: segParam, text: name})
		default:
			if strings.ContainsAny(p, "{}*") {
				return fmt.Errorf("segment %q: a placeholder is a whole segment ({name}) and ** a whole last segment", p)
			}
			if dec, err := checkLiteral(p); err != nil {
				return fmt.Errorf("segment %q: %w", p, err)
			} else if dec != p {
				return fmt.Errorf("segment %q: write it decoded, as %q", p, dec)
			}
			r.segs = append(r.segs, segment{kind: segLiteral, text: p})
		}
	}
	return nil
}

// checkLiteral normalizes a literal segment as a request's would be.
func checkLiteral(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty segment (//, or a trailing /)")
	}
	return decodeSegment(p)
}

// parseResource reads "type:id-template" and checks every placeholder is the pattern's,
// and that the template gives a valid resource.
func (r *Route) parseResource() error {
	typ, tmpl, ok := strings.Cut(r.Resource, ":")
	if !ok || tmpl == "" {
		return errors.New(`must be "type:id", e.g. "repo:{org}/{repo}"`)
	}
	if err := authz.CheckResourceType("resource", typ); err != nil {
		return errors.New(message(err))
	}
	r.resType = typ
	params := r.params()
	for tmpl != "" {
		open := strings.IndexByte(tmpl, '{')
		if cl := strings.IndexByte(tmpl, '}'); cl >= 0 && (open < 0 || cl < open) {
			return errors.New("a } without {")
		}
		if open < 0 {
			r.resID = append(r.resID, segment{kind: segLiteral, text: tmpl})
			break
		}
		if open > 0 {
			r.resID = append(r.resID, segment{kind: segLiteral, text: tmpl[:open]})
		}
		name, rest, ok := strings.Cut(tmpl[open+1:], "}")
		if !ok {
			return errors.New("a { without }")
		}
		if !slices.Contains(params, name) {
			return fmt.Errorf("unknown placeholder {%s} (the pattern defines: %s)", name, listParams(params))
		}
		r.resID = append(r.resID, segment{kind: segParam, text: name})
		tmpl = rest
	}
	sample := map[string]string{}
	for _, p := range params {
		sample[p] = "a"
	}
	if _, err := r.resource(sample); err != nil {
		return fmt.Errorf("does not give a valid resource: %s", message(err))
	}
	return nil
}

func (r *Route) params() []string {
	var out []string
	for _, s := range r.segs {
		if s.kind == segParam {
			out = append(out, s.text)
		}
	}
	return out
}

func listParams(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	return "{" + strings.Join(ps, "}, {") + "}"
}

// resource fills the template with values and parses the result like any resource of
// the API (identity.ParseObject): a value that does not make a valid one is refused.
func (r *Route) resource(values map[string]string) (relations.Object, error) {
	var b strings.Builder
	b.WriteString(r.resType)
	b.WriteByte(':')
	for _, s := range r.resID {
		if s.kind == segLiteral {
			b.WriteString(s.text)
		} else {
			b.WriteString(values[s.text])
		}
	}
	return identity.ParseObject("resource", b.String())
}

// overlap reports whether some path matches both patterns.
func overlap(a, b []segment) bool {
	for i := 0; ; i++ {
		aEnd, bEnd := i >= len(a), i >= len(b)
		switch {
		case !aEnd && a[i].kind == segRest, !bEnd && b[i].kind == segRest:
			return true
		case aEnd || bEnd:
			return aEnd && bEnd
		case a[i].kind == segLiteral && b[i].kind == segLiteral && a[i].text != b[i].text:
			return false
		}
	}
}

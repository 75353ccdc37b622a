package ingress

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/relations"
)

// Errors of Match; every one means deny (403).
var (
	// ErrNoRoute: no route of the table matches the method and path.
	ErrNoRoute = errors.New("no route matches")
	// ErrBadMethod: the method is not one a route may match.
	ErrBadMethod = errors.New("unknown method")
	// ErrBadValue: a segment matched a placeholder but does not make a valid resource.
	ErrBadValue = errors.New("a path segment is not a valid name")
	// ErrEscaped: a segment a pattern names (a literal or a placeholder) is written with
	// percent escapes; only the segments under ** may be.
	ErrEscaped = errors.New("a percent escape in a segment the route names")
)

// Check is what a request must pass: Permission on Resource.
type Check struct {
	Resource   relations.Object
	Permission string
	Route      *Route
}

// Match finds the route of method and the normalized path p and fills its resource. A
// nil table matches nothing.
func (t *Table) Match(method string, p Path) (Check, error) {
	if !slices.Contains(Methods, method) {
		return Check{}, ErrBadMethod
	}
	if t == nil {
		return Check{}, ErrNoRoute
	}
	for _, r := range t.routes[method] {
		values, ok := r.match(p.Segments)
		if !ok {
			continue
		}
		for i := range min(r.named(), len(p.escaped)) {
			if p.escaped[i] {
				return Check{}, fmt.Errorf("%w: segment %d", ErrEscaped, i+1)
			}
		}
		res, err := r.resource(values)
		if err != nil {
			return Check{}, fmt.Errorf("%w: %s", ErrBadValue, message(err))
		}
		return Check{Resource: res, Permission: r.Permission, Route: r}, nil
	}
	return Check{}, ErrNoRoute
}

// named is how many leading segments the pattern names (all but **).
func (r *Route) named() int {
	if n := len(r.segs); n > 0 && r.segs[n-1].kind == segRest {
		return n - 1
	}
	return len(r.segs)
}

// match matches the pattern against segments, returning the placeholders' values.
func (r *Route) match(segs []string) (map[string]string, bool) {
	var values map[string]string
	for i, s := range r.segs {
		if s.kind == segRest {
			return values, true
		}
		if i >= len(segs) {
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if segs[i] != s.text {
				return nil, false
			}
		case segParam:
			if values == nil {
				values = make(map[string]string, 4)
			}
			values[s.text] = segs[i]
		}
	}
	return values, len(segs) == len(r.segs)
}

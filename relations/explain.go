package relations

import (
	"context"
	"errors"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

const (
	explainMaxDepth = 16
	explainMaxPaths = 32
	explainMaxRPCs  = 256
)

// Explain checks like Check (with SpiceDB's tracing on) and, when allowed, returns the
// chains of stored relationships that grant the permission.
//
// SpiceDB's debug trace alone cannot give those chains: it does not name the relation
// of an arrow hop, it merges sibling objects into one comma-joined node, it does not
// tell a computed userset from an arrow through a self-link (org#repos_open_to), and a
// sub-problem answered from the dispatch cache has no sub-tree. So the paths are walked
// along the schema's rewrite rules at the check's exact revision: every hop is a stored
// relationship found with ReadRelationships, and a branch is followed only when it
// holds; the trace's answers are reused so that most branches need no extra check. In
// an intersection or exclusion only the first operand (the grant proper, not the
// platform/org "open" gates) is shown, once every operand has been seen to hold.
func (e *spiceEngine) Explain(ctx context.Context, req CheckRequest) (Explanation, error) {
	pr, err := checkRequest(req, e.seen.load())
	if err != nil {
		return Explanation{}, err
	}
	pr.WithTracing = true
	resp, err := e.perms.CheckPermission(ctx, pr)
	if err != nil {
		return Explanation{}, mapError("explain", err, false)
	}
	ex := Explanation{
		Allowed:   resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		CheckedAt: resp.GetCheckedAt().GetToken(),
	}
	if !ex.Allowed {
		return ex, nil
	}
	schemaText, err := e.ReadSchema(ctx)
	if err != nil {
		return Explanation{}, err
	}
	compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schemaText}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return ex, nil // best effort: allowed, but no paths
	}
	x := newExplainer(e, compiled, pr.Subject, resp)
	paths, err := x.walk(ctx, pr.Resource.ObjectType, pr.Resource.ObjectId, pr.Permission, 0, map[string]bool{})
	if err != nil {
		return Explanation{}, err
	}
	ex.Paths = apiPaths(paths)
	return ex, nil
}

// apiPaths converts the walked paths to the API's relationships, dropping empty,
// unconvertible and duplicate ones.
func apiPaths(paths [][]*v1.Relationship) [][]Relationship {
	var out [][]Relationship
	seen := map[string]bool{}
	for _, p := range paths {
		apiPath := make([]Relationship, 0, len(p))
		var sb strings.Builder
		for _, r := range p {
			rel, err := relationshipFromProto(r)
			if err != nil {
				apiPath = nil
				break
			}
			apiPath = append(apiPath, rel)
			sb.WriteString(rel.String())
			sb.WriteByte(' ')
		}
		if len(apiPath) == 0 || seen[sb.String()] {
			continue
		}
		seen[sb.String()] = true
		out = append(out, apiPath)
	}
	return out
}

// newExplainer prepares a walk of the compiled schema for subject, at the revision of
// the traced check resp, seeded with the trace's answers.
func newExplainer(e *spiceEngine, compiled *compiler.CompiledSchema, subject *v1.SubjectReference, resp *v1.CheckPermissionResponse) *explainer {
	x := &explainer{
		e:       e,
		defs:    map[string]*core.NamespaceDefinition{},
		subject: subject,
		cons:    &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetCheckedAt()}},
		known:   map[string]bool{},
		reads:   map[string][]*v1.Relationship{},
		budget:  explainMaxRPCs,
	}
	for _, d := range compiled.ObjectDefinitions {
		x.defs[d.GetName()] = d
	}
	x.seed(resp.GetDebugTrace().GetCheck())
	return x
}

type explainer struct {
	e       *spiceEngine
	defs    map[string]*core.NamespaceDefinition
	subject *v1.SubjectReference
	cons    *v1.Consistency
	known   map[string]bool
	reads   map[string][]*v1.Relationship
	budget  int
}

func explainKey(typ, id, rel string) string { return typ + ":" + id + "#" + rel }

// seed records the answers of the trace's single-object sub-problems.
func (x *explainer) seed(t *v1.CheckDebugTrace) {
	if t == nil {
		return
	}
	id := t.GetResource().GetObjectId()
	if !strings.Contains(id, ",") && t.GetCaveatEvaluationInfo() == nil {
		k := explainKey(t.GetResource().GetObjectType(), id, t.GetPermission())
		switch t.GetResult() {
		case v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION:
			x.known[k] = true
		case v1.CheckDebugTrace_PERMISSIONSHIP_NO_PERMISSION:
			x.known[k] = false
		}
	}
	for _, sub := range t.GetSubProblems().GetTraces() {
		x.seed(sub)
	}
}

func (x *explainer) relation(typ, rel string) *core.Relation {
	def := x.defs[typ]
	if def == nil {
		return nil
	}
	for _, r := range def.GetRelation() {
		if r.GetName() == rel {
			return r
		}
	}
	return nil
}

// holds reports whether the subject has rel on typ:id at the check's revision.
func (x *explainer) holds(ctx context.Context, typ, id, rel string) (bool, error) {
	if x.relation(typ, rel) == nil {
		return false, nil
	}
	k := explainKey(typ, id, rel)
	if v, ok := x.known[k]; ok {
		return v, nil
	}
	if x.budget <= 0 {
		return false, nil
	}
	x.budget--
	resp, err := x.e.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: x.cons,
		Resource:    &v1.ObjectReference{ObjectType: typ, ObjectId: id},
		Permission:  rel,
		Subject:     x.subject,
	})
	if err != nil {
		if err := mapError("explain", err, false); errors.Is(err, ErrUnavailable) {
			return false, err
		}
		x.known[k] = false
		return false, nil
	}
	v := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	x.known[k] = v
	return v, nil
}

// read returns the stored relationships typ:id#rel@*.
func (x *explainer) read(ctx context.Context, typ, id, rel string) ([]*v1.Relationship, error) {
	k := explainKey(typ, id, rel)
	if rs, ok := x.reads[k]; ok {
		return rs, nil
	}
	if x.budget <= 0 {
		return nil, nil
	}
	x.budget--
	var rs []*v1.Relationship
	err := x.e.readProto(ctx, &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id, OptionalRelation: rel}, x.cons,
		func(r *v1.Relationship) error {
			if len(rs) < readPageSize {
				rs = append(rs, r)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	x.reads[k] = rs
	return rs, nil
}

func prepend(r *v1.Relationship, paths [][]*v1.Relationship) [][]*v1.Relationship {
	out := make([][]*v1.Relationship, 0, len(paths))
	for _, p := range paths {
		out = append(out, append([]*v1.Relationship{r}, p...))
	}
	return out
}

// walk returns the paths by which the subject holds rel on typ:id.
func (x *explainer) walk(ctx context.Context, typ, id, rel string, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	k := explainKey(typ, id, rel)
	if depth > explainMaxDepth || onPath[k] {
		return nil, nil
	}
	r := x.relation(typ, rel)
	if r == nil {
		return nil, nil
	}
	onPath[k] = true
	defer delete(onPath, k)
	if r.GetUsersetRewrite() == nil {
		return x.walkDirect(ctx, typ, id, rel, depth, onPath)
	}
	return x.walkRewrite(ctx, typ, id, rel, r.GetUsersetRewrite(), depth, onPath)
}

// walkDirect follows the stored relationships typ:id#rel.
func (x *explainer) walkDirect(ctx context.Context, typ, id, rel string, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	rels, err := x.read(ctx, typ, id, rel)
	if err != nil {
		return nil, err
	}
	want := x.subject
	var out [][]*v1.Relationship
	for _, tr := range rels {
		if len(out) >= explainMaxPaths {
			break
		}
		s := tr.GetSubject()
		so := s.GetObject()
		sameType := so.GetObjectType() == want.GetObject().GetObjectType()
		switch {
		case sameType && so.GetObjectId() == want.GetObject().GetObjectId() && s.GetOptionalRelation() == want.GetOptionalRelation():
			out = append(out, []*v1.Relationship{tr})
		case sameType && so.GetObjectId() == Wildcard && want.GetOptionalRelation() == "":
			out = append(out, []*v1.Relationship{tr})
		case s.GetOptionalRelation() != "":
			ok, err := x.holds(ctx, so.GetObjectType(), so.GetObjectId(), s.GetOptionalRelation())
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			sub, err := x.walk(ctx, so.GetObjectType(), so.GetObjectId(), s.GetOptionalRelation(), depth+1, onPath)
			if err != nil {
				return nil, err
			}
			out = append(out, prepend(tr, sub)...)
		}
	}
	return out, nil
}

func (x *explainer) walkRewrite(ctx context.Context, typ, id, rel string, rw *core.UsersetRewrite, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	switch op := rw.GetRewriteOperation().(type) {
	case *core.UsersetRewrite_Union:
		var out [][]*v1.Relationship
		for _, c := range op.Union.GetChild() {
			p, err := x.walkChild(ctx, typ, id, rel, c, depth, onPath)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
			if len(out) >= explainMaxPaths {
				break
			}
		}
		return out, nil
	case *core.UsersetRewrite_Intersection:
		var first [][]*v1.Relationship
		for i, c := range op.Intersection.GetChild() {
			p, err := x.walkChild(ctx, typ, id, rel, c, depth, onPath)
			if err != nil || len(p) == 0 {
				return nil, err
			}
			if i == 0 {
				first = p
			}
		}
		return first, nil
	case *core.UsersetRewrite_Exclusion:
		var base [][]*v1.Relationship
		for i, c := range op.Exclusion.GetChild() {
			p, err := x.walkChild(ctx, typ, id, rel, c, depth, onPath)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				if len(p) == 0 {
					return nil, nil
				}
				base = p
			} else if len(p) > 0 {
				return nil, nil
			}
		}
		return base, nil
	}
	return nil, nil
}

func (x *explainer) walkChild(ctx context.Context, typ, id, rel string, c *core.SetOperation_Child, depth int, onPath map[string]bool) ([][]*v1.Relationship, error) {
	arrow := func(tupleset, target string) ([][]*v1.Relationship, error) {
		rels, err := x.read(ctx, typ, id, tupleset)
		if err != nil {
			return nil, err
		}
		var out [][]*v1.Relationship
		for _, tr := range rels {
			so := tr.GetSubject().GetObject()
			ok, err := x.holds(ctx, so.GetObjectType(), so.GetObjectId(), target)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			sub, err := x.walk(ctx, so.GetObjectType(), so.GetObjectId(), target, depth+1, onPath)
			if err != nil {
				return nil, err
			}
			out = append(out, prepend(tr, sub)...)
			if len(out) >= explainMaxPaths {
				break
			}
		}
		return out, nil
	}
	switch ch := c.GetChildType().(type) {
	case *core.SetOperation_Child_XThis:
		return x.walkDirect(ctx, typ, id, rel, depth, onPath)
	case *core.SetOperation_Child_ComputedUserset:
		target := ch.ComputedUserset.GetRelation()
		ok, err := x.holds(ctx, typ, id, target)
		if err != nil || !ok {
			return nil, err
		}
		return x.walk(ctx, typ, id, target, depth+1, onPath)
	case *core.SetOperation_Child_TupleToUserset:
		return arrow(ch.TupleToUserset.GetTupleset().GetRelation(), ch.TupleToUserset.GetComputedUserset().GetRelation())
	case *core.SetOperation_Child_FunctionedTupleToUserset:
		return arrow(ch.FunctionedTupleToUserset.GetTupleset().GetRelation(), ch.FunctionedTupleToUserset.GetComputedUserset().GetRelation())
	case *core.SetOperation_Child_UsersetRewrite:
		return x.walkRewrite(ctx, typ, id, rel, ch.UsersetRewrite, depth, onPath)
	}
	return nil, nil
}

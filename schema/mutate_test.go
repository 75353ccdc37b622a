package schema_test

// Mutant generation for TestSchemaMutants (issue 7.6): gatehouse.zed is compiled with
// SpiceDB's own compiler, each mutation operator alters one spot of the compiled
// definitions, and SpiceDB's generator writes the altered schema back out as text.

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/generator"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// mutant is one altered copy of the schema.
type mutant struct {
	desc string // which definition, and the line before -> after
	text string // the whole altered schema
}

// compileSchema compiles gatehouse.zed into its definitions.
func compileSchema(t testing.TB) []*core.NamespaceDefinition {
	t.Helper()
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source("gatehouse.zed"), SchemaString: schema.Text},
		compiler.AllowUnprefixedObjectType())
	require.NoError(t, err)
	return cs.ObjectDefinitions
}

// generateMutants returns every one-step mutant of defs, deduplicated by schema text:
//   - drop one operand (a relation, a permission or an arrow) of a union, intersection or
//     exclusion; a lone operand becomes nil;
//   - turn an intersection or an exclusion into a union;
//   - only with GATEHOUSE_MUTANTS_SWAP=1 (about ten minutes, and aliases such as
//     create_repo = read make equivalent mutants that no test can kill): swap one operand
//     for another name, a relation or permission of the same definition or, for an arrow,
//     of the type it walks to;
//   - widen a relation: allow one more subject type, userset or wildcard, taken from the
//     subject types the schema uses anywhere, plus the wildcard of every plain type.
func generateMutants(t testing.TB, defs []*core.NamespaceDefinition) []mutant {
	t.Helper()
	original := render(t, defs)
	seen := map[string]bool{original: true}
	candidates := widenCandidates(defs)
	var out []mutant
	add := func(d, r int, rel *core.Relation) {
		altered := slices.Clone(defs)
		def := proto.Clone(defs[d]).(*core.NamespaceDefinition)
		def.Relation[r] = rel
		altered[d] = def
		text := render(t, altered)
		if seen[text] {
			return
		}
		seen[text] = true
		out = append(out, mutant{
			desc: fmt.Sprintf("%s: %s  ==>  %s", defs[d].Name, relationSource(t, defs[d].Relation[r]), relationSource(t, rel)),
			text: text,
		})
	}
	for d, def := range defs {
		for r, rel := range def.Relation {
			if rel.UsersetRewrite != nil {
				swap := noSwap
				if os.Getenv("GATEHOUSE_MUTANTS_SWAP") == "1" {
					swap = swapper(defs, def, rel.Name)
				}
				for _, rw := range rewriteMutants(rel.UsersetRewrite, swap) {
					m := proto.Clone(rel).(*core.Relation)
					m.UsersetRewrite = rw
					add(d, r, m)
				}
				continue
			}
			for _, c := range candidates {
				if slices.ContainsFunc(rel.GetTypeInformation().GetAllowedDirectRelations(),
					func(a *core.AllowedRelation) bool { return allowedKey(a) == allowedKey(c) }) {
					continue
				}
				m := proto.Clone(rel).(*core.Relation)
				m.TypeInformation.AllowedDirectRelations = append(m.TypeInformation.AllowedDirectRelations,
					proto.Clone(c).(*core.AllowedRelation))
				add(d, r, m)
			}
		}
	}
	return out
}

// swapFunc returns the replacements of one operand: the same operand naming another
// relation or permission.
type swapFunc func(child *core.SetOperation_Child) []*core.SetOperation_Child

func noSwap(*core.SetOperation_Child) []*core.SetOperation_Child { return nil }

// swapper swaps, inside permission perm of def, a relation or permission for every other
// name of def (but perm itself), and an arrow's target for every other name of the types
// its left side allows.
func swapper(defs []*core.NamespaceDefinition, def *core.NamespaceDefinition, perm string) swapFunc {
	names := map[string][]string{}
	for _, d := range defs {
		for _, r := range d.Relation {
			names[d.Name] = append(names[d.Name], r.Name)
		}
	}
	return func(child *core.SetOperation_Child) []*core.SetOperation_Child {
		var out []*core.SetOperation_Child
		switch {
		case child.GetComputedUserset() != nil:
			current := child.GetComputedUserset().Relation
			for _, n := range names[def.Name] {
				if n != current && n != perm {
					c := proto.Clone(child).(*core.SetOperation_Child)
					c.GetComputedUserset().Relation = n
					out = append(out, c)
				}
			}
		case child.GetTupleToUserset() != nil:
			ttu := child.GetTupleToUserset()
			targets := map[string]bool{}
			for _, r := range def.Relation {
				if r.Name != ttu.Tupleset.Relation {
					continue
				}
				for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
					for _, n := range names[a.Namespace] {
						targets[n] = true
					}
				}
			}
			delete(targets, ttu.ComputedUserset.Relation)
			for _, n := range slices.Sorted(maps.Keys(targets)) {
				c := proto.Clone(child).(*core.SetOperation_Child)
				c.GetTupleToUserset().ComputedUserset.Relation = n
				out = append(out, c)
			}
		}
		return out
	}
}

// rewriteMutants returns every one-step mutation of rw, each a fresh copy.
func rewriteMutants(rw *core.UsersetRewrite, swap swapFunc) []*core.UsersetRewrite {
	op := setOp(rw)
	var out []*core.UsersetRewrite
	if rw.GetUnion() == nil {
		c := proto.Clone(rw).(*core.UsersetRewrite)
		c.RewriteOperation = &core.UsersetRewrite_Union{Union: setOp(c)}
		out = append(out, c)
	}
	for i, child := range op.Child {
		c := proto.Clone(rw).(*core.UsersetRewrite)
		cop := setOp(c)
		switch {
		case len(cop.Child) > 1:
			cop.Child = slices.Delete(cop.Child, i, i+1)
			out = append(out, c)
		case child.GetXNil() == nil:
			cop.Child[0] = &core.SetOperation_Child{ChildType: &core.SetOperation_Child_XNil{XNil: &core.SetOperation_Child_Nil{}}}
			out = append(out, c)
		}
		for _, alt := range swap(child) {
			c := proto.Clone(rw).(*core.UsersetRewrite)
			setOp(c).Child[i] = alt
			out = append(out, c)
		}
		if sub := child.GetUsersetRewrite(); sub != nil {
			for _, m := range rewriteMutants(sub, swap) {
				c := proto.Clone(rw).(*core.UsersetRewrite)
				setOp(c).Child[i].ChildType = &core.SetOperation_Child_UsersetRewrite{UsersetRewrite: m}
				out = append(out, c)
			}
		}
	}
	return out
}

// setOp is the set operation of rw, whichever kind it is.
func setOp(rw *core.UsersetRewrite) *core.SetOperation {
	switch {
	case rw.GetUnion() != nil:
		return rw.GetUnion()
	case rw.GetIntersection() != nil:
		return rw.GetIntersection()
	default:
		return rw.GetExclusion()
	}
}

// widenCandidates lists the subject types the schema allows anywhere, and the wildcard of
// every plain type among them.
func widenCandidates(defs []*core.NamespaceDefinition) []*core.AllowedRelation {
	byKey := map[string]*core.AllowedRelation{}
	for _, def := range defs {
		for _, rel := range def.Relation {
			for _, a := range rel.GetTypeInformation().GetAllowedDirectRelations() {
				byKey[allowedKey(a)] = a
				if a.GetRelation() == "..." {
					w := &core.AllowedRelation{Namespace: a.Namespace, RelationOrWildcard: &core.AllowedRelation_PublicWildcard_{
						PublicWildcard: &core.AllowedRelation_PublicWildcard{}}}
					byKey[allowedKey(w)] = w
				}
			}
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*core.AllowedRelation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// allowedKey spells an allowed subject type as the schema does: "user", "team#member",
// "user:*".
func allowedKey(a *core.AllowedRelation) string {
	switch {
	case a.GetPublicWildcard() != nil:
		return a.Namespace + ":*"
	case a.GetRelation() == "..." || a.GetRelation() == "":
		return a.Namespace
	default:
		return a.Namespace + "#" + a.GetRelation()
	}
}

func render(t testing.TB, defs []*core.NamespaceDefinition) string {
	t.Helper()
	sd := make([]compiler.SchemaDefinition, len(defs))
	for i, d := range defs {
		sd[i] = d
	}
	text, ok, err := generator.GenerateSchema(context.Background(), sd)
	require.NoError(t, err)
	require.True(t, ok, "the generator could not render a schema")
	return text
}

func relationSource(t testing.TB, rel *core.Relation) string {
	t.Helper()
	rel = proto.Clone(rel).(*core.Relation)
	rel.Metadata = nil // no comments
	src, err := generator.GenerateRelationSource(rel, caveattypes.Default.TypeSet)
	require.NoError(t, err)
	return strings.Join(strings.Fields(src), " ")
}

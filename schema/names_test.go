package schema_test

// Issue 8.4: schema/ is the one place that spells names. These tests compare gatehouse.zed,
// compiled by SpiceDB's own compiler, with the Go names of schema.go, both ways.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// zedNames is what gatehouse.zed declares, by API type name.
type zedNames struct {
	types       []string                       // in schema order
	relations   map[string]map[string][]string // type -> relation -> subject types, sorted
	permissions map[string][]string            // type -> permissions, sorted
}

func declaredNames(t *testing.T) zedNames {
	t.Helper()
	z := zedNames{relations: map[string]map[string][]string{}, permissions: map[string][]string{}}
	for _, def := range compileSchema(t) {
		typ := schema.APIType(def.Name)
		z.types = append(z.types, typ)
		z.relations[typ] = map[string][]string{}
		z.permissions[typ] = []string{}
		for _, rel := range def.Relation {
			if rel.UsersetRewrite != nil {
				z.permissions[typ] = append(z.permissions[typ], rel.Name)
				continue
			}
			subjects := []string{}
			for _, a := range rel.GetTypeInformation().GetAllowedDirectRelations() {
				subjects = append(subjects, apiSubject(a))
			}
			slices.Sort(subjects)
			z.relations[typ][rel.Name] = subjects
		}
		slices.Sort(z.permissions[typ])
	}
	return z
}

// apiSubject spells an allowed subject type with API type names, as schema.Relations does.
func apiSubject(a *core.AllowedRelation) string {
	typ := schema.APIType(a.Namespace)
	switch {
	case a.GetPublicWildcard() != nil:
		return schema.Wildcard(typ)
	case a.GetRelation() == "..." || a.GetRelation() == "":
		return typ
	default:
		return typ + "#" + a.GetRelation()
	}
}

func sortedCopy(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = slices.Sorted(slices.Values(v))
	}
	return out
}

// TestTypesMatchSchema: schema.Types is exactly the definitions of gatehouse.zed.
func TestTypesMatchSchema(t *testing.T) {
	z := declaredNames(t)
	require.Equal(t, z.types, schema.Types)
	require.Equal(t, slices.Sorted(slices.Values(z.types)), schema.ResourceTypes())
}

// TestRelationsMatchSchema: schema.Relations names every relation of gatehouse.zed with
// exactly the subject types it allows, and nothing else (ID6, PL4: what a grant may name).
func TestRelationsMatchSchema(t *testing.T) {
	z := declaredNames(t)
	got := map[string]map[string][]string{}
	for _, typ := range z.types {
		got[typ] = sortedCopy(schema.Relations[typ])
	}
	require.Equal(t, z.relations, got)
	require.Len(t, schema.Relations, len(z.types), "schema.Relations has a type gatehouse.zed lacks")
}

// TestPermissionsClassified: every permission of gatehouse.zed is public or internal,
// never both, and neither list names anything else.
func TestPermissionsClassified(t *testing.T) {
	z := declaredNames(t)
	for _, m := range []map[string][]string{schema.PublicPermissions, schema.InternalPermissions} {
		for typ := range m {
			require.Contains(t, z.permissions, typ, "unknown type %q", typ)
		}
	}
	for _, typ := range z.types {
		pub, internal := schema.PublicPermissions[typ], schema.InternalPermissions[typ]
		for _, p := range pub {
			require.False(t, slices.Contains(internal, p), "%s#%s is both public and internal", typ, p)
			require.True(t, schema.IsPublicPermission(typ, p))
		}
		for _, p := range internal {
			require.False(t, schema.IsPublicPermission(typ, p), "%s#%s", typ, p)
		}
		both := append(append([]string{}, pub...), internal...)
		slices.Sort(both)
		require.Equal(t, z.permissions[typ], both,
			"%s: public + internal must be exactly the permissions of gatehouse.zed, each once", typ)
	}
	require.False(t, schema.IsPublicPermission(schema.TypeRepo, schema.RelReader), "a relation is not a public permission")
	require.False(t, schema.IsPublicPermission(schema.TypePlatform, schema.PermOpen))
}

// TestPermissionsMatchSchema: schema.Permissions is every relation and permission.
func TestPermissionsMatchSchema(t *testing.T) {
	z := declaredNames(t)
	want := map[string][]string{}
	for _, typ := range z.types {
		names := slices.Clone(z.permissions[typ])
		for rel := range z.relations[typ] {
			names = append(names, rel)
		}
		want[typ] = slices.Sorted(slices.Values(names))
	}
	require.Equal(t, want, sortedCopy(schema.Permissions))
	for typ, names := range schema.Permissions {
		require.Len(t, names, len(slices.Compact(slices.Sorted(slices.Values(names)))), "%s: a name twice", typ)
	}
}

// TestConstantsMatchSchema reads schema.go's constants: every Type*, Rel* and Perm* value
// is a type, relation or permission of gatehouse.zed, and every type, relation and
// permission there has its constant.
func TestConstantsMatchSchema(t *testing.T) {
	z := declaredNames(t)
	consts := stringConstants(t, "schema.go")
	typeOf, relOf, permOf := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for name, value := range consts {
		switch {
		case strings.HasPrefix(name, "StoredType"):
			require.Equal(t, value, schema.StoredType(schema.APIType(value)), name)
		case strings.HasPrefix(name, "Type"):
			require.Contains(t, z.types, value, "%s = %q is no type of gatehouse.zed", name, value)
			typeOf[value] = true
		case strings.HasPrefix(name, "Rel"):
			require.True(t, anyHas(z.relations, value), "%s = %q is no relation of gatehouse.zed", name, value)
			relOf[value] = true
		case strings.HasPrefix(name, "Perm"):
			require.True(t, anyIn(z.permissions, value), "%s = %q is no permission of gatehouse.zed", name, value)
			permOf[value] = true
		}
	}
	for _, typ := range z.types {
		require.True(t, typeOf[typ], "type %q has no Type constant", typ)
		for rel := range z.relations[typ] {
			require.True(t, relOf[rel], "relation %s#%s has no Rel constant", typ, rel)
		}
		for _, p := range z.permissions[typ] {
			require.True(t, permOf[p], "permission %s#%s has no Perm constant", typ, p)
		}
	}
	for _, role := range schema.Roles {
		require.Contains(t, z.relations[schema.TypeRepo], role)
	}
}

func anyHas(m map[string]map[string][]string, name string) bool {
	for _, rels := range m {
		if _, ok := rels[name]; ok {
			return true
		}
	}
	return false
}

func anyIn(m map[string][]string, name string) bool {
	for _, names := range m {
		if slices.Contains(names, name) {
			return true
		}
	}
	return false
}

// stringConstants parses file and returns its string constants declared with a literal
// or a concatenation of earlier ones.
func stringConstants(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	require.NoError(t, err)
	out := map[string]string{}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				s, err := strconv.Unquote(x.Value)
				return s, err == nil
			}
		case *ast.Ident:
			s, ok := out[x.Name]
			return s, ok
		case *ast.BinaryExpr:
			l, okl := eval(x.X)
			r, okr := eval(x.Y)
			return l + r, okl && okr && x.Op == token.ADD
		}
		return "", false
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if s, ok := eval(vs.Values[i]); ok {
						out[name.Name] = s
					}
				}
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestSubjectHolders: SubjectHolders is exactly the types with a relation that allows a
// user, robot, service account, team's or org's members (or their wildcards).
func TestSubjectHolders(t *testing.T) {
	grantees := map[string]bool{schema.SubjectTeamMembers: true, schema.SubjectOrgMembers: true}
	for _, typ := range []string{schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount} {
		grantees[typ], grantees[schema.Wildcard(typ)] = true, true
	}
	var want []string
	for _, typ := range schema.Types {
		holds := false
		for _, subjects := range schema.Relations[typ] {
			holds = holds || slices.ContainsFunc(subjects, func(s string) bool { return grantees[s] })
		}
		if holds {
			want = append(want, typ)
		}
	}
	require.ElementsMatch(t, want, schema.SubjectHolders)
}

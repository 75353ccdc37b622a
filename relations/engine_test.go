package relations

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// One embedded engine (memory datastore, gatehouse.zed) is shared by the tests; each
// test uses its own org names so they do not interfere.
var (
	sharedOnce   sync.Once
	sharedEngine Engine
	sharedErr    error
	startTime    time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEngine != nil {
		_ = sharedEngine.Close()
	}
	harness.Cleanup()
	os.Exit(code)
}

func gatehouseSchema(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../schema/gatehouse.zed")
	require.NoError(t, err)
	return string(b)
}

func newEmbedded(t testing.TB) Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := NewEmbedded(ctx, EmbeddedConfig{})
	require.NoError(t, err)
	return e
}

func engine(t *testing.T) Engine {
	t.Helper()
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := time.Now()
		sharedEngine, sharedErr = NewEmbedded(ctx, EmbeddedConfig{})
		startTime = time.Since(start)
		if sharedErr != nil {
			return
		}
		b, err := os.ReadFile("../schema/gatehouse.zed")
		if err != nil {
			sharedErr = err
			return
		}
		sharedErr = sharedEngine.WriteSchema(ctx, string(b))
		if sharedErr != nil {
			return
		}
		// The platform is activated and open.
		_, sharedErr = sharedEngine.Write(ctx, touches(t,
			"platform:root#unlocked@user:*",
			"platform:root#unlocked@robot:*",
			"platform:root#unlocked@sa:*",
			"platform:root#unlocked@pipeline:*",
		), nil)
	})
	require.NoError(t, sharedErr)
	t.Logf("embedded engine started in %s", startTime)
	return sharedEngine
}

func rel(t testing.TB, s string) Relationship {
	t.Helper()
	r, err := ParseRelationship(s)
	require.NoError(t, err)
	return r
}

func touches(t testing.TB, rels ...string) []Update {
	out := make([]Update, 0, len(rels))
	for _, s := range rels {
		out = append(out, Update{Operation: OpTouch, Relationship: rel(t, s)})
	}
	return out
}

func write(t *testing.T, e Engine, rels ...string) string {
	t.Helper()
	token, err := e.Write(context.Background(), touches(t, rels...), nil)
	require.NoError(t, err)
	require.NotEmpty(t, token)
	return token
}

func obj(t testing.TB, s string) Object {
	t.Helper()
	o, err := ParseObject(s)
	require.NoError(t, err)
	return o
}

func sub(t testing.TB, s string) Subject {
	t.Helper()
	o, err := ParseSubject(s)
	require.NoError(t, err)
	return o
}

func check(t *testing.T, e Engine, resource, permission, subject, token string) bool {
	t.Helper()
	res, err := e.Check(context.Background(), CheckRequest{
		Resource: obj(t, resource), Permission: permission, Subject: sub(t, subject),
		Consistency: Consistency{AtLeastAsFresh: token},
	})
	require.NoError(t, err)
	require.NotEmpty(t, res.CheckedAt)
	return res.Allowed
}

func TestCheck(t *testing.T) {
	e := engine(t)
	token := write(t, e,
		"org:ck#platform@platform:root",
		"org:ck#repos_open_to@org:ck",
		"org:ck#member@user:bob@example.com",
		"org:ck#admin@user:ann@example.com",
		"repo:ck/x#org@org:ck",
		// An ACL-only org: no repos_open_to.
		"org:ckacl#platform@platform:root",
		"org:ckacl#member@user:carl@example.com",
		"repo:ckacl/y#org@org:ckacl",
		// Nested teams: dora is in inner, inner is in outer, outer reads ckacl/y.
		"team:ck/inner#member@user:dora@example.com",
		"team:ck/outer#member@team:ck/inner#member",
		"repo:ckacl/y#reader@team:ck/outer#member",
		// A pipeline created by eve reads ckacl/y while eve can.
		"pipeline:ckacl/p#org@org:ckacl",
		"pipeline:ckacl/p#creator@user:eve@example.com",
		"user:eve@example.com#agent@pipeline:ckacl/p",
		"repo:ckacl/y#input_of@pipeline:ckacl/p",
		"repo:ckacl/y#reader@user:eve@example.com",
		"sa:etl@ckacl#org@org:ckacl",
		"repo:ckacl/y#writer@sa:etl@ckacl",
	)

	cases := []struct {
		resource, perm, subject string
		want                    bool
	}{
		{"repo:ck/x", "write", "user:bob@example.com", true},
		{"repo:ck/x", "read", "user:bob@example.com", true},
		{"repo:ck/x", "manage_acl", "user:bob@example.com", false},
		{"repo:ck/x", "manage_acl", "user:ann@example.com", true},
		{"repo:ck/x", "write", "user:mallory@example.com", false},
		{"repo:ckacl/y", "write", "user:carl@example.com", false},
		{"repo:ckacl/y", "read", "user:carl@example.com", false},
		{"repo:ckacl/y", "read", "user:dora@example.com", true},
		{"repo:ckacl/y", "write", "user:dora@example.com", false},
		{"repo:ckacl/y", "read", "pipeline:ckacl/p", true},
		{"repo:ckacl/y", "write", "pipeline:ckacl/p", false},
		{"repo:ckacl/y", "write", "sa:etl@ckacl", true},
		{"org:ck", "read", "user:bob@example.com", true},
		{"org:ck", "manage", "user:bob@example.com", false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s#%s@%s", c.resource, c.perm, c.subject), func(t *testing.T) {
			require.Equal(t, c.want, check(t, e, c.resource, c.perm, c.subject, token))
		})
	}

	// PL3: when eve loses read, her pipeline loses it on the next check.
	token, err := e.Write(context.Background(), []Update{{Operation: OpDelete, Relationship: rel(t, "repo:ckacl/y#reader@user:eve@example.com")}}, nil)
	require.NoError(t, err)
	require.False(t, check(t, e, "repo:ckacl/y", "read", "pipeline:ckacl/p", token))

}

// P4: admin-only mode (no unlocked wildcards) shuts members out; admins stay.
func TestCheckAdminOnlyMode_P4(t *testing.T) {
	e2 := newEmbedded(t)
	defer e2.Close()
	require.NoError(t, e2.WriteSchema(context.Background(), gatehouseSchema(t)))
	token := write(t, e2,
		"org:ck#platform@platform:root", "org:ck#repos_open_to@org:ck",
		"org:ck#member@user:bob@example.com", "repo:ck/x#org@org:ck",
		"platform:root#admin@robot:admin")
	require.False(t, check(t, e2, "repo:ck/x", "read", "user:bob@example.com", token))
	require.True(t, check(t, e2, "repo:ck/x", "write", "robot:admin", token))
}

// Unknown permission and bad input are ErrInvalid.
func TestCheckInvalid(t *testing.T) {
	e := engine(t)
	_, err := e.Check(context.Background(), CheckRequest{Resource: obj(t, "repo:ck/x"), Permission: "fly", Subject: sub(t, "user:bob@example.com")})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = e.Check(context.Background(), CheckRequest{Resource: Object{"widget", "x"}, Permission: "read", Subject: sub(t, "user:bob@example.com")})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestCheckBulk(t *testing.T) {
	e := engine(t)
	token := write(t, e,
		"org:bk#platform@platform:root", "org:bk#repos_open_to@org:bk",
		"org:bk#member@user:bob@example.com", "repo:bk/x#org@org:bk")
	c := Consistency{AtLeastAsFresh: token}
	res, err := e.CheckBulk(context.Background(), []CheckRequest{
		{Resource: obj(t, "repo:bk/x"), Permission: "write", Subject: sub(t, "user:bob@example.com"), Consistency: c},
		{Resource: obj(t, "repo:bk/x"), Permission: "write", Subject: sub(t, "user:carl@example.com"), Consistency: c},
		{Resource: obj(t, "repo:bk/x"), Permission: "fly", Subject: sub(t, "user:bob@example.com"), Consistency: c},
		{Resource: Object{"widget", "x"}, Permission: "read", Subject: sub(t, "user:bob@example.com"), Consistency: c},
		{Resource: obj(t, "repo:bk/x"), Permission: "read", Subject: sub(t, "user:bob@example.com"), Consistency: c},
	})
	require.NoError(t, err)
	require.Len(t, res, 5)
	require.True(t, res[0].Allowed)
	require.NoError(t, res[0].Err)
	require.False(t, res[1].Allowed)
	require.NoError(t, res[1].Err)
	require.False(t, res[2].Allowed)
	require.ErrorIs(t, res[2].Err, ErrInvalid)
	require.ErrorIs(t, res[3].Err, ErrInvalid)
	require.ErrorContains(t, res[3].Err, "widget")
	require.True(t, res[4].Allowed)
}

func objectStrings(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.String())
	}
	sort.Strings(out)
	return out
}

func TestLookups(t *testing.T) {
	e := engine(t)
	token := write(t, e,
		"org:lk#platform@platform:root", "org:lk#repos_open_to@org:lk",
		"org:lk#member@user:lkbob@example.com", "org:lk#admin@user:ann@example.com",
		"repo:lk/a#org@org:lk", "repo:lk/b#org@org:lk",
		"org:lkacl#platform@platform:root", "repo:lkacl/c#org@org:lkacl",
		"repo:lkacl/c#reader@user:lkbob@example.com")
	c := Consistency{AtLeastAsFresh: token}

	res, err := e.LookupResources(context.Background(), sub(t, "user:lkbob@example.com"), "read", "repo", c)
	require.NoError(t, err)
	require.Equal(t, []string{"repo:lk/a", "repo:lk/b", "repo:lkacl/c"}, objectStrings(res))

	res, err = e.LookupResources(context.Background(), sub(t, "user:lkbob@example.com"), "write", "repo", c)
	require.NoError(t, err)
	require.Equal(t, []string{"repo:lk/a", "repo:lk/b"}, objectStrings(res))

	subs, err := e.LookupSubjects(context.Background(), obj(t, "repo:lk/a"), "write", "user", c)
	require.NoError(t, err)
	require.Equal(t, []string{"user:ann@example.com", "user:lkbob@example.com"}, objectStrings(subs))

	// A wildcard grant comes back as "*".
	subs, err = e.LookupSubjects(context.Background(), obj(t, "platform:root"), "open", "sa", c)
	require.NoError(t, err)
	require.Equal(t, []string{"sa:*"}, objectStrings(subs))

	_, err = e.LookupResources(context.Background(), sub(t, "user:lkbob@example.com"), "fly", "repo", c)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestExplain(t *testing.T) {
	e := engine(t)
	token := write(t, e,
		"org:ex#platform@platform:root", "org:ex#repos_open_to@org:ex",
		"org:ex#member@user:bob@example.com", "repo:ex/x#org@org:ex",
		"org:exacl#platform@platform:root", "repo:exacl/y#org@org:exacl",
		"team:ex/inner#member@user:dora@example.com",
		"team:ex/outer#member@team:ex/inner#member",
		"repo:exacl/y#reader@team:ex/outer#member",
		"org:exacl#member@user:carl@example.com")
	c := Consistency{AtLeastAsFresh: token}

	// Run the check first so that the dispatch cache holds it: Explain must still work.
	require.True(t, check(t, e, "repo:ex/x", "write", "user:bob@example.com", token))

	pathStrings := func(ex Explanation) [][]string {
		var out [][]string
		for _, p := range ex.Paths {
			var s []string
			for _, r := range p {
				s = append(s, r.String())
				// Every relationship on a path is a stored one.
				got, err := e.Read(context.Background(), Filter{
					ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
					SubjectType: r.Subject.Type, SubjectID: r.Subject.ID, SubjectRelation: r.Subject.Relation,
				}, c)
				require.NoError(t, err)
				require.Len(t, got, 1, "relationship %s is not stored", r)
			}
			out = append(out, s)
		}
		return out
	}

	ex, err := e.Explain(context.Background(), CheckRequest{Resource: obj(t, "repo:ex/x"), Permission: "write", Subject: sub(t, "user:bob@example.com"), Consistency: c})
	require.NoError(t, err)
	require.True(t, ex.Allowed)
	require.NotEmpty(t, ex.CheckedAt)
	require.Contains(t, pathStrings(ex), []string{
		"repo:ex/x#org@org:ex",
		"org:ex#repos_open_to@org:ex",
		"org:ex#member@user:bob@example.com",
	})

	ex, err = e.Explain(context.Background(), CheckRequest{Resource: obj(t, "repo:exacl/y"), Permission: "read", Subject: sub(t, "user:dora@example.com"), Consistency: c})
	require.NoError(t, err)
	require.True(t, ex.Allowed)
	require.Equal(t, [][]string{{
		"repo:exacl/y#reader@team:ex/outer#member",
		"team:ex/outer#member@team:ex/inner#member",
		"team:ex/inner#member@user:dora@example.com",
	}}, pathStrings(ex))

	ex, err = e.Explain(context.Background(), CheckRequest{Resource: obj(t, "repo:exacl/y"), Permission: "write", Subject: sub(t, "user:carl@example.com"), Consistency: c})
	require.NoError(t, err)
	require.False(t, ex.Allowed)
	require.Empty(t, ex.Paths)
}

package relations

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWritePreconditionsAndErrors(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	write(t, e, "org:wp#platform@platform:root", "repo:wp/x#org@org:wp")
	readAll := func(repo string) []Relationship {
		got, err := e.Read(ctx, Filter{ResourceType: "repo", ResourceID: repo}, Consistency{Full: true})
		require.NoError(t, err)
		return got
	}

	// MustExist failing: nothing is written.
	_, err := e.Write(ctx, touches(t, "repo:wp/x#reader@user:bob@example.com"), []Precondition{{
		Filter: Filter{ResourceType: "repo", ResourceID: "wp/x", Relation: "bucket"}, MustExist: true,
	}})
	require.ErrorIs(t, err, ErrPrecondition)
	require.Len(t, readAll("wp/x"), 1)

	// MustNotExist with a subject filter: the first bucket write passes, a second fails.
	bucketOnce := []Precondition{{Filter: Filter{ResourceType: "repo", ResourceID: "wp/x", Relation: "bucket", SubjectType: "bucket"}}}
	_, err = e.Write(ctx, touches(t, "repo:wp/x#bucket@bucket:wp/main"), bucketOnce)
	require.NoError(t, err)
	_, err = e.Write(ctx, touches(t, "repo:wp/x#bucket@bucket:wp/other"), bucketOnce)
	require.ErrorIs(t, err, ErrPrecondition)
	require.Len(t, readAll("wp/x"), 2)

	// MustExist with a subject filter that matches.
	_, err = e.Write(ctx, touches(t, "repo:wp/x#reader@user:bob@example.com"), []Precondition{{
		Filter:    Filter{ResourceType: "repo", ResourceID: "wp/x", Relation: "bucket", SubjectType: "bucket", SubjectID: "wp/main"},
		MustExist: true,
	}})
	require.NoError(t, err)

	// Create of an existing relationship.
	_, err = e.Write(ctx, []Update{{Operation: OpCreate, Relationship: rel(t, "repo:wp/x#reader@user:bob@example.com")}}, nil)
	require.ErrorIs(t, err, ErrPrecondition)

	// Invalid relationships: nothing of the write is applied.
	before := len(readAll("wp/x"))
	for _, bad := range []string{
		"repo:wp/x#nonexistent@user:carl@example.com", // relation not in schema
		"repo:wp/x#reader@bucket:wp/main",             // subject type not allowed
		"repo:wp/x#read@user:carl@example.com",        // a permission, not a relation
	} {
		_, err = e.Write(ctx, touches(t, "repo:wp/x#writer@user:carl@example.com", bad), nil)
		require.ErrorIs(t, err, ErrInvalid, bad)
		require.Len(t, readAll("wp/x"), before, bad)
	}
	_, err = e.Write(ctx, []Update{{Operation: "upsert", Relationship: rel(t, "repo:wp/x#reader@user:carl@example.com")}}, nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = e.Read(ctx, Filter{}, Consistency{})
	require.ErrorIs(t, err, ErrInvalid)

	// DeleteMatching.
	token, err := e.DeleteMatching(ctx, Filter{ResourceType: "repo", ResourceID: "wp/x"})
	require.NoError(t, err)
	require.NotEmpty(t, token)
	require.Empty(t, readAll("wp/x"))
}

func TestDeleteMatchingMany(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	var rels []Relationship
	for i := range 2500 {
		rels = append(rels, rel(t, fmt.Sprintf("repo:dm/x#reader@user:u%d@example.com", i)))
	}
	n, err := e.Import(ctx, rels)
	require.NoError(t, err)
	require.Equal(t, 2500, n)
	got, err := e.Read(ctx, Filter{ResourceType: "repo", ResourceID: "dm/x"}, Consistency{Full: true})
	require.NoError(t, err)
	require.Len(t, got, 2500)
	exported := 0 // three export pages
	require.NoError(t, e.Export(ctx, func(r Relationship) error {
		if r.Resource.ID == "dm/x" {
			exported++
		}
		return nil
	}))
	require.Equal(t, 2500, exported)
	_, err = e.DeleteMatching(ctx, Filter{ResourceType: "repo", ResourceID: "dm/x", Relation: "reader", SubjectType: "user"})
	require.NoError(t, err)
	got, err = e.Read(ctx, Filter{ResourceType: "repo", ResourceID: "dm/x"}, Consistency{Full: true})
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestConsistencyTokens(t *testing.T) {
	e := engine(t)
	// The memory datastore quantizes minimize_latency reads (5s): only a token or a
	// full-consistency read is sure to see a fresh write.
	token := write(t, e, "org:ct#platform@platform:root", "org:ct#member@user:bob@example.com")
	require.True(t, check(t, e, "org:ct", "read", "user:bob@example.com", token))
	res, err := e.Check(context.Background(), CheckRequest{Resource: obj(t, "org:ct"), Permission: "read", Subject: sub(t, "user:bob@example.com"), Consistency: Consistency{Full: true}})
	require.NoError(t, err)
	require.True(t, res.Allowed)

	token, err = e.DeleteMatching(context.Background(), Filter{ResourceType: "org", ResourceID: "ct", Relation: "member"})
	require.NoError(t, err)
	require.False(t, check(t, e, "org:ct", "read", "user:bob@example.com", token))
}

func exportAll(t *testing.T, e Engine) []string {
	t.Helper()
	var out []string
	require.NoError(t, e.Export(context.Background(), func(r Relationship) error {
		out = append(out, r.String())
		return nil
	}))
	return out
}

func TestExportImportAndSchema(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	write(t, e, "org:ei#platform@platform:root", "org:ei#member@sa:etl@ei", "repo:ei/x#bucket@bucket:ei/main",
		"repo:ei/x#reader@team:ei/t#member")
	exported := exportAll(t, e)
	require.Contains(t, exported, "org:ei#member@sa:etl@ei")
	require.Contains(t, exported, "platform:root#unlocked@user:*")

	// A fresh engine: no schema yet, but ready.
	e2 := newEmbedded(t)
	defer e2.Close()
	require.NoError(t, e2.Ready(ctx))
	s, err := e2.ReadSchema(ctx)
	require.NoError(t, err)
	require.Empty(t, s)
	require.NoError(t, e2.WriteSchema(ctx, gatehouseSchema(t)))
	s, err = e2.ReadSchema(ctx)
	require.NoError(t, err)
	require.Contains(t, s, "definition repo")

	var rels []Relationship
	for _, r := range exported {
		rels = append(rels, rel(t, r))
	}
	n, err := e2.Import(ctx, rels)
	require.NoError(t, err)
	require.Equal(t, len(rels), n)
	n, err = e2.Import(ctx, rels) // idempotent
	require.NoError(t, err)
	require.Equal(t, len(rels), n)
	reexported := exportAll(t, e2)
	require.ElementsMatch(t, exported, reexported)

	// Export stops at fn's first error.
	stop := fmt.Errorf("stop")
	calls := 0
	err = e2.Export(ctx, func(Relationship) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)

	// A schema change that would orphan repo#bucket relationships is refused.
	schema := gatehouseSchema(t)
	without := removeLine(t, schema, "\trelation bucket: bucket\n")
	err = e2.WriteSchema(ctx, without)
	require.ErrorIs(t, err, ErrSchemaConflict)
	require.ErrorContains(t, err, "bucket")
	s, err = e2.ReadSchema(ctx)
	require.NoError(t, err)
	require.Contains(t, s, "relation bucket: bucket")

	// A broken schema is ErrInvalid.
	require.ErrorIs(t, e2.WriteSchema(ctx, "definition user {"), ErrInvalid)
}

func removeLine(t *testing.T, s, line string) string {
	t.Helper()
	i := indexOf(s, line)
	require.GreaterOrEqual(t, i, 0)
	return s[:i] + s[i+len(line):]
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

package guard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

type fixture struct {
	ctx context.Context
	raw relations.Engine // unguarded, to set up state the guard must then keep
	g   relations.Engine
	st  store.Store
}

func newFixture(t *testing.T, activated bool) *fixture {
	t.Helper()
	ctx := context.Background()
	raw, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	require.NoError(t, raw.WriteSchema(ctx, schema.Text))
	st := store.NewMemory()
	if activated {
		require.NoError(t, st.MarkActivated(ctx, time.Now()))
	}
	return &fixture{ctx: ctx, raw: raw, g: guard.New(raw, st), st: st}
}

func mustRel(t *testing.T, s string) relations.Relationship {
	t.Helper()
	r, err := relations.ParseRelationship(s)
	require.NoError(t, err, s)
	return r
}

func ups(t *testing.T, op relations.Operation, rels ...string) []relations.Update {
	t.Helper()
	out := make([]relations.Update, len(rels))
	for i, s := range rels {
		out[i] = relations.Update{Operation: op, Relationship: mustRel(t, s)}
	}
	return out
}

func (f *fixture) seed(t *testing.T, rels ...string) {
	t.Helper()
	_, err := f.raw.Write(f.ctx, ups(t, relations.OpTouch, rels...), nil)
	require.NoError(t, err)
}

func (f *fixture) count(t *testing.T, filter relations.Filter) int {
	t.Helper()
	rels, err := f.raw.Read(f.ctx, filter, relations.Consistency{Full: true})
	require.NoError(t, err)
	return len(rels)
}

// requireCode requires an *apperr.Error of kind and code; it returns it.
func requireCode(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	var ae *apperr.Error
	require.True(t, errors.As(err, &ae), "want %s, got %v", code, err)
	require.Equal(t, kind, ae.Kind, "%v", err)
	require.Equal(t, code, ae.Code, "%v", err)
	return ae
}

var platformAdmins = relations.Filter{ResourceType: "platform", ResourceID: "root", Relation: "admin"}

func TestP2LastPlatformAdmin(t *testing.T) {
	f := newFixture(t, true)
	f.seed(t, "platform:root#admin@robot:a")

	// Hole 1: the admin deletes its own admin relationship through the write path.
	_, err := f.g.Write(f.ctx, ups(t, relations.OpDelete, "platform:root#admin@robot:a"), nil)
	ae := requireCode(t, err, apperr.Conflict, "last_admin")
	require.Empty(t, ae.Field, "a dedicated route's caller wrote no list of updates")
	_, err = f.g.Write(guard.NamingUpdates(f.ctx, "updates"), ups(t, relations.OpDelete, "platform:root#admin@robot:a"), nil)
	ae = requireCode(t, err, apperr.Conflict, "last_admin")
	require.Equal(t, "updates[0].relationship", ae.Field)
	require.Contains(t, ae.Message, "robot:a")
	// The same through a filter (robot deletion) and through DeleteSubject.
	_, err = f.g.DeleteMatching(f.ctx, relations.Filter{ResourceType: "platform", SubjectType: "robot", SubjectID: "a"})
	requireCode(t, err, apperr.Conflict, "last_admin")
	requireCode(t, relations.DeleteSubject(f.ctx, f.g, relations.Object{Type: "robot", ID: "a"}), apperr.Conflict, "last_admin")
	require.Equal(t, 1, f.count(t, platformAdmins))

	// A swap in one write keeps an admin: allowed.
	_, err = f.g.Write(f.ctx, append(ups(t, relations.OpDelete, "platform:root#admin@robot:a"),
		ups(t, relations.OpTouch, "platform:root#admin@user:b@example.com")...), nil)
	require.NoError(t, err)
	// Removing one of two: allowed; deleting someone who is not an admin: no-op.
	f.seed(t, "platform:root#admin@robot:a")
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, "platform:root#admin@user:b@example.com"), nil)
	require.NoError(t, err)
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, "platform:root#admin@robot:nobody"), nil)
	require.NoError(t, err)
	require.Equal(t, 1, f.count(t, platformAdmins))

	// Deactivation (P3) and undo are the privileged paths that may delete the last admin.
	_, err = f.g.DeleteMatching(guard.Deactivating(f.ctx), relations.Filter{ResourceType: "platform"})
	require.NoError(t, err)
	require.Equal(t, 0, f.count(t, platformAdmins))
}

func TestP1AdminsOnlyOnceActivated(t *testing.T) {
	f := newFixture(t, false)
	_, err := f.g.Write(f.ctx, ups(t, relations.OpTouch, "platform:root#admin@robot:a"), nil)
	requireCode(t, err, apperr.NotActivated, "not_activated")
	_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, "platform:root#admin@robot:a")})
	requireCode(t, err, apperr.NotActivated, "not_activated")
	require.NoError(t, f.st.MarkActivated(f.ctx, time.Now()))
	_, err = f.g.Write(f.ctx, ups(t, relations.OpTouch, "platform:root#admin@robot:a"), nil)
	require.NoError(t, err)
}

func TestO2LastOrgAdmin(t *testing.T) {
	f := newFixture(t, true)
	orgAdmins := relations.Filter{ResourceType: "org", ResourceID: "acme", Relation: "admin"}
	f.seed(t, "org:acme#platform@platform:root", "org:acme#admin@user:ann@example.com", "org:acme#admin@team:acme/ops#member")

	// Two admins (a person and a team): removing one is fine, the other is the last.
	_, err := f.g.Write(f.ctx, ups(t, relations.OpDelete, "org:acme#admin@user:ann@example.com"), nil)
	require.NoError(t, err)
	// Demotion (touch member, delete admin) of the last one: refused.
	_, err = f.g.Write(guard.NamingUpdates(f.ctx, "updates"), []relations.Update{
		{Operation: relations.OpTouch, Relationship: mustRel(t, "org:acme#member@team:acme/ops#member")},
		{Operation: relations.OpDelete, Relationship: mustRel(t, "org:acme#admin@team:acme/ops#member")},
	}, nil)
	ae := requireCode(t, err, apperr.Conflict, "last_admin")
	require.Equal(t, "acme", ae.Details["org"])
	require.Equal(t, "updates[1].relationship", ae.Field)
	// Deleting the team that is the last admin: refused before anything is deleted.
	requireCode(t, relations.DeleteSubject(f.ctx, f.g, relations.Object{Type: "team", ID: "acme/ops"}), apperr.Conflict, "last_admin")
	_, err = f.g.DeleteMatching(f.ctx, relations.Filter{ResourceType: "org", ResourceID: "acme"})
	requireCode(t, err, apperr.Conflict, "last_admin")
	require.Equal(t, 1, f.count(t, orgAdmins))

	// Another org's admins are not acme's.
	f.seed(t, "org:other#admin@user:ann@example.com")
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, "org:acme#admin@user:ann@example.com"), nil)
	require.NoError(t, err, "ann is no longer acme's admin: a no-op")

	// Deleting the org takes its last admin with it.
	_, err = f.g.DeleteMatching(guard.DeletingOrg(f.ctx, "acme"), relations.Filter{ResourceType: "org", ResourceID: "acme"})
	require.NoError(t, err)
	require.Equal(t, 0, f.count(t, orgAdmins))
	_, err = f.g.Write(guard.DeletingOrg(f.ctx, "acme"), ups(t, relations.OpDelete, "org:other#admin@user:ann@example.com"), nil)
	requireCode(t, err, apperr.Conflict, "last_admin")

	// An org created without an admin may stay without one.
	f.seed(t, "org:bare#platform@platform:root")
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, "org:bare#admin@user:x@example.com"), nil)
	require.NoError(t, err)
}

func TestO4TeamCycles(t *testing.T) {
	f := newFixture(t, true)
	f.seed(t, "team:acme/a#org@org:acme", "team:acme/b#org@org:acme", "team:acme/c#org@org:acme",
		"team:acme/a#member@team:acme/b#member", "team:acme/b#member@team:acme/c#member",
		"team:acme/a#member@user:ann@example.com")

	cases := []struct {
		name, rel, cycle string
	}{
		{"self", "team:acme/a#member@team:acme/a#member", "team:acme/a -> team:acme/a"},
		{"direct", "team:acme/b#member@team:acme/a#member", "team:acme/b -> team:acme/a -> team:acme/b"},
		{"three long", "team:acme/c#member@team:acme/a#member", "team:acme/c -> team:acme/a -> team:acme/b -> team:acme/c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.g.Write(f.ctx, ups(t, relations.OpTouch, c.rel), nil)
			ae := requireCode(t, err, apperr.Conflict, "team_cycle")
			require.Contains(t, ae.Message, c.cycle)
			require.Len(t, ae.Details["cycle"], len(splitArrows(c.cycle)))
			_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, c.rel)})
			requireCode(t, err, apperr.Conflict, "team_cycle")
		})
	}
	// A cycle made within one write or one import is refused too.
	_, err := f.g.Write(f.ctx, ups(t, relations.OpTouch, "team:acme/x#member@team:acme/y#member", "team:acme/y#member@team:acme/x#member"), nil)
	requireCode(t, err, apperr.Conflict, "team_cycle")
	// Moving an edge (delete the old link, add the reverse) in one write is no cycle.
	_, err = f.g.Write(f.ctx, []relations.Update{
		{Operation: relations.OpDelete, Relationship: mustRel(t, "team:acme/b#member@team:acme/c#member")},
		{Operation: relations.OpTouch, Relationship: mustRel(t, "team:acme/c#member@team:acme/b#member")},
	}, nil)
	require.NoError(t, err)
	// Hole 7: checks through the teams still answer.
	_, err = f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/raw#org@org:acme", "repo:acme/raw#reader@team:acme/a#member"), nil)
	require.NoError(t, err)
	res, err := f.g.Check(f.ctx, relations.CheckRequest{Resource: relations.Object{Type: "repo", ID: "acme/raw"}, Permission: "reader",
		Subject: relations.Subject{Object: relations.Object{Type: "user", ID: "ann@example.com"}}})
	require.NoError(t, err)
	require.True(t, res.Allowed, "O4: members of team a read through it; no max depth exceeded")
}

func splitArrows(s string) []string {
	var out []string
	for len(s) > 0 {
		i := len(s)
		for j := 0; j+4 <= len(s); j++ {
			if s[j:j+4] == " -> " {
				i = j
				break
			}
		}
		out = append(out, s[:i])
		if i == len(s) {
			break
		}
		s = s[i+4:]
	}
	return out
}

// bucketConfigs stores a config per nickname of org, so repo#bucket may name them (R4).
func (f *fixture) bucketConfigs(t *testing.T, org string, nicknames ...string) {
	t.Helper()
	if _, err := f.st.GetOrg(f.ctx, org); err != nil {
		require.NoError(t, f.st.CreateOrg(f.ctx, store.Org{Name: org, RepoAccess: store.RepoAccessMembers, CreatedAt: time.Now()}))
	}
	for _, n := range nicknames {
		require.NoError(t, f.st.CreateBucket(f.ctx, store.BucketConfig{ID: org + "-" + n, Org: org, Nickname: n, Platform: "s3",
			Bucket: org + "-" + n, AuthType: "self_managed", CreatedAt: time.Now()}))
	}
}

func TestR4OneBucketPerRepo(t *testing.T) {
	f := newFixture(t, true)
	f.bucketConfigs(t, "acme", "main", "other", "a", "b")
	f.seed(t, "repo:acme/raw#bucket@bucket:acme/main")
	_, err := f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/raw#bucket@bucket:acme/other"), nil)
	requireCode(t, err, apperr.Conflict, "bucket_in_use")
	_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, "repo:acme/raw#bucket@bucket:acme/other")})
	requireCode(t, err, apperr.Conflict, "bucket_in_use")
	_, err = f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/new#bucket@bucket:acme/a", "repo:acme/new#bucket@bucket:acme/b"), nil)
	requireCode(t, err, apperr.Invalid, "invalid_argument")
	_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, "repo:acme/new#bucket@bucket:acme/a"), mustRel(t, "repo:acme/new#bucket@bucket:acme/b")})
	requireCode(t, err, apperr.Invalid, "invalid_argument")
	// Idempotent touch and replacement in one write: allowed.
	_, err = f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/raw#bucket@bucket:acme/main"), nil)
	require.NoError(t, err)
	_, err = f.g.Write(f.ctx, append(ups(t, relations.OpDelete, "repo:acme/raw#bucket@bucket:acme/main"),
		ups(t, relations.OpTouch, "repo:acme/raw#bucket@bucket:acme/other")...), nil)
	require.NoError(t, err)
	require.Equal(t, 1, f.count(t, relations.Filter{ResourceType: "repo", ResourceID: "acme/raw", Relation: "bucket"}))
}

// TestR4BucketLinkNamesAStoredConfigOfTheRepoOrg: a raw repo#bucket write must name an
// existing bucket config of the repo's own org (R4, O1): neither another org's config nor
// a made-up one, by write or import.
func TestR4BucketLinkNamesAStoredConfigOfTheRepoOrg(t *testing.T) {
	f := newFixture(t, true)
	f.bucketConfigs(t, "acme", "main")
	f.bucketConfigs(t, "beta", "theirs")
	for _, rel := range []string{"repo:acme/raw#bucket@bucket:beta/theirs", "repo:acme/raw#bucket@bucket:acme/nope"} {
		_, err := f.g.Write(guard.NamingUpdates(f.ctx, "updates"), ups(t, relations.OpTouch, rel), nil)
		ae := requireCode(t, err, apperr.Invalid, "invalid_argument")
		require.Equal(t, "updates[0].relationship", ae.Field, rel)
		_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, rel)})
		requireCode(t, err, apperr.Invalid, "invalid_argument")
	}
	require.Equal(t, 0, f.count(t, relations.Filter{ResourceType: "repo", Relation: "bucket"}))
	_, err := f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/raw#bucket@bucket:acme/main"), nil)
	require.NoError(t, err)
}

func TestPL4AgentLinks(t *testing.T) {
	f := newFixture(t, true)
	link := "user:ann@example.com#agent@pipeline:acme/p"
	_, err := f.g.Write(guard.NamingUpdates(f.ctx, "updates"), ups(t, relations.OpTouch, link), nil)
	ae := requireCode(t, err, apperr.Forbidden, "agent_link")
	require.Equal(t, "updates[0].relationship", ae.Field)
	_, err = f.g.Write(f.ctx, ups(t, relations.OpCreate, "sa:etl@acme#agent@pipeline:acme/p"), nil)
	requireCode(t, err, apperr.Forbidden, "agent_link")
	_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, "robot:ci#agent@pipeline:acme/p")})
	requireCode(t, err, apperr.Forbidden, "agent_link")
	require.Equal(t, 0, f.count(t, relations.Filter{ResourceType: "user", Relation: "agent"}))

	// Pipeline creation allows exactly its creator's link, and no other.
	ctx := guard.AllowAgentLink(f.ctx, mustRel(t, link))
	_, err = f.g.Write(ctx, ups(t, relations.OpTouch, "user:bob@example.com#agent@pipeline:acme/p"), nil)
	requireCode(t, err, apperr.Forbidden, "agent_link")
	_, err = f.g.Write(ctx, ups(t, relations.OpTouch, link), nil)
	require.NoError(t, err)
	// Deleting a link is always allowed (pipeline deletion, subject deletion).
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, link), nil)
	require.NoError(t, err)
}

package orgs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/faults"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

type fixture struct {
	ctx  context.Context
	rel  *faults.Engine
	st   *faults.Store
	tok  *tokens.Service
	orgs *Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	engine, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = engine.Close() })
	require.NoError(t, engine.WriteSchema(ctx, schema.Text))
	st := &faults.Store{Store: store.NewMemory()}
	// Every write goes through the guard, as in the server (O2, O4).
	rel := &faults.Engine{Engine: guard.New(engine, st)}
	tok := tokens.NewService(st, tokens.DefaultConfig())
	_, err = platform.New(rel, tok, st).Activate(ctx, "robot:admin", 0)
	require.NoError(t, err)
	return &fixture{ctx: ctx, rel: rel, st: st, tok: tok, orgs: New(rel, st, tok, "gatehouse.test")}
}

func (f *fixture) can(t *testing.T, resource relations.Object, perm, subject string) bool {
	t.Helper()
	sub, err := relations.ParseSubject(subject)
	require.NoError(t, err)
	res, err := f.rel.Check(f.ctx, relations.CheckRequest{Resource: resource, Permission: perm, Subject: sub})
	require.NoError(t, err)
	return res.Allowed
}

var raw = relations.Object{Type: schema.TypeRepo, ID: "acme/raw"}

func TestMembersAndModes(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	_, err = f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "O1: names are unique")
	_, err = f.rel.Write(f.ctx, []relations.Update{touch(rel(raw, schema.RelOrg, sub(orgObj("acme"), "")))}, nil)
	require.NoError(t, err)

	// O3, ID1: added by email before any login, case-insensitively; effective at once.
	m, err := f.orgs.SetMember(f.ctx, "acme", "Bob@Example.com", RoleMember)
	require.NoError(t, err)
	require.Equal(t, "user:bob@example.com", m.Subject)
	require.True(t, f.can(t, raw, schema.PermWrite, "user:bob@example.com"), "O2: members write every repo by default")
	require.False(t, f.can(t, orgObj("acme"), schema.PermManage, "user:bob@example.com"))

	_, err = f.orgs.SetMember(f.ctx, "acme", "bob@example.com", RoleAdmin)
	require.NoError(t, err)
	require.True(t, f.can(t, orgObj("acme"), schema.PermManage, "user:bob@example.com"), "O3: role changed")
	members, err := f.orgs.Members(f.ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []Member{{Subject: "user:bob@example.com", Role: RoleAdmin}}, members, "one role at a time")

	_, err = f.orgs.SetRepoAccess(f.ctx, "acme", store.RepoAccessACLOnly)
	require.NoError(t, err)
	_, err = f.orgs.SetMember(f.ctx, "acme", "carol@example.com", RoleMember)
	require.NoError(t, err)
	require.False(t, f.can(t, raw, schema.PermRead, "user:carol@example.com"), "O2: acl_only")
	_, err = f.orgs.SetRepoAccess(f.ctx, "acme", "open")
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))

	err = f.orgs.RemoveMember(f.ctx, "acme", "BOB@example.com")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "O2: the last admin cannot be removed")
	_, err = f.orgs.SetMember(f.ctx, "acme", "carol@example.com", RoleAdmin)
	require.NoError(t, err)
	require.NoError(t, f.orgs.RemoveMember(f.ctx, "acme", "BOB@example.com"))
	require.False(t, f.can(t, orgObj("acme"), schema.PermManage, "user:bob@example.com"), "O3: removal effective at the next check")
	require.Equal(t, apperr.NotFound, apperr.KindOf(f.orgs.RemoveMember(f.ctx, "acme", "bob@example.com")))

	_, err = f.orgs.SetMember(f.ctx, "nope", "x@example.com", RoleMember)
	require.Equal(t, apperr.NotFound, apperr.KindOf(err))
	_, err = f.orgs.SetMember(f.ctx, "acme", "not-an-email", RoleMember)
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))

	err = f.orgs.Delete(f.ctx, "acme")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "repos remain")
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []string{"acme/raw"}, ae.Details["repos"])
}

func TestNestedTeams(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	_, err = f.orgs.SetRepoAccess(f.ctx, "acme", store.RepoAccessACLOnly)
	require.NoError(t, err)
	require.NoError(t, f.orgs.CreateTeam(f.ctx, "acme", "data"))
	require.NoError(t, f.orgs.CreateTeam(f.ctx, "acme", "interns"))
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "data", "team:acme/interns")
	require.NoError(t, err)
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "interns", "user:ivy@example.com")
	require.NoError(t, err)
	_, err = f.rel.Write(f.ctx, []relations.Update{
		touch(rel(raw, schema.RelOrg, sub(orgObj("acme"), ""))),
		touch(rel(raw, schema.RelWriter, sub(teamObj("acme", "data"), schema.RelMember))),
	}, nil)
	require.NoError(t, err)
	require.True(t, f.can(t, raw, schema.PermWrite, "user:ivy@example.com"), "O4: members of nested teams inherit the role")

	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "data", "pipeline:acme/p")
	require.Equal(t, apperr.Invalid, apperr.KindOf(err), "PL4")
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "ghost", "user:ivy@example.com")
	require.Equal(t, apperr.NotFound, apperr.KindOf(err))

	require.NoError(t, f.orgs.DeleteTeam(f.ctx, "acme", "interns"))
	require.False(t, f.can(t, raw, schema.PermWrite, "user:ivy@example.com"), "deleting a team removes what it granted")
	teams, err := f.orgs.Teams(f.ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{"data"}, teams)
}

func TestAPIKeys(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)

	k, err := f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "etl", 0, "")
	require.NoError(t, err)
	require.Equal(t, "sa:etl@acme", k.Subject)
	require.Equal(t, "etl@acme.service.gatehouse.test", k.Account, "ID2")
	require.WithinDuration(t, k.CreatedAt.Add(DefaultKeyLifetime), k.ExpiresAt, 0, "default lifetime one year")
	p, err := f.tok.Verify(f.ctx, k.Token)
	require.NoError(t, err)
	require.Equal(t, "sa:etl@acme", p.Subject)
	require.True(t, f.can(t, orgObj("acme"), schema.PermRead, "sa:etl@acme"))

	_, err = f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "etl", 0, "")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err))
	_, err = f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "x", -1, "")
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))

	keys, err := f.orgs.APIKeys(f.ctx, "acme")
	require.NoError(t, err)
	require.Len(t, keys, 1)

	require.NoError(t, f.orgs.DeleteAPIKey(f.ctx, "acme", "etl"))
	_, err = f.tok.Verify(f.ctx, k.Token)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "ID2: a deleted key is refused at once")
	require.False(t, f.can(t, orgObj("acme"), schema.PermRead, "sa:etl@acme"))
}

// ID2, issue 8.3: a failure in the middle of an API key's creation leaves nothing: no key
// row, no token, no grant, whether the store transaction fails at its first or its last
// write or the SpiceDB write after it fails; and the key can be created afterwards.
func TestAPIKeyCreationFailureLeavesNothing(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	nothing := func(what string) {
		t.Helper()
		require.False(t, f.can(t, orgObj("acme"), schema.PermRead, "sa:etl@acme"), "%s: no grant survives", what)
		keys, err := f.orgs.APIKeys(f.ctx, "acme")
		require.NoError(t, err)
		require.Empty(t, keys, "%s: no key row", what)
		toks, err := f.st.ListTokens(f.ctx, "sa:etl@acme")
		require.NoError(t, err)
		require.Empty(t, toks, "%s: no token", what)
	}
	for _, step := range []string{"CreateToken", "CreateAPIKey"} {
		f.st.FailIn = step
		_, err = f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "etl", 0, RoleAdmin)
		require.ErrorIs(t, err, faults.ErrInjected)
		f.st.FailIn = ""
		nothing(step)
	}
	f.rel.FailWrites = true
	_, err = f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "etl", 0, RoleAdmin)
	require.ErrorIs(t, err, faults.ErrInjected)
	f.rel.FailWrites = false
	nothing("role write")

	k, err := f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "etl", 0, RoleAdmin)
	require.NoError(t, err)
	_, err = f.tok.Verify(f.ctx, k.Token)
	require.NoError(t, err)
}

// ID2: a crash skips the clean-up of a failed creation; Reconcile removes what it can
// leave: a key stored without its role (its secret was never shown), a key without its
// token (left by older versions) and a role without a key. A key younger than the grace
// may be a creation in flight on another replica and stays, and so does an old key
// granted something other than an org role.
func TestReconcileRemovesCrashLeftovers(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	storeKey := func(name string, created time.Time) string {
		t.Helper()
		_, rec, err := f.tok.Prepare(tokens.MintRequest{Subject: saObj("acme", name).String(), Kind: tokens.KindAPIKey, TTL: time.Hour})
		require.NoError(t, err)
		require.NoError(t, f.st.CreateToken(f.ctx, rec))
		require.NoError(t, f.st.CreateAPIKey(f.ctx, store.APIKey{Org: "acme", Name: name, TokenID: rec.ID, Role: RoleMember, CreatedAt: created}))
		return rec.ID
	}
	orphan := storeKey("orphan", time.Now().Add(-2*reconcileGrace))
	storeKey("young", time.Now())
	storeKey("teamed", time.Now().Add(-2*reconcileGrace))
	require.NoError(t, f.orgs.CreateTeam(f.ctx, "acme", "ops"))
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "ops", "sa:teamed@acme")
	require.NoError(t, err)
	require.NoError(t, f.st.CreateAPIKey(f.ctx, store.APIKey{Org: "acme", Name: "ghost", TokenID: "nosuchtoken", Role: RoleAdmin}))
	_, err = f.rel.Write(f.ctx, []relations.Update{touch(rel(orgObj("acme"), schema.RelAdmin, sub(saObj("acme", "ghost"), "")))}, nil)
	require.NoError(t, err)

	n, err := f.orgs.Reconcile(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "the orphan key, the ghost key and the ghost's role")
	require.False(t, f.can(t, orgObj("acme"), schema.PermManage, "sa:ghost@acme"))
	_, err = f.st.GetToken(f.ctx, orphan)
	require.ErrorIs(t, err, store.ErrNotFound, "the orphan's token goes with it")
	keys, err := f.orgs.APIKeys(f.ctx, "acme")
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, "teamed", keys[0].Name)
	require.Equal(t, "young", keys[1].Name)
}

// O2, O4: the org's last admin stays, whichever act would remove it, and nothing of the
// refused act is applied; a team cannot contain itself, directly or transitively.
func TestO2O4GuardedActs(t *testing.T) {
	f := newFixture(t)
	_, err := f.orgs.Create(f.ctx, "robot:admin", "acme")
	require.NoError(t, err)
	k, err := f.orgs.CreateAPIKey(f.ctx, "robot:admin", "acme", "ops", 0, RoleAdmin)
	require.NoError(t, err)

	// The key is the last admin: deleting it is refused, and it keeps working.
	err = f.orgs.DeleteAPIKey(f.ctx, "acme", "ops")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err))
	_, err = f.tok.Verify(f.ctx, k.Token)
	require.NoError(t, err, "nothing of the refused deletion was applied")
	require.True(t, f.can(t, orgObj("acme"), schema.PermManage, "sa:ops@acme"))

	// A team as the last admin: deleting the team is refused before anything is deleted.
	require.NoError(t, f.orgs.CreateTeam(f.ctx, "acme", "leads"))
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "leads", "user:lee@example.com")
	require.NoError(t, err)
	_, err = f.rel.Write(f.ctx, []relations.Update{touch(rel(orgObj("acme"), schema.RelAdmin, sub(teamObj("acme", "leads"), schema.RelMember)))}, nil)
	require.NoError(t, err)
	require.NoError(t, f.orgs.DeleteAPIKey(f.ctx, "acme", "ops"), "the team remains admin")
	require.Equal(t, apperr.Conflict, apperr.KindOf(f.orgs.DeleteTeam(f.ctx, "acme", "leads")))
	require.True(t, f.can(t, orgObj("acme"), schema.PermManage, "user:lee@example.com"))

	// O4: cycles of any length are refused.
	require.NoError(t, f.orgs.CreateTeam(f.ctx, "acme", "a"))
	require.NoError(t, f.orgs.CreateTeam(f.ctx, "acme", "b"))
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "a", "team:acme/a")
	require.Equal(t, apperr.Conflict, apperr.KindOf(err))
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "a", "team:acme/b")
	require.NoError(t, err)
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "b", "team:acme/leads")
	require.NoError(t, err)
	_, err = f.orgs.AddTeamMember(f.ctx, "acme", "leads", "team:acme/a")
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "team_cycle", ae.Code)
	require.Contains(t, ae.Message, "team:acme/leads -> team:acme/a -> team:acme/b -> team:acme/leads")

	// Deleting the org takes its last admin with it.
	require.NoError(t, f.orgs.Delete(f.ctx, "acme"))
	require.False(t, f.can(t, orgObj("acme"), schema.PermManage, "user:lee@example.com"))
}

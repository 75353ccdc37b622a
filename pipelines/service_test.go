package pipelines_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/faults"
	"github.com/gatehouse-dev/gatehouse/pipelines"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

type fixture struct {
	ctx context.Context
	raw relations.Engine
	st  store.Store
	tok *tokens.Service
	svc *pipelines.Service
	ann tokens.Principal
}

// newFixture: an open platform, org acme (members mode) with member ann, repos acme/raw
// and acme/clean; the service over the guarded engine and the memory store.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	raw, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	require.NoError(t, raw.WriteSchema(ctx, schema.Text))
	var rels []relations.Relationship
	for _, s := range []string{
		"platform:root#unlocked@user:*", "platform:root#unlocked@pipeline:*",
		"org:acme#platform@platform:root", "org:acme#repos_open_to@org:acme", "org:acme#member@user:ann@example.com",
		"repo:acme/raw#org@org:acme", "repo:acme/clean#org@org:acme",
	} {
		r, err := relations.ParseRelationship(s)
		require.NoError(t, err)
		rels = append(rels, r)
	}
	_, err = raw.Import(ctx, rels)
	require.NoError(t, err)
	st := store.NewMemory()
	tok := tokens.NewService(st, tokens.DefaultConfig())
	g := guard.New(raw, st)
	return &fixture{ctx: ctx, raw: raw, st: st, tok: tok, svc: pipelines.New(g, st, tok, authz.New(g, tok)),
		ann: tokens.Principal{Subject: "user:ann@example.com", TokenID: "t-ann", Kind: tokens.KindUser, ExpiresAt: time.Now().Add(time.Hour)}}
}

var spec = pipelines.Spec{Inputs: []string{"acme/raw"}, Output: "acme/clean"}

// Deleting a pipeline while its token is minted, released together, 50 rounds: never a
// token that still verifies once the pipeline is gone (the pipeline lock), never a
// half-deleted pipeline.
func TestPL3TokenRaceWithDelete(t *testing.T) {
	f := newFixture(t)
	minted := 0
	for round := range 50 {
		_, err := f.svc.Create(f.ctx, f.ann, "acme", "p", spec)
		require.NoError(t, err, "round %d", round)
		var m tokens.Minted
		var tokErr, delErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-start; m, tokErr = f.svc.Token(f.ctx, "acme", "p", time.Hour) }()
		go func() { defer wg.Done(); <-start; delErr = f.svc.Delete(f.ctx, "acme", "p") }()
		close(start)
		wg.Wait()
		require.NoError(t, delErr, "round %d", round)
		if tokErr == nil {
			minted++
			_, err := f.tok.Verify(f.ctx, m.Token)
			require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "round %d: a token of a deleted pipeline verifies", round)
		} else {
			require.Equal(t, apperr.NotFound, apperr.KindOf(tokErr), "round %d: %v", round, tokErr)
		}
		left, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: schema.TypeRepo, SubjectType: schema.TypePipeline, SubjectID: "acme/p"}, relations.Consistency{Full: true})
		require.NoError(t, err)
		require.Empty(t, left, "round %d: wiring left", round)
	}
	t.Logf("50 rounds, %d tokens minted before the delete won", minted)
}

// Two creations of one name, released together: one wins, the other is 409, and the
// wiring is the winner's alone.
func TestCreateRace(t *testing.T) {
	f := newFixture(t)
	bob := tokens.Principal{Subject: "user:bob@example.com", TokenID: "t-bob", Kind: tokens.KindUser, ExpiresAt: time.Now().Add(time.Hour)}
	_, err := f.raw.Write(f.ctx, []relations.Update{{Operation: relations.OpTouch, Relationship: relations.Relationship{
		Resource: relations.Object{Type: schema.TypeOrg, ID: "acme"}, Relation: schema.RelMember,
		Subject: relations.Subject{Object: relations.Object{Type: schema.TypeUser, ID: "bob@example.com"}}}}}, nil)
	require.NoError(t, err)
	for round := range 20 {
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, p := range []tokens.Principal{f.ann, bob} {
			wg.Add(1)
			go func() { defer wg.Done(); <-start; _, errs[i] = f.svc.Create(f.ctx, p, "acme", "q", spec) }()
		}
		close(start)
		wg.Wait()
		require.True(t, (errs[0] == nil) != (errs[1] == nil), "round %d: exactly one wins: %v", round, errs)
		for _, e := range errs {
			if e != nil {
				require.Equal(t, apperr.Conflict, apperr.KindOf(e), "round %d: %v", round, e)
			}
		}
		agents := 0
		for _, id := range []string{"ann@example.com", "bob@example.com"} {
			rels, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: schema.TypeUser, ResourceID: id, Relation: schema.RelAgent}, relations.Consistency{Full: true})
			require.NoError(t, err)
			agents += len(rels)
		}
		require.Equal(t, 1, agents, "round %d: the pipeline acts for one creator", round)
		require.NoError(t, f.svc.Delete(f.ctx, "acme", "q"))
	}
}

// Whatever wiring names a pipeline when it is created (left by an interrupted act, or
// written by privileged tooling) is replaced: the new pipeline gets exactly what it asks.
func TestCreateRemovesStaleWiring(t *testing.T) {
	f := newFixture(t)
	stale, err := relations.ParseRelationship("repo:acme/clean#input_of@pipeline:acme/p")
	require.NoError(t, err)
	_, err = guard.New(f.raw, f.st).Write(guard.AllowPipelineLinks(f.ctx, stale), []relations.Update{{Operation: relations.OpTouch, Relationship: stale}}, nil)
	require.NoError(t, err)
	_, err = f.svc.Create(f.ctx, f.ann, "acme", "p", spec)
	require.NoError(t, err)
	rels, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: schema.TypeRepo, SubjectType: schema.TypePipeline, SubjectID: "acme/p"}, relations.Consistency{Full: true})
	require.NoError(t, err)
	var got []string
	for _, r := range rels {
		got = append(got, r.String())
	}
	require.ElementsMatch(t, []string{"repo:acme/raw#input_of@pipeline:acme/p", "repo:acme/clean#output_of@pipeline:acme/p"}, got)
}

// A row without wiring (an interrupted creation whose row could not be removed) is
// reachable by no route; creating the name again replaces it, with its tokens, rather
// than answering 409 forever.
func TestCreateReplacesOrphanRow(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.st.CreatePipeline(f.ctx, store.Pipeline{Org: "acme", Name: "p", Creator: "user:eve@example.com", Inputs: []string{"acme/raw"}, Output: "acme/clean"}))
	old, err := f.tok.Mint(f.ctx, tokens.MintRequest{Subject: "pipeline:acme/p", Kind: pipelines.TokenKind, TTL: time.Hour})
	require.NoError(t, err)
	p, err := f.svc.Create(f.ctx, f.ann, "acme", "p", spec)
	require.NoError(t, err)
	require.Equal(t, "user:ann@example.com", p.Creator)
	_, err = f.tok.Verify(f.ctx, old.Token)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "the orphan's tokens went with it")
	_, err = f.svc.Create(f.ctx, f.ann, "acme", "p", spec)
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "a wired pipeline is a conflict")
}

// SpiceDB failing mid-act (D3, fail closed): nothing half-applied that could grant
// anything, and the next act after it recovers finds a clean state.
func TestEngineFailureLeavesNothingHalfApplied(t *testing.T) {
	f := newFixture(t)
	flaky := &faults.Engine{Engine: f.raw}
	g := guard.New(flaky, f.st)
	svc := pipelines.New(g, f.st, f.tok, authz.New(g, f.tok))
	wiring := func() []relations.Relationship {
		rels, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: schema.TypeRepo, SubjectType: schema.TypePipeline, SubjectID: "acme/p"}, relations.Consistency{Full: true})
		require.NoError(t, err)
		return rels
	}

	flaky.FailWrites = true
	_, err := svc.Create(f.ctx, f.ann, "acme", "p", spec)
	require.ErrorIs(t, err, faults.ErrInjected)
	_, err = f.st.GetPipeline(f.ctx, "acme", "p")
	require.ErrorIs(t, err, store.ErrNotFound, "the row went with the failed wiring")
	flaky.FailWrites = false
	_, err = svc.Create(f.ctx, f.ann, "acme", "p", spec)
	require.NoError(t, err)

	flaky.FailWrites = true
	_, err = svc.Update(f.ctx, f.ann, "acme", "p", pipelines.Spec{Inputs: []string{"acme/clean"}, Output: "acme/raw"})
	require.ErrorIs(t, err, faults.ErrInjected)
	row, err := f.st.GetPipeline(f.ctx, "acme", "p")
	require.NoError(t, err)
	require.Equal(t, spec.Inputs, row.Inputs, "the row keeps what is wired")
	require.Len(t, wiring(), 2)

	tok, err := svc.Token(f.ctx, "acme", "p", time.Hour)
	require.NoError(t, err)
	err = svc.Delete(f.ctx, "acme", "p")
	require.ErrorIs(t, err, faults.ErrInjected)
	_, err = f.tok.Verify(f.ctx, tok.Token)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "its tokens are gone first")
	_, err = svc.Token(f.ctx, "acme", "p", time.Hour)
	require.Equal(t, apperr.NotFound, apperr.KindOf(err), "and no new one can be minted")
	flaky.FailWrites = false
	_, err = svc.Create(f.ctx, f.ann, "acme", "p", pipelines.Spec{Inputs: []string{"acme/clean"}, Output: "acme/raw"})
	require.NoError(t, err)
	var got []string
	for _, r := range wiring() {
		got = append(got, r.String())
	}
	require.ElementsMatch(t, []string{"repo:acme/clean#input_of@pipeline:acme/p", "repo:acme/raw#output_of@pipeline:acme/p"}, got, "the leftover wiring was replaced")
}

// PL3, ID2: a pipeline acting for an API key never gets a token that outlives the key
// (capped at its expiry), and none once the key has expired or is gone (409
// creator_gone): an expired key can do nothing, nor can what acts for it.
func TestPL3TokenBoundByCreatorKey(t *testing.T) {
	f := newFixture(t)
	for _, s := range []string{"platform:root#unlocked@sa:*", "org:acme#member@sa:etl@acme", "org:acme#member@sa:old@acme"} {
		r, err := relations.ParseRelationship(s)
		require.NoError(t, err)
		_, err = f.raw.Import(f.ctx, []relations.Relationship{r})
		require.NoError(t, err)
	}
	require.NoError(t, f.st.CreateOrg(f.ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: time.Now()}))
	now := time.Now()
	keys := map[string]time.Time{"etl": now.Add(30 * time.Minute), "old": now.Add(-time.Minute)}
	for name, exp := range keys {
		require.NoError(t, f.st.CreateAPIKey(f.ctx, store.APIKey{Org: "acme", Name: name, TokenID: "tok-" + name, Role: "member", CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}))
		p := tokens.Principal{Subject: "sa:" + name + "@acme", TokenID: "tok-" + name, Kind: tokens.KindAPIKey, ExpiresAt: now.Add(time.Hour)}
		_, err := f.svc.Create(f.ctx, p, "acme", "by"+name, spec)
		require.NoError(t, err, name)
	}

	m, err := f.svc.Token(f.ctx, "acme", "byetl", time.Hour)
	require.NoError(t, err)
	require.True(t, m.Capped, "a 1h token of a pipeline whose key has 30m left is cut")
	require.False(t, m.ExpiresAt.After(keys["etl"]), "the pipeline's token %s outlives its creator's key %s", m.ExpiresAt, keys["etl"])

	_, err = f.svc.Token(f.ctx, "acme", "byold", time.Hour)
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "an expired key's pipeline: %v", err)
	require.Contains(t, err.Error(), "expired")

	require.NoError(t, f.st.DeleteAPIKey(f.ctx, "acme", "etl"))
	_, err = f.svc.Token(f.ctx, "acme", "byetl", time.Hour)
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "a deleted key's pipeline: %v", err)
}

// T3, T4, PL3: a pipeline token minted from a token derives from it: it never outlives
// it (capped), is refused once it is revoked, and still acts as the pipeline.
func TestPL3TokenFromDerivesFromTheMinter(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Create(f.ctx, f.ann, "acme", "p", spec)
	require.NoError(t, err)
	short, err := f.tok.Mint(f.ctx, tokens.MintRequest{Subject: f.ann.Subject, Kind: tokens.KindUser, TTL: 10 * time.Minute})
	require.NoError(t, err)
	parent, err := f.tok.Verify(f.ctx, short.Token)
	require.NoError(t, err)

	m, err := f.svc.TokenFrom(f.ctx, &parent, "acme", "p", 365*24*time.Hour)
	require.NoError(t, err)
	require.True(t, m.Capped)
	require.False(t, m.ExpiresAt.After(short.ExpiresAt), "T4: %s outlives its minter's %s", m.ExpiresAt, short.ExpiresAt)
	p, err := f.tok.Verify(f.ctx, m.Token)
	require.NoError(t, err)
	require.Equal(t, "pipeline:acme/p", p.Subject)
	require.Equal(t, pipelines.TokenKind, p.Kind)

	require.NoError(t, f.tok.Revoke(f.ctx, f.ann.Subject, short.ID))
	_, err = f.tok.Verify(f.ctx, m.Token)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "T3: revoking the minter refuses the pipeline token")
	_, err = f.svc.TokenFrom(f.ctx, &parent, "acme", "p", time.Hour)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "a revoked token mints nothing")
}

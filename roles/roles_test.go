package roles_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/roles"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

func setup(t *testing.T) (context.Context, relations.Engine, *roles.Service) {
	t.Helper()
	ctx := context.Background()
	raw, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	require.NoError(t, raw.WriteSchema(ctx, schema.Text))
	var rels []relations.Relationship
	for _, s := range []string{"platform:root#unlocked@user:*", "org:acme#platform@platform:root", "repo:acme/raw#org@org:acme"} {
		r, err := relations.ParseRelationship(s)
		require.NoError(t, err)
		rels = append(rels, r)
	}
	_, err = raw.Import(ctx, rels)
	require.NoError(t, err)
	return ctx, raw, roles.New(guard.New(raw, store.NewMemory()))
}

// R2: two role changes of one subject released together, 30 rounds: the subject always
// ends with exactly one direct role, the one of the write applied last.
func TestR2ConcurrentSetsLeaveOneRole(t *testing.T) {
	ctx, raw, svc := setup(t)
	repo := relations.Object{Type: schema.TypeRepo, ID: "acme/raw"}
	bob, err := roles.ParseSubject("subject", "bob@example.com")
	require.NoError(t, err)
	pairs := [][2]string{{"reader", "owner"}, {"writer", "reader"}, {"owner", "writer"}}
	for round := range 30 {
		pair := pairs[round%len(pairs)]
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, role := range pair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := svc.Set(ctx, repo, bob, role)
				require.NoError(t, err)
			}()
		}
		close(start)
		wg.Wait()
		rels, err := raw.Read(ctx, relations.Filter{ResourceType: schema.TypeRepo, ResourceID: repo.ID, SubjectType: schema.TypeUser, SubjectID: "bob@example.com"}, relations.Consistency{Full: true})
		require.NoError(t, err)
		require.Len(t, rels, 1, "round %d: %v", round, rels)
		require.Contains(t, pair, rels[0].Relation)
		eff, err := svc.Effective(ctx, repo, bob)
		require.NoError(t, err)
		require.Equal(t, rels[0].Relation, eff)
	}
	_, err = svc.Set(ctx, repo, bob, schema.RoleNone)
	require.NoError(t, err)
	eff, err := svc.Effective(ctx, repo, bob)
	require.NoError(t, err)
	require.Equal(t, schema.RoleNone, eff)
}

// R5: a role on a repo that does not exist (no repo#org) is refused, 404, and nothing
// dangles; bad roles and pipeline subjects name their field.
func TestSetRefusals(t *testing.T) {
	ctx, raw, svc := setup(t)
	bob, _ := roles.ParseSubject("subject", "user:bob@example.com")
	_, err := svc.Set(ctx, relations.Object{Type: schema.TypeRepo, ID: "acme/gone"}, bob, "reader")
	require.Equal(t, apperr.NotFound, apperr.KindOf(err), "%v", err)
	rels, err := raw.Read(ctx, relations.Filter{ResourceType: schema.TypeRepo, ResourceID: "acme/gone"}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Empty(t, rels)
	_, err = svc.Set(ctx, relations.Object{Type: schema.TypeRepo, ID: "acme/raw"}, bob, "admin")
	require.Equal(t, "role", err.(*apperr.Error).Field)
	for _, s := range []string{"pipeline:acme/p", "team:acme/t#admin", "user:*", "nobody", "repo:acme/raw"} {
		_, err = roles.ParseSubject("subject", s)
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), s)
	}
	team, err := roles.ParseSubject("subject", "team:acme/data")
	require.NoError(t, err)
	require.Equal(t, "team:acme/data", roles.Subject(team))
	require.Equal(t, schema.RelMember, team.Relation)
	org, err := roles.ParseSubject("subject", "org:acme")
	require.NoError(t, err)
	require.Equal(t, "org:acme#member", roles.Subject(org))
	p, err := roles.ParseAnySubject("subject", "pipeline:acme/p")
	require.NoError(t, err)
	require.Equal(t, schema.TypePipeline, p.Type)
}

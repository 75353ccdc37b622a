package platform_test

import (
	"context"
	"errors"
	"testing"

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
	raw  relations.Engine
	rel  *faults.Engine // guarded, as in the server
	st   *faults.Store
	tok  *tokens.Service
	plat *platform.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	raw, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	require.NoError(t, raw.WriteSchema(ctx, schema.Text))
	st := &faults.Store{Store: store.NewMemory()}
	rel := &faults.Engine{Engine: guard.New(raw, st)}
	tok := tokens.NewService(st, tokens.DefaultConfig())
	return &fixture{ctx: ctx, raw: raw, rel: rel, st: st, tok: tok, plat: platform.New(rel, tok, st)}
}

func code(t *testing.T, err error) string {
	t.Helper()
	var ae *apperr.Error
	require.True(t, errors.As(err, &ae), "want an *apperr.Error, got %v", err)
	return ae.Code
}

func (f *fixture) activated(t *testing.T) bool {
	t.Helper()
	on, err := f.plat.Activated(f.ctx)
	require.NoError(t, err)
	return on
}

// Hole 1 (P1, P2): deleting the admin relationship through the write path neither
// succeeds nor reopens activation, which only deactivation does (P3).
func TestP1P2ActivationIsARecordNotAnAdminRelationship(t *testing.T) {
	f := newFixture(t)
	require.False(t, f.activated(t))
	a, err := f.plat.Activate(f.ctx, "robot:admin", 0)
	require.NoError(t, err)
	require.True(t, f.activated(t))

	_, err = f.rel.Write(f.ctx, []relations.Update{{Operation: relations.OpDelete,
		Relationship: relations.Relationship{Resource: platform.Root, Relation: schema.RelAdmin, Subject: relations.Subject{Object: relations.Object{Type: schema.TypeRobot, ID: "admin"}}}}}, nil)
	require.Equal(t, "last_admin", code(t, err))

	// Even if the relationship vanished behind the guard's back, activation stays closed.
	_, err = f.raw.DeleteMatching(f.ctx, relations.Filter{ResourceType: schema.TypePlatform})
	require.NoError(t, err)
	require.True(t, f.activated(t), "P1: the record, not the relationship, says activated")
	_, err = f.plat.Activate(f.ctx, "robot:intruder", 0)
	require.Equal(t, "already_activated", code(t, err))

	// Deactivation clears the record last; then activation is open again.
	require.NoError(t, f.plat.Deactivate(f.ctx, schema.ResourceTypes()))
	require.False(t, f.activated(t))
	_, err = f.tok.Verify(f.ctx, a.Token)
	require.Error(t, err, "P3: tokens are gone")
	_, err = f.plat.Activate(f.ctx, "user:new@example.com", 0)
	require.NoError(t, err)
	admins, err := f.plat.Admins(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"user:new@example.com"}, admins)
}

// An installation activated before the record existed (admin relationship, no record)
// is recorded as activated, never activated a second time.
func TestP1LegacyActivationIsRecorded(t *testing.T) {
	f := newFixture(t)
	_, err := f.raw.Write(f.ctx, []relations.Update{{Operation: relations.OpTouch,
		Relationship: relations.Relationship{Resource: platform.Root, Relation: schema.RelAdmin, Subject: relations.Subject{Object: relations.Object{Type: schema.TypeRobot, ID: "old"}}}}}, nil)
	require.NoError(t, err)
	_, err = f.plat.Activate(f.ctx, "robot:intruder", 0)
	require.Equal(t, "already_activated", code(t, err))
	require.True(t, f.activated(t))
}

func TestP2RemoveAdminAndDeleteRobot(t *testing.T) {
	f := newFixture(t)
	a, err := f.plat.Activate(f.ctx, "robot:admin", 0)
	require.NoError(t, err)
	require.Equal(t, "last_admin", code(t, f.plat.RemoveAdmin(f.ctx, "robot:admin")))
	require.Equal(t, "not_found", code(t, f.plat.RemoveAdmin(f.ctx, "robot:nobody")))
	require.Equal(t, "not_found", code(t, f.plat.RemoveAdmin(f.ctx, "org:acme")))

	// Deleting the last admin robot is refused before anything is touched: its token works.
	require.Equal(t, "last_admin", code(t, f.plat.DeleteRobot(f.ctx, "admin")))
	_, err = f.tok.Verify(f.ctx, a.Token)
	require.NoError(t, err)

	_, err = f.plat.CreateRobot(f.ctx, "second", "robot:admin", 0)
	require.NoError(t, err)
	_, err = f.plat.AddAdmin(f.ctx, "robot:second")
	require.NoError(t, err)
	require.NoError(t, f.plat.DeleteRobot(f.ctx, "admin"))
	_, err = f.tok.Verify(f.ctx, a.Token)
	require.Error(t, err)
	require.Equal(t, "last_admin", code(t, f.plat.RemoveAdmin(f.ctx, "robot:second")))
	admins, err := f.plat.Admins(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"robot:second"}, admins)
}

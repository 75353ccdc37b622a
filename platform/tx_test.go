package platform_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/store"
)

var errInjected = errors.New("injected failure")

// failingStore fails, on demand, one method of the transactions run through it: a
// failure in the middle of a change to several records.
type failingStore struct {
	store.Store
	failIn string // "CreateToken" or "DeleteRobot"; "" fails nothing
}

func (f *failingStore) WithTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return f.Store.WithTx(ctx, func(tx store.Tx) error { return fn(failingTx{Tx: tx, failIn: f.failIn}) })
}

type failingTx struct {
	store.Tx
	failIn string
}

func (t failingTx) CreateToken(ctx context.Context, tok store.Token) error {
	if t.failIn == "CreateToken" {
		return errInjected
	}
	return t.Tx.CreateToken(ctx, tok)
}

func (t failingTx) DeleteRobot(ctx context.Context, name string) error {
	if t.failIn == "DeleteRobot" {
		return errInjected
	}
	return t.Tx.DeleteRobot(ctx, name)
}

// failingEngine fails relationship writes on demand: SpiceDB down after the store
// transaction committed.
type failingEngine struct {
	relations.Engine
	failWrites bool
}

func (e *failingEngine) Write(ctx context.Context, u []relations.Update, p []relations.Precondition) (string, error) {
	if e.failWrites {
		return "", errInjected
	}
	return e.Engine.Write(ctx, u, p)
}

// noRobot asserts that robot name and its tokens do not exist.
func (f *fixture) noRobot(t *testing.T, name, what string) {
	t.Helper()
	_, err := f.st.GetRobot(f.ctx, name)
	require.ErrorIs(t, err, store.ErrNotFound, "%s: no robot", what)
	toks, err := f.st.ListTokens(f.ctx, "robot:"+name)
	require.NoError(t, err)
	require.Empty(t, toks, "%s: no token", what)
}

// P1, issue 8.3: an activation that fails in its store transaction or in the SpiceDB write
// after it leaves nothing (no record, robot, token or admin), and can be tried again.
func TestP1FailedActivationLeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.st.failIn = "CreateToken"
	_, err := f.plat.Activate(f.ctx, "robot:admin", 0)
	require.ErrorIs(t, err, errInjected)
	f.st.failIn = ""
	require.False(t, f.activated(t), "the record went with the failed transaction")
	f.noRobot(t, "admin", "store failure")

	f.rel.failWrites = true
	_, err = f.plat.Activate(f.ctx, "robot:admin", 0)
	require.ErrorIs(t, err, errInjected)
	f.rel.failWrites = false
	require.False(t, f.activated(t), "the record was taken back")
	f.noRobot(t, "admin", "SpiceDB failure")
	admins, err := f.plat.Admins(f.ctx)
	require.NoError(t, err)
	require.Empty(t, admins)

	a, err := f.plat.Activate(f.ctx, "robot:admin", 0)
	require.NoError(t, err)
	_, err = f.tok.Verify(f.ctx, a.Token)
	require.NoError(t, err)
}

// ID3, issue 8.3: a robot and its first token are created together or not at all, and a
// robot's tokens and row are deleted together or not at all.
func TestRobotRecordsChangeTogether(t *testing.T) {
	f := newFixture(t)
	_, err := f.plat.Activate(f.ctx, "robot:admin", 0)
	require.NoError(t, err)

	f.st.failIn = "CreateToken"
	_, err = f.plat.CreateRobot(f.ctx, "ci", "robot:admin", 0)
	require.ErrorIs(t, err, errInjected)
	f.st.failIn = ""
	f.noRobot(t, "ci", "failed creation")

	m, err := f.plat.CreateRobot(f.ctx, "ci", "robot:admin", 0)
	require.NoError(t, err, "the name is free again")
	f.st.failIn = "DeleteRobot"
	require.ErrorIs(t, f.plat.DeleteRobot(f.ctx, "ci"), errInjected)
	f.st.failIn = ""
	_, err = f.tok.Verify(f.ctx, m.Token)
	require.NoError(t, err, "the token stays with the robot that stays")
	_, err = f.plat.Robot(f.ctx, "ci")
	require.NoError(t, err)

	require.NoError(t, f.plat.DeleteRobot(f.ctx, "ci"), "a second call finishes the deletion")
	f.noRobot(t, "ci", "deletion")
	_, err = f.tok.Verify(f.ctx, m.Token)
	require.Error(t, err)
}

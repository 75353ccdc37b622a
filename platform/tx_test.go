package platform_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/faults"
	"github.com/gatehouse-dev/gatehouse/store"
)

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
	f.st.FailIn = "CreateToken"
	_, err := f.plat.Activate(f.ctx, "robot:admin", 0)
	require.ErrorIs(t, err, faults.ErrInjected)
	f.st.FailIn = ""
	require.False(t, f.activated(t), "the record went with the failed transaction")
	f.noRobot(t, "admin", "store failure")

	f.rel.FailWrites = true
	_, err = f.plat.Activate(f.ctx, "robot:admin", 0)
	require.ErrorIs(t, err, faults.ErrInjected)
	f.rel.FailWrites = false
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

	f.st.FailIn = "CreateToken"
	_, err = f.plat.CreateRobot(f.ctx, "ci", "robot:admin", 0)
	require.ErrorIs(t, err, faults.ErrInjected)
	f.st.FailIn = ""
	f.noRobot(t, "ci", "failed creation")

	m, err := f.plat.CreateRobot(f.ctx, "ci", "robot:admin", 0)
	require.NoError(t, err, "the name is free again")
	f.st.FailIn = "DeleteRobot"
	require.ErrorIs(t, f.plat.DeleteRobot(f.ctx, "ci"), faults.ErrInjected)
	f.st.FailIn = ""
	_, err = f.tok.Verify(f.ctx, m.Token)
	require.NoError(t, err, "the token stays with the robot that stays")
	_, err = f.plat.Robot(f.ctx, "ci")
	require.NoError(t, err)

	require.NoError(t, f.plat.DeleteRobot(f.ctx, "ci"), "a second call finishes the deletion")
	f.noRobot(t, "ci", "deletion")
	_, err = f.tok.Verify(f.ctx, m.Token)
	require.Error(t, err)
}

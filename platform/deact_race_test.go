package platform_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// raceOps is how many robot creations and admin additions race each deactivation.
const raceOps = 12

// raceResult is what the writers racing one deactivation got.
type raceResult struct {
	mu     sync.Mutex
	tokens []tokens.Minted // of robots whose creation succeeded
	errs   []error         // every refusal, for the allowed-codes check
}

func (r *raceResult) add(m *tokens.Minted, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
	} else if m != nil {
		r.tokens = append(r.tokens, *m)
	}
}

// raceRound releases deact together with raceOps CreateRobot calls and 2*raceOps AddAdmin
// calls (users, and the robots being created), spread over the replicas, and returns
// Deactivate's error and what the writers got.
func raceRound(ctx context.Context, round int, deact *platform.Service, reps []*platform.Service) (error, *raceResult) {
	res := &raceResult{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	run := func(fn func()) {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; fn() }()
	}
	var deactErr error
	for k := range raceOps {
		rep := reps[k%len(reps)]
		robot := fmt.Sprintf("r%d-%d", round, k)
		run(func() {
			m, err := rep.CreateRobot(ctx, robot, "robot:adm", 0)
			res.add(&m, err)
		})
		run(func() { _, err := rep.AddAdmin(ctx, "robot:"+robot); res.add(nil, err) })
		run(func() {
			_, err := rep.AddAdmin(ctx, fmt.Sprintf("user:evil%d-%d@example.com", round, k))
			res.add(nil, err)
		})
		if k == raceOps/2 {
			run(func() { deactErr = deact.Deactivate(ctx, schema.ResourceTypes()) })
		}
	}
	close(start)
	wg.Wait()
	return deactErr, res
}

// P3 (red-team hole): deactivation is one serialized section, across replicas, against
// every write that adds a platform admin, a robot or a robot token. Two services share
// one store and one guarded engine, as two replicas share PostgreSQL and SpiceDB, so the
// process-local mutex does not help. Each round activates, releases Deactivate on one
// replica together with robot creations and admin additions on both, and checks, once
// Deactivate has returned nil, the blank slate: not activated on either replica (nothing
// records a "legacy" activation from leftovers), no platform admin relationship, no
// robot, no robot token that authenticates; the next round's activation must succeed.
// Every racing writer either succeeded (before the wipe) or was refused not_activated
// (after it), or not_found for a robot already wiped.
func TestP3DeactivationSerializedAgainstAdminAndRobotWrites(t *testing.T) {
	f := newFixture(t)
	replica := platform.New(f.rel, f.tok, f.st)
	reps := []*platform.Service{f.plat, replica}
	const rounds = 30
	for round := range rounds {
		_, err := reps[round%2].Activate(f.ctx, "robot:adm", 0)
		require.NoError(t, err, "round %d: activation after the previous deactivation", round)
		deactErr, res := raceRound(f.ctx, round, reps[(round+1)%2], reps)
		require.NoError(t, deactErr, "round %d: deactivate", round)
		f.requireBlankSlate(t, round, reps, res)
	}
	_, err := f.plat.Activate(f.ctx, "robot:fresh", 0)
	require.NoError(t, err, "a fresh activation after the last round")
}

// requireBlankSlate asserts P3's blank slate after a raced deactivation.
func (f *fixture) requireBlankSlate(t *testing.T, round int, reps []*platform.Service, res *raceResult) {
	t.Helper()
	for _, err := range res.errs {
		require.Contains(t, []string{"not_activated", "not_found"}, code(t, err), "round %d: %v", round, err)
	}
	for i, p := range reps {
		on, err := p.Activated(f.ctx)
		require.NoError(t, err)
		require.False(t, on, "round %d: replica %d reads the platform as activated after deactivation", round, i)
	}
	admins, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: schema.TypePlatform, ResourceID: schema.PlatformID, Relation: schema.RelAdmin}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Empty(t, admins, "round %d: platform admin relationships survived deactivation", round)
	robots, err := f.st.ListRobots(f.ctx)
	require.NoError(t, err)
	require.Empty(t, robots, "round %d: robots survived deactivation", round)
	for _, m := range res.tokens {
		_, err := f.tok.Verify(f.ctx, m.Token)
		require.Error(t, err, "round %d: the token of %s still authenticates", round, m.Subject)
		toks, err := f.st.ListTokens(f.ctx, m.Subject)
		require.NoError(t, err)
		require.Empty(t, toks, "round %d: token records of %s survived", round, m.Subject)
	}
}

package platform_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
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

// p3env is two replicas over one SpiceDB and one store (memory) or database
// (PostgreSQL): each replica has its own guard, token service and platform service, as
// two processes do, so the process-local mutex does not help.
type p3env struct {
	raw  relations.Engine
	st   store.Store // replica 0's, for the checks
	tok  *tokens.Service
	reps []*platform.Service
}

func newP3Env(t *testing.T, stores ...store.Store) *p3env {
	t.Helper()
	ctx := context.Background()
	raw, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	require.NoError(t, raw.WriteSchema(ctx, schema.Text))
	e := &p3env{raw: raw, st: stores[0]}
	for _, st := range stores {
		tok := tokens.NewService(st, tokens.DefaultConfig())
		e.reps = append(e.reps, platform.New(guard.New(raw, st), tok, st))
		if e.tok == nil {
			e.tok = tok
		}
	}
	return e
}

// P3 (red-team hole): deactivation is one serialized section, across replicas, against
// every write that adds a platform admin, a robot or a robot token, on memory.
func TestP3DeactivationSerializedAgainstAdminAndRobotWrites(t *testing.T) {
	st := store.NewMemory()
	newP3Env(t, st, st).raceDeactivation(t, 30)
}

// P3 (red-team hole), as above across two PostgreSQL stores on one database: the lock is
// the store's row lock, shared by the replicas.
func TestP3DeactivationSerializedAgainstAdminAndRobotWritesPostgres(t *testing.T) {
	ctx := context.Background()
	url := harness.StartPostgres(t)
	var stores []store.Store
	for i := range 2 {
		s, err := store.NewSQL(ctx, url)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		if i == 0 {
			require.NoError(t, s.Migrate(ctx))
		}
		stores = append(stores, s)
	}
	newP3Env(t, stores...).raceDeactivation(t, 30)
}

// raceDeactivation: each round activates, releases Deactivate on one replica together
// with robot creations and admin additions on both, and checks, once Deactivate has
// returned nil, the blank slate: not activated on either replica (nothing records a
// "legacy" activation from leftovers), no platform admin relationship, no robot, no
// robot token that authenticates; the next round's activation must succeed. Every
// racing writer either succeeded (before the wipe) or was refused not_activated (after
// it), or not_found for a robot already wiped.
func (e *p3env) raceDeactivation(t *testing.T, rounds int) {
	ctx := context.Background()
	for round := range rounds {
		_, err := e.reps[round%2].Activate(ctx, "robot:adm", 0)
		require.NoError(t, err, "round %d: activation after the previous deactivation", round)
		deactErr, res := raceRound(ctx, round, e.reps[(round+1)%2], e.reps)
		require.NoError(t, deactErr, "round %d: deactivate", round)
		e.requireBlankSlate(t, round, res)
	}
	_, err := e.reps[0].Activate(ctx, "robot:fresh", 0)
	require.NoError(t, err, "a fresh activation after the last round")
}

// requireBlankSlate asserts P3's blank slate after a raced deactivation.
func (e *p3env) requireBlankSlate(t *testing.T, round int, res *raceResult) {
	t.Helper()
	ctx := context.Background()
	for _, err := range res.errs {
		require.Contains(t, []string{"not_activated", "not_found"}, code(t, err), "round %d: %v", round, err)
	}
	for i, p := range e.reps {
		on, err := p.Activated(ctx)
		require.NoError(t, err)
		require.False(t, on, "round %d: replica %d reads the platform as activated after deactivation", round, i)
	}
	admins, err := e.raw.Read(ctx, relations.Filter{ResourceType: schema.TypePlatform, ResourceID: schema.PlatformID, Relation: schema.RelAdmin}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Empty(t, admins, "round %d: platform admin relationships survived deactivation", round)
	robots, err := e.st.ListRobots(ctx)
	require.NoError(t, err)
	require.Empty(t, robots, "round %d: robots survived deactivation", round)
	for _, m := range res.tokens {
		_, err := e.tok.Verify(ctx, m.Token)
		require.Error(t, err, "round %d: the token of %s still authenticates", round, m.Subject)
		toks, err := e.st.ListTokens(ctx, m.Subject)
		require.NoError(t, err)
		require.Empty(t, toks, "round %d: token records of %s survived", round, m.Subject)
	}
}

package tests

// Issue 7 hole 2 and Deliver 2: conflicting writes released together never leave the
// platform or an org without an admin (P2, O2), nor two teams containing each other (O4),
// on the memory store and on PostgreSQL, where two replicas (two apps built by app.New,
// each with its own SpiceDB, guard, platform and org services: tests/apps_test.go) share
// one database.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/store"
)

const raceRounds = 50

// unlocked is a store whose Lock serializes nothing: given to an App (Config.WrapStore),
// its guard then has only its SpiceDB preconditions, as between two processes that share
// no lock.
type unlocked struct{ store.Store }

func (unlocked) Lock(ctx context.Context, _ string, fn func(context.Context) error) error {
	return fn(ctx)
}

// race runs fa and fb released together and returns their errors.
func race(fa, fb func() error) (errA, errB error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = fa() }()
	go func() { defer wg.Done(); <-start; errB = fb() }()
	close(start)
	wg.Wait()
	return errA, errB
}

// tally counts how rounds ended.
type tally struct {
	oneWon, bothRefused, bothWon int
	codes                        map[string]int
}

func (c *tally) add(errA, errB error) {
	if c.codes == nil {
		c.codes = map[string]int{}
	}
	switch {
	case errA == nil && errB == nil:
		c.bothWon++
	case errA != nil && errB != nil:
		c.bothRefused++
	default:
		c.oneWon++
	}
	for _, err := range []error{errA, errB} {
		if err != nil {
			var ae *apperr.Error
			code := "other: " + err.Error()
			if errors.As(err, &ae) {
				code = ae.Code
			}
			c.codes[code]++
		}
	}
}

func robotAdmin(name string) relations.Relationship {
	return relations.Relationship{Resource: platform.Root, Relation: "admin", Subject: relations.Subject{Object: relations.Object{Type: "robot", ID: name}}}
}

// platformPair makes robots a<i> and b<i> the only platform admins.
func platformPair(t *testing.T, r *app.App, i int) (a, b string) {
	t.Helper()
	ctx := context.Background()
	a, b = fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
	for _, n := range []string{a, b} {
		_, err := r.Platform().CreateRobot(ctx, n, "robot:root", time.Hour)
		require.NoError(t, err)
		_, err = r.Platform().AddAdmin(ctx, "robot:"+n)
		require.NoError(t, err)
	}
	admins, err := r.Platform().Admins(ctx)
	require.NoError(t, err)
	for _, s := range admins {
		if s != "robot:"+a && s != "robot:"+b {
			require.NoError(t, r.Platform().RemoveAdmin(ctx, s))
		}
	}
	return a, b
}

// activatedReplicas returns two replicas (twoApps) of an installation activated through the first.
func activatedReplicas(t *testing.T, backend string) (a, b *app.App) {
	t.Helper()
	ctx := context.Background()
	a, b = twoApps(t, backend, nil)
	_, err := a.Platform().Activate(ctx, "robot:root", 0)
	require.NoError(t, err)
	_, err = b.Platform().Activate(ctx, "robot:intruder", 0)
	require.Equal(t, apperr.Conflict, apperr.KindOf(err), "P1: the second replica sees the activation")
	return a, b
}

// p2Scenarios are the ways two platform admins remove each other, one replica each.
func p2Scenarios(ctx context.Context, ra, rb *app.App) []struct {
	name string
	race func(t *testing.T, i int) (error, error)
} {
	del := func(r *app.App, n string) func() error {
		return func() error {
			_, err := r.Engine().Write(ctx, []relations.Update{{Operation: relations.OpDelete, Relationship: robotAdmin(n)}}, nil)
			return err
		}
	}
	return []struct {
		name string
		race func(t *testing.T, i int) (error, error)
	}{
		{"P2 platform.RemoveAdmin each other", func(t *testing.T, i int) (error, error) {
			a, b := platformPair(t, ra, i)
			return race(func() error { return ra.Platform().RemoveAdmin(ctx, "robot:"+b) },
				func() error { return rb.Platform().RemoveAdmin(ctx, "robot:"+a) })
		}},
		{"P2 platform.DeleteRobot each other (hole 2)", func(t *testing.T, i int) (error, error) {
			a, b := platformPair(t, ra, i+1000)
			return race(func() error { return ra.Platform().DeleteRobot(ctx, b) },
				func() error { return rb.Platform().DeleteRobot(ctx, a) })
		}},
		{"P2 relationships write path each other (hole 1)", func(t *testing.T, i int) (error, error) {
			a, b := platformPair(t, ra, i+2000)
			return race(del(ra, b), del(rb, a))
		}},
	}
}

func TestGuardRaceP2NeverZeroPlatformAdmins(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			ra, rb := activatedReplicas(t, backend)
			for _, sc := range p2Scenarios(ctx, ra, rb) {
				var c tally
				for i := range raceRounds {
					errA, errB := sc.race(t, i)
					c.add(errA, errB)
					admins, err := ra.Platform().Admins(ctx)
					require.NoError(t, err)
					require.NotEmpty(t, admins, "%s round %d: zero platform admins (A: %v, B: %v)", sc.name, i, errA, errB)
					require.False(t, errA == nil && errB == nil, "%s round %d: both removals succeeded", sc.name, i)
				}
				t.Logf("%s [%s]: %d rounds: one won %d, both refused %d, both won %d; refusals %v",
					sc.name, backend, raceRounds, c.oneWon, c.bothRefused, c.bothWon, c.codes)
			}
		})
	}
}

// orgPair makes users a<i> and b<i> the only admins of acme.
func orgPair(t *testing.T, r *app.App, i int) (a, b string) {
	t.Helper()
	ctx := context.Background()
	a, b = fmt.Sprintf("a%d@example.com", i), fmt.Sprintf("b%d@example.com", i)
	for _, e := range []string{a, b} {
		_, err := r.Orgs().SetMember(ctx, "acme", e, orgs.RoleAdmin)
		require.NoError(t, err)
	}
	members, err := r.Orgs().Members(ctx, "acme")
	require.NoError(t, err)
	for _, m := range members {
		if m.Role == orgs.RoleAdmin && m.Subject != "user:"+a && m.Subject != "user:"+b {
			_, err := r.Orgs().SetMember(ctx, "acme", strings.TrimPrefix(m.Subject, "user:"), orgs.RoleMember)
			require.NoError(t, err)
		}
	}
	return a, b
}

func TestGuardRaceO2NeverZeroOrgAdmins(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			ra, rb := activatedReplicas(t, backend)
			_, err := ra.Orgs().Create(ctx, "robot:root", "acme")
			require.NoError(t, err)
			demote := func(r *app.App, email string) func() error {
				return func() error { _, err := r.Orgs().SetMember(ctx, "acme", email, orgs.RoleMember); return err }
			}
			var c tally
			for i := range raceRounds {
				a, b := orgPair(t, ra, i)
				errA, errB := race(demote(ra, b), demote(rb, a))
				c.add(errA, errB)
				admins, err := ra.Engine().Read(ctx, relations.Filter{ResourceType: "org", ResourceID: "acme", Relation: "admin"}, relations.Consistency{Full: true})
				require.NoError(t, err)
				require.NotEmpty(t, admins, "O2 round %d: zero org admins (A: %v, B: %v)", i, errA, errB)
				require.False(t, errA == nil && errB == nil, "O2 round %d: both demotions succeeded", i)
			}
			t.Logf("O2 orgs.SetMember demote each other [%s]: %d rounds: one won %d, both refused %d, both won %d; refusals %v",
				backend, raceRounds, c.oneWon, c.bothRefused, c.bothWon, c.codes)
		})
	}
}

func TestGuardRaceO4NoTeamCycle(t *testing.T) {
	for _, backend := range []string{"memory", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			ra, rb := activatedReplicas(t, backend)
			_, err := ra.Orgs().Create(ctx, "robot:root", "acme")
			require.NoError(t, err)
			var two, three tally
			for i := range raceRounds {
				x, y, z := fmt.Sprintf("x%d", i), fmt.Sprintf("y%d", i), fmt.Sprintf("z%d", i)
				for _, n := range []string{x, y, z} {
					// Through both: each replica then reads at least as fresh as its own write.
					require.NoError(t, ra.Orgs().CreateTeam(ctx, "acme", n))
					require.NoError(t, rb.Orgs().CreateTeam(ctx, "acme", n))
				}
				add := func(r *app.App, team, member string) func() error {
					return func() error { _, err := r.Orgs().AddTeamMember(ctx, "acme", team, "team:acme/"+member); return err }
				}
				// Two-long: x contains y, y contains x, released together.
				errA, errB := race(add(ra, x, y), add(rb, y, x))
				two.add(errA, errB)
				for _, err := range []error{errA, errB} {
					require.True(t, err == nil || apperr.KindOf(err) == apperr.Conflict, "O4 round %d: refused for another reason: %v", i, err)
				}
				require.False(t, errA == nil && errB == nil, "O4 round %d: both halves of a cycle written", i)
				// Three-long: with x and y linked one way, close x -> y -> z -> x from both ends.
				from, to := x, y
				if errA != nil {
					from, to = y, x
				}
				errA, errB = race(add(ra, to, z), add(rb, z, from))
				three.add(errA, errB)
				for _, err := range []error{errA, errB} {
					require.True(t, err == nil || apperr.KindOf(err) == apperr.Conflict, "O4 round %d: refused for another reason: %v", i, err)
				}
				require.False(t, errA == nil && errB == nil, "O4 round %d: a three-team cycle written", i)
				res, err := ra.Engine().Check(ctx, relations.CheckRequest{Resource: relations.Object{Type: "team", ID: "acme/" + x},
					Permission: "member", Subject: relations.Subject{Object: relations.Object{Type: "user", ID: "nobody@example.com"}}})
				require.NoError(t, err, "O4 round %d: checks still answer (hole 7)", i)
				require.False(t, res.Allowed)
			}
			t.Logf("O4 two-team cycle [%s]: %d rounds: one won %d, both refused %d, both won %d; refusals %v",
				backend, raceRounds, two.oneWon, two.bothRefused, two.bothWon, two.codes)
			t.Logf("O4 three-team cycle [%s]: %d rounds: one won %d, both refused %d, both won %d; refusals %v",
				backend, raceRounds, three.oneWon, three.bothRefused, three.bothWon, three.codes)
		})
	}
}

// P2 across processes rests on two things: the store lock and SpiceDB preconditions
// (a write that removes an admin requires another one to still exist, and PostgreSQL runs
// SpiceDB's writes serializable). With the lock taken away, the preconditions alone still
// never let two replicas on PostgreSQL remove each other.
func TestGuardRaceP2PreconditionsAloneOnPostgres(t *testing.T) {
	ctx := context.Background()
	ra, rb := twoApps(t, "postgres", func(st store.Store) store.Store { return unlocked{st} })
	_, err := ra.Platform().Activate(ctx, "robot:root", 0)
	require.NoError(t, err)
	var c tally
	for i := range raceRounds {
		a, b := platformPair(t, ra, i)
		errA, errB := race(func() error { return ra.Platform().RemoveAdmin(ctx, "robot:"+b) },
			func() error { return rb.Platform().RemoveAdmin(ctx, "robot:"+a) })
		c.add(errA, errB)
		admins, err := ra.Platform().Admins(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, admins, "round %d: zero platform admins (A: %v, B: %v)", i, errA, errB)
	}
	t.Logf("P2 RemoveAdmin each other, no lock, preconditions only [postgres]: %d rounds: one won %d, both refused %d, both won %d; refusals %v",
		raceRounds, c.oneWon, c.bothRefused, c.bothWon, c.codes)
}

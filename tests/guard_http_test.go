package tests

// Issue 7 holes 1, 2 and 7, and the agent links of 7.6, through the real binary: every
// relationship write, whichever route it takes, passes the guard (P1, P2, O2, O4, PL4).

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// startActivated starts an activated server on the memory backend.
func startActivated(t *testing.T) *env {
	t.Helper()
	return startActivatedOn(t, authzBackends[0])
}

// startActivatedOn starts an activated server on backend b (memory or PostgreSQL).
func startActivatedOn(t *testing.T, b backend) *env {
	t.Helper()
	e := b.start(t)
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	return e
}

func importNDJSON(t *testing.T, e *env, rels ...string) (int, []byte) {
	t.Helper()
	var b strings.Builder
	for _, r := range rels {
		fmt.Fprintf(&b, "{\"relationship\":%q}\n", r)
	}
	return e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson", strings.NewReader(b.String()))
}

// Hole 1: the platform admin deletes its own admin relationship through
// POST /api/v1/relationships; then anyone activates anonymously.
func TestGuardHole1P1P2RelationshipsRouteKeepsTheLastAdmin(t *testing.T) {
	for _, b := range authzBackends { // memory and PostgreSQL
		t.Run(b.name, func(t *testing.T) {
			e := startActivatedOn(t, b)
			body := map[string]any{"updates": remove("platform:root#admin@robot:admin")}
			ae := e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 409, "last_admin", "updates[0].relationship")
			require.Contains(t, ae.Error.Message, "robot:admin")
			e.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:intruder"}, 409, "already_activated", "-")

			// Two admins removed in one request: the same.
			var ci struct{ Token string }
			e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "ci"}, 201, &ci)
			e.json(t, "PUT", "/api/v1/platform/admins/robot:ci", e.admin, nil, 200, nil)
			body = map[string]any{"updates": remove("platform:root#admin@robot:admin", "platform:root#admin@robot:ci")}
			e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 409, "last_admin", "-")
			var admins struct{ Admins []string }
			e.json(t, "GET", "/api/v1/platform/admins", e.admin, nil, 200, &admins)
			require.Equal(t, []string{"robot:admin", "robot:ci"}, admins.Admins, "nothing of the refused request was applied")
			// One of two: allowed; then the other is the last.
			e.write(t, remove("platform:root#admin@robot:ci"))
			e.fail(t, "DELETE", "/api/v1/platform/admins/robot:admin", e.admin, nil, 409, "last_admin", "-")
			e.fail(t, "DELETE", "/api/v1/robots/admin", e.admin, nil, 409, "last_admin", "-")
			e.json(t, "GET", "/api/v1/whoami", e.admin, nil, 200, nil)
		})
	}
}

// Hole 7 (O4): teams made members of each other, directly or around three teams, are
// refused with 409 team_cycle naming the cycle, on every route; checks keep answering.
func TestGuardO4TeamCyclesOverHTTP(t *testing.T) {
	for _, b := range authzBackends { // memory and PostgreSQL
		t.Run(b.name, func(t *testing.T) {
			e := startActivatedOn(t, b)
			e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
			for _, team := range []string{"a", "b", "c"} {
				e.json(t, "PUT", "/api/v1/orgs/acme/teams/"+team, e.admin, nil, 200, nil)
			}
			e.json(t, "PUT", "/api/v1/orgs/acme/teams/a/members/team:acme/b", e.admin, nil, 200, nil)
			e.json(t, "PUT", "/api/v1/orgs/acme/teams/b/members/team:acme/c", e.admin, nil, 200, nil)
			e.json(t, "PUT", "/api/v1/orgs/acme/teams/c/members/user:cy@example.com", e.admin, nil, 200, nil)

			ae := e.fail(t, "PUT", "/api/v1/orgs/acme/teams/a/members/team:acme/a", e.admin, nil, 409, "team_cycle", "-")
			require.Contains(t, ae.Error.Message, "team:acme/a -> team:acme/a")
			ae = e.fail(t, "PUT", "/api/v1/orgs/acme/teams/b/members/team:acme/a", e.admin, nil, 409, "team_cycle", "-")
			require.Contains(t, ae.Error.Message, "team:acme/b -> team:acme/a -> team:acme/b")
			body := map[string]any{"updates": touch("team:acme/c#member@team:acme/a#member")}
			ae = e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 409, "team_cycle", "updates[0].relationship")
			require.Contains(t, ae.Error.Message, "team:acme/c -> team:acme/a -> team:acme/b -> team:acme/c")
			require.Equal(t, []any{"team:acme/c", "team:acme/a", "team:acme/b", "team:acme/c"}, ae.Error.Details["cycle"])
			status, data := importNDJSON(t, e, "team:acme/c#member@team:acme/a#member")
			requireErr(t, "import", status, data, 409, "team_cycle", "-")

			// Checks through the nested teams still answer (no 400 "max depth exceeded").
			e.write(t, touch("repo:acme/raw#org@org:acme", "repo:acme/raw#reader@team:acme/a#member"))
			require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:cy@example.com", e.writtenAt))
			require.False(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:nobody@example.com", e.writtenAt))
		})
	}
}

// Issue 7.6, PL3, PL4: an agent link written by hand would lend a pipeline someone's
// rights; every route refuses it.
func TestGuardPL4AgentLinksRefusedOverHTTP(t *testing.T) {
	for _, b := range authzBackends { // memory and PostgreSQL
		t.Run(b.name, func(t *testing.T) {
			e := startActivatedOn(t, b)
			body := map[string]any{"updates": touch("robot:admin#agent@pipeline:acme/p")}
			e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 403, "agent_link", "updates[0].relationship")
			body = map[string]any{"updates": ops("create", "user:ann@example.com#agent@pipeline:acme/p")}
			e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 403, "agent_link", "-")
			status, data := importNDJSON(t, e, "repo:acme/raw#org@org:acme", "sa:etl@acme#agent@pipeline:acme/p")
			requireErr(t, "import", status, data, 403, "agent_link", "-")
			require.Empty(t, e.read(t, "resource=repo:acme/raw"), "nothing of the refused import was written")
		})
	}
}

// raceHTTP sends two requests {method, path, token} to e released together and returns
// their statuses.
func raceHTTP(t *testing.T, e *env, a, b [3]string) (int, int) {
	t.Helper()
	return raceTwo(t, [4]string{e.s.URL, a[0], a[1], a[2]}, [4]string{e.s.URL, b[0], b[1], b[2]})
}

// raceTwo sends two requests {base URL, method, path, token} released together and
// returns their statuses (0: no answer).
func raceTwo(t *testing.T, a, b [4]string) (int, int) {
	t.Helper()
	var sa, sb int
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	send := func(r [4]string, out *int) {
		defer wg.Done()
		<-start
		req, err := http.NewRequest(r[1], r[0]+r[2], nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+r[3])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		_ = resp.Body.Close()
		*out = resp.StatusCode
	}
	go send(a, &sa)
	go send(b, &sb)
	close(start)
	wg.Wait()
	return sa, sb
}

// Hole 2 (P2): two platform admins each DELETE /api/v1/robots/<the other> at the same
// moment, 50 rounds; never zero admins.
func TestGuardHole2P2RobotsDeleteEachOtherOverHTTP(t *testing.T) {
	e := startActivated(t)
	survivor := e.admin
	outcomes := map[string]int{}
	for i := range raceRounds {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		var ta, tb struct{ Token string }
		e.json(t, "POST", "/api/v1/robots", survivor, map[string]string{"name": a}, 201, &ta)
		e.json(t, "POST", "/api/v1/robots", survivor, map[string]string{"name": b}, 201, &tb)
		e.json(t, "PUT", "/api/v1/platform/admins/robot:"+a, survivor, nil, 200, nil)
		e.json(t, "PUT", "/api/v1/platform/admins/robot:"+b, survivor, nil, 200, nil)
		var admins struct{ Admins []string }
		e.json(t, "GET", "/api/v1/platform/admins", ta.Token, nil, 200, &admins)
		for _, s := range admins.Admins {
			if s != "robot:"+a && s != "robot:"+b {
				e.json(t, "DELETE", "/api/v1/platform/admins/"+s, ta.Token, nil, 200, nil)
			}
		}
		sa, sb := raceHTTP(t, e, [3]string{"DELETE", "/api/v1/robots/" + b, ta.Token}, [3]string{"DELETE", "/api/v1/robots/" + a, tb.Token})
		outcomes[fmt.Sprintf("%d/%d", min(sa, sb), max(sa, sb))]++
		require.False(t, sa == 200 && sb == 200, "round %d: both robots deleted each other", i)
		survivor = ta.Token
		if sb == 200 {
			survivor = tb.Token
		}
		e.json(t, "GET", "/api/v1/platform/admins", survivor, nil, 200, &admins)
		require.NotEmpty(t, admins.Admins, "round %d: zero platform admins", i)
	}
	e.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:intruder"}, 409, "already_activated", "-")
	t.Logf("hole 2 over HTTP [embedded]: %d rounds, statuses (lower/higher): %v", raceRounds, outcomes)
}

// O2: two admin API keys of one org delete each other at the same moment, 50 rounds;
// the org never loses its last admin.
func TestGuardO2AdminKeysDeleteEachOtherOverHTTP(t *testing.T) {
	e := startActivated(t)
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	outcomes := map[string]int{}
	for i := range raceRounds {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		var ka, kb struct{ Token string }
		e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": a, "role": "admin"}, 201, &ka)
		e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": b, "role": "admin"}, 201, &kb)
		for _, r := range e.read(t, "resource=org:acme&relation=admin") {
			if !strings.HasSuffix(r, "@sa:"+a+"@acme") && !strings.HasSuffix(r, "@sa:"+b+"@acme") {
				name := strings.TrimSuffix(strings.TrimPrefix(r, "org:acme#admin@sa:"), "@acme")
				e.json(t, "DELETE", "/api/v1/orgs/acme/api-keys/"+name, e.admin, nil, 200, nil)
			}
		}
		sa, sb := raceHTTP(t, e, [3]string{"DELETE", "/api/v1/orgs/acme/api-keys/" + b, ka.Token}, [3]string{"DELETE", "/api/v1/orgs/acme/api-keys/" + a, kb.Token})
		outcomes[fmt.Sprintf("%d/%d", min(sa, sb), max(sa, sb))]++
		require.False(t, sa == 200 && sb == 200, "round %d: both keys deleted each other", i)
		require.NotEmpty(t, e.read(t, "resource=org:acme&relation=admin"), "round %d: zero org admins", i)
	}
	t.Logf("O2 admin keys over HTTP [embedded]: %d rounds, statuses (lower/higher): %v", raceRounds, outcomes)
}

// Hole 2 (P2) on PostgreSQL with two replicas: two `gatehouse serve` processes on one
// database; each admin deletes the other's robot through its own replica, 50 rounds.
func TestGuardHole2P2TwoReplicasOnPostgres(t *testing.T) {
	db := harness.StartPostgres(t)
	a := &env{backend: "postgres-a", s: harness.StartGatehouse(t, "--database-url", db)}
	var act struct{ Token string }
	a.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	b := &env{backend: "postgres-b", s: harness.StartGatehouse(t, "--database-url", db)}
	b.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:intruder"}, 409, "already_activated", "-")
	survivor := act.Token
	outcomes := map[string]int{}
	for i := range raceRounds {
		ra, rb := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		var ta, tb struct{ Token string }
		a.json(t, "POST", "/api/v1/robots", survivor, map[string]string{"name": ra}, 201, &ta)
		a.json(t, "POST", "/api/v1/robots", survivor, map[string]string{"name": rb}, 201, &tb)
		var admins struct{ Admins []string }
		a.json(t, "GET", "/api/v1/platform/admins", survivor, nil, 200, &admins)
		a.json(t, "PUT", "/api/v1/platform/admins/robot:"+ra, survivor, nil, 200, nil)
		// Through B too: each replica then reads at least as fresh as its own write.
		b.json(t, "PUT", "/api/v1/platform/admins/robot:"+rb, survivor, nil, 200, nil)
		for _, s := range admins.Admins {
			a.json(t, "DELETE", "/api/v1/platform/admins/"+s, ta.Token, nil, 200, nil)
		}
		sa, sb := raceTwo(t, [4]string{a.s.URL, "DELETE", "/api/v1/robots/" + rb, ta.Token}, [4]string{b.s.URL, "DELETE", "/api/v1/robots/" + ra, tb.Token})
		outcomes[fmt.Sprintf("%d/%d", min(sa, sb), max(sa, sb))]++
		require.False(t, sa == 200 && sb == 200, "round %d: both robots deleted each other", i)
		survivor = ta.Token
		if sb == 200 {
			survivor = tb.Token
		}
		a.json(t, "GET", "/api/v1/platform/admins", survivor, nil, 200, &admins)
		require.NotEmpty(t, admins.Admins, "round %d: zero platform admins", i)
	}
	b.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:intruder"}, 409, "already_activated", "-")
	t.Logf("hole 2 over HTTP [two replicas, postgres]: %d rounds, statuses (lower/higher): %v", raceRounds, outcomes)
}

package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// One URL makes it persistent (D1): every acknowledged write survives SIGKILL, with the
// embedded SpiceDB on the same database, and with a remote SpiceDB for the relationships
// and --database-url for Gatehouse's tables.
func TestPersistenceSurvivesSIGKILL(t *testing.T) {
	for _, mode := range []string{"embedded", "remote-spicedb"} {
		t.Run(mode, func(t *testing.T) {
			pg := harness.StartPostgres(t)
			args := []string{"--database-url", pg}
			if mode == "remote-spicedb" {
				ep, key := harness.StartSpiceDB(t, harness.NewDatabase(t, pg))
				args = append(args, "--spicedb-endpoint", ep, "--spicedb-token", key, "--spicedb-insecure")
			}
			e := &env{backend: mode, s: harness.StartGatehouse(t, args...)}
			var act struct{ Token string }
			e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
			e.admin = act.Token
			e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
			var key struct{ Token string }
			e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": "etl"}, 201, &key)
			e.json(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
			e.write(t, touch("repo:acme/raw#org@org:acme", "repo:acme/raw#reader@user:carol@example.com"))
			var revoked struct{ ID, Token string }
			e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"ttl": "1h"}, 201, &revoked)
			e.json(t, "DELETE", "/api/v1/tokens/"+revoked.ID, e.admin, nil, 200, nil)

			e.s.Kill()
			e.s = harness.StartGatehouse(t, args...)

			var who struct{ Subject string }
			e.json(t, "GET", "/api/v1/whoami", e.admin, nil, 200, &who)
			require.Equal(t, "robot:admin", who.Subject, "the admin token survived")
			e.json(t, "GET", "/api/v1/whoami", key.Token, nil, 200, &who)
			require.Equal(t, "sa:etl@acme", who.Subject, "the API key survived")
			e.fail(t, "GET", "/api/v1/whoami", revoked.Token, nil, 401, "unauthenticated", "")
			var members struct {
				Members []struct{ Subject, Role string }
			}
			e.json(t, "GET", "/api/v1/orgs/acme/members", e.admin, nil, 200, &members)
			require.Contains(t, members.Members, struct{ Subject, Role string }{"user:bob@example.com", "admin"})
			require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:carol@example.com", ""))
			require.True(t, e.check(t, e.admin, "org:acme", "manage", "user:bob@example.com", ""))
			e.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:other"}, 409, "already_activated", "")
		})
	}
}

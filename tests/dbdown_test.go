package tests

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// Fail closed: when the database of Gatehouse's tables goes away, /readyz says so and a
// token it has not seen before is neither accepted nor called invalid: 503.
func TestDatabaseDownFailsClosed(t *testing.T) {
	pg := harness.StartPostgres(t)
	tables := harness.NewDatabase(t, pg)
	ep, key := harness.StartSpiceDB(t, harness.NewDatabase(t, pg))
	e := &env{backend: "remote", s: harness.StartGatehouse(t, "--database-url", tables,
		"--spicedb-endpoint", ep, "--spicedb-token", key, "--spicedb-insecure", "--token-cache-ttl", "1ms")}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.json(t, "GET", "/readyz", "", nil, 200, nil)

	u, err := url.Parse(tables)
	require.NoError(t, err)
	name := strings.TrimPrefix(u.Path, "/")
	conn, err := pgx.Connect(context.Background(), pg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	require.NoError(t, err)

	status, body := e.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, 503, status, "%s", body)
	e.fail(t, "GET", "/api/v1/whoami", act.Token, nil, 503, "unavailable", "")
	status, body = e.do(t, "POST", "/api/v1/check", act.Token, map[string]string{"resource": "org:acme", "permission": "read"})
	require.Equal(t, 503, status, "%s", body)
}

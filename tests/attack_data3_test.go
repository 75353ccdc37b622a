package tests

// Secrets (B5) and fail closed (D3) on the data routes, attacked over HTTP and the CLI.

import (
	"context"
	"encoding/json"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

const attackSecret = "ATTACK-s3cr3t-never-shown-42"

// TestAttackB5SecretsNeverShown: a bucket config's secret access key and external id
// appear in no answer (create, get, list, patch, refusals), no audit event, no CLI
// output and no log line, and a refused change leaves the stored config as it was.
func TestAttackB5SecretsNeverShown(t *testing.T) {
	e := startActivatedOn(t, authzBackends[0])
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	hm := client.BucketRequest{Nickname: "hm", URI: "s3://attack-hm", ExtraConfig: client.BucketExtraConfig{EndpointURL: "http://127.0.0.1:9000", Region: "us-east-1"},
		Auth: client.BucketAuth{Type: "hmac", AccessKeyID: "AKIAATTACK", SecretAccessKey: attackSecret}}
	ar := client.BucketRequest{Nickname: "ar", URI: "s3://attack-ar",
		Auth: client.BucketAuth{Type: "aws_role", RoleARN: "arn:aws:iam::123456789012:role/data", ExternalID: attackSecret + "-ext"}}
	var seen []string
	keep := func(data []byte) { seen = append(seen, string(data)) }
	keep(e.json(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, hm, 201, nil))
	keep(e.json(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, ar, 201, nil))
	// Refusals that carry a secret: a second config of the name, a bad URI, an
	// overlapping location, a bad auth, unknown fields.
	for _, req := range []client.BucketRequest{hm, {Nickname: "x", URI: "s3://attack hm", Auth: hm.Auth}, {Nickname: "y", URI: "s3://attack-hm/sub", Auth: hm.Auth},
		{Nickname: "z", URI: "s3://attack-z", Auth: client.BucketAuth{Type: "hmac", SecretAccessKey: attackSecret}},
		{Nickname: "w", URI: "s3://attack-w", Auth: client.BucketAuth{Type: "self_managed", SecretAccessKey: attackSecret}}} {
		status, data := e.do(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, req)
		require.GreaterOrEqual(t, status, 400, "%s", data)
		keep(data)
	}
	status, data := e.do(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, map[string]any{"nickname": "v", "uri": "s3://attack-v", "auth": map[string]string{"type": "hmac", "access_key_id": "A", "secret_access_key": attackSecret, "secret": attackSecret}})
	require.Equal(t, 400, status, "%s", data)
	keep(data)
	newURI := "s3://attack-moved"
	status, data = e.do(t, "PATCH", "/api/v1/orgs/acme/buckets/hm", e.admin, client.BucketPatch{URI: &newURI, Auth: &client.BucketAuth{Type: "hmac", SecretAccessKey: attackSecret + "2"}})
	require.Equal(t, 400, status, "%s", data)
	keep(data)
	keep(e.json(t, "PATCH", "/api/v1/orgs/acme/buckets/hm", e.admin, client.BucketPatch{Auth: &client.BucketAuth{Type: "hmac", AccessKeyID: "AKIA2", SecretAccessKey: attackSecret + "3"}}, 200, nil))
	for _, path := range []string{"/api/v1/orgs/acme/buckets", "/api/v1/orgs/acme/buckets/hm", "/api/v1/orgs/acme/buckets/ar", "/api/v1/orgs/acme/buckets/ar/iam-policy", "/api/v1/audit", "/api/v1/relationships/export"} {
		_, data := e.do(t, "GET", path, e.admin, nil)
		keep(data)
	}
	for _, args := range [][]string{{"bucket", "list", "acme"}, {"bucket", "get", "acme/hm"}, {"bucket", "get", "acme/ar", "-o", "json"}} {
		out, errOut, _ := gh(t, e.s, e.admin, "", args...)
		keep([]byte(out + errOut))
	}
	e.s.Stop()
	keep([]byte(e.s.Log()))
	all := strings.Join(seen, "\n")
	require.Contains(t, all, `"AKIA2"`, "the reads answered")
	require.Contains(t, all, "AKIA2", "the CLI answered")
	require.Contains(t, all, "bucket.update", "the audit answered")
	for i, s := range seen {
		require.NotContains(t, s, attackSecret[:20], "B5: answer %d shows a secret: %s", i, clipped(s))
	}
}

func clipped(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

// TestAttackD3DataRoutesFailClosedWithSpiceDBDown: with SpiceDB gone, creating a repo,
// setting a role, creating a pipeline or a bucket config and deleting a repo answer 503,
// never 2xx, and nothing of them is stored.
func TestAttackD3DataRoutesFailClosedWithSpiceDBDown(t *testing.T) {
	pg := harness.StartPostgres(t)
	sp := startSpiceDBOnPostgres(t, pg)
	e := &env{backend: "spicedb-postgres", s: harness.StartGatehouse(t, "--database-url", harness.NewDatabase(t, pg),
		"--spicedb-endpoint", sp.endpoint, "--spicedb-token", sp.key, "--spicedb-insecure")}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	e.json(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, client.BucketRequest{Nickname: "main", URI: "s3://fc-main", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	makeRepo(t, e, "acme/raw", e.admin)
	makeRepo(t, e, "acme/clean", e.admin)
	sp.stop()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/orgs/acme/repos", map[string]string{"name": "new"}},
		{"PUT", "/api/v1/repos/acme/raw/roles/user:dan@example.com", map[string]string{"role": "owner"}},
		{"POST", "/api/v1/orgs/acme/pipelines", pipeReq("p", "acme/clean", "acme/raw")},
		{"POST", "/api/v1/orgs/acme/buckets", client.BucketRequest{Nickname: "b2", URI: "s3://fc-b2", Auth: client.BucketAuth{Type: "self_managed"}}},
		{"DELETE", "/api/v1/repos/acme/raw", nil},
		{"DELETE", "/api/v1/orgs/acme/buckets/main", nil},
		{"GET", "/api/v1/orgs/acme/repos", nil},
	} {
		status, data := e.do(t, c.method, c.path, e.admin, c.body)
		requireErr(t, c.method+" "+c.path, status, data, 503, "", "-")
		require.False(t, strings.Contains(string(data), "fc-"), "no location in a failure: %s", data)
	}
}

// TestAttackB6VendingStaysInItsLane: credentials only for what the caller can do now:
// another org's repo (present or absent) is 404, a read-scoped token or a reader asking
// write is refused, a pipeline gets write only on its output and nothing outside its
// wiring, a pipeline whose creator was deleted gets nothing, and bad input names its
// field (self_managed configs: the location only, no STS needed).
func TestAttackB6VendingStaysInItsLane(t *testing.T) {
	e := startActivatedOn(t, authzBackends[0])
	p, _ := rolesFixture(t, e)
	e.json(t, "PUT", "/api/v1/orgs/beta/members/eve@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
	eve := mintFor(t, e, "user:eve@example.com")
	vend := func(token, repo, access string, want int) {
		t.Helper()
		status, data := e.do(t, "POST", "/api/v1/repos/"+repo+"/credentials", token, map[string]string{"access": access})
		require.Equal(t, want, status, "%s %s: %s", repo, access, data)
	}
	vend(p["bob"], "acme/raw", "write", 200)
	attackMoveByRelationship(t, e)
	vend(eve, "acme/raw", "read", 404)
	vend(eve, "acme/ghost", "read", 404)
	vend(p["carl"], "lab/in", "read", 404) // lab is acl_only: carl has no grant
	e.setRole(t, p["ann"], "lab/in", "user:carl@example.com", "reader", 200)
	vend(p["carl"], "lab/in", "read", 200)
	vend(p["carl"], "lab/in", "write", 403)
	readOnly := scoped(t, e, p["bob"], []string{"read"}, []string{"repo"}, "acme").Token
	vend(readOnly, "acme/raw", "read", 200)
	vend(readOnly, "acme/raw", "write", 403)
	vend(readOnly, "lab/in", "read", 403)

	e.json(t, "POST", "/api/v1/orgs/acme/pipelines", p["bob"], pipeReq("v", "acme/clean", "acme/raw"), 201, nil)
	pt := pipelineToken(t, e, p["bob"], "acme/v").Token
	vend(pt, "acme/raw", "read", 200)
	vend(pt, "acme/raw", "write", 403)
	vend(pt, "acme/clean", "write", 200)
	vend(pt, "lab/in", "read", 404)
	e.json(t, "DELETE", "/api/v1/orgs/acme/members/bob@example.com", e.admin, nil, 200, nil)
	vend(pt, "acme/raw", "read", 404) // PL3: its creator left acme

	// PL3: the creator's role lowered shows at the next vend.
	e.json(t, "POST", "/api/v1/orgs/lab/pipelines", p["ann"], pipeReq("q", "lab/in2", "lab/in"), 201, nil)
	qt := pipelineToken(t, e, p["ann"], "lab/q").Token
	vend(qt, "lab/in2", "write", 200)
	e.setRole(t, e.admin, "lab/in2", "user:ann@example.com", "reader", 200)
	vend(qt, "lab/in2", "write", 404) // nor read: a pipeline reads its output only while it may write it
	require.False(t, e.check(t, qt, "repo:lab/in2", "write", "", ""))
	e.setRole(t, e.admin, "lab/in", "user:ann@example.com", "none", 200)
	vend(qt, "lab/in", "read", 404)
	// T4: a pipeline's token has a bounded lifetime.
	status, data := e.do(t, "POST", "/api/v1/pipelines/lab/q/token", e.admin, map[string]string{"ttl": "100000h"})
	if status == 201 {
		var m minted
		require.NoError(t, json.Unmarshal(data, &m))
		require.Less(t, time.Until(m.ExpiresAt), 10000*time.Hour, "T4: capped")
	} else {
		requireErr(t, "long pipeline token", status, data, 400, "", "ttl")
	}

	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]string{"access": "admin"}, "access"}, {map[string]string{"access": ""}, "access"},
		{map[string]string{"access": "read", "duration": "100h"}, "duration"}, {map[string]string{"access": "read", "duration": "-1h"}, "duration"},
		{map[string]string{"access": "read", "duration": "1s"}, "duration"}, {map[string]any{"access": "read", "policy": "*"}, "policy"},
	} {
		e.fail(t, "POST", "/api/v1/repos/lab/in/credentials", p["ann"], c.body, 400, "", c.field)
	}
}

// TestAttackD3DataRoutesFailClosedWithDatabaseDown: with Gatehouse's tables gone (the
// caller's token still cached), creating a repo, a pipeline or a bucket config and
// deleting a repo answer 503, never 2xx or 500.
func TestAttackD3DataRoutesFailClosedWithDatabaseDown(t *testing.T) {
	pg := harness.StartPostgres(t)
	tables := harness.NewDatabase(t, pg)
	ep, key := harness.StartSpiceDB(t, harness.NewDatabase(t, pg))
	e := &env{backend: "remote", s: harness.StartGatehouse(t, "--database-url", tables,
		"--spicedb-endpoint", ep, "--spicedb-token", key, "--spicedb-insecure", "--token-cache-ttl", "1h")}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	e.json(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, client.BucketRequest{Nickname: "main", URI: "s3://dbd-main", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	makeRepo(t, e, "acme/raw", e.admin)
	makeRepo(t, e, "acme/clean", e.admin)
	dropDatabase(t, pg, tables)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/orgs/acme/repos", map[string]string{"name": "new"}},
		{"POST", "/api/v1/orgs/acme/pipelines", pipeReq("p", "acme/clean", "acme/raw")},
		{"POST", "/api/v1/orgs/acme/buckets", client.BucketRequest{Nickname: "b2", URI: "s3://dbd-b2", Auth: client.BucketAuth{Type: "self_managed"}}},
		{"DELETE", "/api/v1/repos/acme/raw", nil},
		{"DELETE", "/api/v1/orgs/acme/buckets/main", nil},
		{"POST", "/api/v1/repos/acme/raw/credentials", map[string]string{"access": "read"}},
	} {
		status, data := e.do(t, c.method, c.path, e.admin, c.body)
		requireErr(t, c.method+" "+c.path, status, data, 503, "", "-")
	}
}

// dropDatabase drops the database at url (on the cluster pg), connections and all.
func dropDatabase(t *testing.T, pg, url string) {
	t.Helper()
	u, err := neturl.Parse(url)
	require.NoError(t, err)
	conn, err := pgx.Connect(context.Background(), pg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+" WITH (FORCE)")
	require.NoError(t, err)
}

// attackMoveByRelationship: replacing a repo's bucket link by a raw write (R4 keeps one,
// of its own org) does not move its data: vending reads the stored repo (B6, R4).
func attackMoveByRelationship(t *testing.T, e *env) {
	var before, after client.CredentialsResponse
	e.json(t, "POST", "/api/v1/repos/acme/raw/credentials", e.admin, map[string]string{"access": "read"}, 200, &before)
	e.json(t, "POST", "/api/v1/orgs/acme/buckets", e.admin, client.BucketRequest{Nickname: "elsewhere", URI: "s3://attack-elsewhere", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	e.write(t, append(remove("repo:acme/raw#bucket@bucket:acme/main"), touch("repo:acme/raw#bucket@bucket:acme/elsewhere")...))
	e.json(t, "POST", "/api/v1/repos/acme/raw/credentials", e.admin, map[string]string{"access": "read"}, 200, &after)
	require.Equal(t, "acme-pipe-data", after.Bucket)
	require.Equal(t, before.Prefix, after.Prefix, "R4: the data stays where the repo was created")
	e.fail(t, "DELETE", "/api/v1/orgs/acme/buckets/main", e.admin, nil, 409, "bucket_in_use", "")
	e.write(t, append(remove("repo:acme/raw#bucket@bucket:acme/elsewhere"), touch("repo:acme/raw#bucket@bucket:acme/main")...))
}

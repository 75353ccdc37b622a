package tests

// Bucket configs (B1-B5, B7) and repos (R1, R4, R5, O2) end to end, on memory and on
// PostgreSQL, through HTTP and the CLI, attacked from other orgs, by non-admins and
// through the raw relationships route.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

const gatehousePrincipal = "arn:aws:iam::123456789012:role/gatehouse"

// dataBackends: memory, and PostgreSQL for the tables and the embedded SpiceDB, with
// Gatehouse's AWS principal configured (B7).
var dataBackends = []backend{
	{"memory", func(t *testing.T) *env {
		return &env{backend: "memory", s: harness.StartGatehouse(t, "--aws-principal-arn", gatehousePrincipal)}
	}},
	{"postgres", func(t *testing.T) *env {
		pg := harness.StartPostgres(t)
		return &env{backend: "postgres", s: harness.StartGatehouse(t, "--database-url", pg, "--aws-principal-arn", gatehousePrincipal)}
	}},
}

// people are the callers of these tests: alice admin of acme, bob member of acme, carol
// admin of beta.
type people struct{ alice, bob, carol string }

func dataFixture(t *testing.T, e *env) people {
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	for _, org := range []string{"acme", "beta"} {
		e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": org}, 201, nil)
	}
	e.json(t, "PUT", "/api/v1/orgs/acme/members/alice@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", e.admin, map[string]string{"role": "member"}, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/beta/members/carol@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
	mint := func(email string) string {
		var m minted
		e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"subject": "user:" + email}, 201, &m)
		return m.Token
	}
	return people{alice: mint("alice@example.com"), bob: mint("bob@example.com"), carol: mint("carol@example.com")}
}

const hmacSecret = "very-secret-key-123"

func hmacBucket(nick, uri string) client.BucketRequest {
	return client.BucketRequest{Nickname: nick, URI: uri, ExtraConfig: client.BucketExtraConfig{EndpointURL: "http://127.0.0.1:9000", Region: "us-east-1"},
		Auth: client.BucketAuth{Type: "hmac", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: hmacSecret}}
}

func TestBucketsAndRepos(t *testing.T) {
	for _, b := range dataBackends {
		t.Run(b.name, func(t *testing.T) {
			e := b.start(t)
			p := dataFixture(t, e)
			t.Run("B1_B2_B5_create_list_get_no_secrets", func(t *testing.T) { bucketsCreate(t, e, p) })
			t.Run("B1_D3_bad_input_names_the_field_nothing_stored", func(t *testing.T) { bucketsBadInput(t, e, p) })
			t.Run("R1_R4_O2_repos_create_in_either_mode", func(t *testing.T) { reposCreate(t, e, p) })
			t.Run("R5_list_get_delete_404_not_403", func(t *testing.T) { reposVisibility(t, e, p) })
			t.Run("B3_B4_R4_in_use_rename_raw_writes", func(t *testing.T) { bucketsInUse(t, e, p) })
			t.Run("B7_iam_policy", func(t *testing.T) { bucketsIAM(t, e, p) })
			t.Run("O1_org_deletion_takes_its_bucket_configs", func(t *testing.T) { orgDeletion(t, e) })
			t.Run("CLI_repo_and_bucket_commands", func(t *testing.T) { dataCLI(t, e, p) })
		})
	}
}

func bucketsCreate(t *testing.T, e *env, p people) {
	e.fail(t, "POST", "/api/v1/orgs/acme/buckets", p.bob, hmacBucket("prod", "minio://acme-data/lake"), 403, "", "-")   // B2: admins only
	e.fail(t, "POST", "/api/v1/orgs/acme/buckets", p.carol, hmacBucket("prod", "minio://acme-data/lake"), 404, "", "-") // another org: unseen
	var prod client.Bucket
	data := e.json(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, hmacBucket("prod", "minio://acme-data/lake"), 201, &prod)
	require.NotContains(t, string(data), hmacSecret, "B5: never returned")
	require.Equal(t, client.Bucket{Org: "acme", Nickname: "prod", URI: "minio://acme-data/lake/", Platform: "minio", Bucket: "acme-data", Prefix: "lake/",
		ExtraConfig: client.BucketExtraConfig{EndpointURL: "http://127.0.0.1:9000", Region: "us-east-1"},
		Auth:        client.BucketAuth{Type: "hmac", AccessKeyID: "AKIAEXAMPLE"}, Default: true, CreatedAt: prod.CreatedAt, CreatedBy: "user:alice@example.com"}, prod)
	e.json(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, client.BucketRequest{Nickname: "other", URI: "s3://acme-other", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)

	// Members read (no secrets); other orgs do not see them.
	var list client.BucketsResponse
	data = e.json(t, "GET", "/api/v1/orgs/acme/buckets", p.bob, nil, 200, &list)
	require.NotContains(t, string(data), hmacSecret)
	require.Len(t, list.Buckets, 2)
	data = e.json(t, "GET", "/api/v1/orgs/acme/buckets/prod", p.bob, nil, 200, nil)
	require.NotContains(t, string(data), hmacSecret)
	e.fail(t, "GET", "/api/v1/orgs/acme/buckets", p.carol, nil, 404, "", "-")
	e.fail(t, "GET", "/api/v1/orgs/acme/buckets/prod", p.carol, nil, 404, "", "-")
	e.fail(t, "GET", "/api/v1/orgs/acme/buckets/nope", p.bob, nil, 404, "not_found", "")

	// B1: no two configs anywhere on the platform share or overlap a location.
	for _, uri := range []string{"s3://acme-data/lake", "s3://acme-data/lake/sub", "s3://acme-data", "minio://acme-data/"} {
		e.fail(t, "POST", "/api/v1/orgs/beta/buckets", p.carol, hmacBucket("theirs", uri), 409, "location_overlap", "uri")
	}
	e.json(t, "POST", "/api/v1/orgs/beta/buckets", p.carol, hmacBucket("theirs", "s3://acme-data/lakehouse"), 201, nil)
	e.fail(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, hmacBucket("prod", "s3://acme-else"), 409, "already_exists", "nickname")

	// AU1: audited, never with the secret.
	_, audit := e.do(t, "GET", "/api/v1/audit", e.admin, nil)
	require.Contains(t, string(audit), `"bucket.create"`)
	require.NotContains(t, string(audit), hmacSecret)
}

func bucketsBadInput(t *testing.T, e *env, p people) {
	ok := hmacBucket("fine", "s3://fine-data/p")
	with := func(f func(*client.BucketRequest)) client.BucketRequest { r := ok; f(&r); return r }
	for field, req := range map[string]client.BucketRequest{
		"uri":                       with(func(r *client.BucketRequest) { r.URI = "ftp://fine-data" }),
		"nickname":                  with(func(r *client.BucketRequest) { r.Nickname = "" }),
		"auth.type":                 with(func(r *client.BucketRequest) { r.Auth = client.BucketAuth{Type: "magic"} }),
		"auth.secret_access_key":    with(func(r *client.BucketRequest) { r.Auth.SecretAccessKey = "" }),
		"extra_config.endpoint_url": with(func(r *client.BucketRequest) { r.ExtraConfig.EndpointURL = "ftp://h" }),
		"extra_config.region":       with(func(r *client.BucketRequest) { r.ExtraConfig.Region = "us east" }),
		"platform":                  with(func(r *client.BucketRequest) { r.Platform = "gs" }),
	} {
		e.fail(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, req, 400, "invalid_argument", field)
	}
	// Policy metacharacters never reach storage (Polaris 2026).
	for _, nick := range []string{"a*b", "a?b", "a$b", "A", "a/b", "x{y}"} {
		e.fail(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, with(func(r *client.BucketRequest) { r.Nickname = nick }), 400, "invalid_argument", "nickname")
	}
	for _, uri := range []string{"s3://fine-data/a*", "s3://fine-data/a?b", "s3://fine-data/${aws:username}", "s3://fine*data", "s3://", "s3:///p", "s3://fine-data/a//b", "s3://fine-data/../x"} {
		e.fail(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, with(func(r *client.BucketRequest) { r.URI = uri }), 400, "invalid_argument", "uri")
	}
	var list client.BucketsResponse
	e.json(t, "GET", "/api/v1/orgs/acme/buckets", p.alice, nil, 200, &list)
	require.Len(t, list.Buckets, 2, "D3: nothing of a refused request stored")
}

func reposCreate(t *testing.T, e *env, p people) {
	var x client.Repo
	e.json(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "x"}, 201, &x)
	require.Equal(t, "acme/x", x.Name)
	require.Equal(t, "prod", x.Bucket, "R4: the org's default")
	require.Regexp(t, `^lake/acme/x-[0-9a-f]{16}/$`, x.Prefix, "R4: a prefix of its own inside the config's")
	require.True(t, e.check(t, e.admin, "repo:acme/x", "manage_acl", "user:bob@example.com", ""), "R1: the creator owns it")

	// O2: members create repos in ACL-only mode too.
	e.json(t, "PATCH", "/api/v1/orgs/acme", p.alice, map[string]string{"repo_access": "acl_only"}, 200, nil)
	var y client.Repo
	e.json(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "y", Bucket: "other"}, 201, &y)
	require.Equal(t, "other", y.Bucket)
	require.True(t, strings.HasPrefix(y.Prefix, "acme/y-"), y.Prefix)
	e.json(t, "POST", "/api/v1/orgs/acme/repos", p.alice, client.RepoRequest{Name: "secret"}, 201, nil)

	// Attacks: another org's config, a made-up one, another org, bad names, a taken name.
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "z", Bucket: "theirs"}, 400, "invalid_argument", "bucket")
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "z", Bucket: "beta/theirs"}, 400, "invalid_argument", "bucket")
	e.fail(t, "POST", "/api/v1/orgs/beta/repos", p.carol, client.RepoRequest{Name: "z", Bucket: "prod"}, 400, "invalid_argument", "bucket")
	e.fail(t, "POST", "/api/v1/orgs/beta/repos", p.bob, client.RepoRequest{Name: "z"}, 404, "", "-")
	for _, name := range []string{"", "a*", "x?", "$x", "A", "a/b"} {
		e.fail(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: name}, 400, "invalid_argument", "name")
	}
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "x"}, 409, "already_exists", "name")

	// No default: a clear refusal naming the field.
	e.json(t, "PATCH", "/api/v1/orgs/acme/buckets/prod", p.alice, map[string]any{"default": false}, 200, nil)
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "z"}, 409, "no_default_bucket", "bucket")
	e.json(t, "PATCH", "/api/v1/orgs/acme/buckets/prod", p.alice, map[string]any{"default": true}, 200, nil)
}

func reposVisibility(t *testing.T, e *env, p people) {
	names := func(token string) []string {
		var out client.ReposResponse
		e.json(t, "GET", "/api/v1/orgs/acme/repos", token, nil, 200, &out)
		var n []string
		for _, r := range out.Repos {
			n = append(n, r.Name)
		}
		return n
	}
	require.Equal(t, []string{"acme/secret", "acme/x", "acme/y"}, names(p.alice), "admins read every repo (R3)")
	require.Equal(t, []string{"acme/x", "acme/y"}, names(p.bob), "R5: only what bob can read (acl_only: his own)")
	e.fail(t, "GET", "/api/v1/orgs/acme/repos", p.carol, nil, 404, "", "-")
	e.fail(t, "GET", "/api/v1/orgs/nope/repos", p.bob, nil, 404, "", "-")

	var got client.Repo
	e.json(t, "GET", "/api/v1/repos/acme/x", p.bob, nil, 200, &got)
	require.Equal(t, "prod", got.Bucket)
	for _, path := range []string{"/api/v1/repos/acme/secret", "/api/v1/repos/acme/nope", "/api/v1/repos/beta/x"} {
		e.fail(t, "GET", path, p.bob, nil, 404, "not_found", "")
		e.fail(t, "DELETE", path, p.bob, nil, 404, "not_found", "")
	}
	e.fail(t, "GET", "/api/v1/repos/acme/x", p.carol, nil, 404, "not_found", "")
	// Readable but not deletable: 403.
	e.write(t, touch("repo:acme/secret#reader@user:bob@example.com"))
	e.json(t, "GET", "/api/v1/repos/acme/secret", p.bob, nil, 200, nil)
	e.fail(t, "DELETE", "/api/v1/repos/acme/secret", p.bob, nil, 403, "permission_denied", "")
	// A scoped token needs the grant (T3).
	var scoped minted
	e.json(t, "POST", "/api/v1/tokens", p.bob, map[string]any{"grants": []map[string]any{
		{"functions": []string{"read"}, "resources": []string{"repo"}, "orgs": []string{"acme"}}}}, 201, &scoped)
	e.json(t, "GET", "/api/v1/repos/acme/x", scoped.Token, nil, 200, nil)
	e.fail(t, "DELETE", "/api/v1/repos/acme/x", scoped.Token, nil, 403, "permission_denied", "")
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", scoped.Token, client.RepoRequest{Name: "w"}, 403, "permission_denied", "")
}

func bucketsInUse(t *testing.T, e *env, p people) {
	var x client.Repo
	e.json(t, "GET", "/api/v1/repos/acme/x", p.alice, nil, 200, &x)
	// B3: only the nickname changes while in use.
	for _, patch := range []map[string]any{{"uri": "minio://acme-moved"}, {"extra_config": map[string]string{"endpoint_url": "http://evil:9000"}},
		{"auth": map[string]string{"type": "self_managed"}}} {
		ae := e.fail(t, "PATCH", "/api/v1/orgs/acme/buckets/prod", p.alice, patch, 409, "bucket_in_use", "")
		require.Contains(t, ae.Error.Details["repos"], "acme/x")
	}
	e.fail(t, "PATCH", "/api/v1/orgs/acme/buckets/prod", p.bob, map[string]any{"nickname": "mine"}, 403, "", "-")
	e.fail(t, "PATCH", "/api/v1/orgs/acme/buckets/prod", p.alice, map[string]any{"nickname": "a*"}, 400, "invalid_argument", "nickname")
	e.json(t, "PATCH", "/api/v1/orgs/acme/buckets/prod", p.alice, map[string]any{"nickname": "production"}, 200, nil)
	var after client.Repo
	e.json(t, "GET", "/api/v1/repos/acme/x", p.alice, nil, 200, &after)
	require.Equal(t, "production", after.Bucket)
	require.Equal(t, x.Prefix, after.Prefix)
	require.Contains(t, e.read(t, "resource=repo:acme/x&relation=bucket"), "repo:acme/x#bucket@bucket:acme/production")

	// B4: in use, refused with the repos.
	ae := e.fail(t, "DELETE", "/api/v1/orgs/acme/buckets/production", p.alice, nil, 409, "bucket_in_use", "")
	require.ElementsMatch(t, []any{"acme/secret", "acme/x"}, ae.Error.Details["repos"])

	// Raw writes cannot point a repo at another org's config or a made-up one, and a
	// replacement within the org moves no data: the stored location stays (R4).
	body := map[string]any{"updates": append(remove("repo:acme/x#bucket@bucket:acme/production"), touch("repo:acme/x#bucket@bucket:beta/theirs")...)}
	e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 400, "invalid_argument", "updates[1].relationship")
	body = map[string]any{"updates": touch("repo:acme/new#bucket@bucket:acme/ghost")}
	e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 400, "invalid_argument", "updates[0].relationship")
	e.write(t, append(remove("repo:acme/x#bucket@bucket:acme/production"), touch("repo:acme/x#bucket@bucket:acme/other")...))
	e.json(t, "GET", "/api/v1/repos/acme/x", p.alice, nil, 200, &after)
	require.Equal(t, x.Prefix, after.Prefix, "the stored location did not move")
	require.Equal(t, "production", after.Bucket)

	// R5: deleting takes every relationship mentioning the repo; a new one never reuses the prefix.
	e.json(t, "DELETE", "/api/v1/repos/acme/x", p.bob, nil, 200, nil)
	require.Empty(t, e.read(t, "resource=repo:acme/x"))
	e.fail(t, "GET", "/api/v1/repos/acme/x", p.alice, nil, 404, "not_found", "")
	var again client.Repo
	e.json(t, "POST", "/api/v1/orgs/acme/repos", p.bob, client.RepoRequest{Name: "x"}, 201, &again)
	require.NotEqual(t, x.Prefix, again.Prefix, "R4: a recreated repo never sees old data")
	for _, r := range []string{"x", "secret"} {
		e.json(t, "DELETE", "/api/v1/repos/acme/"+r, p.alice, nil, 200, nil)
	}
	// B4: unused, deleted for good.
	e.json(t, "DELETE", "/api/v1/orgs/acme/buckets/production", p.alice, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/orgs/acme/buckets/production", p.alice, nil, 404, "not_found", "")
	e.fail(t, "DELETE", "/api/v1/orgs/acme/buckets/production", p.alice, nil, 404, "not_found", "")
	require.Empty(t, e.read(t, "resource=bucket:acme/production"))
}

func bucketsIAM(t *testing.T, e *env, p people) {
	role := client.BucketRequest{Nickname: "role", URI: "s3://acme-role/data", Auth: client.BucketAuth{Type: "aws_role", RoleARN: "arn:aws:iam::123456789012:role/data", ExternalID: "ext-id-42"}}
	data := e.json(t, "POST", "/api/v1/orgs/acme/buckets", p.alice, role, 201, nil)
	require.NotContains(t, string(data), "ext-id-42", "B5: the external id is never read back")
	var pol client.IAMPolicyResponse
	e.json(t, "GET", "/api/v1/orgs/acme/buckets/role/iam-policy", p.alice, nil, 200, &pol)
	perm, _ := json.Marshal(pol.PermissionPolicy)
	trust, _ := json.Marshal(pol.TrustPolicy)
	require.Contains(t, string(perm), "arn:aws:s3:::acme-role/data/*")
	require.Contains(t, string(trust), gatehousePrincipal)
	require.Contains(t, string(trust), "ext-id-42")
	e.fail(t, "GET", "/api/v1/orgs/acme/buckets/role/iam-policy", p.bob, nil, 403, "", "-")
	e.fail(t, "GET", "/api/v1/orgs/acme/buckets/other/iam-policy", p.alice, nil, 409, "not_aws_role", "")
}

func orgDeletion(t *testing.T, e *env) {
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "gamma"}, 201, nil)
	e.json(t, "POST", "/api/v1/orgs/gamma/buckets", e.admin, client.BucketRequest{Nickname: "g", URI: "s3://gamma-data", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	e.json(t, "POST", "/api/v1/orgs/gamma/repos", e.admin, client.RepoRequest{Name: "r"}, 201, nil)
	e.fail(t, "DELETE", "/api/v1/orgs/gamma", e.admin, nil, 409, "in_use", "")
	e.json(t, "DELETE", "/api/v1/repos/gamma/r", e.admin, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/orgs/gamma", e.admin, nil, 200, nil)
	require.Empty(t, e.read(t, "resource=bucket:gamma/g"))
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "gamma"}, 201, nil)
	var list client.BucketsResponse
	e.json(t, "GET", "/api/v1/orgs/gamma/buckets", e.admin, nil, 200, &list)
	require.Empty(t, list.Buckets, "the old org's configs went with it")
	e.json(t, "POST", "/api/v1/orgs/beta/buckets", e.admin, client.BucketRequest{Nickname: "g", URI: "s3://gamma-data", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
}

func dataCLI(t *testing.T, e *env, p people) {
	cli := func(token string, args ...string) (string, int) {
		return runCLI(t, token, append(args, "--addr", e.s.URL)...)
	}
	out, code := cli(p.alice, "bucket", "create", "acme", "cli", "--uri", "s3://acme-cli-data/x", "--auth-type", "hmac",
		"--access-key-id", "AKIACLI", "--secret-access-key", "cli-secret-key", "--endpoint-url", "http://127.0.0.1:9000")
	require.Zero(t, code, out)
	require.Contains(t, out, "s3://acme-cli-data/x/")
	out, code = cli(p.bob, "bucket", "list", "acme", "-o", "json")
	require.Zero(t, code, out)
	var list client.BucketsResponse
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	require.NotContains(t, out, "cli-secret-key")
	out, code = cli(p.bob, "bucket", "create", "acme", "nope", "--uri", "s3://acme-nope", "--auth-type", "self_managed")
	require.NotZero(t, code)
	require.Contains(t, out, "403")

	out, code = cli(p.bob, "repo", "create", "acme/c1", "--bucket", "cli", "-o", "json")
	require.Zero(t, code, out)
	var r client.Repo
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	require.Equal(t, "acme/c1", r.Name)
	require.True(t, strings.HasPrefix(r.Prefix, "x/acme/c1-"), r.Prefix)
	out, code = cli(p.bob, "repo", "list", "acme")
	require.Zero(t, code, out)
	require.Contains(t, out, "acme/c1")
	out, code = cli(p.bob, "repo", "get", "acme/c1")
	require.Zero(t, code, out)
	require.Contains(t, out, r.Prefix)
	out, code = cli(p.carol, "repo", "get", "acme/c1")
	require.NotZero(t, code)
	require.Contains(t, out, "404")
	out, code = cli(p.alice, "bucket", "update", "acme", "cli", "--uri", "s3://acme-cli-moved")
	require.NotZero(t, code)
	require.Contains(t, out, "bucket_in_use")
	out, code = cli(p.alice, "bucket", "update", "acme", "cli", "--nickname", "cli2")
	require.Zero(t, code, out)
	out, code = cli(p.bob, "repo", "delete", "acme/c1")
	require.Zero(t, code, out)
	require.Contains(t, out, "deleted repo:acme/c1")
	out, code = cli(p.alice, "bucket", "delete", "acme", "cli2")
	require.Zero(t, code, out)
	out, code = cli(p.alice, "bucket", "iam-policy", "acme", "role")
	require.Zero(t, code, out)
	require.Contains(t, out, "sts:AssumeRole")
	dataCLIBadInput(t, e, p)
}

// dataCLIBadInput: bad names and flags are refused before any request, naming what is wrong.
func dataCLIBadInput(t *testing.T, e *env, p people) {
	for _, args := range [][]string{
		{"repo", "create", "acme"}, {"repo", "get", "acme/A*"}, {"repo", "create", "acme/x", "--bucket", "a$b"},
		{"bucket", "get", "acme", "a*"}, {"bucket", "create", "acme", "n"}, {"bucket", "create", "acme", "n", "--uri", "s3://n-data", "--auth-type", "magic"},
		{"bucket", "update", "acme", "n"},
	} {
		out, code := runCLI(t, p.alice, append(args, "--addr", e.s.URL)...)
		require.NotZero(t, code, "%v: %s", args, out)
		require.Contains(t, out, "error:", "%v", args)
	}
}

package tests

// Issue 9 "Bad input": the four Apache Polaris advisories of 2026, each as a test through
// the real binary (run by TestVendAWSRoleOverHTTP_B6 on memory and PostgreSQL):
//  1. a '*' or another policy metacharacter in a repo, org or bucket name widening the
//     session policy to other repos' paths;
//  2. a crafted name injected into the policy document;
//  3. credentials issued for a location before that location was validated;
//  4. a later update of a repo or bucket config moving its location outside the checks.

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

// crafted are names that mean something to a policy, a path resolver or JSON.
var crafted = []string{"*", "raw*", "r?w", "${aws:username}", `x"],"Resource":["*`, "raw/../x", "raw/*", "a b", "raw\n"}

// Advisories 1, 2 and 3: no crafted name is accepted anywhere it could reach a policy,
// each refusal naming its field; a repo that exists only as relationships (never
// created, so never validated) gets nothing; and the policy of a real repo names exactly
// its own prefix, as data.
func vendPolarisNames(t *testing.T, v *vendEnv) {
	n := len(v.sts.Calls())
	for _, name := range crafted {
		v.fail(t, "POST", "/api/v1/orgs", v.admin, map[string]string{"name": name}, 400, "", "name")
		v.fail(t, "POST", "/api/v1/orgs/acme/repos", v.admin, map[string]string{"name": name}, 400, "", "name")
		v.fail(t, "POST", "/api/v1/orgs/acme/buckets", v.admin, map[string]any{"nickname": "n1", "uri": "s3://acme-side/" + name,
			"auth": map[string]string{"type": "self_managed"}}, 400, "", "uri")
		v.fail(t, "POST", "/api/v1/orgs/acme/buckets", v.admin, map[string]any{"nickname": "n1", "uri": "s3://" + name + "-side/x",
			"auth": map[string]string{"type": "self_managed"}}, 400, "", "uri")
		// Asking credentials for such a name finds nothing.
		status, _ := v.do(t, "POST", "/api/v1/repos/acme/"+url.PathEscape(name)+"/credentials", v.admin, access(client.AccessRead))
		require.Contains(t, []int{400, 404}, status, "vend acme/%s", name)
	}

	v.fail(t, "POST", "/api/v1/orgs/acme/repos", v.admin, map[string]string{"name": "RAW"}, 400, "", "name")

	// A repo written as relationships only (the raw route, bypassing repo creation and
	// its checks): the platform admin can "read" it in SpiceDB, yet no location was ever
	// validated for it, so there is nothing to vend.
	status, data := v.do(t, "POST", "/api/v1/relationships", v.admin, map[string]any{"updates": touch(
		"repo:acme/ghost#org@org:acme", "repo:acme/ghost#bucket@bucket:acme/lake")})
	require.Contains(t, []int{200, 403, 409}, status, "%s", data)
	v.vend(t, v.admin, "acme/ghost", access(client.AccessWrite), 404)
	require.Len(t, v.sts.Calls(), n, "nothing reached STS")

	// The policy of a real repo: its two resources and its one condition, exactly.
	var repo struct{ Prefix string }
	v.json(t, "GET", "/api/v1/repos/acme/raw", v.admin, nil, 200, &repo)
	v.vend(t, v.admin, "acme/raw", access(client.AccessWrite), 200)
	doc := v.lastPolicy(t)
	require.Len(t, doc.Statement, 2)
	require.Equal(t, []string{"arn:aws:s3:::acme-lake/" + repo.Prefix + "*"}, doc.Statement[0].Resource)
	require.Equal(t, []string{"arn:aws:s3:::acme-lake"}, doc.Statement[1].Resource)
	require.Equal(t, map[string][]string{"s3:prefix": {repo.Prefix + "*"}}, doc.Statement[1].Condition["StringLike"])
	in, _ := v.sts.Last()
	require.Equal(t, 2, strings.Count(aws.ToString(in.Policy), "*"), "one wildcard per statement, after the prefix: %s", aws.ToString(in.Policy))
}

// Advisory 4: once a repo exists its location cannot move. A config in use refuses any
// change but its nickname (B3) with the repos using it; a rename keeps the location (the
// repo points at the config's id); a raw repo#bucket relationship moves nothing (the
// location comes from the stored rows, never from relationships); a deleted and
// recreated repo gets a new prefix (R4: it never sees the old data); and on PostgreSQL a
// row altered behind Gatehouse's back is re-validated before it reaches a policy.
func vendPolarisUpdates(t *testing.T, v *vendEnv) {
	before, _ := v.vend(t, v.admin, "acme/raw", access(client.AccessRead), 200)
	for _, patch := range []map[string]any{
		{"uri": "s3://acme-lake/elsewhere"},
		{"uri": "s3://acme-lake"},
		{"extra_config": map[string]string{"region": "us-west-2"}},
		{"auth": map[string]string{"type": "aws_role", "role_arn": "arn:aws:iam::210987654321:role/other", "external_id": "other-external-id"}},
	} {
		ae := v.fail(t, "PATCH", "/api/v1/orgs/acme/buckets/lake", v.admin, patch, 409, "", "-")
		require.Contains(t, ae.Error.Details["repos"], "acme/raw", "B3 names the repos using the config: %v", ae.Error.Details)
	}
	same := func(label string) {
		t.Helper()
		now, _ := v.vend(t, v.admin, "acme/raw", access(client.AccessRead), 200)
		require.Equal(t, [3]string{before.Bucket, before.Prefix, before.Region}, [3]string{now.Bucket, now.Prefix, now.Region}, label)
		in, _ := v.sts.Last()
		require.Equal(t, vendRoleARN, aws.ToString(in.RoleArn), label)
		require.Equal(t, vendExternalID, aws.ToString(in.ExternalId), label)
	}
	same("after refused updates")
	v.json(t, "PATCH", "/api/v1/orgs/acme/buckets/lake", v.admin, map[string]any{"nickname": "lake2"}, 200, nil)
	same("after a rename")

	status, data := v.do(t, "POST", "/api/v1/relationships", v.admin, map[string]any{"updates": touch("repo:acme/raw#bucket@bucket:acme/own")})
	require.NotEqual(t, 500, status, "%s", data)
	same("after a raw repo#bucket relationship")

	v.json(t, "DELETE", "/api/v1/repos/acme/raw", v.admin, nil, 200, nil)
	v.vend(t, v.admin, "acme/raw", access(client.AccessRead), 404)
	again := v.createRepo(t, "acme", "raw", "lake2")
	require.NotEqual(t, before.Prefix, again.Prefix, "a recreated repo never sees the old data (R4)")
	now, _ := v.vend(t, v.admin, "acme/raw", access(client.AccessRead), 200)
	require.Equal(t, again.Prefix, now.Prefix)

	if v.pgURL == "" {
		return
	}
	tamper := func(sql string, args ...any) {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), v.pgURL)
		require.NoError(t, err)
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), sql, args...)
		require.NoError(t, err)
	}
	n := len(v.sts.Calls())
	tamper(`UPDATE repos SET prefix = $1 WHERE org = 'acme' AND name = 'raw'`, strings.TrimSuffix(again.Prefix, "/")+"*/")
	status, data = v.do(t, "POST", "/api/v1/repos/acme/raw/credentials", v.admin, access(client.AccessRead))
	require.NotEqual(t, 200, status, "a metacharacter written into the store is refused: %s", data)
	require.NotContains(t, string(data), "access_key_id")
	tamper(`UPDATE repos SET prefix = $1 WHERE org = 'acme' AND name = 'raw'`, again.Prefix)
	tamper(`UPDATE bucket_configs SET bucket = 'acme-*' WHERE org = 'acme' AND nickname = 'lake2'`)
	status, data = v.do(t, "POST", "/api/v1/repos/acme/raw/credentials", v.admin, access(client.AccessRead))
	require.NotEqual(t, 200, status, "%s", data)
	require.NotContains(t, string(data), "access_key_id")
	require.Len(t, v.sts.Calls(), n, "no altered location reached STS")
}

package tests

// Issue 9.5 and "Bad input" through the real binary: credential vending (B6) over HTTP,
// aws_role through the recording STS double on loopback HTTP (the server's AWS SDK calls
// it as it would call AWS STS), on the memory store and on PostgreSQL.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/internal/ststest"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// vendSecretKey seals bucket secrets on PostgreSQL (--secret-key): 32 bytes, base64.
var vendSecretKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// gatehouseAWSEnv is the AWS identity the server's SDK signs STS calls with.
var gatehouseAWSEnv = []string{"AWS_ACCESS_KEY_ID=AKIDGATEHOUSE", "AWS_SECRET_ACCESS_KEY=gatehouse-aws-secret",
	"AWS_REGION=eu-west-1", "AWS_EC2_METADATA_DISABLED=true",
	"AWS_CONFIG_FILE=/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials"}

const (
	vendRoleARN    = "arn:aws:iam::123456789012:role/acme-gatehouse"
	vendExternalID = "acme-external-id-7f3a"
)

// vendEnv is one server with AWS STS pointed at the recording double.
type vendEnv struct {
	*env
	sts   *ststest.Recorder
	pgURL string // "" on the memory store
}

// startVendEnv starts an activated server on the memory store or on PostgreSQL, with
// --aws-sts aimed at a recording STS double, and extra serve flags.
func startVendEnv(t *testing.T, backendName string, extra ...string) *vendEnv {
	t.Helper()
	rec := ststest.New()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	v := &vendEnv{sts: rec}
	args := append([]string{"--aws-sts", "--aws-sts-endpoint", srv.URL}, extra...)
	if backendName == "postgres" {
		v.pgURL = harness.StartPostgres(t)
		args = append(args, "--database-url", v.pgURL, "--secret-key", vendSecretKey)
	}
	s := harness.StartGatehouseWith(t, harness.StartOptions{Args: args, Env: gatehouseAWSEnv})
	v.env = &env{backend: backendName, s: s}
	var act struct{ Token string }
	v.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	v.admin = act.Token
	return v
}

// userToken mints a token for user:<email> (as the platform admin) and returns it.
func (e *env) userToken(t *testing.T, email string) string {
	t.Helper()
	var m minted
	e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"subject": "user:" + email, "ttl": "2h"}, 201, &m)
	return m.Token
}

// repoAnswer is POST /api/v1/orgs/{org}/repos's answer.
type repoAnswer struct {
	Name, Bucket, Prefix string
}

func (e *env) createRepo(t *testing.T, org, name, bucket string) repoAnswer {
	t.Helper()
	body := map[string]string{"name": name}
	if bucket != "" {
		body["bucket"] = bucket
	}
	var r repoAnswer
	e.json(t, "POST", "/api/v1/orgs/"+org+"/repos", e.admin, body, 201, &r)
	require.True(t, strings.HasSuffix(r.Prefix, "/"), "a repo's prefix ends in /: %q", r.Prefix)
	return r
}

// vend asks credentials and requires want; on 200 it decodes the answer.
func (e *env) vend(t *testing.T, token, repo string, body any, want int) (client.CredentialsResponse, []byte) {
	t.Helper()
	status, data := e.do(t, "POST", "/api/v1/repos/"+repo+"/credentials", token, body)
	require.Equal(t, want, status, "vend %s: %s", repo, data)
	var out client.CredentialsResponse
	if status == 200 {
		require.NoError(t, json.Unmarshal(data, &out))
	}
	return out, data
}

func access(a string) client.CredentialsRequest { return client.CredentialsRequest{Access: a} }

// lastPolicy is the session policy of the last AssumeRole the double saw, decoded.
func (v *vendEnv) lastPolicy(t *testing.T) credentials.PolicyDocument {
	t.Helper()
	in, ok := v.sts.Last()
	require.True(t, ok, "no AssumeRole call")
	var doc credentials.PolicyDocument
	dec := json.NewDecoder(strings.NewReader(aws.ToString(in.Policy)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&doc), "%s", aws.ToString(in.Policy))
	return doc
}

var vendBackends = []string{"memory", "postgres"}

// TestVendAWSRoleOverHTTP_B6 runs the B6 cases on both stores: aws_role through the STS
// double over HTTP (role ARN, external ID, duration, policy, a session name that carries
// the caller, the server's own AWS identity), less than one could get, bad input naming
// the field, 404 for repos one cannot see, 403 for write without it, scoped tokens and
// revocation at once, self_managed, refusals with the reason, and the audit log.
func TestVendAWSRoleOverHTTP_B6(t *testing.T) {
	for _, b := range vendBackends {
		t.Run(b, func(t *testing.T) {
			v := startVendEnv(t, b)
			vendFixture(t, v)
			t.Run("B6_aws_role_call", func(t *testing.T) { vendAWSRoleCall(t, v) })
			t.Run("B6_D3_bad_input_names_the_field", func(t *testing.T) { vendBadInput(t, v) })
			t.Run("B6_O2_T3_who_may_vend", func(t *testing.T) { vendWhoMay(t, v) })
			t.Run("B6_self_managed_and_refusals", func(t *testing.T) { vendSelfManagedAndRefusals(t, v) })
			t.Run("B6_AU1_every_vend_audited_never_the_secret", func(t *testing.T) { vendAudited(t, v) })
			t.Run("Polaris_names_never_reach_a_policy_unvalidated", func(t *testing.T) { vendPolarisNames(t, v) })
			t.Run("Polaris_location_fixed_after_create_B3_R4", func(t *testing.T) { vendPolarisUpdates(t, v) })
		})
	}
}

// vendFixture: org acme (members mode) with member bob, an aws_role default config and
// repo raw on it.
func vendFixture(t *testing.T, v *vendEnv) {
	v.json(t, "POST", "/api/v1/orgs", v.admin, map[string]string{"name": "acme"}, 201, nil)
	v.json(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", v.admin, map[string]string{"role": "member"}, 200, nil)
	v.json(t, "POST", "/api/v1/orgs/acme/buckets", v.admin, map[string]any{
		"nickname": "lake", "uri": "s3://acme-lake/gh", "default": true, "extra_config": map[string]string{"region": "eu-west-1"},
		"auth": map[string]string{"type": "aws_role", "role_arn": vendRoleARN, "external_id": vendExternalID},
	}, 201, nil)
	v.createRepo(t, "acme", "raw", "")
}

func vendAWSRoleCall(t *testing.T, v *vendEnv) {
	bob := v.userToken(t, "bob@example.com")
	var repo struct{ Prefix string }
	v.json(t, "GET", "/api/v1/repos/acme/raw", v.admin, nil, 200, &repo)
	before := time.Now()
	status, data := v.do(t, "POST", "/api/v1/repos/acme/raw/credentials", bob, client.CredentialsRequest{Access: client.AccessWrite, Duration: "2h"})
	require.Equal(t, 200, status, "%s", data)
	var out client.CredentialsResponse
	require.NoError(t, json.Unmarshal(data, &out))
	require.NotEmpty(t, out.AccessKeyID)
	require.NotEmpty(t, out.SecretAccessKey)
	require.NotEmpty(t, out.SessionToken)
	require.NotNil(t, out.Expiration)
	require.WithinDuration(t, before.Add(2*time.Hour), *out.Expiration, time.Minute)
	require.Equal(t, client.CredentialsResponse{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey,
		SessionToken: out.SessionToken, Expiration: out.Expiration, Platform: "s3", Bucket: "acme-lake", Prefix: repo.Prefix,
		Region: "eu-west-1", Access: client.AccessWrite}, out)
	require.True(t, strings.HasPrefix(repo.Prefix, "gh/"), "inside the config's prefix: %q", repo.Prefix)

	in, ok := v.sts.Last()
	require.True(t, ok)
	require.Equal(t, vendRoleARN, aws.ToString(in.RoleArn))
	require.Equal(t, vendExternalID, aws.ToString(in.ExternalId))
	require.Equal(t, int32(7200), aws.ToInt32(in.DurationSeconds))
	require.Regexp(t, `^gh\.user_bob@example\.com-[0-9a-f]{12}$`, aws.ToString(in.RoleSessionName), "the session name carries the caller")
	require.Equal(t, "AKIDGATEHOUSE", v.sts.Signers()[len(v.sts.Signers())-1], "signed with the server's AWS identity")
	loc, err := credentials.NewLocation("s3", "acme-lake", repo.Prefix)
	require.NoError(t, err)
	want, err := credentials.SessionPolicy(loc, credentials.AccessWrite)
	require.NoError(t, err)
	require.Equal(t, want, v.lastPolicy(t))

	// Less than one could get: bob writes, asks read, gets the read policy; 1h by default.
	out, _ = v.vend(t, bob, "acme/raw", access(client.AccessRead), 200)
	require.Equal(t, client.AccessRead, out.Access)
	in, _ = v.sts.Last()
	require.Equal(t, int32(3600), aws.ToInt32(in.DurationSeconds))
	read, err := credentials.SessionPolicy(loc, credentials.AccessRead)
	require.NoError(t, err)
	require.Equal(t, read, v.lastPolicy(t))

	req, err := http.NewRequest("POST", v.s.URL+"/api/v1/repos/acme/raw/credentials", strings.NewReader(`{"access":"read"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bob)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "the answer carries a secret")
}

func vendBadInput(t *testing.T, v *vendEnv) {
	n := len(v.sts.Calls())
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]string{}, "access"},
		{map[string]string{"access": "admin"}, "access"},
		{map[string]string{"access": "READ"}, "access"},
		{map[string]string{"access": "read", "duration": "5m"}, "duration"},
		{map[string]string{"access": "read", "duration": "14m59s"}, "duration"},
		{map[string]string{"access": "read", "duration": "12h1s"}, "duration"},
		{map[string]string{"access": "read", "duration": "soon"}, "duration"},
		{map[string]string{"access": "read", "duration": "-1h"}, "duration"},
		{map[string]any{"access": "read", "duration": 3600}, "-"},
		{map[string]string{"access": "read", "scope": "*"}, "-"},
	} {
		for _, repo := range []string{"acme/raw", "acme/absent"} {
			v.fail(t, "POST", "/api/v1/repos/"+repo+"/credentials", v.admin, c.body, 400, "", c.field)
		}
	}
	require.Len(t, v.sts.Calls(), n, "bad input never reaches STS")
}

func vendWhoMay(t *testing.T, v *vendEnv) {
	eve := v.userToken(t, "eve@example.com") // no member of acme
	carol := v.userToken(t, "carol@example.com")
	v.json(t, "PUT", "/api/v1/orgs/acme/members/carol@example.com", v.admin, map[string]string{"role": "member"}, 200, nil)
	n := len(v.sts.Calls())
	// A repo one cannot see answers like one that does not exist (404), for read and write.
	_, absent := v.vend(t, eve, "acme/absent", access(client.AccessRead), 404)
	for _, a := range []string{client.AccessRead, client.AccessWrite} {
		_, hidden := v.vend(t, eve, "acme/raw", access(a), 404)
		require.Equal(t, strings.ReplaceAll(string(absent), "absent", "raw"), string(hidden), "existence is private")
	}
	// ACL-only (O2): carol gets reader only: read 200, write 403; bob (no grant) 404.
	v.json(t, "PATCH", "/api/v1/orgs/acme", v.admin, map[string]string{"repo_access": "acl_only"}, 200, nil)
	v.write(t, touch("repo:acme/raw#reader@user:carol@example.com"))
	v.vend(t, carol, "acme/raw", access(client.AccessRead), 200)
	ae := v.fail(t, "POST", "/api/v1/repos/acme/raw/credentials", carol, access(client.AccessWrite), 403, "permission_denied", "-")
	require.Contains(t, ae.Error.Message, "ask for read credentials")
	bob := v.userToken(t, "bob@example.com")
	v.vend(t, bob, "acme/raw", access(client.AccessRead), 404)

	// T3: carol's scoped token granted read on repo in acme: read only; its owner loses
	// read, and at once the token gets nothing (no cached answer).
	var scoped minted
	v.json(t, "POST", "/api/v1/tokens", carol, map[string]any{"ttl": "1h", "grants": []map[string][]string{
		{"functions": {"read"}, "resources": {"repo"}, "orgs": {"acme"}}}}, 201, &scoped)
	v.vend(t, scoped.Token, "acme/raw", access(client.AccessRead), 200)
	v.fail(t, "POST", "/api/v1/repos/acme/raw/credentials", scoped.Token, access(client.AccessWrite), 403, "permission_denied", "-")
	var other minted
	v.json(t, "POST", "/api/v1/tokens", carol, map[string]any{"ttl": "1h", "grants": []map[string][]string{
		{"functions": {"read", "write"}, "resources": {"repo"}, "orgs": {"beta"}}}}, 201, &other)
	v.fail(t, "POST", "/api/v1/repos/acme/raw/credentials", other.Token, access(client.AccessRead), 403, "permission_denied", "-")
	v.write(t, remove("repo:acme/raw#reader@user:carol@example.com"))
	v.vend(t, scoped.Token, "acme/raw", access(client.AccessRead), 404)
	v.vend(t, carol, "acme/raw", access(client.AccessRead), 404)
	require.Len(t, v.sts.Calls(), n+2, "only the two allowed vends reached STS")
	v.json(t, "PATCH", "/api/v1/orgs/acme", v.admin, map[string]string{"repo_access": "members"}, 200, nil)
}

func vendSelfManagedAndRefusals(t *testing.T, v *vendEnv) {
	n := len(v.sts.Calls())
	v.json(t, "POST", "/api/v1/orgs/acme/buckets", v.admin, map[string]any{"nickname": "own", "uri": "gs://acme-own/x",
		"auth": map[string]string{"type": "self_managed"}}, 201, nil)
	r := v.createRepo(t, "acme", "own", "own")
	out, data := v.vend(t, v.admin, "acme/own", access(client.AccessWrite), 200)
	require.Equal(t, client.CredentialsResponse{Platform: "gs", Bucket: "acme-own", Prefix: r.Prefix, Access: client.AccessWrite}, out)
	require.Contains(t, string(data), `"expiration":null`)

	// hmac keys on AWS S3 cannot be scoped without a role: refused with the reason.
	const longLived = "long-lived-secret-0123"
	v.json(t, "POST", "/api/v1/orgs/acme/buckets", v.admin, map[string]any{"nickname": "keys", "uri": "s3://acme-keys",
		"auth": map[string]string{"type": "hmac", "access_key_id": "AKIDLONGLIVED", "secret_access_key": longLived}}, 201, nil)
	v.createRepo(t, "acme", "keyed", "keys")
	ae := v.fail(t, "POST", "/api/v1/repos/acme/keyed/credentials", v.admin, access(client.AccessRead), 409, "credentials_not_scopable", "-")
	require.Contains(t, ae.Error.Message, "aws_role")
	_, data = v.vend(t, v.admin, "acme/keyed", access(client.AccessRead), 409)
	require.NotContains(t, string(data), longLived)
	require.NotContains(t, string(data), "AKIDLONGLIVED")

	// STS refuses: 409 naming its code, never its message.
	v.sts.FailWith(&smithy.GenericAPIError{Code: "AccessDenied", Message: "internal detail of the role"})
	ae = v.fail(t, "POST", "/api/v1/repos/acme/raw/credentials", v.admin, access(client.AccessRead), 409, "sts_refused", "-")
	require.NotContains(t, ae.Error.Message, "internal detail")
	v.sts.FailWith(nil)
	require.Len(t, v.sts.Calls(), n+1, "self_managed and unscopable configs never reach STS")
}

func vendAudited(t *testing.T, v *vendEnv) {
	bob := v.userToken(t, "bob@example.com")
	out, _ := v.vend(t, bob, "acme/raw", access(client.AccessWrite), 200)
	v.vend(t, bob, "acme/absent", access(client.AccessRead), 404)
	status, data := v.do(t, "GET", "/api/v1/audit?org=acme&actor=user:bob@example.com", v.admin, nil)
	require.Equal(t, 200, status, "%s", data)
	require.NotContains(t, string(data), out.SecretAccessKey)
	require.NotContains(t, string(data), out.SessionToken)
	var log client.AuditResponse
	require.NoError(t, json.Unmarshal(data, &log))
	var ok, failed *client.AuditEvent
	for i, e := range log.Events {
		if e.Action != "credentials.vend" {
			continue
		}
		switch e.Target {
		case "repo:acme/raw":
			ok = &log.Events[i]
		case "repo:acme/absent":
			failed = &log.Events[i]
		}
	}
	require.NotNil(t, ok, "%s", data)
	require.Equal(t, "ok", ok.Outcome)
	require.Equal(t, client.AccessWrite, ok.Details["access"])
	require.Equal(t, out.Expiration.UTC().Format(time.RFC3339), ok.Details["expiration"])
	require.Equal(t, out.AccessKeyID, ok.Details["access_key_id"])
	require.Contains(t, ok.Details["session_name"], "gh.user_bob@example.com")
	require.Equal(t, "s3://acme-lake/"+out.Prefix, ok.Details["location"])
	require.NotNil(t, failed, "refusals are audited too")
	require.Equal(t, "failed", failed.Outcome)
	require.Equal(t, client.AccessRead, failed.Details["access"])
}

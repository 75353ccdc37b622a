package tests

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// client/'s types mirror the API's JSON field for field (issue 8.5): every answer below
// decodes into its client type with no unknown field, and encodes back to the same JSON
// (so names, omitempty and nesting agree). The requests are the client's types too.
func TestCLIClientTypesMatchServerAnswers(t *testing.T) {
	s := harness.StartGatehouse(t)
	var admin string
	for _, st := range typeSteps() {
		what := st.method + " " + st.path
		status, data := s.Do(t, st.method, st.path, admin, st.body)
		require.Equal(t, st.status, status, "%s: %s", what, data)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(st.out), "%s: the answer has a field %T lacks: %s", what, st.out, data)
		back, err := json.Marshal(st.out)
		require.NoError(t, err)
		require.JSONEq(t, string(data), string(back), "%s: %T does not encode back to the API's JSON", what, st.out)
		if a, ok := st.out.(*client.ActivateResponse); ok {
			admin = a.Token
		}
		if v := reflect.ValueOf(st.out).Elem(); v.Kind() == reflect.Struct && v.IsZero() {
			t.Errorf("%s: decoded nothing into %T: %s", what, st.out, data)
		}
	}
}

type typeStep struct {
	method, path string
	body         any
	status       int
	out          any // a pointer to the client type of the answer
}

// typeSteps walk every route the server answers without an OIDC issuer, in an order
// that works: activate, use, deactivate.
func typeSteps() []typeStep {
	on := true
	return []typeStep{
		{"GET", "/api/iam/version", nil, 200, &client.VersionResponse{}},
		{"GET", "/api/iam/v1/ping", nil, 200, &client.StatusResponse{}},
		{"GET", "/healthz", nil, 200, &client.StatusResponse{}},
		{"GET", "/readyz", nil, 200, &client.StatusResponse{}},
		{"GET", "/api/v1/whoami", nil, 403, &client.ErrorBody{}},
		{"POST", "/api/v1/activate", client.ActivateRequest{InitialAdmin: "robot:admin"}, 201, &client.ActivateResponse{}},
		{"GET", "/api/v1/whoami", nil, 200, &client.WhoamiResponse{}},
		{"POST", "/api/v1/tokens", client.MintRequest{Role: "developer", TTL: client.Duration(3600e9)}, 201, &client.MintResponse{}},
		{"GET", "/api/v1/tokens", nil, 200, &client.TokensResponse{}},
		{"POST", "/api/v1/robots", client.RobotRequest{Name: "ci"}, 201, &client.MintResponse{}},
		{"GET", "/api/v1/robots", nil, 200, &client.RobotsResponse{}},
		{"PUT", "/api/v1/platform/admins/robot:ci", nil, 200, &client.SubjectResponse{}},
		{"GET", "/api/v1/platform/admins", nil, 200, &client.AdminsResponse{}},
		{"DELETE", "/api/v1/platform/admins/robot:ci", nil, 200, &client.SubjectResponse{}},
		{"PUT", "/api/v1/platform/mode", client.ModeBody{AdminOnly: &on}, 200, &client.ModeBody{}},
		{"GET", "/api/v1/platform/mode", nil, 200, &client.ModeBody{}},
		{"PUT", "/api/v1/platform/mode", client.ModeBody{AdminOnly: new(bool)}, 200, &client.ModeBody{}},
		{"POST", "/api/v1/orgs", client.OrgRequest{Name: "acme"}, 201, &client.Org{}},
		{"GET", "/api/v1/orgs", nil, 200, &client.OrgsResponse{}},
		{"PATCH", "/api/v1/orgs/acme", client.OrgPatch{RepoAccess: "acl_only"}, 200, &client.Org{}},
		{"GET", "/api/v1/orgs/acme", nil, 200, &client.Org{}},
		{"PUT", "/api/v1/orgs/acme/members/bob@example.com", client.RoleBody{Role: "member"}, 200, &client.Member{}},
		{"GET", "/api/v1/orgs/acme/members", nil, 200, &client.MembersResponse{}},
		{"PUT", "/api/v1/orgs/acme/teams/data", nil, 200, &client.TeamResponse{}},
		{"PUT", "/api/v1/orgs/acme/teams/data/members/user:bob@example.com", nil, 200, &client.SubjectResponse{}},
		{"GET", "/api/v1/orgs/acme/teams", nil, 200, &client.TeamsResponse{}},
		{"DELETE", "/api/v1/orgs/acme/teams/data/members/user:bob@example.com", nil, 200, &client.DeletedResponse{}},
		{"DELETE", "/api/v1/orgs/acme/teams/data", nil, 200, &client.DeletedResponse{}},
		{"POST", "/api/v1/orgs/acme/api-keys", client.APIKeyRequest{Name: "etl", Lifetime: client.Duration(7200e9)}, 201, &client.NewAPIKey{}},
		{"GET", "/api/v1/orgs/acme/api-keys", nil, 200, &client.APIKeysResponse{}},
		{"DELETE", "/api/v1/orgs/acme/api-keys/etl", nil, 200, &client.DeletedResponse{}},
		{"DELETE", "/api/v1/orgs/acme/members/bob@example.com", nil, 200, &client.DeletedResponse{}},
		// Bucket configs and repos (B1-B5, B7, R1, R4, R5).
		{"POST", "/api/v1/orgs/acme/buckets", client.BucketRequest{Nickname: "prod", URI: "s3://acme-types/p", ExtraConfig: client.BucketExtraConfig{Region: "us-east-1"},
			Auth: client.BucketAuth{Type: "hmac", AccessKeyID: "AKIATYPES", SecretAccessKey: "types-secret"}}, 201, &client.Bucket{}},
		{"POST", "/api/v1/orgs/acme/buckets", client.BucketRequest{Nickname: "role", URI: "s3://acme-role-types",
			Auth: client.BucketAuth{Type: "aws_role", RoleARN: "arn:aws:iam::123456789012:role/r", ExternalID: "ext-types"}}, 201, &client.Bucket{}},
		{"GET", "/api/v1/orgs/acme/buckets", nil, 200, &client.BucketsResponse{}},
		{"GET", "/api/v1/orgs/acme/buckets/prod", nil, 200, &client.Bucket{}},
		{"PATCH", "/api/v1/orgs/acme/buckets/prod", client.BucketPatch{Nickname: ptrTo("main")}, 200, &client.Bucket{}},
		{"GET", "/api/v1/orgs/acme/buckets/role/iam-policy", nil, 409, &client.ErrorBody{}}, // no --aws-principal-arn here
		{"POST", "/api/v1/orgs/acme/repos", client.RepoRequest{Name: "y"}, 201, &client.Repo{}},
		{"GET", "/api/v1/orgs/acme/repos", nil, 200, &client.ReposResponse{}},
		{"GET", "/api/v1/repos/acme/y", nil, 200, &client.Repo{}},
		{"DELETE", "/api/v1/repos/acme/y", nil, 200, &client.DeletedResponse{}},
		{"DELETE", "/api/v1/orgs/acme/buckets/main", nil, 200, &client.DeletedResponse{}},
		{"POST", "/api/v1/relationships", client.WriteRequest{Updates: []client.Update{
			{Operation: client.OpTouch, Relationship: "repo:acme/x#org@org:acme"},
			{Operation: client.OpTouch, Relationship: "repo:acme/x#reader@user:bob@example.com"}}}, 200, &client.WriteResponse{}},
		{"POST", "/api/v1/relationships/import", `{"relationship":"repo:acme/x#writer@user:bob@example.com"}` + "\n", 200, &client.ImportResponse{}},
		{"GET", "/api/v1/relationships?resource=repo:acme/x", nil, 200, &client.RelationshipsResponse{}},
		{"POST", "/api/v1/check", client.CheckRequest{Resource: "repo:acme/x", Permission: "read", Subject: "user:bob@example.com"}, 200, &client.CheckResponse{}},
		{"POST", "/api/v1/check/bulk", client.BulkRequest{Items: []client.CheckRequest{{Resource: "repo:acme/x", Permission: "read"}, {Resource: "repo:acme/x", Permission: "fly"}}}, 200, &client.BulkResponse{}},
		{"POST", "/api/v1/lookup/resources", client.LookupResourcesRequest{ResourceType: "repo", Permission: "read", Subject: "user:bob@example.com"}, 200, &client.LookupResourcesResponse{}},
		{"POST", "/api/v1/lookup/subjects", client.LookupSubjectsRequest{Resource: "repo:acme/x", Permission: "read"}, 200, &client.LookupSubjectsResponse{}},
		{"POST", "/api/v1/explain", client.CheckRequest{Resource: "repo:acme/x", Permission: "read", Subject: "user:bob@example.com"}, 200, &client.ExplainResponse{}},
		{"GET", "/api/v1/schema", nil, 200, &client.SchemaResponse{}},
		{"POST", "/api/v1/schema/validate", client.ValidateRequest{Schema: "definition user {}\ndefinition doc { relation viewer: user\n permission view = viewer + nobody }"}, 200, &client.ValidateResponse{}},
		{"GET", "/api/v1/audit?limit=5", nil, 200, &client.AuditResponse{}},
		{"POST", "/api/v1/check", client.CheckRequest{Resource: "repo", Permission: "read"}, 400, &client.ErrorBody{}},
		{"GET", "/api/v1/auth/issuers", nil, 200, &client.IssuersResponse{}},
		{"POST", "/api/v1/auth/device", client.IssuerRequest{}, 404, &client.ErrorBody{}},
		{"DELETE", "/api/v1/robots/ci", nil, 200, &client.SubjectResponse{}},
		{"POST", "/api/v1/deactivate", client.DeactivateRequest{Confirm: "deactivate"}, 200, &client.StatusResponse{}},
	}
}

// proxyRoutes are asked by a reverse proxy, not by the client: nginx's auth-url (C3).
var proxyRoutes = []string{"GET /api/iam/v1/auth"}

// clientRoutes are the routes client/ has a method for (OpenAPI path syntax). Login's
// browser redirect has LoginURL rather than a call.
var clientRoutes = []string{
	"GET /api/iam/version", "GET /api/iam/v1/ping", "GET /healthz", "GET /readyz", "GET /metrics",
	"GET /api/v1/openapi.json", "POST /api/v1/activate", "POST /api/v1/deactivate",
	"GET /api/v1/platform/admins", "PUT /api/v1/platform/admins/{subject}", "DELETE /api/v1/platform/admins/{subject}",
	"GET /api/v1/platform/mode", "PUT /api/v1/platform/mode",
	"POST /api/v1/robots", "GET /api/v1/robots", "DELETE /api/v1/robots/{name}",
	"GET /api/v1/auth/issuers", "GET /api/v1/auth/login", "GET /api/v1/auth/callback", "POST /api/v1/auth/device",
	"POST /api/v1/auth/device/token", "POST /api/v1/auth/exchange", "POST /api/v1/auth/refresh", "POST /api/v1/auth/logout",
	"GET /api/v1/whoami", "POST /api/v1/tokens", "GET /api/v1/tokens", "DELETE /api/v1/tokens/{id}",
	"POST /api/v1/orgs", "GET /api/v1/orgs", "GET /api/v1/orgs/{org}", "PATCH /api/v1/orgs/{org}", "DELETE /api/v1/orgs/{org}",
	"GET /api/v1/orgs/{org}/members", "PUT /api/v1/orgs/{org}/members/{email}", "DELETE /api/v1/orgs/{org}/members/{email}",
	"GET /api/v1/orgs/{org}/teams", "PUT /api/v1/orgs/{org}/teams/{team}", "DELETE /api/v1/orgs/{org}/teams/{team}",
	"PUT /api/v1/orgs/{org}/teams/{team}/members/{subject}", "DELETE /api/v1/orgs/{org}/teams/{team}/members/{subject}",
	"POST /api/v1/orgs/{org}/api-keys", "GET /api/v1/orgs/{org}/api-keys", "DELETE /api/v1/orgs/{org}/api-keys/{name}",
	"GET /api/v1/audit",
	"POST /api/v1/check", "POST /api/v1/check/bulk", "POST /api/v1/lookup/resources", "POST /api/v1/lookup/subjects", "POST /api/v1/explain",
	"GET /api/v1/relationships", "POST /api/v1/relationships", "GET /api/v1/relationships/export", "POST /api/v1/relationships/import",
	"GET /api/v1/schema", "POST /api/v1/schema/validate",
	// Bucket configs and repos.
	"POST /api/v1/orgs/{org}/buckets", "GET /api/v1/orgs/{org}/buckets", "GET /api/v1/orgs/{org}/buckets/{nickname}",
	"PATCH /api/v1/orgs/{org}/buckets/{nickname}", "DELETE /api/v1/orgs/{org}/buckets/{nickname}",
	"GET /api/v1/orgs/{org}/buckets/{nickname}/iam-policy",
	"POST /api/v1/orgs/{org}/repos", "GET /api/v1/orgs/{org}/repos", "GET /api/v1/repos/{org}/{repo}", "DELETE /api/v1/repos/{org}/{repo}",
	// Repo roles and pipelines (R1-R3, PL1-PL4).
	"GET /api/v1/repos/{org}/{repo}/roles", "GET /api/v1/repos/{org}/{repo}/roles/{subject}",
	"PUT /api/v1/repos/{org}/{repo}/roles/{subject}",
	"POST /api/v1/orgs/{org}/pipelines", "PUT /api/v1/pipelines/{org}/{name}", "DELETE /api/v1/pipelines/{org}/{name}",
	"POST /api/v1/pipelines/{org}/{name}/token",
	// Credential vending (B6).
	"POST /api/v1/repos/{org}/{repo}/credentials",
}

// Every route the server documents has a client method, and no method calls a route
// the server lacks (issue 8.5): a new route fails here until client/ has it.
func TestCLIClientCoversEveryRoute(t *testing.T) {
	s := harness.StartGatehouse(t)
	doc, err := client.New(s.URL).OpenAPI(t.Context())
	require.NoError(t, err)
	paths, ok := doc["paths"].(map[string]any)
	require.True(t, ok, "openapi.json has no paths")
	var served []string
	for p, item := range paths {
		ops, ok := item.(map[string]any)
		require.True(t, ok, p)
		for m := range ops {
			served = append(served, strings.ToUpper(m)+" "+p)
		}
	}
	require.ElementsMatch(t, append(slices.Clone(clientRoutes), proxyRoutes...), served)
}

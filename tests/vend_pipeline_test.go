package tests

// B6 with PL3 and T3 over HTTP: a pipeline's own token (h/pipe's routes) vends read on
// its inputs and write on its output, and only while its creator can, at the next ask.

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

func TestVendPipelineToken_B6_PL3(t *testing.T) {
	v := startVendEnv(t, "memory")
	vendFixture(t, v) // acme (members mode), member bob, aws_role config lake, repo raw
	v.createRepo(t, "acme", "clean", "")
	v.createRepo(t, "acme", "side", "")
	bob := v.userToken(t, "bob@example.com")
	status, data := v.do(t, "POST", "/api/v1/orgs/acme/pipelines", bob,
		map[string]any{"name": "etl", "inputs": []string{"acme/raw"}, "output": "acme/clean"})
	if status == 404 && strings.Contains(string(data), "no such route") {
		t.Skip("the pipeline routes are not in this build (branch h/pipe)")
	}
	require.Equal(t, 201, status, "%s", data)
	var tok struct{ Token, Subject string }
	v.json(t, "POST", "/api/v1/pipelines/acme/etl/token", bob, map[string]string{"ttl": "1h"}, 201, &tok)
	require.Equal(t, "pipeline:acme/etl", tok.Subject)
	pl := tok.Token

	v.vend(t, pl, "acme/raw", access(client.AccessRead), 200)
	in, _ := v.sts.Last()
	require.Regexp(t, `^gh\.pipeline_acme_etl-[0-9a-f]{12}$`, aws.ToString(in.RoleSessionName), "the session name carries the pipeline")
	v.fail(t, "POST", "/api/v1/repos/acme/raw/credentials", pl, access(client.AccessWrite), 403, "permission_denied", "-")
	v.vend(t, pl, "acme/clean", access(client.AccessWrite), 200)
	v.vend(t, pl, "acme/side", access(client.AccessRead), 404) // no input of it, though bob reads it

	// ACL-only: bob keeps only what he was granted (owner of the output, PL2); the
	// pipeline loses its input at once, keeps its output.
	v.json(t, "PATCH", "/api/v1/orgs/acme", v.admin, map[string]string{"repo_access": "acl_only"}, 200, nil)
	v.vend(t, pl, "acme/raw", access(client.AccessRead), 404)
	v.vend(t, pl, "acme/clean", access(client.AccessWrite), 200)
	v.json(t, "PUT", "/api/v1/repos/acme/clean/roles/user:bob@example.com", v.admin, map[string]string{"role": "reader"}, 200, nil)
	v.vend(t, pl, "acme/clean", access(client.AccessWrite), 404) // an output needs its creator's write
	v.json(t, "PUT", "/api/v1/repos/acme/raw/roles/user:bob@example.com", v.admin, map[string]string{"role": "reader"}, 200, nil)
	v.vend(t, pl, "acme/raw", access(client.AccessRead), 200)
}

package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type pipelineBody struct {
	Org, Name, Subject, Creator, Output string
	Inputs                              []string
}

func pipeReq(name, output string, inputs ...string) map[string]any {
	return map[string]any{"name": name, "inputs": inputs, "output": output}
}

// pipelineToken mints the pipeline's own token as token's owner.
func pipelineToken(t *testing.T, e *env, token, pipeline string) minted {
	t.Helper()
	var m minted
	e.json(t, "POST", "/api/v1/pipelines/"+pipeline+"/token", token, map[string]string{"ttl": "1h"}, 201, &m)
	return m
}

func TestPipelinesPL1PL2PL3PL4(t *testing.T) {
	for _, b := range authzBackends { // memory and PostgreSQL
		t.Run(b.name, func(t *testing.T) {
			e := startActivatedOn(t, b)
			p, ops := rolesFixture(t, e)
			t.Run("PL1_refusals_and_bad_input", func(t *testing.T) { pipelinePL1(t, e, p) })
			t.Run("PL2_PL3_create_token_and_live_rights", func(t *testing.T) { pipelinePL2PL3(t, e, p) })
			t.Run("PL3_O3_creator_removed_from_org", func(t *testing.T) { pipelineMemberRemoved(t, e, p) })
			t.Run("PL1_update_delete_and_who_manages", func(t *testing.T) { pipelineUpdateDelete(t, e, p, ops) })
			t.Run("PL4_raw_wiring_refused", func(t *testing.T) { pipelineRawWiring(t, e) })
			t.Run("CLI", func(t *testing.T) { pipelineCLI(t, e, p) })
		})
	}
}

// PL1: read on every input and write on the output, and a refusal lists every miss;
// bad input names the field.
func pipelinePL1(t *testing.T, e *env, p cast) {
	bob, dan := p["bob"], p["dan"]
	// bob is a lab member (acl_only) without grants: he misses all three.
	ae := e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", bob, pipeReq("p", "lab/out", "lab/in", "lab/in2"), 403, "permission_denied", "")
	var missing []map[string]string
	raw, _ := json.Marshal(ae.Error.Details["missing"])
	require.NoError(t, json.Unmarshal(raw, &missing))
	require.Equal(t, []map[string]string{
		{"repo": "lab/in", "permission": "read"}, {"repo": "lab/in2", "permission": "read"}, {"repo": "lab/out", "permission": "write"},
	}, missing)
	e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", dan, pipeReq("p", "lab/out", "lab/in"), 404, "not_found", "") // not in the org

	ann := p["ann"]
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{pipeReq("p", "lab/out", "lab/in", "lab/in"), "inputs[1]"},
		{pipeReq("p", "lab/out", "lab/ghost"), "inputs[0]"},
		{pipeReq("p", "lab/ghost", "lab/in"), "output"},
		{pipeReq("p", "lab/in", "lab/in"), "output"},
		{pipeReq("p", "acme/raw", "lab/in"), "output"},
		{pipeReq("P!", "lab/out", "lab/in"), "name"},
		{pipeReq("p", "lab/out"), "inputs"},
		{pipeReq("p", "lab/out", "lab"), "inputs[0]"},
		{map[string]any{"name": "p", "inputs": []string{"lab/in"}}, "output"},
	} {
		e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", ann, c.body, 400, "invalid_argument", c.field)
	}
	// A repo in an org ann cannot see: its absence is not told (403, not 400).
	ae = e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", ann, pipeReq("p", "lab/out", "beta/ghost", "beta/x"), 403, "permission_denied", "")
	require.Contains(t, ae.Error.Message, "read on beta/ghost, read on beta/x, write on lab/out")
	require.Empty(t, e.read(t, "subject=pipeline:lab/p"), "nothing was wired")
}

// PL2: the creator becomes owner of the output; PL3: the pipeline's token reads its
// inputs and writes its output only while its creator can, and holds nothing else.
func pipelinePL2PL3(t *testing.T, e *env, p cast) {
	ann := p["ann"] // owner of lab/in and lab/in2
	e.setRole(t, e.admin, "lab/out", "user:ann@example.com", "writer", 200)
	var pl pipelineBody
	e.json(t, "POST", "/api/v1/orgs/lab/pipelines", ann, pipeReq("p", "lab/out", "lab/in"), 201, &pl)
	require.Equal(t, pipelineBody{Org: "lab", Name: "p", Subject: "pipeline:lab/p", Creator: "user:ann@example.com", Output: "lab/out", Inputs: []string{"lab/in"}}, pl)
	require.Equal(t, map[string]string{"user:ann@example.com": "owner", "robot:admin": "owner"}, e.roles(t, ann, "lab/out"), "PL2: owner replaced writer")
	e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", ann, pipeReq("p", "lab/out", "lab/in"), 409, "already_exists", "")

	tok := pipelineToken(t, e, ann, "lab/p")
	require.Equal(t, "pipeline:lab/p", tok.Subject)
	var who struct {
		Subject string
		Token   struct{ Scoped bool }
	}
	e.json(t, "GET", "/api/v1/whoami", tok.Token, nil, 200, &who)
	require.Equal(t, "pipeline:lab/p", who.Subject)
	e.fail(t, "POST", "/api/v1/pipelines/lab/p/token", ann, map[string]string{"ttl": "100000h"}, 400, "invalid_argument", "ttl")

	pt := tok.Token
	can := func(repo, perm string) bool { return e.check(t, pt, "repo:"+repo, perm, "", "") }
	require.True(t, can("lab/in", "read"))
	require.False(t, can("lab/in", "write"), "an input is read only")
	require.True(t, can("lab/out", "read"))
	require.True(t, can("lab/out", "write"))
	require.False(t, can("lab/in2", "read"), "PL4: nothing beyond its wiring, though ann owns lab/in2")
	require.False(t, can("lab/secret", "read"))
	require.Equal(t, "reader", e.role(t, e.admin, "lab/in", "pipeline:lab/p"))
	require.Equal(t, "writer", e.role(t, e.admin, "lab/out", "pipeline:lab/p"))
	e.fail(t, "GET", "/api/v1/repos/lab/in2/roles", pt, nil, 404, "not_found", "")
	e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", pt, pipeReq("q", "lab/out", "lab/in"), 404, "not_found", "") // PL4: no pipeline makes pipelines

	// PL3: lower the creator's role on the input: the pipeline's next check is denied;
	// give it back: allowed again (nothing was copied).
	e.setRole(t, e.admin, "lab/in", "user:ann@example.com", "none", 200)
	require.False(t, can("lab/in", "read"), "PL3: ann lost lab/in, so did her pipeline")
	e.setRole(t, e.admin, "lab/in", "user:ann@example.com", "reader", 200)
	require.True(t, can("lab/in", "read"))
	e.setRole(t, e.admin, "lab/out", "user:ann@example.com", "reader", 200)
	require.False(t, can("lab/out", "write"), "PL3: ann only reads lab/out now")
	require.False(t, can("lab/out", "read"), "a pipeline reads its output through write, which ann lost")
	e.setRole(t, e.admin, "lab/out", "user:ann@example.com", "owner", 200)
	e.setRole(t, e.admin, "lab/in", "user:ann@example.com", "owner", 200)
}

// PL3, O3: in a members-mode org, removing the creator from the org takes the
// pipeline's access through membership at its next check, and its management.
func pipelineMemberRemoved(t *testing.T, e *env, p cast) {
	bob := p["bob"]
	e.json(t, "POST", "/api/v1/orgs/acme/pipelines", bob, pipeReq("etl", "acme/clean", "acme/raw"), 201, nil)
	tok := pipelineToken(t, e, bob, "acme/etl").Token
	require.True(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))
	e.json(t, "DELETE", "/api/v1/orgs/acme/members/bob@example.com", e.admin, nil, 200, nil)
	require.False(t, e.check(t, tok, "repo:acme/raw", "read", "", ""), "PL3: bob left acme")
	e.fail(t, "POST", "/api/v1/pipelines/acme/etl/token", bob, map[string]string{}, 404, "not_found", "")
	e.json(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", e.admin, map[string]string{"role": "member"}, 200, nil)
	require.True(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))

	// R5: deleting a repo takes its wiring; O1: an org with pipelines is not deleted
	// (created again, it would bring them back), and its refusal names them.
	e.json(t, "DELETE", "/api/v1/repos/acme/raw", e.admin, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/repos/acme/clean", e.admin, nil, 200, nil)
	require.Empty(t, e.read(t, "resource=repo&subject=pipeline:acme/etl"))
	require.False(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))
	ae := e.fail(t, "DELETE", "/api/v1/orgs/acme", e.admin, nil, 409, "in_use", "")
	require.Equal(t, []any{"acme/etl"}, ae.Error.Details["pipelines"])
	e.json(t, "DELETE", "/api/v1/pipelines/acme/etl", bob, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/orgs/acme", e.admin, nil, 200, nil)
}

// PL1 on update (atomic replace of the wiring); who manages; delete takes the wiring,
// the row and the tokens, and a new pipeline under the name starts from nothing.
func pipelineUpdateDelete(t *testing.T, e *env, p cast, ops string) {
	ann, carl, dan := p["ann"], p["carl"], p["dan"]
	tok := pipelineToken(t, e, ann, "lab/p").Token
	upd := map[string]any{"inputs": []string{"lab/in2"}, "output": "lab/out"}
	e.fail(t, "PUT", "/api/v1/pipelines/lab/p", carl, upd, 403, "permission_denied", "") // a lab member, not its creator
	e.fail(t, "PUT", "/api/v1/pipelines/lab/p", dan, upd, 404, "not_found", "")
	e.fail(t, "PUT", "/api/v1/pipelines/lab/nope", ann, upd, 404, "not_found", "")
	e.fail(t, "PUT", "/api/v1/pipelines/lab/p", ann, map[string]any{"inputs": []string{"lab/secret"}, "output": "lab/out"}, 403, "permission_denied", "")
	var pl pipelineBody
	e.json(t, "PUT", "/api/v1/pipelines/lab/p", ann, upd, 200, &pl)
	require.Equal(t, []string{"lab/in2"}, pl.Inputs)
	require.Equal(t, "user:ann@example.com", pl.Creator)
	require.False(t, e.check(t, tok, "repo:lab/in", "read", "", ""), "the old input is unwired")
	require.True(t, e.check(t, tok, "repo:lab/in2", "read", "", ""))
	require.ElementsMatch(t, []string{"repo:lab/in2#input_of@pipeline:lab/p", "repo:lab/out#output_of@pipeline:lab/p"}, e.read(t, "resource=repo&subject=pipeline:lab/p"))

	// An org admin manages any pipeline of the org (it still acts for ann).
	e.json(t, "PUT", "/api/v1/pipelines/lab/p", ops, map[string]any{"inputs": []string{"lab/in"}, "output": "lab/out"}, 200, &pl)
	require.Equal(t, "user:ann@example.com", pl.Creator)
	e.fail(t, "DELETE", "/api/v1/pipelines/lab/p", carl, nil, 403, "permission_denied", "")
	e.json(t, "DELETE", "/api/v1/pipelines/lab/p", ann, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/whoami", tok, nil, 401, "unauthenticated", "")
	require.Empty(t, e.read(t, "subject=pipeline:lab/p"))
	require.Empty(t, e.read(t, "resource=pipeline:lab/p"))
	require.Empty(t, e.read(t, "resource=user&subject=pipeline:lab/p"))
	e.fail(t, "DELETE", "/api/v1/pipelines/lab/p", ann, nil, 404, "not_found", "")
	e.json(t, "POST", "/api/v1/orgs/lab/pipelines", ann, pipeReq("p", "lab/out", "lab/in2"), 201, nil)
	e.fail(t, "GET", "/api/v1/whoami", tok, nil, 401, "unauthenticated", "") // the old token stays dead
	require.False(t, e.check(t, pipelineToken(t, e, ann, "lab/p").Token, "repo:lab/in", "read", "", ""))
}

// PL4: the wiring can be written only by the pipeline routes, on every route.
func pipelineRawWiring(t *testing.T, e *env) {
	for _, rel := range []string{"repo:lab/secret#input_of@pipeline:lab/p", "repo:lab/secret#output_of@pipeline:lab/p", "pipeline:lab/p#creator@robot:admin"} {
		e.fail(t, "POST", "/api/v1/relationships", e.admin, map[string]any{"updates": touch(rel)}, 403, "pipeline_link", "updates[0].relationship")
		status, data := importNDJSON(t, e, "repo:lab/secret#reader@user:dan@example.com", rel)
		requireErr(t, "import", status, data, 403, "pipeline_link", "line 2")
	}
	e.fail(t, "POST", "/api/v1/relationships", e.admin, map[string]any{"updates": touch("robot:admin#agent@pipeline:lab/p")}, 403, "agent_link", "-")
	require.NotContains(t, e.read(t, "resource=repo:lab/secret"), "repo:lab/secret#reader@user:dan@example.com", "nothing of a refused import")
}

// The same through the CLI (-o json everywhere).
func pipelineCLI(t *testing.T, e *env, p cast) {
	ann := p["ann"]
	out, errOut, code := gh(t, e.s, ann, "", "pipeline", "create", "lab/cli", "--input", "lab/in,lab/in2", "--output-repo", "lab/out", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var pl pipelineBody
	require.NoError(t, json.Unmarshal([]byte(out), &pl), out)
	require.Equal(t, []string{"lab/in", "lab/in2"}, pl.Inputs)
	out, errOut, code = gh(t, e.s, ann, "", "pipeline", "token", "lab/cli", "--ttl", "30m", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var m minted
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	require.Equal(t, "pipeline:lab/cli", m.Subject)
	out, _, code = gh(t, e.s, ann, "", "auth", "get", "pipeline:lab/cli", "lab/in2")
	require.Equal(t, 0, code, out)
	require.Equal(t, "reader\n", out)
	out, errOut, code = gh(t, e.s, ann, "", "pipeline", "update", "lab/cli", "--input", "lab/in", "--output-repo", "lab/out")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "pipeline:lab/cli")
	_, errOut, code = gh(t, e.s, p["bob"], "", "pipeline", "create", "lab/x", "--input", "lab/secret", "--output-repo", "lab/out")
	require.Equal(t, 1, code)
	require.True(t, strings.Contains(errOut, "read on lab/secret"), errOut)
	out, errOut, code = gh(t, e.s, ann, "", "pipeline", "delete", "lab/cli")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "deleted pipeline:lab/cli")
	e.fail(t, "GET", "/api/v1/whoami", m.Token, nil, 401, "unauthenticated", "")
}

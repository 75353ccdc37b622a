package tests

// The second half of TestAttackData (attack_data_test.go): scoped and pipeline tokens,
// deleted creators, recreated repos, bad input.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

func scoped(t *testing.T, e *env, token string, functions, resources []string, org string) minted {
	t.Helper()
	var m minted
	e.json(t, "POST", "/api/v1/tokens", token, client.MintRequest{Grants: []client.Grant{{Functions: functions, Resources: resources, Orgs: []string{org}}}, TTL: client.Duration(3600e9)}, 201, &m)
	return m
}

// T3: a token granted read on acme's repos reads them and does nothing else; a token
// minted from a revoked one is refused with it.
func attackScoped(t *testing.T, e *env, p cast) {
	bob := scoped(t, e, p["bob"], []string{"read"}, []string{"repo"}, "acme").Token
	e.json(t, "GET", "/api/v1/repos/acme/raw", bob, nil, 200, nil)
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", bob, map[string]string{"name": "sneak"}, 403, "", "-")
	e.fail(t, "DELETE", "/api/v1/repos/acme/raw", bob, nil, 403, "", "-")
	e.fail(t, "POST", "/api/v1/orgs/acme/pipelines", bob, pipeReq("sneak", "acme/clean", "acme/raw"), 403, "", "-")
	e.fail(t, "POST", "/api/v1/pipelines/acme/etl/token", bob, map[string]string{"ttl": "1h"}, 403, "", "-")
	e.fail(t, "PUT", "/api/v1/pipelines/acme/etl", bob, map[string]any{"inputs": []string{"acme/raw"}, "output": "acme/clean"}, 403, "", "-")
	if status, data := e.do(t, "GET", "/api/v1/orgs/lab/repos", bob, nil); status == 200 {
		require.NotContains(t, string(data), "lab/", "T3: a token for acme lists nothing of lab")
	} else {
		require.Contains(t, []int{403, 404}, status, string(data))
	}
	e.fail(t, "GET", "/api/v1/repos/lab/in", bob, nil, 403, "", "-")

	ann := scoped(t, e, p["ann"], []string{"read"}, []string{"repo"}, "lab").Token
	e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/user:dan@example.com", ann, map[string]string{"role": "reader"}, 403, "", "-")
	require.Equal(t, "none", e.role(t, e.admin, "lab/in", "user:dan@example.com"))

	var ops minted
	e.json(t, "POST", "/api/v1/orgs/lab/api-keys", e.admin, map[string]string{"name": "ops2", "role": "admin"}, 201, &ops)
	opsRead := scoped(t, e, ops.Token, []string{"read"}, []string{"repo"}, "lab").Token
	e.fail(t, "DELETE", "/api/v1/orgs/lab/buckets/main", opsRead, nil, 403, "", "-")
	e.fail(t, "POST", "/api/v1/orgs/lab/buckets", opsRead, client.BucketRequest{Nickname: "x", URI: "s3://lab-x", Auth: client.BucketAuth{Type: "self_managed"}}, 403, "", "-")
	e.json(t, "GET", "/api/v1/orgs/lab/buckets/main", e.admin, nil, 200, nil)

	// A token minted by a scoped token, then the parent revoked: both refused.
	parent := scoped(t, e, p["bob"], []string{"read", "write", "manage"}, []string{"repo", "token"}, "*")
	child := scoped(t, e, parent.Token, []string{"read"}, []string{"repo"}, "acme")
	e.json(t, "GET", "/api/v1/repos/acme/raw", child.Token, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/tokens/"+parent.ID, p["bob"], nil, 200, nil)
	e.fail(t, "GET", "/api/v1/repos/acme/raw", child.Token, nil, 401, "", "-")
	e.fail(t, "POST", "/api/v1/tokens", child.Token, map[string]string{"ttl": "1h"}, 401, "", "-")
}

// PL4: a pipeline's own token creates, mints and grants nothing.
func attackPipelineToken(t *testing.T, e *env, p cast) {
	tok := pipelineToken(t, e, p["bob"], "acme/etl").Token
	require.True(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))
	denied(t, e, "POST", "/api/v1/orgs/acme/pipelines", tok, pipeReq("child", "acme/clean", "acme/raw"))
	denied(t, e, "POST", "/api/v1/pipelines/acme/etl/token", tok, map[string]string{"ttl": "1h"})
	denied(t, e, "PUT", "/api/v1/repos/acme/clean/roles/user:dan@example.com", tok, map[string]string{"role": "reader"})
	denied(t, e, "POST", "/api/v1/orgs/acme/repos", tok, map[string]string{"name": "bypipe"})
	denied(t, e, "DELETE", "/api/v1/repos/acme/raw", tok, nil)
	if status, data := e.do(t, "POST", "/api/v1/tokens", tok, map[string]string{"ttl": "1h"}); status == 201 {
		var m minted
		require.NoError(t, json.Unmarshal(data, &m))
		require.Equal(t, "pipeline:acme/etl", m.Subject, "a pipeline mints only for itself")
	} else {
		require.Contains(t, []int{403}, status, string(data))
	}
	require.Equal(t, "none", e.role(t, e.admin, "acme/clean", "user:dan@example.com"))

	// O2: switched to acl_only, bob's member access and so his pipeline's is gone at the
	// next check; P4: in admin-only mode no pipeline holds anything.
	e.json(t, "PATCH", "/api/v1/orgs/acme", e.admin, map[string]string{"repo_access": "acl_only"}, 200, nil)
	require.False(t, e.check(t, tok, "repo:acme/raw", "read", "", ""), "O2, PL3")
	e.json(t, "PATCH", "/api/v1/orgs/acme", e.admin, map[string]string{"repo_access": "members"}, 200, nil)
	require.True(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))
	e.json(t, "PUT", "/api/v1/platform/mode", e.admin, map[string]bool{"admin_only": true}, 200, nil)
	status, _ := e.do(t, "POST", "/api/v1/check", tok, map[string]string{"resource": "repo:acme/raw", "permission": "read"})
	if status == 200 {
		require.False(t, e.check(t, tok, "repo:acme/raw", "read", "", ""), "P4")
	}
	e.json(t, "PUT", "/api/v1/platform/mode", e.admin, map[string]bool{"admin_only": false}, 200, nil)
	require.True(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))
}

// PL3: a pipeline whose creator (an API key, a robot) is deleted holds nothing, and a
// new key or robot of the same name neither revives its access nor manages it.
func attackDeletedCreator(t *testing.T, e *env) {
	for _, kind := range []string{"api-key", "robot"} {
		t.Run(kind, func(t *testing.T) {
			name := "maker-" + strings.ReplaceAll(kind, "-", "")
			pipe := "acme/by" + strings.ReplaceAll(kind, "-", "")
			create := func() string {
				if kind == "robot" {
					var m minted
					e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": name}, 201, &m)
					e.write(t, touch("org:acme#member@robot:"+name))
					return m.Token
				}
				var m minted
				e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": name, "role": "member"}, 201, &m)
				return m.Token
			}
			del := func() {
				if kind == "robot" {
					e.json(t, "DELETE", "/api/v1/robots/"+name, e.admin, nil, 200, nil)
					return
				}
				e.json(t, "DELETE", "/api/v1/orgs/acme/api-keys/"+name, e.admin, nil, 200, nil)
			}
			maker := create()
			_, pname, _ := strings.Cut(pipe, "/")
			e.json(t, "POST", "/api/v1/orgs/acme/pipelines", maker, pipeReq(pname, "acme/clean", "acme/raw"), 201, nil)
			// The creator's own pipeline token derives from the creator's token, which
			// deleting the creator deletes (T3, T4): it is refused outright. The admin's
			// outlives the creator, and PL3 is what refuses it.
			own := pipelineToken(t, e, maker, pipe).Token
			tok := pipelineToken(t, e, e.admin, pipe).Token
			require.True(t, e.check(t, tok, "repo:acme/raw", "read", "", ""))
			del()
			e.fail(t, "POST", "/api/v1/check", own, map[string]string{"resource": "repo:acme/raw", "permission": "read"}, 401, "unauthenticated", "")
			require.False(t, e.check(t, tok, "repo:acme/raw", "read", "", ""), "PL3: the creator is gone")
			e.fail(t, "POST", "/api/v1/repos/acme/raw/credentials", tok, map[string]string{"access": "read"}, 404, "", "-") // B6
			e.fail(t, "PUT", "/api/v1/pipelines/"+pipe, e.admin, map[string]any{"inputs": []string{"acme/raw"}, "output": "acme/clean"}, 409, "creator_gone", "")
			again := create()
			require.False(t, e.check(t, tok, "repo:acme/raw", "read", "", ""), "PL3: a new %s of the same name revives nothing", kind)
			require.False(t, e.check(t, tok, "repo:acme/clean", "write", "", ""))
			e.fail(t, "POST", "/api/v1/repos/acme/clean/credentials", tok, map[string]string{"access": "write"}, 404, "", "-")
			e.fail(t, "POST", "/api/v1/pipelines/"+pipe+"/token", again, map[string]string{"ttl": "1h"}, 403, "", "-")
			e.json(t, "DELETE", "/api/v1/pipelines/"+pipe, e.admin, nil, 200, nil)
		})
	}
}

// R5: a repo deleted and created again under its name has no old grant, no old wiring
// and a new prefix.
func attackRecreate(t *testing.T, e *env, p cast) {
	var before, after struct{ Prefix string }
	e.json(t, "GET", "/api/v1/repos/lab/in2", p["ann"], nil, 200, &before)
	e.setRole(t, p["ann"], "lab/in2", "user:carl@example.com", "writer", 200)
	e.json(t, "POST", "/api/v1/orgs/lab/pipelines", p["ann"], pipeReq("rc", "lab/in", "lab/in2"), 201, nil)
	tok := pipelineToken(t, e, p["ann"], "lab/rc").Token
	e.json(t, "DELETE", "/api/v1/repos/lab/in2", p["ann"], nil, 200, nil)
	require.Empty(t, e.read(t, "resource=repo:lab/in2"))
	e.json(t, "POST", "/api/v1/orgs/lab/repos", p["bob"], map[string]string{"name": "in2"}, 201, &after)
	require.NotEqual(t, before.Prefix, after.Prefix, "R4: a new prefix")
	require.Equal(t, map[string]string{"user:bob@example.com": "owner"}, e.roles(t, e.admin, "lab/in2"))
	require.False(t, e.check(t, tok, "repo:lab/in2", "read", "", ""), "R5: no old wiring")
	require.Equal(t, "none", e.role(t, e.admin, "lab/in2", "user:carl@example.com"))
	require.Equal(t, "none", e.role(t, e.admin, "lab/in2", "user:ann@example.com"))
	e.json(t, "DELETE", "/api/v1/pipelines/lab/rc", p["ann"], nil, 200, nil)
}

// D3: bad names, roles, URIs and unknown fields are 400s naming the field, and nothing
// is stored or written.
func attackBadInput(t *testing.T, e *env, p cast) {
	ann := p["ann"]
	repos := func() []string { return e.read(t, "resource=repo&subject=org:lab") }
	before := repos()
	long := strings.Repeat("a", 300)
	for _, name := range []string{"", "a*", "a?", "a$", "a{b}", "..", "a/b", "a..b", "ünï", "A", long, "a b", "-", "a\x00"} {
		e.fail(t, "POST", "/api/v1/orgs/lab/repos", ann, map[string]string{"name": name}, 400, "", "name")
	}
	e.fail(t, "POST", "/api/v1/orgs/lab/repos", ann, map[string]any{"name": "ok1", "bogus": 1}, 400, "", "bogus")
	e.fail(t, "POST", "/api/v1/orgs/lab/repos", ann, map[string]any{"name": "ok2", "bucket": "*"}, 400, "", "bucket")
	e.fail(t, "POST", "/api/v1/orgs/lab/repos", ann, map[string]any{"name": "ok3", "bucket": "nope"}, 400, "", "bucket")
	require.ElementsMatch(t, before, repos(), "D3: nothing stored")

	for _, role := range []string{"admin", "Owner", "", "reader ", "owner,writer", "none*"} {
		e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/user:dan@example.com", ann, map[string]string{"role": role}, 400, "", "role")
	}
	e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/user:dan@example.com", ann, map[string]any{"role": "reader", "x": 1}, 400, "", "x")
	for _, sub := range []string{"pipeline:acme/etl", "user:*", "team:lab/x#admin", "nobody", "robot:a*b"} {
		status, data := e.do(t, "PUT", "/api/v1/repos/lab/in/roles/"+url.PathEscape(sub), ann, map[string]string{"role": "reader"})
		require.Contains(t, []int{400, 404}, status, "%s: %s", sub, data)
	}
	require.ElementsMatch(t, []string{"repo:lab/in#org@org:lab", "repo:lab/in#bucket@bucket:lab/main", "repo:lab/in#owner@user:ann@example.com"}, e.read(t, "resource=repo:lab/in"))

	bad := []struct{ field, uri, endpoint string }{
		{"uri", "ftp://lab-b", ""}, {"uri", "s3://", ""}, {"uri", "s3:///x", ""}, {"uri", "s3://lab-b/../x", ""},
		{"uri", "s3://lab*b", ""}, {"uri", "s3://lab-b/a*", ""}, {"uri", "s3://lab-b/$x", ""}, {"uri", "", ""},
		{"extra_config.endpoint_url", "s3://lab-b", "not a url"}, {"extra_config.endpoint_url", "s3://lab-b", "ftp://x"},
	}
	for _, c := range bad {
		req := client.BucketRequest{Nickname: "bad", URI: c.uri, ExtraConfig: client.BucketExtraConfig{EndpointURL: c.endpoint}, Auth: client.BucketAuth{Type: "self_managed"}}
		e.fail(t, "POST", "/api/v1/orgs/lab/buckets", e.admin, req, 400, "", c.field)
	}
	e.json(t, "POST", "/api/v1/orgs/lab/buckets", e.admin, client.BucketRequest{Nickname: "ov", URI: "s3://lab-ov/a", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	e.fail(t, "POST", "/api/v1/orgs/beta/buckets", e.admin, client.BucketRequest{Nickname: "ov", URI: "s3://lab-ov/a/x", Auth: client.BucketAuth{Type: "self_managed"}}, 409, "location_overlap", "uri")
	e.json(t, "POST", "/api/v1/orgs/beta/buckets", e.admin, client.BucketRequest{Nickname: "ov", URI: "s3://lab-ov/ab", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	e.fail(t, "POST", "/api/v1/orgs/lab/buckets", e.admin, map[string]any{"nickname": "uf", "uri": "s3://lab-uf", "auth": map[string]string{"type": "self_managed"}, "owner": "beta"}, 400, "", "owner")

	// Pipelines (PL1): bad names, repeated, absent or self-fed repos, unknown fields.
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{pipeReq("a*", "lab/in2", "lab/in"), "name"}, {pipeReq("..", "lab/in2", "lab/in"), "name"},
		{pipeReq("p1", "lab/in2", "lab/in", "lab/in"), "inputs[1]"}, {pipeReq("p1", "lab/in2", "lab/ghost"), "inputs[0]"},
		{pipeReq("p1", "lab/in", "lab/in"), "output"}, {pipeReq("p1", "lab/in2", "lab/*"), "inputs[0]"},
		{pipeReq("p1", "lab/in2"), "inputs"}, {pipeReq("p1", "", "lab/in"), "output"}, {pipeReq("p1", "lab/../acme/raw", "lab/in"), "output"},
		{map[string]any{"name": "p1", "inputs": []string{"lab/in"}, "output": "lab/in2", "creator": "user:dan@example.com"}, "creator"},
	} {
		e.fail(t, "POST", "/api/v1/orgs/lab/pipelines", ann, c.body, 400, "", c.field)
	}
	require.Empty(t, e.read(t, "resource=repo&subject=pipeline:lab/p1"), "D3: nothing wired")
	for i, nick := range []string{"a*", "..", "a/b", "ü", strings.Repeat("n", 100)} {
		e.fail(t, "POST", "/api/v1/orgs/lab/buckets", e.admin, client.BucketRequest{Nickname: nick, URI: fmt.Sprintf("s3://lab-n%d", i), Auth: client.BucketAuth{Type: "self_managed"}}, 400, "", "nickname")
	}
}

// denied requires a refusal: 403, or 404 where the caller may not even see the thing.
func denied(t *testing.T, e *env, method, path, token string, body any) {
	t.Helper()
	status, data := e.do(t, method, path, token, body)
	require.Contains(t, []int{403, 404}, status, "%s %s: %s", method, path, data)
}

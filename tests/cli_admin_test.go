package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// The admin commands in zed's shape (issue 8.7), one case table through the typed
// client and the CLI (STYLE item 10). Where the CLI accepts a shorter spelling than the
// API (a bare email for a user, one relationship string), args["cli"] holds the CLI's
// positional arguments; the API door always sends the canonical form.

// cliArgs splits args["cli"], or returns the canonical arguments.
func cliArgs(a map[string]string, canonical ...string) []string {
	if a["cli"] != "" {
		return strings.Fields(a["cli"])
	}
	var out []string
	for _, c := range canonical {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// freshFlag passes a saved written_at on, so a check sees the write before it.
func freshFlag(a map[string]string) []string {
	if a["fresh"] == "" {
		return nil
	}
	return []string{"--at-least-as-fresh", a["fresh"]}
}

func relWriteOp(op string) doorOp {
	return doorOp{
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			rel := a["rel"]
			if rel == "" {
				rel = a["resource"] + "#" + a["relation"] + "@" + a["subject"]
			}
			return c.WriteRelationships(ctx, client.WriteRequest{Updates: []client.Update{{Operation: op, Relationship: rel}}})
		},
		func(a map[string]string) ([]string, string) {
			return append([]string{"relationship", op}, cliArgs(a, a["rel"], a["resource"], a["relation"], a["subject"])...), ""
		},
	}
}

var adminOps = map[string]doorOp{
	"rel.create": relWriteOp(client.OpCreate),
	"rel.touch":  relWriteOp(client.OpTouch),
	"rel.delete": relWriteOp(client.OpDelete),
	"rel.read": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.Relationships(ctx, client.Filter{Resource: a["resource"], Relation: a["relation"], Subject: a["subject"]})
		},
		func(a map[string]string) ([]string, string) {
			return append([]string{"relationship", "read"}, cliArgs(a, a["resource"], a["relation"], a["subject"])...), ""
		},
	},
	"rel.import": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.ImportRelationships(ctx, strings.NewReader(a["ndjson"]))
		},
		func(a map[string]string) ([]string, string) {
			return []string{"relationship", "import", "-"}, a["ndjson"]
		},
	},
	"perm.check": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.Check(ctx, client.CheckRequest{Resource: a["resource"], Permission: a["permission"], Subject: a["subject"], AtLeastAsFresh: a["fresh"]})
		},
		func(a map[string]string) ([]string, string) {
			args := append([]string{"permission", "check"}, cliArgs(a, a["resource"], a["permission"], a["subject"])...)
			return append(args, freshFlag(a)...), ""
		},
	},
	// The top-level `gatehouse check`, subject as a flag.
	"check": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.Check(ctx, client.CheckRequest{Resource: a["resource"], Permission: a["permission"], Subject: a["subject"], AtLeastAsFresh: a["fresh"]})
		},
		func(a map[string]string) ([]string, string) {
			args := []string{"check", a["resource"], a["permission"], "--subject", a["subject"]}
			if a["cli"] != "" {
				args = append([]string{"check"}, strings.Fields(a["cli"])...)
			}
			return append(args, freshFlag(a)...), ""
		},
	},
	"perm.lookup-resources": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.LookupResources(ctx, client.LookupResourcesRequest{ResourceType: a["type"], Permission: a["permission"], Subject: a["subject"], AtLeastAsFresh: a["fresh"]})
		},
		func(a map[string]string) ([]string, string) {
			args := append([]string{"permission", "lookup-resources"}, cliArgs(a, a["type"], a["permission"], a["subject"])...)
			return append(args, freshFlag(a)...), ""
		},
	},
	"perm.lookup-subjects": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.LookupSubjects(ctx, client.LookupSubjectsRequest{Resource: a["resource"], Permission: a["permission"], SubjectType: a["subject_type"], AtLeastAsFresh: a["fresh"]})
		},
		func(a map[string]string) ([]string, string) {
			args := append([]string{"permission", "lookup-subjects"}, cliArgs(a, a["resource"], a["permission"], a["subject_type"])...)
			return append(args, freshFlag(a)...), ""
		},
	},
	"perm.explain": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.Explain(ctx, client.CheckRequest{Resource: a["resource"], Permission: a["permission"], Subject: a["subject"], AtLeastAsFresh: a["fresh"]})
		},
		func(a map[string]string) ([]string, string) {
			args := append([]string{"permission", "explain"}, cliArgs(a, a["resource"], a["permission"], a["subject"])...)
			return append(args, freshFlag(a)...), ""
		},
	},
	// members add and teams add-member with the CLI's user:<email> / bare-email spellings.
	"members.add-as": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.SetMember(ctx, a["org"], a["email"], client.RoleBody{Role: "member"})
		},
		func(a map[string]string) ([]string, string) {
			return []string{"orgs", "members", "add", a["org"], a["cli"]}, ""
		},
	},
	"teams.add-member-as": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.AddTeamMember(ctx, a["org"], a["team"], a["subject"])
		},
		func(a map[string]string) ([]string, string) {
			return []string{"teams", "add-member", a["org"], a["team"], a["cli"]}, ""
		},
	},
}

func init() {
	for k, v := range adminOps {
		doorOps[k] = v
	}
}

type args = map[string]string

var adminCases = []doorCase{
	{"A1 relationship create, touch and read, with one relationship string and a bare email", []doorStep{
		{op: "orgs.create"},
		{op: "rel.touch", args: args{"rel": "repo:{org}/x#org@org:{org}"}, want: doorWant{has: []string{`"written_at":"`}}},
		{op: "rel.create", args: args{"resource": "repo:{org}/x", "relation": "reader", "subject": "user:bob@example.com", "cli": "repo:{org}/x reader bob@example.com"}},
		{op: "rel.create", args: args{"rel": "repo:{org}/x#reader@user:bob@example.com"}, want: doorWant{fail: 409, code: "precondition_failed"}},
		{op: "rel.touch", args: args{"rel": "repo:{org}/x#reader@user:bob@example.com", "cli": "repo:{org}/x#reader@bob@example.com"}, save: args{"w": "written_at"}},
		{op: "rel.read", args: args{"resource": "repo:{org}/x"}, want: doorWant{has: []string{`"repo:{org}/x#org@org:{org}"`, `"repo:{org}/x#reader@user:bob@example.com"`}}},
		{op: "rel.read", args: args{"resource": "repo:{org}/x", "relation": "reader", "subject": "user:bob@example.com", "cli": "repo:{org}/x reader bob@example.com"},
			want: doorWant{has: []string{`{"relationships":["repo:{org}/x#reader@user:bob@example.com"]}`}}},
		{op: "rel.read", args: args{"resource": "repo:{org}/nothing"}, want: doorWant{has: []string{`{"relationships":[]}`}}},
		{op: "rel.touch", args: args{"rel": "repo:{org}/x#frobnicator@user:bob@example.com"}, want: doorWant{fail: 400, code: "invalid_argument"}},
		{op: "rel.touch", args: args{"rel": "repo:{org}/x#reader@bob", "cli": "repo:{org}/x reader bob"}, want: doorWant{fail: 400, local: true}},
	}},
	{"C1 check: 0 allowed, 2 denied, 1 error", []doorStep{
		{op: "perm.check", args: args{"resource": "repo:{org}/x", "permission": "read", "subject": "user:bob@example.com", "fresh": "{w}", "cli": "repo:{org}/x read bob@example.com"},
			want: doorWant{has: []string{`"allowed":true`, `"checked_at":"`}}},
		{op: "check", args: args{"resource": "repo:{org}/x", "permission": "read", "subject": "user:bob@example.com", "fresh": "{w}"}, want: doorWant{has: []string{`"allowed":true`}}},
		{op: "perm.check", args: args{"resource": "repo:{org}/x", "permission": "write", "subject": "user:bob@example.com", "fresh": "{w}"}, want: doorWant{denied: true, has: []string{`"allowed":false`}}},
		{op: "check", args: args{"resource": "repo:{org}/x", "permission": "read", "subject": "user:carol@example.com", "fresh": "{w}", "cli": "repo:{org}/x read carol@example.com"},
			want: doorWant{denied: true, has: []string{`"allowed":false`}}},
		{op: "perm.check", args: args{"resource": "repo:{org}/x", "permission": "frobnicate", "subject": "user:bob@example.com"}, want: doorWant{fail: 400, code: "invalid_argument", has: []string{"permission: "}}},
		{op: "perm.check", args: args{"resource": "widget:{org}", "permission": "read"}, want: doorWant{fail: 400, code: "invalid_argument"}},
		{as: "bad", op: "check", args: args{"resource": "repo:{org}/x", "permission": "read", "subject": "user:bob@example.com"}, want: doorWant{fail: 401, code: "unauthenticated"}},
	}},
	{"C2 lookups and explain", []doorStep{
		{op: "perm.lookup-resources", args: args{"type": "repo", "permission": "read", "subject": "user:bob@example.com", "fresh": "{w}", "cli": "repo read bob@example.com"},
			want: doorWant{has: []string{`"repo:{org}/x"`}}},
		{op: "perm.lookup-resources", args: args{"type": "repo", "permission": "read", "subject": "user:nobody@example.com", "fresh": "{w}"}, want: doorWant{has: []string{`{"resources":[]}`}}},
		{op: "perm.lookup-resources", args: args{"type": "widget", "permission": "read", "subject": "user:bob@example.com"}, want: doorWant{fail: 400, has: []string{"resource_type: "}}},
		{op: "perm.lookup-subjects", args: args{"resource": "repo:{org}/x", "permission": "read", "fresh": "{w}"}, want: doorWant{has: []string{`"user:bob@example.com"`}}},
		{op: "perm.lookup-subjects", args: args{"resource": "repo:{org}/x", "permission": "read", "subject_type": "user", "fresh": "{w}"}, want: doorWant{has: []string{`"user:bob@example.com"`}}},
		{op: "perm.lookup-subjects", args: args{"resource": "repo:{org}/x", "permission": "read", "subject_type": "widget"}, want: doorWant{fail: 400, has: []string{"subject_type: "}}},
		{op: "perm.explain", args: args{"resource": "repo:{org}/x", "permission": "read", "subject": "user:bob@example.com", "fresh": "{w}", "cli": "repo:{org}/x read bob@example.com"},
			want: doorWant{has: []string{`"allowed":true`, `"repo:{org}/x#reader@user:bob@example.com"`}}},
		{op: "perm.explain", args: args{"resource": "repo:{org}/x", "permission": "read", "subject": "user:carol@example.com", "fresh": "{w}"},
			want: doorWant{has: []string{`"allowed":false`, `"paths":[]`}}},
	}},
	{"A1 import NDJSON from standard input, delete with a bare email", []doorStep{
		{op: "rel.import", args: args{"ndjson": `{"relationship":"repo:{org}/y#org@org:{org}"}` + "\n" + `{"relationship":"repo:{org}/y#writer@user:dan@example.com"}` + "\n"},
			want: doorWant{has: []string{`{"imported":2}`}}},
		{op: "rel.import", args: args{"ndjson": `{"relationship":"repo:{org}/y#writer@user:dan@example.com"}` + "\n"}, want: doorWant{has: []string{`{"imported":1}`}}},
		{op: "rel.read", args: args{"resource": "repo:{org}/y", "relation": "writer"}, want: doorWant{has: []string{`["repo:{org}/y#writer@user:dan@example.com"]`}}},
		{op: "rel.import", args: args{"ndjson": `{"relationship": 42}` + "\n"}, want: doorWant{fail: 400, code: "invalid_argument", has: []string{"line 1"}}},
		{op: "rel.delete", args: args{"resource": "repo:{org}/y", "relation": "writer", "subject": "user:dan@example.com", "cli": "repo:{org}/y writer dan@example.com"}, save: args{"w": "written_at"}},
		{op: "rel.read", args: args{"resource": "repo:{org}/y"}, want: doorWant{has: []string{`{"relationships":["repo:{org}/y#org@org:{org}"]}`}}},
		{op: "perm.check", args: args{"resource": "repo:{org}/y", "permission": "write", "subject": "user:dan@example.com", "fresh": "{w}"}, want: doorWant{denied: true}},
	}},
	{"A1 P2 relationships are for platform admins", []doorStep{
		{op: "api-keys.create", args: args{"name": "ops", "role": "admin"}, save: args{"ops": "token"}},
		{as: "ops", op: "rel.read", args: args{"resource": "repo:{org}/x"}, want: doorWant{fail: 403}},
		{as: "ops", op: "rel.touch", args: args{"rel": "repo:{org}/x#reader@user:eve@example.com"}, want: doorWant{fail: 403}},
	}},
	{"ID6 O3 O4 members and teams take user:<email> or a bare email", []doorStep{
		{op: "members.add-as", args: args{"email": "erin@example.com", "cli": "user:erin@example.com"}, want: doorWant{has: []string{`"subject":"user:erin@example.com"`}}},
		{op: "teams.create", args: args{"team": "ops"}},
		{op: "teams.add-member-as", args: args{"team": "ops", "subject": "user:fay@example.com", "cli": "fay@example.com"}, want: doorWant{has: []string{`"subject":"user:fay@example.com"`}}},
		{op: "teams.add-member-as", args: args{"team": "ops", "subject": "robot:ci", "cli": "robot:ci"}, want: doorWant{has: []string{`"subject":"robot:ci"`}}},
	}},
}

func TestAdminCommandsHTTPAndCLI(t *testing.T) {
	s := harness.StartGatehouse(t)
	admin := runDoorCases(t, s, adminCases)
	t.Run("CLI only", func(t *testing.T) { adminCLIOnly(t, s, admin) })
}

// gh runs the CLI against s with token and returns stdout, stderr and the exit code.
func gh(t *testing.T, s *harness.Server, token, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := ghCommand(ctx, t, s, token, filepath.Join(t.TempDir(), "config.yaml"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "gatehouse %v", args)
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// What the case table cannot say: human output, export bytes, unknown subcommands and
// errors without an API answer. Runs after the table (the relationships are written).
func adminCLIOnly(t *testing.T, s *harness.Server, admin string) {
	w, err := client.New(s.URL, client.WithToken(admin)).WriteRelationships(t.Context(),
		client.WriteRequest{Updates: []client.Update{{Operation: client.OpTouch, Relationship: "repo:acme-cli/x#reader@user:bob@example.com"}}})
	require.NoError(t, err)
	fresh := "--at-least-as-fresh=" + w.WrittenAt

	// Human output (the default) and the exit codes.
	out, _, code := gh(t, s, admin, "", "permission", "check", "repo:acme-cli/x", "read", "bob@example.com", fresh)
	require.Equal(t, 0, code)
	require.Equal(t, "allowed\n", out)
	out, _, code = gh(t, s, admin, "", "check", "repo:acme-cli/x", "write", "user:bob@example.com")
	require.Equal(t, 2, code, "denied exits 2")
	require.Equal(t, "denied\n", out)
	out, _, code = gh(t, s, admin, "", "relationship", "read", "repo:acme-cli/x", "reader")
	require.Equal(t, 0, code)
	require.Equal(t, "repo:acme-cli/x#reader@user:bob@example.com\n", out)
	out, _, code = gh(t, s, admin, "", "permission", "explain", "repo:acme-cli/x", "read", "bob@example.com", fresh)
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "allowed\n  path 1: "), out)

	// Errors exit 1: no server, a bad token.
	_, stderr, code := gh(t, s, admin, "", "check", "repo:acme-cli/x", "read", "--addr", "http://127.0.0.1:1")
	require.Equal(t, 1, code, "a network error exits 1, not 2")
	require.Contains(t, stderr, "cannot reach Gatehouse")
	_, stderr, code = gh(t, s, "gth_not_a_token", "", "permission", "check", "repo:acme-cli/x", "read")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "(HTTP 401, unauthenticated)")

	// Unknown subcommands: non-zero with a suggestion, nothing on stdout.
	for _, args := range [][]string{{"org", "creat", "x"}, {"relationship", "craete"}, {"permission", "chek"}, {"relationshp"}} {
		out, stderr, code := gh(t, s, admin, "", args...)
		require.NotEqual(t, 0, code, "%v", args)
		require.Empty(t, out, "%v", args)
		require.Contains(t, stderr, "Did you mean this?", "%v", args)
	}

	// export writes the NDJSON the API speaks, byte for byte; import FILE reads it back.
	status, want := s.Do(t, "GET", "/api/v1/relationships/export", admin, nil)
	require.Equal(t, 200, status)
	for _, o := range []string{"table", "json"} {
		out, stderr, code = gh(t, s, admin, "", "relationship", "export", "-o", o)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, string(want), out, "-o %s", o)
	}
	file := filepath.Join(t.TempDir(), "rels.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	lines := strings.Count(strings.TrimSpace(out), "\n") + 1
	out, stderr, code = gh(t, s, admin, "", "relationship", "import", file)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "imported "+strconv.Itoa(lines)+" relationships\n", out)
	_, stderr, code = gh(t, s, admin, "", "relationship", "import", filepath.Join(t.TempDir(), "missing.ndjson"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "missing.ndjson")
}

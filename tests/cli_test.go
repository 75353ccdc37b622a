package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// People and keys, one case table, two doors (STYLE item 10): every case runs once
// through the HTTP API and once through the gatehouse CLI, against one real server.
// A case names a request (an op and its arguments) and its observable outcome once;
// the "http" and "cli" doors below turn the op into a request or a command line.

// doorStep is one request of a case.
type doorStep struct {
	as   string            // whose token: "admin" (default) or a name saved by an earlier step
	op   string            // a key of doorOps
	args map[string]string // {org} and {saved-name} are expanded
	want doorWant
	save map[string]string // name to remember -> top-level field of the answer
}

// doorWant is the observable outcome.
type doorWant struct {
	fail   int      // 0: success; otherwise the HTTP status of the refusal
	code   string   // the API's error code, when fail is set
	local  bool     // the CLI refuses before sending anything (the API refuses with fail)
	denied bool     // a check answered "denied": the CLI exits 2 with its answer on stdout
	has    []string // substrings of the answer (compact JSON, sorted keys) or of the error
	lacks  []string // substrings the answer must not contain
}

type doorCase struct {
	name  string // starts with the MISSION rule IDs
	steps []doorStep
}

const ciPolicy = `# Dyff-style policy file
ttl: 2h
grants:
- functions: [read, write]
  resources: [repo]
  orgs: [{org}]
`

var doorCases = []doorCase{
	{"O1 create org", []doorStep{
		{op: "orgs.create", want: doorWant{has: []string{`"name":"{org}"`, `"repo_access":"members"`}}},
		{op: "orgs.create", want: doorWant{fail: 409, code: "already_exists"}},
	}},
	{"O3 ID1 add member by email in mixed case and list members", []doorStep{
		{op: "members.add", args: map[string]string{"email": "Bob@Example.COM", "role": "member"}, want: doorWant{has: []string{`"subject":"user:bob@example.com"`}}},
		{op: "members.list", want: doorWant{has: []string{`{"role":"member","subject":"user:bob@example.com"}`}}},
		{op: "members.add", args: map[string]string{"email": "carol@example.com", "role": "owner"}, want: doorWant{fail: 400, code: "invalid_argument", local: true, has: []string{"role: "}}},
	}},
	{"O3 set role admin", []doorStep{
		{op: "members.set-role", args: map[string]string{"email": "bob@example.com", "role": "admin"}, want: doorWant{has: []string{`"role":"admin"`}}},
		{op: "members.list", want: doorWant{has: []string{`{"role":"admin","subject":"user:bob@example.com"}`}}},
	}},
	{"O4 create team and add a member", []doorStep{
		{op: "teams.create", args: map[string]string{"team": "data"}, want: doorWant{has: []string{`"team":"team:{org}/data"`}}},
		{op: "teams.add-member", args: map[string]string{"team": "data", "subject": "user:ivy@example.com"}, want: doorWant{has: []string{`"subject":"user:ivy@example.com"`}}},
		{op: "teams.list", want: doorWant{has: []string{`"teams":["data"]`}}},
	}},
	{"ID2 create API key and use its token", []doorStep{
		{op: "api-keys.create", args: map[string]string{"name": "ops", "role": "admin"}, save: map[string]string{"ops": "token"},
			want: doorWant{has: []string{`"subject":"sa:ops@{org}"`, `"token":"gth_`}}},
		{as: "ops", op: "whoami", want: doorWant{has: []string{`"subject":"sa:ops@{org}"`, `"orgs":["{org}"]`}}},
		{as: "ops", op: "api-keys.list", want: doorWant{has: []string{`"name":"ops"`}, lacks: []string{"gth_"}}},
	}},
	{"T3 tokens create with a role", []doorStep{
		{op: "tokens.create", args: map[string]string{"role": "developer"}, save: map[string]string{"dev": "token"}, want: doorWant{has: []string{`"token":"gth_`}}},
		{as: "dev", op: "whoami", want: doorWant{has: []string{`"subject":"robot:admin"`, `"scoped":true`}}},
		{as: "dev", op: "orgs.create", args: map[string]string{"org": "{org}-dev"}, want: doorWant{fail: 403}},
	}},
	{"T3 tokens create from a YAML file on standard input", []doorStep{
		{op: "tokens.create-yaml", args: map[string]string{"yaml": ciPolicy}, save: map[string]string{"ci": "token", "ci.id": "id"}, want: doorWant{has: []string{`"token":"gth_`}}},
		{as: "ci", op: "whoami", want: doorWant{has: []string{`"scoped":true`}}},
		{op: "tokens.list", want: doorWant{has: []string{`"id":"{ci.id}"`}, lacks: []string{"gth_"}}},
	}},
	{"T3 D3 YAML with an unknown function is refused, naming it", []doorStep{
		{op: "tokens.create-yaml", args: map[string]string{"yaml": strings.Replace(ciPolicy, "write", "deploy", 1)}, want: doorWant{fail: 400, local: true, has: []string{`"deploy"`}}},
	}},
	{"T3 a revoked token is refused", []doorStep{
		{op: "tokens.revoke", args: map[string]string{"id": "{ci.id}"}, want: doorWant{has: []string{`"id":"{ci.id}"`}}},
		{as: "ci", op: "whoami", want: doorWant{fail: 401, code: "unauthenticated"}},
	}},
	{"ID2 a deleted API key's token is refused", []doorStep{
		{op: "api-keys.create", args: map[string]string{"name": "etl"}, save: map[string]string{"etl": "token"}, want: doorWant{has: []string{`"role":"member"`}}},
		{as: "etl", op: "whoami", want: doorWant{has: []string{`"subject":"sa:etl@{org}"`}}},
		{as: "ops", op: "api-keys.delete", args: map[string]string{"name": "etl"}, want: doorWant{has: []string{`"deleted":"sa:etl@{org}"`}}},
		{as: "etl", op: "whoami", want: doorWant{fail: 401, code: "unauthenticated"}},
	}},
	{"O3 remove member", []doorStep{
		{as: "ops", op: "members.remove", args: map[string]string{"email": "BOB@example.com"}},
		{op: "members.list", want: doorWant{lacks: []string{"bob@example.com"}}},
	}},
}

// doorOp is one op: a call of the typed client (the HTTP door) and a command line with
// standard input (the CLI door).
type doorOp struct {
	api func(ctx context.Context, c *client.Client, a map[string]string) (any, error)
	cli func(a map[string]string) (args []string, stdin string)
}

// doorOps turns an op into a client call and into a command line.
var doorOps = map[string]doorOp{
	"orgs.create": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.CreateOrg(ctx, client.OrgRequest{Name: a["org"]})
		},
		func(a map[string]string) ([]string, string) { return []string{"orgs", "create", a["org"]}, "" },
	},
	"members.add": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.SetMember(ctx, a["org"], a["email"], client.RoleBody{Role: a["role"]})
		},
		func(a map[string]string) ([]string, string) {
			return []string{"orgs", "members", "add", a["org"], a["email"], "--role", a["role"]}, ""
		},
	},
	"members.set-role": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.SetMember(ctx, a["org"], a["email"], client.RoleBody{Role: a["role"]})
		},
		func(a map[string]string) ([]string, string) {
			return []string{"orgs", "members", "set-role", a["org"], a["email"], a["role"]}, ""
		},
	},
	"members.remove": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.RemoveMember(ctx, a["org"], a["email"])
		},
		func(a map[string]string) ([]string, string) {
			return []string{"orgs", "members", "remove", a["org"], a["email"]}, ""
		},
	},
	"members.list": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.Members(ctx, a["org"])
		},
		func(a map[string]string) ([]string, string) { return []string{"orgs", "members", "list", a["org"]}, "" },
	},
	"teams.create": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.CreateTeam(ctx, a["org"], a["team"])
		},
		func(a map[string]string) ([]string, string) {
			return []string{"teams", "create", a["org"], a["team"]}, ""
		},
	},
	"teams.add-member": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.AddTeamMember(ctx, a["org"], a["team"], a["subject"])
		},
		func(a map[string]string) ([]string, string) {
			return []string{"teams", "add-member", a["org"], a["team"], a["subject"]}, ""
		},
	},
	"teams.list": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.Teams(ctx, a["org"])
		},
		func(a map[string]string) ([]string, string) { return []string{"teams", "list", a["org"]}, "" },
	},
	"api-keys.create": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.CreateAPIKey(ctx, a["org"], client.APIKeyRequest{Name: a["name"], Role: a["role"]})
		},
		func(a map[string]string) ([]string, string) {
			args := []string{"api-keys", "create", a["org"], a["name"]}
			if a["role"] != "" {
				args = append(args, "--role", a["role"])
			}
			return args, ""
		},
	},
	"api-keys.list": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.APIKeys(ctx, a["org"])
		},
		func(a map[string]string) ([]string, string) { return []string{"api-keys", "list", a["org"]}, "" },
	},
	"api-keys.delete": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.DeleteAPIKey(ctx, a["org"], a["name"])
		},
		func(a map[string]string) ([]string, string) {
			return []string{"api-keys", "delete", a["org"], a["name"]}, ""
		},
	},
	"whoami": {
		func(ctx context.Context, c *client.Client, _ map[string]string) (any, error) { return c.Whoami(ctx) },
		func(map[string]string) ([]string, string) { return []string{"auth", "whoami"}, "" },
	},
	"tokens.create": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.MintToken(ctx, client.MintRequest{Role: a["role"]})
		},
		func(a map[string]string) ([]string, string) {
			return []string{"tokens", "create", "--role", a["role"]}, ""
		},
	},
	// The HTTP door sends the YAML spec as the equivalent request.
	"tokens.create-yaml": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			var body map[string]any
			if err := yaml.Unmarshal([]byte(a["yaml"]), &body); err != nil {
				return nil, err
			}
			var req client.MintRequest
			if b, err := json.Marshal(body); err != nil || json.Unmarshal(b, &req) != nil {
				return nil, fmt.Errorf("the YAML spec is not a MintRequest: %s", a["yaml"])
			}
			return c.MintToken(ctx, req)
		},
		func(a map[string]string) ([]string, string) {
			return []string{"tokens", "create", "-c", "-"}, a["yaml"]
		},
	},
	"tokens.list": {
		func(ctx context.Context, c *client.Client, _ map[string]string) (any, error) { return c.Tokens(ctx) },
		func(map[string]string) ([]string, string) { return []string{"tokens", "list"}, "" },
	},
	"tokens.revoke": {
		func(ctx context.Context, c *client.Client, a map[string]string) (any, error) {
			return c.RevokeToken(ctx, a["id"])
		},
		func(a map[string]string) ([]string, string) { return []string{"tokens", "revoke", a["id"]}, "" },
	},
}

// doorOutcome is what a door observed.
type doorOutcome struct {
	ok     bool
	exit   int    // the CLI's exit code (the HTTP door: 0, or 2 for a denied check)
	status int    // HTTP status of a refusal; 0 when the CLI refused before sending
	code   string // the API's error code
	answer string // compact JSON answer, sorted keys
	errMsg string // "field: message" (API) or standard error (CLI)
}

// compactJSON re-encodes a JSON document compactly with sorted keys.
func compactJSON(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v), "answer is not JSON: %s", data)
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

type door struct {
	name string
	run  func(t *testing.T, token, op string, a map[string]string) doorOutcome
}

// httpDoor calls the API through the typed client (client/), as data services do.
func httpDoor(s *harness.Server) door {
	return door{name: "http", run: func(t *testing.T, token, op string, a map[string]string) doorOutcome {
		c := client.New(s.URL, client.WithToken(token))
		out, err := doorOps[op].api(t.Context(), c, a)
		if err == nil {
			b, merr := json.Marshal(out)
			require.NoError(t, merr)
			got := doorOutcome{ok: true, answer: compactJSON(t, b)}
			if cr, ok := out.(client.CheckResponse); ok && !cr.Allowed {
				got.exit = 2 // what the CLI says with its exit code
			}
			return got
		}
		var ae *client.Error
		require.ErrorAs(t, err, &ae, "%s: not an API refusal", op)
		msg := ae.Message
		if ae.Field != "" {
			msg = ae.Field + ": " + msg // as the CLI shows it
		}
		return doorOutcome{status: ae.Status, code: ae.Code, errMsg: msg}
	}}
}

// cliErrSuffix is how the CLI reports an API refusal: "... (HTTP 401, unauthenticated)".
var cliErrSuffix = regexp.MustCompile(`\(HTTP (\d+), ([a-z_]+)\)\s*$`)

// ghCommand is the gatehouse binary with a clean environment pointing at s.
func ghCommand(ctx context.Context, t *testing.T, s *harness.Server, token, configPath string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, harness.BuildGatehouse(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GATEHOUSE_ADDR="+s.URL, "GATEHOUSE_TOKEN="+token, "GATEHOUSE_CONFIG="+configPath)
	return cmd
}

func cliDoor(s *harness.Server, configPath string) door {
	return door{name: "cli", run: func(t *testing.T, token, op string, a map[string]string) doorOutcome {
		args, stdin := doorOps[op].cli(a)
		args = append(args, "-o", "json")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := ghCommand(ctx, t, s, token, configPath, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &ee, "gatehouse %v", args)
		}
		if err == nil || ee.ExitCode() == 2 { // 2: a check answered "denied"
			require.Empty(t, stderr.String(), "gatehouse %v", args)
			out := doorOutcome{ok: true, answer: compactJSON(t, stdout.Bytes())}
			if err != nil {
				out.exit = 2
			}
			return out
		}
		require.Equal(t, 1, ee.ExitCode(), "gatehouse %v: errors exit 1; stderr %s", args, stderr.String())
		require.Empty(t, stdout.String(), "gatehouse %v: nothing on stdout after an error", args)
		msg := strings.TrimSpace(stderr.String())
		require.True(t, strings.HasPrefix(msg, "error: "), "gatehouse %v: stderr %q", args, msg)
		out := doorOutcome{exit: 1, errMsg: msg}
		if m := cliErrSuffix.FindStringSubmatch(msg); m != nil {
			out.status, _ = strconv.Atoi(m[1])
			out.code = m[2]
		}
		return out
	}}
}

func TestPeopleAndKeysHTTPAndCLI(t *testing.T) {
	s := harness.StartGatehouse(t, "--service-domain", "example.test")
	runDoorCases(t, s, doorCases)
}

// badToken is a saved value every door starts with: a token the server refuses.
const badToken = "gth_not_a_token"

// runDoorCases activates s and runs every case through both doors, each door with its
// own org ({org} is acme-http or acme-cli) and its own saved values ("admin", "bad").
// It returns the admin token.
func runDoorCases(t *testing.T, s *harness.Server, cases []doorCase) string {
	act, err := client.New(s.URL, client.WithToken("")).Activate(t.Context(), client.ActivateRequest{InitialAdmin: "robot:admin"})
	require.NoError(t, err)

	doors := []door{httpDoor(s), cliDoor(s, filepath.Join(t.TempDir(), "gatehouse", "config.yaml"))}
	saved := map[string]map[string]string{} // door -> name -> value
	for _, d := range doors {
		saved[d.name] = map[string]string{"admin": act.Token, "bad": badToken, "org": "acme-" + d.name}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, d := range doors {
				t.Run(d.name, func(t *testing.T) {
					for i, st := range c.steps {
						runDoorStep(t, d, saved[d.name], i, st)
					}
				})
			}
		})
	}
	return act.Token
}

// runDoorStep runs one step through one door and checks its outcome.
func runDoorStep(t *testing.T, d door, vals map[string]string, i int, st doorStep) {
	var pairs []string
	for k, v := range vals {
		pairs = append(pairs, "{"+k+"}", v)
	}
	expand := strings.NewReplacer(pairs...).Replace
	a := map[string]string{"org": vals["org"]}
	for k, v := range st.args {
		a[k] = expand(v)
	}
	as := st.as
	if as == "" {
		as = "admin"
	}
	token, ok := vals[as]
	require.True(t, ok, "step %d: no saved token %q", i, as)
	what := d.name + " step " + strconv.Itoa(i) + " " + st.op
	got := d.run(t, token, st.op, a)
	w := st.want
	if w.fail == 0 {
		require.True(t, got.ok, "%s: want success, got %+v", what, got)
		wantExit := 0
		if w.denied {
			wantExit = 2
		}
		require.Equal(t, wantExit, got.exit, "%s: exit code (0 allowed, 2 denied): %+v", what, got)
	} else {
		require.False(t, got.ok, "%s: want a refusal, got %s", what, got.answer)
		wantStatus := w.fail
		if w.local && d.name == "cli" {
			wantStatus = 0 // refused before anything was sent
		}
		require.Equal(t, wantStatus, got.status, "%s: %+v", what, got)
		if w.code != "" && got.status != 0 {
			require.Equal(t, w.code, got.code, "%s: %+v", what, got)
		}
		require.NotEmpty(t, got.errMsg, what)
	}
	text := got.answer + got.errMsg
	for _, h := range w.has {
		require.Contains(t, text, expand(h), what)
	}
	for _, h := range w.lacks {
		require.NotContains(t, text, expand(h), what)
	}
	if got.ok {
		var answer map[string]any
		require.NoError(t, json.Unmarshal([]byte(got.answer), &answer))
		for name, field := range st.save {
			v, _ := answer[field].(string)
			require.NotEmpty(t, v, "%s: answer has no %q to save: %s", what, field, got.answer)
			vals[name] = v
		}
	}
}

// The CLI's own state (T5, P1): activate saves the address and the admin token (mode
// 0600), so later commands need neither flag nor environment; use-token checks a token
// before saving it; the environment beats the file; logout removes the token.
func TestCLIConfigFile(t *testing.T) {
	s := harness.StartGatehouse(t)
	home := t.TempDir()
	cfgPath := filepath.Join(home, "gatehouse", "config.yaml")
	gh := func(env []string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(harness.BuildGatehouse(t), args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GATEHOUSE_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "XDG_CONFIG_HOME="+home)
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return string(out), code
	}

	out, code := gh(nil, "activate", "--initial-admin", "robot:admin", "--addr", s.URL, "-o", "json")
	require.Equal(t, 0, code, out)
	var act struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(out), &act), out)
	st, err := os.Stat(cfgPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	st, err = os.Stat(filepath.Dir(cfgPath))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	out, code = gh(nil, "whoami")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "robot:admin")

	out, code = gh(nil, "auth", "use-token", "gth_not_a_token")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "401")
	b, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.Contains(t, string(b), act.Token, "a refused token is not saved")

	var minted struct{ Token string }
	require.Equal(t, 201, s.DoJSON(t, "POST", "/api/v1/tokens", act.Token, map[string]string{"role": "admin", "ttl": "1h"}, &minted))
	out, code = gh(nil, "auth", "use-token", minted.Token, "--addr", s.URL)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "robot:admin")
	b, err = os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.Contains(t, string(b), minted.Token)
	out, code = gh(nil, "whoami")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "robot:admin")
	out, code = gh(nil, "orgs", "create", "acme")
	require.Equal(t, 0, code, out)
	out, code = gh(nil, "orgs", "list")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "NAME")
	require.Contains(t, out, "acme")

	// The environment beats the file.
	out, code = gh([]string{"GATEHOUSE_TOKEN=gth_not_a_token"}, "whoami")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "unauthenticated")

	out, code = gh(nil, "auth", "logout")
	require.Equal(t, 0, code, out)
	b, err = os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.NotContains(t, string(b), minted.Token)
	out, code = gh(nil, "whoami")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "401")
}

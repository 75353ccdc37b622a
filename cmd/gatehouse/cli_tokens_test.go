package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

func TestParseTokenSpec(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       tokenSpec
		err        string // substring; "" means success
	}{
		{name: "grants", yaml: "subject: robot:ci  # optional\nttl: 2h\ngrants:\n- functions: [read, write]\n  resources: [repo]\n  orgs: [acme]\n",
			want: tokenSpec{Subject: "robot:ci", TTL: "2h", Grants: []client.Grant{{Functions: []string{"read", "write"}, Resources: []string{"repo"}, Orgs: []string{"acme"}}}}},
		{name: "role", yaml: "role: developer\n", want: tokenSpec{Role: "developer"}},
		{name: "two grants, block lists", yaml: "grants:\n- functions:\n  - read\n  resources: ['*']\n  orgs: ['*']\n- functions: [write]\n  resources: [repo]\n  orgs: [a, b]\n",
			want: tokenSpec{Grants: []client.Grant{{Functions: []string{"read"}, Resources: []string{"*"}, Orgs: []string{"*"}}, {Functions: []string{"write"}, Resources: []string{"repo"}, Orgs: []string{"a", "b"}}}}},
		{name: "unknown top key", yaml: "role: developer\nscope: all\n", err: `line 2: unknown key "scope"`},
		{name: "unknown grant key", yaml: "grants:\n- functions: [read]\n  resourcez: [repo]\n  orgs: [acme]\n", err: `line 3: unknown key "grants[0].resourcez"`},
		{name: "unknown function", yaml: "grants:\n- functions: [read, deploy]\n  resources: [repo]\n  orgs: [acme]\n", err: `grants[0].functions: unknown function "deploy"`},
		{name: "unknown resource", yaml: "grants:\n- functions: [read]\n  resources: [repos]\n  orgs: [acme]\n", err: `grants[0].resources: unknown resource type "repos"`},
		{name: "unknown role", yaml: "role: god\n", err: `role: unknown role "god"`},
		{name: "empty functions", yaml: "grants:\n- functions: []\n  resources: [repo]\n  orgs: [acme]\n", err: "grants[0].functions: must name at least one function"},
		{name: "missing orgs", yaml: "grants:\n- functions: [read]\n  resources: [repo]\n", err: "grants[0].orgs: must name at least one org"},
		{name: "empty grants", yaml: "grants: []\n", err: "grants: must name at least one grant"},
		{name: "null grants", yaml: "grants:\n", err: "grants: must be a list"},
		{name: "empty document", yaml: "# nothing\n", err: "empty token spec"},
		{name: "role and grants", yaml: "role: admin\ngrants:\n- functions: [read]\n  resources: [repo]\n  orgs: [acme]\n", err: "either role or grants"},
		{name: "bad ttl", yaml: "role: admin\nttl: forever\n", err: `ttl: "forever" is not a positive duration`},
		{name: "duplicate key", yaml: "role: admin\nrole: auditor\n", err: `key "role" given twice`},
		{name: "not a mapping", yaml: "- read\n", err: "a token spec is a mapping"},
		{name: "grants not a list", yaml: "grants:\n  functions: [read]\n", err: "grants: must be a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseTokenSpec("policy.yaml", []byte(c.yaml))
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				require.ErrorContains(t, err, "policy.yaml")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// runCmd runs the CLI in-process with stdin and returns stdout, stderr and the error.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// Flag mixtures and bad specs are refused before anything is sent (T3, D3).
func TestTokensCreateRefusesLocally(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("role: developer\n"), 0o600))
	t.Setenv("GATEHOUSE_CONFIG", filepath.Join(t.TempDir(), "config.yaml"))
	cases := []struct {
		args  []string
		stdin string
		err   string
	}{
		{[]string{"--role", "developer", "--functions", "read"}, "", "either --role or --functions"},
		{[]string{"-c", file, "--ttl", "1h"}, "", "-c/--file cannot be combined with --ttl"},
		{[]string{"-c", "-", "--role", "admin"}, "", "-c/--file cannot be combined with --role"},
		{[]string{"--functions", "read", "--resources", "repo"}, "", "--orgs: must name at least one org"},
		{[]string{"--functions", "fly", "--resources", "repo", "--orgs", "acme"}, "", `--functions: unknown function "fly"`},
		{[]string{"--functions", "read", "--resources", "repoz", "--orgs", "acme"}, "", `--resources: unknown resource type "repoz"`},
		{[]string{"--role", "wizard"}, "", `--role: unknown role "wizard"`},
		{[]string{"--role", "admin", "--ttl", "soon"}, "", `--ttl: "soon" is not a positive duration`},
		{[]string{"-c", "-"}, "", "standard input: empty token spec"},
		{[]string{"-c", "-"}, "grants:\n- functions: [read, deploy]\n  resources: [repo]\n  orgs: [acme]\n", `grants[0].functions: unknown function "deploy"`},
		{[]string{"-c", filepath.Join(t.TempDir(), "missing.yaml")}, "", "missing.yaml"},
	}
	for _, c := range cases {
		_, _, err := runCmd(t, c.stdin, append([]string{"tokens", "create", "--addr", srv.URL, "--token", "x"}, c.args...)...)
		require.ErrorContains(t, err, c.err, "%v", c.args)
	}
	require.Zero(t, hits.Load(), "nothing is sent when the spec is refused")
}

package tests

// Issue 8.5 / 7.2: the import route names its errors by line of the NDJSON body, guard
// refusals too (the guard's relationships[i] is 0-based over parsed relationships and
// skips blank lines; the client sees "line N" of what it sent). PL4, O4, R4.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestImportGuardRefusalsNameTheLinePL4O4R4(t *testing.T) {
	e := startActivated(t)
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	for _, team := range []string{"a", "b"} {
		e.json(t, "PUT", "/api/v1/orgs/acme/teams/"+team, e.admin, nil, 200, nil)
	}
	e.json(t, "PUT", "/api/v1/orgs/acme/teams/a/members/team:acme/b", e.admin, nil, 200, nil)
	e.bucketConfigs(t, "acme", "prod", "other") // repo#bucket names stored configs (R4)
	e.write(t, touch("repo:acme/raw#org@org:acme", "repo:acme/raw#bucket@bucket:acme/prod"))

	imp := func(lines ...string) (int, []byte) {
		return e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	}
	ok := `{"relationship":"repo:acme/y#org@org:acme"}`

	// PL4: the agent link is the 2nd relationship but on line 4.
	status, data := imp(ok, "", "  ", `{"relationship":"sa:etl@acme#agent@pipeline:acme/p"}`)
	requireErr(t, "import agent link", status, data, 403, "agent_link", "line 4")

	// O4: a cycle on line 3.
	status, data = imp(ok, "", `{"relationship":"team:acme/b#member@team:acme/a#member"}`)
	requireErr(t, "import team cycle", status, data, 409, "team_cycle", "line 3")

	// R4: a second bucket on line 5; the guard names it in details.field.
	status, data = imp("", ok, "", "", `{"relationship":"repo:acme/raw#bucket@bucket:acme/other"}`)
	ae := requireErr(t, "import second bucket", status, data, 409, "bucket_in_use", "-")
	require.Equal(t, "line 5", ae.Error.Details["field"], "body %s", data)

	// SpiceDB's own refusal (no such relation) is named by line too.
	status, data = imp(ok, "", `{"relationship":"repo:acme/y#nosuch@user:bob@example.com"}`)
	requireErr(t, "import unknown relation", status, data, 400, "", "line 3")

	require.Empty(t, e.read(t, "resource=repo:acme/y"), "nothing of a refused import was written")
}

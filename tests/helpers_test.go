package tests

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// env is the shared state of one backend: one fresh server, the tokens the cases
// hand on to each other, in order.
type env struct {
	backend string
	s       *harness.Server

	admin     string // robot:admin's token (activation)
	ci        string // robot:ci's first token (ID3), no grants, not an admin
	checker   string // robot:ci token granted the check function
	writtenAt string // the last written_at seen
	stopSpice func() // stops the backend's SpiceDB (spicedb-postgres only)
}

// apiErr is the API's error body.
type apiErr struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Field   string         `json:"field"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (e *env) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	return e.s.Do(t, method, path, token, body)
}

// json does a request, requires status want, and decodes the body into out (if not nil).
func (e *env) json(t *testing.T, method, path, token string, body any, want int, out any) []byte {
	t.Helper()
	status, data := e.do(t, method, path, token, body)
	require.Equal(t, want, status, "%s %s: body %s", method, path, data)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out), "%s %s: body %s", method, path, data)
	}
	return data
}

// fail does a request and requires an error answer: status, code and field ("" means
// "not checked" for code; field is always compared when wantField is not "-").
func (e *env) fail(t *testing.T, method, path, token string, body any, want int, code, field string) apiErr {
	t.Helper()
	status, data := e.do(t, method, path, token, body)
	return requireErr(t, method+" "+path, status, data, want, code, field)
}

func requireErr(t *testing.T, what string, status int, data []byte, want int, code, field string) apiErr {
	t.Helper()
	require.Equal(t, want, status, "%s: body %s", what, data)
	var ae apiErr
	require.NoError(t, json.Unmarshal(data, &ae), "%s: error body is not JSON: %s", what, data)
	require.NotEmpty(t, ae.Error.Code, "%s: error without code: %s", what, data)
	require.NotEmpty(t, ae.Error.Message, "%s: error without message: %s", what, data)
	if code != "" {
		require.Equal(t, code, ae.Error.Code, "%s: body %s", what, data)
	}
	if field != "-" {
		require.Equal(t, field, ae.Error.Field, "%s: body %s", what, data)
	}
	return ae
}

// raw sends a request with an explicit content type (or none when ct is "").
func (e *env) raw(t *testing.T, method, path, token, ct string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.s.URL+path, body)
	require.NoError(t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

type checkResp struct {
	Allowed   bool   `json:"allowed"`
	CheckedAt string `json:"checked_at"`
}

// check asks POST /api/v1/check (fresh: at_least_as_fresh, may be "") and requires 200.
func (e *env) check(t *testing.T, token, resource, permission, subject, fresh string) bool {
	t.Helper()
	body := map[string]string{"resource": resource, "permission": permission}
	if subject != "" {
		body["subject"] = subject
	}
	if fresh != "" {
		body["at_least_as_fresh"] = fresh
	}
	var out checkResp
	e.json(t, "POST", "/api/v1/check", token, body, 200, &out)
	require.NotEmpty(t, out.CheckedAt, "check %s %s %s: no checked_at", resource, permission, subject)
	return out.Allowed
}

type upd struct {
	Operation    string `json:"operation"`
	Relationship string `json:"relationship"`
}

func touch(rels ...string) []upd  { return ops("touch", rels...) }
func remove(rels ...string) []upd { return ops("delete", rels...) }
func ops(op string, rels ...string) []upd {
	out := make([]upd, 0, len(rels))
	for _, r := range rels {
		out = append(out, upd{Operation: op, Relationship: r})
	}
	return out
}

// write posts relationship updates as the admin, requires 200 and remembers written_at.
func (e *env) write(t *testing.T, updates []upd) string {
	t.Helper()
	var out struct {
		WrittenAt string `json:"written_at"`
	}
	e.json(t, "POST", "/api/v1/relationships", e.admin, map[string]any{"updates": updates}, 200, &out)
	require.NotEmpty(t, out.WrittenAt, "write: no written_at")
	e.writtenAt = out.WrittenAt
	return out.WrittenAt
}

// read lists relationships matching the query string (e.g. "resource=repo:acme/raw").
func (e *env) read(t *testing.T, query string) []string {
	t.Helper()
	var out struct {
		Relationships []string `json:"relationships"`
	}
	e.json(t, "GET", "/api/v1/relationships?"+query, e.admin, nil, 200, &out)
	require.NotNil(t, out.Relationships, "relationships must be a list, not null")
	return out.Relationships
}

// export returns the NDJSON export's relationship strings and the raw body.
func (e *env) export(t *testing.T) ([]string, []byte) {
	t.Helper()
	status, data := e.do(t, "GET", "/api/v1/relationships/export", e.admin, nil)
	require.Equal(t, 200, status, "export: %s", data)
	var rels []string
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), "export line %d: %q", i+1, line)
		require.Len(t, l, 1, "export line %d must be exactly {\"relationship\":...}: %q", i+1, line)
		r, ok := l["relationship"].(string)
		require.True(t, ok && r != "", "export line %d: %q", i+1, line)
		rels = append(rels, r)
	}
	return rels, data
}

// mutate changes one character of a token's secret part.
func mutate(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

// wellFormedUnknownToken builds a token with the right shape and checksum that was
// never issued (mirrors tokens/format.go: gth_ + 16 id + 52 secret + 7 CRC-32 chars).
func wellFormedUnknownToken() string {
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	body := strings.Repeat("q", 16) + strings.Repeat("z", 52)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE([]byte(body)))
	return "gth_" + body + enc.EncodeToString(sum[:])
}

// spiceProc is a SpiceDB server on PostgreSQL that a test stops mid-way (fail closed).
type spiceProc struct {
	endpoint, key string
	stop          func()
}

// startSpiceDBOnPostgres migrates the database and runs `spicedb serve` on it
// (harness.StartSpiceDBServer, which stops it when the test ends).
// E2E_SPICEDB_EXTRA_ARGS (space-separated) adds flags, e.g.
// "--datastore-revision-quantization-interval=0s" to rule out stale snapshots.
func startSpiceDBOnPostgres(t *testing.T, pgURL string) *spiceProc {
	t.Helper()
	sp := harness.StartSpiceDBServer(t, pgURL, strings.Fields(os.Getenv("E2E_SPICEDB_EXTRA_ARGS"))...)
	return &spiceProc{endpoint: sp.Endpoint, key: sp.Key, stop: sp.Stop}
}

// runCLI runs the gatehouse binary with GATEHOUSE_TOKEN set and returns its output and exit code.
func runCLI(t *testing.T, token string, args ...string) (string, int) {
	t.Helper()
	bin := harness.BuildGatehouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GATEHOUSE_TOKEN="+token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run %v", args)
		code = ee.ExitCode()
	}
	return out.String(), code
}

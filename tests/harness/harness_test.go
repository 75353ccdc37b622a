package harness_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/grpcutil"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	authzed "github.com/authzed/authzed-go/v1"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

func TestPostgresUsable(t *testing.T) {
	start := time.Now()
	dbURL := harness.StartPostgres(t)
	t.Logf("StartPostgres (first in process) took %s: %s", time.Since(start), dbURL)
	if !strings.HasPrefix(dbURL, "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(dbURL, "?sslmode=disable") {
		t.Fatalf("unexpected URL %q", dbURL)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO widgets (name) VALUES ($1), ($2)`, "a", "b"); err != nil {
		t.Fatal(err)
	}
	var n int
	var names string
	if err := conn.QueryRow(ctx, `SELECT count(*), string_agg(name, ',' ORDER BY id) FROM widgets`).Scan(&n, &names); err != nil {
		t.Fatal(err)
	}
	if n != 2 || names != "a,b" {
		t.Fatalf("got %d rows %q", n, names)
	}
}

func TestPostgresDatabasesAreIsolated(t *testing.T) {
	start := time.Now()
	a := harness.StartPostgres(t)
	t.Logf("StartPostgres took %s", time.Since(start))
	start = time.Now()
	b := harness.StartPostgres(t)
	t.Logf("StartPostgres (warm) took %s", time.Since(start))
	c := harness.NewDatabase(t, a)
	if a == b || a == c || b == c {
		t.Fatalf("databases not distinct: %s %s %s", a, b, c)
	}
	ctx := context.Background()
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{b, c} {
		cb, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var exists bool
		err = cb.QueryRow(ctx, `SELECT to_regclass('only_in_a') IS NOT NULL`).Scan(&exists)
		cb.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Fatalf("table created in %s is visible in %s", a, u)
		}
	}
}

const testSchema = `definition user {}
definition doc {
	relation viewer: user
	permission view = viewer
}`

func exerciseSpiceDB(t *testing.T, endpoint, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A wrong key is refused.
	bad, err := authzed.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpcutil.WithInsecureBearerToken("not-the-key"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.ReadSchema(ctx, &v1.ReadSchemaRequest{}); status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong key: got %v, want PermissionDenied", err)
	}

	c := harness.SpiceDBClient(t, endpoint, key)
	if _, err := c.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: testSchema}); err != nil {
		t.Fatalf("WriteSchema: %v", err)
	}
	wr, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: "readme"},
			Relation: "viewer",
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "alice"}},
		},
	}}})
	if err != nil {
		t.Fatalf("WriteRelationships: %v", err)
	}
	check := func(user string) v1.CheckPermissionResponse_Permissionship {
		resp, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: wr.WrittenAt}},
			Resource:    &v1.ObjectReference{ObjectType: "doc", ObjectId: "readme"},
			Permission:  "view",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		})
		if err != nil {
			t.Fatalf("CheckPermission(%s): %v", user, err)
		}
		return resp.Permissionship
	}
	if got := check("alice"); got != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
		t.Fatalf("alice: %v", got)
	}
	if got := check("bob"); got != v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION {
		t.Fatalf("bob: %v", got)
	}
}

func TestSpiceDBOnPostgres(t *testing.T) {
	dbURL := harness.StartPostgres(t)
	start := time.Now()
	endpoint, key := harness.StartSpiceDB(t, dbURL)
	t.Logf("StartSpiceDB (postgres) took %s", time.Since(start))
	if key == "" {
		t.Fatal("empty preshared key")
	}
	exerciseSpiceDB(t, endpoint, key)

	// A second server on a second database starts warm.
	start = time.Now()
	endpoint2, key2 := harness.StartSpiceDB(t, harness.StartPostgres(t))
	t.Logf("StartSpiceDB (postgres, warm) took %s", time.Since(start))
	if endpoint2 == endpoint || key2 == key {
		t.Fatalf("second server reuses endpoint or key")
	}
	exerciseSpiceDB(t, endpoint2, key2)
}

func TestSpiceDBMemory(t *testing.T) {
	start := time.Now()
	endpoint, key := harness.StartSpiceDB(t, "")
	t.Logf("StartSpiceDB (memory) took %s", time.Since(start))
	exerciseSpiceDB(t, endpoint, key)
}

func fakeServe(t *testing.T) string {
	return harness.BuildBinary(t, "./tests/harness/testdata/fakeserve")
}

func TestStartGatehouseWithFakeServer(t *testing.T) {
	t.Setenv("GATEHOUSE_LEAK", "must-not-reach-the-server")
	bin := fakeServe(t)
	start := time.Now()
	s := harness.StartGatehouseWith(t, harness.StartOptions{
		Bin:  bin,
		Args: []string{"--ready-after", "500ms"},
		Env:  []string{"GATEHOUSE_PASSED=yes"},
	})
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("returned after %s, before /readyz was 200", d)
	}
	var echo struct {
		Method, Auth, Body string
		ContentType        string `json:"content_type"`
		Env                []string
	}
	code := s.DoJSON(t, http.MethodPost, "/echo", "tok123", map[string]string{"a": "b"}, &echo)
	if code != http.StatusTeapot {
		t.Fatalf("status %d", code)
	}
	if echo.Method != "POST" || echo.Auth != "Bearer tok123" || echo.Body != `{"a":"b"}` || echo.ContentType != "application/json" {
		t.Fatalf("echo: %+v", echo)
	}
	// The harness's own secret key (every test server seals bucket secrets with it), and
	// what the test passed; nothing from the test process's environment.
	env := slices.DeleteFunc(slices.Clone(echo.Env), func(e string) bool { return e == "GATEHOUSE_SECRET_KEY="+harness.TestSecretKey })
	if strings.Join(env, ",") != "GATEHOUSE_PASSED=yes" {
		t.Fatalf("server saw GATEHOUSE env %v", echo.Env)
	}
	code, body := s.Do(t, http.MethodGet, "/echo", "", nil)
	if code != http.StatusTeapot || !strings.Contains(string(body), `"auth":""`) {
		t.Fatalf("GET /echo: %d %s", code, body)
	}

	s.Stop()
	exited, err := s.Exited()
	if !exited || err != nil {
		t.Fatalf("after Stop: exited=%v err=%v", exited, err)
	}
	if !strings.Contains(s.Log(), "shutting down") {
		t.Fatalf("SIGTERM not delivered; log:\n%s", s.Log())
	}
	s.Stop() // idempotent
}

func TestStartGatehouseKill(t *testing.T) {
	s := harness.StartGatehouseWith(t, harness.StartOptions{Bin: fakeServe(t)})
	s.Kill()
	exited, err := s.Exited()
	var ee *exec.ExitError
	if !exited || !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("after Kill: exited=%v err=%v", exited, err)
	}
	if strings.Contains(s.Log(), "shutting down") {
		t.Fatal("Kill ran the graceful path")
	}
}

// TestStartGatehouseFailures checks the failure paths in a child process
// (they call t.Fatal, which would fail this test).
func TestStartGatehouseFailures(t *testing.T) {
	if mode := os.Getenv("HARNESS_FAILURE_MODE"); mode != "" {
		opts := harness.StartOptions{Bin: fakeServe(t)}
		switch mode {
		case "exit":
			opts.Args = []string{"--fail"}
		case "timeout":
			opts.Args = []string{"--ready-after", "1h"}
			opts.ReadyTimeout = 1 * time.Second
		}
		harness.StartGatehouseWith(t, opts)
		t.Log("UNEXPECTED: StartGatehouseWith returned")
		return
	}
	for mode, want := range map[string]string{
		"exit":    "failing on purpose",
		"timeout": "not 200 after 1s",
	} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestStartGatehouseFailures$", "-test.v")
			cmd.Env = append(os.Environ(), "HARNESS_FAILURE_MODE="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "UNEXPECTED") {
				t.Fatalf("err=%v, want failure mentioning %q; output:\n%s", err, want, out)
			}
		})
	}
}

func TestPostgresParallel(t *testing.T) {
	seen := make(chan string, 4)
	t.Run("group", func(t *testing.T) {
		for i := 0; i < 4; i++ {
			t.Run("db", func(t *testing.T) {
				t.Parallel()
				u := harness.StartPostgres(t)
				conn, err := pgx.Connect(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				if _, err := conn.Exec(context.Background(), `CREATE TABLE t (x int)`); err != nil {
					t.Fatal(err)
				}
				seen <- u
			})
		}
	})
	close(seen)
	uniq := map[string]bool{}
	for u := range seen {
		uniq[u] = true
	}
	if len(uniq) != 4 {
		t.Fatalf("got %d distinct databases, want 4", len(uniq))
	}
}

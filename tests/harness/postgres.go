package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgCluster is the one PostgreSQL cluster shared by a test process.
type pgCluster struct {
	dir     string // owned by the postgres user; holds data/, sock/ and postgres.log
	port    int
	baseURL string // URL of the "postgres" maintenance database
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}              // closed when the postmaster exits
	restart func() (*pgCluster, error) // runs the postmaster again on the same data and port
}

var (
	pgMu      sync.Mutex // guards the fields below
	pgShared  *pgCluster
	pgErr     error // sticky start failure, reported to every caller
	pgStopped bool

	dbCounter atomic.Int64
	pgSkipped atomic.Int64 // tests skipped for want of PostgreSQL (GATEHOUSE_SKIP_POSTGRES=1)
	createMu  sync.Mutex   // serialises CREATE DATABASE (template1 contention)
)

// StartPostgres returns the URL of a fresh, empty database
// (postgres://postgres@127.0.0.1:<port>/<db>?sslmode=disable, user postgres,
// trust auth). The first call in a process starts a throwaway cluster that
// later calls share; stop it with Cleanup from TestMain. The database is
// dropped when the test ends.
//
// If the PostgreSQL binaries are not found (PATH, GATEHOUSE_PG_BIN,
// /usr/lib/postgresql/*/bin) the test fails and says how to get them, unless
// GATEHOUSE_SKIP_POSTGRES=1 asks to skip such tests: then it is skipped loudly and
// counted, and Cleanup prints the count.
func StartPostgres(t testing.TB) string {
	t.Helper()
	binDir := findPostgresBin()
	if binDir == "" {
		msg := "POSTGRESQL NOT FOUND for " + t.Name() +
			" (no initdb/postgres in PATH, GATEHOUSE_PG_BIN or /usr/lib/postgresql/*/bin): " +
			"install it (Debian: apt-get install postgresql, or run scripts/test-deps.sh), " +
			"or set GATEHOUSE_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
		if os.Getenv("GATEHOUSE_SKIP_POSTGRES") != "1" {
			t.Fatal(msg)
		}
		pgSkipped.Add(1)
		fmt.Fprintln(os.Stderr, "!!!! SKIPPED (GATEHOUSE_SKIP_POSTGRES=1):", msg)
		t.Skip(msg)
	}

	pgMu.Lock()
	if pgShared == nil && pgErr == nil {
		if pgStopped {
			pgErr = errors.New("harness.Cleanup already stopped the shared cluster")
		} else {
			start := time.Now()
			pgShared, pgErr = startCluster(binDir)
			if pgErr == nil {
				t.Logf("harness: PostgreSQL cluster on port %d started in %s (%s)", pgShared.port, time.Since(start).Round(time.Millisecond), pgShared.dir)
			}
		}
	}
	c, err := pgShared, pgErr
	pgMu.Unlock()
	if err != nil {
		t.Fatalf("harness: StartPostgres: %v", err)
	}
	select {
	case <-c.done:
		t.Fatalf("harness: shared PostgreSQL cluster has exited; log tail:\n%s", logTail(c.logPath, 50))
	default:
	}
	return NewDatabase(t, c.baseURL)
}

// NewDatabase creates another fresh database on the cluster baseURL points at
// (any database URL of that cluster works) and returns its URL. The database
// is dropped (WITH FORCE) when the test ends.
func NewDatabase(t testing.TB, baseURL string) string {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatalf("harness: NewDatabase: bad base URL %q: %v", baseURL, err)
	}
	name := fmt.Sprintf("t%d_%s", dbCounter.Add(1), sanitizeDBName(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := execAdmin(ctx, baseURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("harness: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execAdmin(ctx, baseURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("harness: drop database %s: %v", name, err)
		}
	})
	nu := *u
	nu.Path = "/" + name
	return nu.String()
}

// Cleanup stops the shared PostgreSQL cluster and removes its directory and
// the binaries built by BuildGatehouse. Call it from TestMain after m.Run.
// Safe to call when nothing was started, and more than once.
func Cleanup() {
	pgMu.Lock()
	c := pgShared
	pgShared, pgStopped = nil, true
	pgMu.Unlock()
	if c != nil {
		c.stop()
	}
	cleanupBuilds()
	if n := pgSkipped.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "\n!!!! %d test(s) SKIPPED for want of PostgreSQL (GATEHOUSE_SKIP_POSTGRES=1)\n", n)
	}
	reportNginxSkipped()
}

func execAdmin(ctx context.Context, dbURL, sql string) error {
	createMu.Lock()
	defer createMu.Unlock()
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var conn *pgx.Conn
		conn, err = pgx.Connect(ctx, dbURL)
		if err == nil {
			_, err = conn.Exec(ctx, sql)
			conn.Close(context.Background())
		}
		// "source database is being accessed by other users" is transient.
		if err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

func sanitizeDBName(s string) string {
	s = nonIdent.ReplaceAllString(strings.ToLower(s), "_")
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Trim(s, "_")
}

// findPostgresBin returns a directory holding initdb and postgres, or "".
func findPostgresBin() string {
	ok := func(dir string) bool {
		return isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
	}
	if d := os.Getenv("GATEHOUSE_PG_BIN"); d != "" && ok(d) {
		return d
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Debian puts symlinks (or nothing) in PATH; the real directory also
		// has pg_ctl, pg_isready and the matching share/ files.
		if r, err := filepath.EvalSymlinks(p); err == nil && ok(filepath.Dir(r)) {
			return filepath.Dir(r)
		}
		if ok(filepath.Dir(p)) {
			return filepath.Dir(p)
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { // newest major version first
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(matches[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(matches[j])))
		return vi > vj
	})
	for _, d := range matches {
		if ok(d) {
			return d
		}
	}
	return ""
}

// pgCredential returns the credential to run PostgreSQL binaries with: the
// postgres user when we are root (postgres refuses to run as root), nil
// (the current user) otherwise.
func pgCredential() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, -1, -1, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("running as root but no 'postgres' user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, uid, gid, nil
}

func pgEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		if strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LANG=C", "LC_ALL=C", "HOME="+dir, "TZ=UTC")
}

// startCluster runs initdb and a postmaster; settings are added as -c name=value.
func startCluster(binDir string, settings ...string) (*pgCluster, error) {
	cred, uid, gid, err := pgCredential()
	if err != nil {
		return nil, err
	}
	dir, err := mkProcessTempDir("pg")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(dir)
		}
	}()
	sockDir := filepath.Join(dir, "sock")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, d := range []string{dir, sockDir} {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, err
			}
		}
		// The postgres user must be able to reach dir: os.TempDir() is
		// normally /tmp (1777); a TMPDIR under /root would not work.
	}
	dataDir := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(binDir, "initdb"),
		"-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync",
		"-E", "UTF8", "--locale=C", "--no-instructions")
	initdb.Dir = dir
	initdb.Env = pgEnv(dir)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}

	logPath := filepath.Join(dir, "postgres.log")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := runPostmaster(binDir, dir, dataDir, sockDir, logPath, cred, 0, settings...)
		if err == nil {
			ok = true
			return c, nil
		}
		lastErr = err
		if !isBindError(err.Error()) {
			break
		}
	}
	return nil, lastErr
}

// runPostmaster starts postgres on dataDir, on port (0: a free one).
func runPostmaster(binDir, dir, dataDir, sockDir, logPath string, cred *syscall.Credential, port int, settings ...string) (*pgCluster, error) {
	var err error
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", dataDir, "-p", strconv.Itoa(port), "-k", sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "track_commit_timestamp=on", // SpiceDB's Watch API needs it
		"-c", "max_connections=500", "-c", "shared_buffers=32MB",
		"-c", "logging_collector=off")
	for _, kv := range settings {
		cmd.Args = append(cmd.Args, "-c", kv) // later settings win
	}
	cmd.Dir = dir
	cmd.Env = pgEnv(dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		Setpgid:    true,
		// If the test binary dies without calling Cleanup, the postmaster
		// dies too (its children notice and exit on their own).
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &pgCluster{
		dir: dir, port: port, logPath: logPath, cmd: cmd, done: make(chan struct{}),
		restart: func() (*pgCluster, error) {
			return runPostmaster(binDir, dir, dataDir, sockDir, logPath, cred, port, settings...)
		},
		baseURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
	}
	go func() { _ = cmd.Wait(); close(c.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.baseURL)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(context.Background())
		}
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("postgres exited during startup: %v\n%s", cmd.ProcessState, logTail(logPath, 50))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return nil, fmt.Errorf("postgres not ready after 60s: %w\n%s", err, logTail(logPath, 50))
		}
	}
}

func (c *pgCluster) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// stop shuts the postmaster down (immediate mode: the data is thrown away
// anyway) and removes the cluster directory.
func (c *pgCluster) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.kill()
	}
	// The postmaster waits for its backends in immediate mode; kill any
	// straggler in its process group anyway.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	_ = os.RemoveAll(c.dir)
}

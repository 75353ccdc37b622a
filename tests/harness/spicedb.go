package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authzed "github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const spicedbPkg = "github.com/authzed/spicedb/cmd/spicedb"

var (
	spicedbMu  sync.Mutex
	spicedbBin string
	spicedbErr error
)

// SpiceDBBinary returns the path of a real SpiceDB binary: GATEHOUSE_SPICEDB_BIN
// if set, else the version pinned in go.mod, built once into
// <user cache dir>/gatehouse-harness/spicedb-<hash of the pin>/spicedb and
// reused by later test processes (the first build takes about a minute).
func SpiceDBBinary(t testing.TB) string {
	t.Helper()
	spicedbMu.Lock()
	defer spicedbMu.Unlock()
	if spicedbBin == "" && spicedbErr == nil {
		start := time.Now()
		spicedbBin, spicedbErr = buildSpiceDB()
		if spicedbErr == nil {
			t.Logf("harness: spicedb binary %s ready in %s", spicedbBin, time.Since(start).Round(time.Millisecond))
		}
	}
	if spicedbErr != nil {
		t.Fatalf("harness: spicedb binary: %v", spicedbErr)
	}
	return spicedbBin
}

func buildSpiceDB() (string, error) {
	if p := os.Getenv("GATEHOUSE_SPICEDB_BIN"); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("GATEHOUSE_SPICEDB_BIN=%s is not an executable file", p)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	// The cache key is every go.mod line that pins or replaces spicedb.
	h := sha256.New()
	fmt.Fprintln(h, runtime.GOOS, runtime.GOARCH)
	sc := bufio.NewScanner(strings.NewReader(string(gomod)))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "github.com/authzed/spicedb ") {
			fmt.Fprintln(h, strings.TrimSpace(sc.Text()))
		}
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		cacheRoot = os.TempDir()
	}
	dir := filepath.Join(cacheRoot, "gatehouse-harness", "spicedb-"+hex.EncodeToString(h.Sum(nil))[:16])
	bin := filepath.Join(dir, "spicedb")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build to a private name and rename, so parallel test processes never
	// see (or execute) a half-written binary.
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	args := append([]string{"build"}, buildFlags()...)
	args = append(args, "-o", tmp, spicedbPkg)
	cmd := exec.Command(goBin(), args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("go build %s: %w\n%s", spicedbPkg, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// StartSpiceDB runs a real SpiceDB server for the test and returns its gRPC
// endpoint (127.0.0.1:<port>, plaintext) and a random preshared key.
// datastoreURL is a PostgreSQL URL (for instance from StartPostgres; the
// schema is migrated to head first) or "" for the in-memory datastore.
// extraArgs are appended to `spicedb serve`. The server is stopped when the
// test ends; if the test failed, the last 50 lines of its log are printed.
func StartSpiceDB(t testing.TB, datastoreURL string, extraArgs ...string) (endpoint, presharedKey string) {
	t.Helper()
	s := StartSpiceDBServer(t, datastoreURL, extraArgs...)
	return s.Endpoint, s.Key
}

// SpiceDB is a running SpiceDB server (StartSpiceDBServer). The failure drills kill it
// and start it again on the same endpoint, key and datastore.
type SpiceDB struct {
	Endpoint string // 127.0.0.1:<port>, plaintext gRPC
	Key      string // preshared key
	LogPath  string

	bin  string
	args []string // of `spicedb serve`, the endpoint included
	logf *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartSpiceDBServer is StartSpiceDB returning the server, which can be stopped, killed
// and restarted; it is stopped when the test ends.
func StartSpiceDBServer(t testing.TB, datastoreURL string, extraArgs ...string) *SpiceDB {
	t.Helper()
	bin := SpiceDBBinary(t)
	logDir := t.TempDir()
	logPath := filepath.Join(logDir, "spicedb.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		logf.Close()
		scanFile(t, logPath) // the secret scan (secrets.go)
		if t.Failed() {
			t.Logf("harness: last 50 lines of the SpiceDB log %s:\n%s", logPath, logTail(logPath, 50))
		}
	})

	common := []string{"--skip-release-check", "--log-format=console", "--log-level=info"}
	datastore := []string{"--datastore-engine", "memory"}
	if datastoreURL != "" {
		datastore = []string{"--datastore-engine", "postgres", "--datastore-conn-uri", datastoreURL}
		migrateSpiceDB(t, bin, logf, append(datastore, common...))
	}

	s := &SpiceDB{Key: randomHex(16), LogPath: logPath, bin: bin, logf: logf}
	start := time.Now()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		s.Endpoint = "127.0.0.1:" + strconv.Itoa(port)
		s.args = []string{"serve",
			"--grpc-preshared-key", s.Key,
			"--grpc-addr", s.Endpoint,
			"--grpc-shutdown-grace-period", "2s",
			"--http-enabled=false",
			"--metrics-enabled=false",
			"--dispatch-cluster-enabled=false",
			"--telemetry-endpoint=",
		}
		s.args = append(s.args, datastore...)
		s.args = append(s.args, common...)
		s.args = append(s.args, extraArgs...)
		fmt.Fprintf(logf, "=== harness: starting spicedb on %s (attempt %d)\n", s.Endpoint, attempt+1)
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			t.Logf("harness: spicedb serving on %s after %s", s.Endpoint, time.Since(start).Round(time.Millisecond))
			return s
		}
		s.Stop()
		if !isBindError(logTail(logPath, 20)) {
			break
		}
	}
	t.Fatalf("harness: spicedb did not become ready: %v\nlast 50 log lines:\n%s", lastErr, logTail(logPath, 50))
	return nil
}

// migrateSpiceDB runs `spicedb datastore migrate head` with args, logging to logf.
func migrateSpiceDB(t testing.TB, bin string, logf *os.File, args []string) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mig := exec.CommandContext(ctx, bin, append([]string{"datastore", "migrate", "head"}, args...)...)
	mig.Stdout, mig.Stderr = logf, logf
	if err := mig.Run(); err != nil {
		t.Fatalf("harness: spicedb datastore migrate head: %v\n%s", err, logTail(logf.Name(), 50))
	}
	t.Logf("harness: spicedb migrate head took %s", time.Since(start).Round(time.Millisecond))
}

// start runs `spicedb serve` with s.args and waits until it serves (60s).
func (s *SpiceDB) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s.logf, s.logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start spicedb: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return waitSpiceDB(s.Endpoint, done, 60*time.Second)
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 10s). Safe when
// it has already exited.
func (s *SpiceDB) Stop() { s.signal(syscall.SIGTERM) }

// Kill sends SIGKILL and waits for the process to exit.
func (s *SpiceDB) Kill() { s.signal(syscall.SIGKILL) }

func (s *SpiceDB) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts the server again, after Stop or Kill, on the same endpoint, key and
// datastore, and waits until it serves.
func (s *SpiceDB) Restart(t testing.TB) {
	t.Helper()
	fmt.Fprintf(s.logf, "=== harness: restarting spicedb on %s\n", s.Endpoint)
	if err := s.start(); err != nil {
		t.Fatalf("harness: spicedb restart: %v\nlast 50 log lines:\n%s", err, logTail(s.LogPath, 50))
	}
}

// waitSpiceDB polls the gRPC health service until it reports SERVING.
func waitSpiceDB(endpoint string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	// Wait for the port first: a gRPC connection that fails its first dial
	// backs off for a second before trying again.
	for {
		c, err := net.DialTimeout("tcp", endpoint, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			return fmt.Errorf("spicedb exited during startup (%w)", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port not open after %s: %w", timeout, err)
		}
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("health status %s", resp.GetStatus())
		}
		select {
		case <-done:
			return fmt.Errorf("spicedb exited during startup (last check: %w)", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving after %s: %w", timeout, err)
		}
	}
}

// SpiceDBClient returns an authzed client for a server started by
// StartSpiceDB (plaintext, bearer = preshared key), closed when the test ends.
func SpiceDBClient(t testing.TB, endpoint, presharedKey string) *authzed.Client {
	t.Helper()
	c, err := authzed.NewClient(endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpcutil.WithInsecureBearerToken(presharedKey))
	if err != nil {
		t.Fatalf("harness: spicedb client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

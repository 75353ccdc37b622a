package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu   sync.Mutex
	buildDir  string                // per-process directory for built binaries
	buildBins = map[string]string{} // package path -> binary
	buildErrs = map[string]error{}
)

// BuildGatehouse builds ./cmd/gatehouse once per test process (into a
// per-process directory under os.TempDir(), removed by Cleanup) and returns
// the binary's path.
func BuildGatehouse(t testing.TB) string {
	t.Helper()
	return BuildBinary(t, "./cmd/gatehouse")
}

// BuildBinary builds the main package pkg (a path relative to the module
// root, e.g. "./cmd/gatehouse") once per test process and returns the path
// of the binary.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := buildBins[pkg]; ok {
		return bin
	}
	if err, ok := buildErrs[pkg]; ok {
		t.Fatalf("harness: build %s failed earlier: %v", pkg, err)
	}
	start := time.Now()
	bin, err := buildBinary(pkg)
	if err != nil {
		buildErrs[pkg] = err
		t.Fatalf("harness: build %s: %v", pkg, err)
	}
	buildBins[pkg] = bin
	t.Logf("harness: built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	return bin
}

func buildBinary(pkg string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	if buildDir == "" {
		if buildDir, err = mkProcessTempDir("bin"); err != nil {
			return "", err
		}
	}
	name := filepath.Base(strings.TrimSuffix(pkg, "/"))
	bin := filepath.Join(buildDir, fmt.Sprintf("%s-%d", name, len(buildBins)))
	args := append([]string{"build"}, buildFlags()...)
	args = append(args, "-o", bin, pkg)
	cmd := exec.Command(goBin(), args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, nil
}

func cleanupBuilds() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	buildDir = ""
	buildBins = map[string]string{}
	buildErrs = map[string]error{}
}

// StartOptions configures StartGatehouseWith.
type StartOptions struct {
	// Args are appended to `serve --http-addr 127.0.0.1:<port>`.
	Args []string
	// Env entries ("KEY=value") are added to the environment. Every
	// GATEHOUSE_* variable of the test process is removed first, so only
	// what the test passes here reaches the server.
	Env []string
	// Bin overrides the binary (default: BuildGatehouse).
	Bin string
	// ReadyTimeout bounds the wait for GET /readyz == 200 (default 60s).
	ReadyTimeout time.Duration
	// ReadyPath is polled instead of /readyz when set.
	ReadyPath string
}

// Server is a running Gatehouse process.
type Server struct {
	URL     string // http://127.0.0.1:<port>, no trailing slash
	Cmd     *exec.Cmd
	LogPath string // combined stdout+stderr

	done     chan struct{} // closed when the process has exited
	exitErr  error
	stopOnce sync.Once
	client   *http.Client
	admin    atomic.Value // string: the token of the last activation seen by Do (secrets.go)
}

// TestSecretKey is the --secret-key of every test server (base64 of 32 bytes): tests
// only, never a real installation's.
const TestSecretKey = "Z2F0ZWhvdXNlLXRlc3Qtc2VjcmV0LWtleS0zMmJ5dGU=" //nolint:gosec // G101: a test key

// StartGatehouse runs `<gatehouse> serve --http-addr 127.0.0.1:<free port> <args...>`
// with every GATEHOUSE_* environment variable removed, waits until GET /readyz
// answers 200 (60s), and stops the server when the test ends.
func StartGatehouse(t testing.TB, args ...string) *Server {
	t.Helper()
	return StartGatehouseWith(t, StartOptions{Args: args})
}

// StartGatehouseWith is StartGatehouse with options (environment, binary,
// timeout). On a startup failure the test fails with the tail of the log; if
// the test fails later, the last 50 log lines are printed at cleanup.
func StartGatehouseWith(t testing.TB, opts StartOptions) *Server {
	t.Helper()
	bin := opts.Bin
	if bin == "" {
		bin = BuildGatehouse(t)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if opts.ReadyPath == "" {
		opts.ReadyPath = "/readyz"
	}
	logDir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	// Every test server seals bucket secrets with one fixed key (required with
	// --database-url), so replicas and restarts open each other's; opts.Env may override it.
	env = append(env, "GATEHOUSE_SECRET_KEY="+TestSecretKey)
	env = append(env, opts.Env...)

	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		logPath := filepath.Join(logDir, fmt.Sprintf("gatehouse-%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		args := append([]string{"serve", "--http-addr", "127.0.0.1:" + strconv.Itoa(port)}, opts.Args...)
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("harness: start %s: %v", bin, err)
		}
		logf.Close() // the child has its own descriptor
		s := &Server{
			URL: "http://127.0.0.1:" + strconv.Itoa(port), Cmd: cmd, LogPath: logPath,
			done: make(chan struct{}), client: &http.Client{Timeout: 30 * time.Second},
		}
		go func() { s.exitErr = cmd.Wait(); close(s.done) }()
		lastErr = s.waitReady(opts.ReadyPath, opts.ReadyTimeout)
		if lastErr == nil {
			t.Cleanup(func() {
				s.scanAudit(t) // the secret scan (secrets.go)
				s.Stop()
				scanFile(t, s.LogPath)
				if t.Failed() {
					t.Logf("harness: last 50 lines of the Gatehouse log %s:\n%s", s.LogPath, logTail(s.LogPath, 50))
				}
			})
			return s
		}
		s.Kill()
		if !isBindError(logTail(logPath, 20)) {
			t.Fatalf("harness: gatehouse did not become ready: %v\nlast 50 log lines (%s):\n%s", lastErr, logPath, logTail(logPath, 50))
		}
	}
	t.Fatalf("harness: gatehouse did not become ready after 3 attempts: %v", lastErr)
	return nil
}

func (s *Server) waitReady(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := client.Get(s.URL + path)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("GET %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		select {
		case <-s.done:
			return fmt.Errorf("process exited during startup (%w); last probe: %s", s.exitErr, last)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s not 200 after %s; last probe: %s", path, timeout, last)
		}
	}
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 30s).
// Safe to call more than once and after Kill.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.Cmd.Process.Kill()
			<-s.done
		}
	})
	<-s.done
}

// Kill sends SIGKILL and waits for the process to exit.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		_ = s.Cmd.Process.Kill()
	})
	<-s.done
}

// Exited reports whether the process has exited, and its wait error
// (nil for exit status 0).
func (s *Server) Exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.exitErr
	default:
		return false, nil
	}
}

// Log returns the server's output so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// Do sends a request to the server and returns the status and body. path is
// relative to s.URL (or an absolute URL). token, if not empty, goes in
// "Authorization: Bearer". body is nil (no body), []byte, string or
// io.Reader (sent as is), or anything else (sent as JSON). A transport
// error fails the test.
func (s *Server) Do(t testing.TB, method, path, token string, body any) (status int, respBody []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
		HarvestSecrets(b)
	case string:
		r = strings.NewReader(b)
		HarvestSecrets([]byte(b))
	case io.Reader:
		r = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("harness: %s %s: marshal body: %v", method, path, err)
		}
		r = bytes.NewReader(data)
		HarvestSecrets(data)
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = s.URL + path
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("harness: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("harness: %s %s: read body: %v", method, path, err)
	}
	HarvestSecrets(respBody)
	s.noteActivation(method, path, resp.StatusCode, respBody)
	return resp.StatusCode, respBody
}

// DoJSON is Do that decodes a non-empty response body into out (if out is
// not nil) and returns the status. A body that is not valid JSON fails the
// test.
func (s *Server) DoJSON(t testing.TB, method, path, token string, body any, out any) int {
	t.Helper()
	status, data := s.Do(t, method, path, token, body)
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("harness: %s %s: status %d, cannot decode %q into %T: %v", method, path, status, truncate(data, 500), out, err)
		}
	}
	return status
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

package harness

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process can still take it before the caller binds it; the
// Start functions of this package retry on a bind failure.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("harness: FreePort: %v", err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// goBin returns the go command that built this test binary, falling back to PATH.
func goBin() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := "/usr/local/go/bin/go"; isExecutable(p) {
		return p
	}
	return "go"
}

// buildFlags returns extra go build flags. VCS stamping fails without git (CI
// has only Go) or on a checkout owned by another user, so it is turned off
// unless GOFLAGS already says something about it.
func buildFlags() []string {
	if strings.Contains(os.Getenv("GOFLAGS"), "buildvcs") {
		return nil
	}
	return []string{"-buildvcs=false"}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// tempDirPrefix names the per-process directories this package creates under
// os.TempDir(): gatehouse-harness-<kind>-<pid>-<random>.
const tempDirPrefix = "gatehouse-harness-"

var sweepOnce sync.Once

// mkProcessTempDir creates a directory under os.TempDir() tagged with our pid,
// after removing directories left behind by test processes that have died.
func mkProcessTempDir(kind string) (string, error) {
	sweepOnce.Do(sweepStaleDirs)
	return os.MkdirTemp(os.TempDir(), fmt.Sprintf("%s%s-%d-", tempDirPrefix, kind, os.Getpid()))
}

func sweepStaleDirs() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, tempDirPrefix) {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(name, tempDirPrefix), "-")
		if len(parts) < 3 {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(os.TempDir(), name))
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	data = ansiEscape.ReplaceAll(bytes.TrimRight(data, "\n"), nil)
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > maxTailLine {
			lines[i] = append(l[:maxTailLine:maxTailLine], " [...]"...)
		}
	}
	return string(bytes.Join(lines, []byte("\n")))
}

const maxTailLine = 2000

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// isBindError reports whether a server log says its port was taken.
func isBindError(log string) bool {
	l := strings.ToLower(log)
	return strings.Contains(l, "address already in use") || strings.Contains(l, "could not bind")
}

// tool is an external program some tests need (MinIO, nginx), found by require.
type tool struct {
	name, env, skipEnv string          // "nginx", GATEHOUSE_NGINX_BIN, GATEHOUSE_SKIP_NGINX
	elsewhere          string          // where places looks, for the message
	places             func() []string // paths tried after PATH
	howTo              string          // how to get it
	skipped            *atomic.Int64   // counts the tests skipped for want of it, or nil
}

// require returns the path of the tool: its environment variable, else on PATH, else
// its places. Missing, the test fails saying how to get it, unless the tool's skip
// variable is 1: then the test is skipped loudly (and counted).
func (tl tool) require(t testing.TB) string {
	t.Helper()
	if p := tl.find(); p != "" {
		return p
	}
	where := "no " + tl.env + ", no " + tl.name + " on PATH or " + tl.elsewhere
	if p := os.Getenv(tl.env); p != "" {
		where = tl.env + "=" + p + " is not an executable file"
	}
	msg := strings.ToUpper(tl.name) + " NOT FOUND for " + t.Name() + " (" + where + "): " + tl.howTo +
		", or set " + tl.skipEnv + "=1 to skip the " + tl.name + " tests"
	if os.Getenv(tl.skipEnv) != "1" {
		t.Fatal(msg)
	}
	if tl.skipped != nil {
		tl.skipped.Add(1)
	}
	fmt.Fprintln(os.Stderr, "!!!! SKIPPED ("+tl.skipEnv+"=1):", msg)
	t.Skip(msg)
	return ""
}

// find returns the tool's path, "" when it is nowhere. A set environment variable that
// names no executable finds nothing: it is never silently ignored.
func (tl tool) find() string {
	if p := os.Getenv(tl.env); p != "" {
		if isExecutable(p) {
			return p
		}
		return ""
	}
	if p, err := exec.LookPath(tl.name); err == nil {
		return p
	}
	for _, p := range tl.places() {
		if isExecutable(p) {
			return p
		}
	}
	return ""
}

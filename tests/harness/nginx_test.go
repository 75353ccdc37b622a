package harness_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// TestStartNginx: the harness runs nginx unprivileged under its own prefix, serves, and
// stops it (the PID is gone and the port is closed afterwards).
func TestStartNginx(t *testing.T) {
	n := harness.StartNginx(t, harness.NginxConfig{Server: `location / { return 200 "hello from nginx"; }`})
	resp, err := http.Get(n.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from nginx" {
		t.Fatalf("GET /x: %d %q", resp.StatusCode, body)
	}
	if !strings.HasPrefix(n.Dir, os.TempDir()) {
		t.Fatalf("prefix %s is not under %s", n.Dir, os.TempDir())
	}
	n.Stop()
	if _, err := http.Get(n.URL + "/x"); err == nil {
		t.Fatal("nginx still answers after Stop")
	}
}

// TestStartNginxBadConfig: a configuration nginx refuses fails the start, naming the
// bad directive (run in a child test process, as TestStartGatehouseFailures does).
func TestStartNginxBadConfig(t *testing.T) {
	if os.Getenv("HARNESS_NGINX_BAD") == "1" {
		harness.StartNginx(t, harness.NginxConfig{Server: `no_such_directive on;`})
		t.Log("UNEXPECTED: StartNginx returned")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartNginxBadConfig$", "-test.v")
	cmd.Env = append(os.Environ(), "HARNESS_NGINX_BAD=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no_such_directive") || strings.Contains(string(out), "UNEXPECTED") {
		t.Fatalf("err=%v, want a failure naming the bad directive; output:\n%s", err, out)
	}
}

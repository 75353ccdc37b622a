package harness

import (
	"fmt"
	"net"
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

// Nginx is a running nginx in front of whatever its configuration proxies to.
type Nginx struct {
	URL           string // http://127.0.0.1:<port>, no trailing slash
	Port          int
	Dir           string // prefix: nginx.conf, temp directories, logs
	ErrorLogPath  string
	AccessLogPath string

	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce sync.Once
}

// NginxConfig is what the test puts into the generated nginx.conf.
type NginxConfig struct {
	// HTTP holds directives at http{} level (upstream blocks, maps), optional.
	HTTP string
	// Server is the body of the one server{} block, after its listen directive.
	Server string
}

var nginxSkipped atomic.Int64 // tests skipped for want of nginx (GATEHOUSE_SKIP_NGINX=1)

// nginxTool is an nginx binary with the auth_request module (Debian's nginx-light has
// it): GATEHOUSE_NGINX_BIN, else nginx on PATH, else /usr/sbin/nginx.
var nginxTool = tool{
	name: "nginx", env: "GATEHOUSE_NGINX_BIN", skipEnv: "GATEHOUSE_SKIP_NGINX",
	elsewhere: "at /usr/sbin/nginx", places: func() []string { return []string{"/usr/sbin/nginx"} },
	howTo:   "install it (Debian: apt-get install nginx-light, or run scripts/test-deps.sh)",
	skipped: &nginxSkipped,
}

// NginxBinary returns the path of an nginx binary (nginxTool). If none is found the
// test fails and says how to get one, unless GATEHOUSE_SKIP_NGINX=1 asks to skip: then
// it is skipped loudly and counted (Cleanup prints the count).
func NginxBinary(t testing.TB) string { return nginxTool.require(t) }

// StartNginx runs nginx for the test on a free loopback port with cfg as its one
// server, in the foreground as a single process of the current user, with its own
// prefix, pid file, temp directories and logs under a fresh directory (no root, nothing
// under /etc, /var or /run is touched). It waits until the port accepts connections
// and stops nginx when the test ends; if the test failed, the error log's tail is
// printed.
func StartNginx(t testing.TB, cfg NginxConfig) *Nginx {
	t.Helper()
	bin := NginxBinary(t)
	dir, err := mkProcessTempDir("nginx")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		n, err := runNginx(bin, dir, port, cfg)
		if err != nil {
			t.Fatalf("harness: start nginx: %v", err)
		}
		if lastErr = n.waitListening(10 * time.Second); lastErr == nil {
			t.Cleanup(func() {
				n.Stop()
				if t.Failed() {
					t.Logf("harness: last 50 lines of the nginx error log %s:\n%s", n.ErrorLogPath, logTail(n.ErrorLogPath, 50))
				}
			})
			return n
		}
		n.Stop()
		if !isBindError(logTail(n.ErrorLogPath, 20)) {
			break
		}
	}
	t.Fatalf("harness: nginx did not start: %v\nlast 50 lines of %s:\n%s", lastErr, filepath.Join(dir, "error.log"), logTail(filepath.Join(dir, "error.log"), 50))
	return nil
}

// nginxConf is the whole configuration: everything nginx writes stays under the prefix.
// master_process off keeps one process of the current user (as root nginx would
// otherwise switch its workers to an unprivileged user that cannot reach the prefix).
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
%[3]s
    server {
        listen 127.0.0.1:%[2]d;
%[4]s
    }
}
`

func runNginx(bin, dir string, port int, cfg NginxConfig) (*Nginx, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(nginxConf, dir, port, cfg.HTTP, cfg.Server)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	errLog := filepath.Join(dir, "error.log")
	_ = os.Remove(errLog)
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// -e: the error log before the configuration is read (Debian's default is stderr).
	cmd := exec.Command(bin, "-p", dir+"/", "-c", conf, "-e", errLog)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &Nginx{
		URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir,
		ErrorLogPath: errLog, AccessLogPath: filepath.Join(dir, "access.log"),
		cmd: cmd, done: make(chan struct{}),
	}
	go func() { _ = cmd.Wait(); close(n.done) }()
	return n, nil
}

func (n *Nginx) waitListening(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.Port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-n.done:
			out, _ := os.ReadFile(filepath.Join(n.Dir, "stderr.log"))
			return fmt.Errorf("nginx exited during startup: %s", strings.TrimSpace(string(out)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d not accepting after %s: %v", n.Port, limit, err)
		}
	}
}

// Stop ends nginx (SIGQUIT, a graceful stop; SIGKILL after 5s) and waits for it.
func (n *Nginx) Stop() {
	n.stopOnce.Do(func() {
		_ = n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-n.done:
		case <-time.After(5 * time.Second):
			_ = n.cmd.Process.Kill()
		}
	})
	<-n.done
}

// ErrorLog returns nginx's error log so far.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(n.ErrorLogPath)
	return string(b)
}

// reportNginxSkipped prints how many tests were skipped for want of nginx.
func reportNginxSkipped() {
	if n := nginxSkipped.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "\n!!!! %d test(s) SKIPPED for want of nginx (GATEHOUSE_SKIP_NGINX=1)\n", n)
	}
}

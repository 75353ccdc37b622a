package harness

import (
	"sync"
	"testing"
	"time"
)

// PrivatePostgres is a PostgreSQL cluster of one test, which the failure drills kill and
// start again (every other test shares the process's cluster: StartPostgres).
type PrivatePostgres struct {
	// URL is the maintenance database's; NewDatabase(t, URL) gives fresh databases.
	URL string

	mu sync.Mutex
	c  *pgCluster
}

// StartPrivatePostgres starts a cluster of its own for t (initdb, a second or two),
// removed when t ends, with synchronous commits. Without PostgreSQL binaries it fails or skips t as StartPostgres
// does.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	binDir := findPostgresBin()
	if binDir == "" {
		StartPostgres(t) // fails or skips t, saying why
		return nil
	}
	start := time.Now()
	// A commit is acknowledged once its WAL is written: the shared cluster's
	// synchronous_commit=off would lose the last commits when the drill kills it (fsync
	// stays off: the kernel keeps what was written when only the processes die).
	c, err := startCluster(binDir, "synchronous_commit=on")
	if err != nil {
		t.Fatalf("harness: StartPrivatePostgres: %v", err)
	}
	p := &PrivatePostgres{URL: c.baseURL, c: c}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		scanFile(t, p.c.logPath) // the secret scan (secrets.go)
		if t.Failed() {
			t.Logf("harness: last 30 lines of the private PostgreSQL log:\n%s", logTail(p.c.logPath, 30))
		}
		p.c.stop()
	})
	t.Logf("harness: private PostgreSQL cluster on port %d started in %s", c.port, time.Since(start).Round(time.Millisecond))
	return p
}

// Kill SIGKILLs the postmaster and every backend (its process group): the database is
// gone at once, as when its machine dies. The data stays for Restart.
func (p *PrivatePostgres) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.c.kill()
}

// Restart starts the cluster again on the same data and port (after crash recovery) and
// waits until it accepts connections.
func (p *PrivatePostgres) Restart(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.c.restart()
	if err != nil {
		t.Fatalf("harness: private PostgreSQL restart: %v", err)
	}
	p.c = c
}

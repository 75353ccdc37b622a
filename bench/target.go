package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// target is one Gatehouse service built by app.New, serving HTTP on loopback, with the
// SpiceDB client of its own engine for the gRPC side of comparisons.
type target struct {
	name       string // "memory" or "pg"
	app        *app.App
	base       string // http://127.0.0.1:<port>
	spice      v1.PermissionsServiceClient
	adminToken string // the platform admin's
	checker    string // a robot token granted only "check" on everything
	stop       context.CancelFunc
	done       chan error
}

// startTarget builds the service as serve does (databaseURL "" keeps it in memory),
// serves it, and activates the platform.
func startTarget(ctx context.Context, name, databaseURL string) (*target, error) {
	return startReplica(ctx, name, databaseURL, true)
}

// startReplica is startTarget; activate false starts another replica of an activated one.
func startReplica(ctx context.Context, name, databaseURL string, activate bool) (*target, error) {
	cfg := app.DefaultConfig()
	cfg.HTTPAddr, cfg.DatabaseURL, cfg.Version = "127.0.0.1:0", databaseURL, "bench"
	cfg.LogLevel = "warn"
	cfg.SecretKey = benchSecretKey // bucket secrets (required with a database)
	cfg.AuthFailureLimit = 1 << 30 // the load generator is one client
	if os.Getenv("BENCH_LOG") != "" {
		cfg.Stderr = os.Stderr
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &target{name: name, app: a, done: make(chan error, 1)}
	if err := t.serve(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	if !activate {
		return t, nil
	}
	if err := t.activate(ctx); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *target) serve(ctx context.Context) error {
	spice, ok := t.app.SpiceDB()
	if !ok {
		return errors.New("the engine exposes no SpiceDB client (remote engine?)")
	}
	t.spice = spice
	ln, err := t.app.Listen(ctx)
	if err != nil {
		return err
	}
	t.base = "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	t.stop = stop
	go func() { t.done <- t.app.Serve(sctx, ln) }()
	return nil
}

func (t *target) activate(ctx context.Context) error {
	act, err := t.app.Platform().Activate(ctx, "robot:bench-admin", 0)
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	t.adminToken = act.Token
	if _, err := t.app.Platform().CreateRobot(ctx, "bench-checker", "robot:bench-admin", 0); err != nil {
		return fmt.Errorf("create robot: %w", err)
	}
	// The check function holds only while a platform admin backs it (T3): the checker
	// token derives from the admin's.
	admin, err := t.app.Tokens().Verify(ctx, t.adminToken)
	if err != nil {
		return fmt.Errorf("verify the admin token: %w", err)
	}
	minted, err := t.app.Tokens().Mint(ctx, tokens.MintRequest{
		Subject: "robot:bench-checker", Kind: tokens.KindRobot, TTL: 24 * time.Hour, Parent: &admin,
		Grants: []tokens.Grant{{Functions: []string{"check"}, Resources: []string{"*"}, Orgs: []string{"*"}}},
	})
	if err != nil {
		return fmt.Errorf("mint the checker token: %w", err)
	}
	t.checker = minted.Token
	return nil
}

func (t *target) close() {
	if t.stop != nil {
		t.stop()
		<-t.done
	}
	_ = t.app.Close()
	runtime.GC()
	debug.FreeOSMemory()
}

// load writes rels through SpiceDB's bulk import (the fastest path on every datastore),
// then writes one marker relationship through Gatehouse's engine and returns its token:
// both sides of every comparison then read at least as fresh as the whole load.
func (t *target) load(ctx context.Context, rels []relations.Relationship, batch int) (string, time.Duration, error) {
	start, last := time.Now(), time.Now()
	for i := 0; i < len(rels); i += importPerStream {
		end := min(i+importPerStream, len(rels))
		if err := t.importStream(ctx, rels[i:end], batch); err != nil {
			return "", 0, fmt.Errorf("bulk import at %d: %w", i, err)
		}
		if time.Since(last) > 5*time.Second {
			progress("%s: imported %d/%d...", t.name, end, len(rels))
			last = time.Now()
		}
	}
	took := time.Since(start)
	marker := rel(obj(schema.TypeRepo, "marker/loaded"), schema.RelOrg, subj(schema.TypeOrg, "marker", ""))
	tok, err := t.app.Engine().Write(ctx, []relations.Update{{Operation: relations.OpTouch, Relationship: marker}}, nil)
	return tok, took, err
}

// importPerStream keeps each import stream well inside SpiceDB's 30 s stream deadline.
const importPerStream = 50_000

func (t *target) importStream(ctx context.Context, rels []relations.Relationship, batch int) error {
	stream, err := t.spice.ImportBulkRelationships(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < len(rels); i += batch {
		end := min(i+batch, len(rels))
		req := &v1.ImportBulkRelationshipsRequest{Relationships: make([]*v1.Relationship, 0, end-i)}
		for _, r := range rels[i:end] {
			req.Relationships = append(req.Relationships, relationshipProto(r))
		}
		if err := stream.Send(req); err != nil {
			_, rerr := stream.CloseAndRecv()
			return fmt.Errorf("%w (%v)", err, rerr)
		}
	}
	_, err = stream.CloseAndRecv()
	return err
}

// ---- PostgreSQL ----

// benchTB lets the bench use tests/harness outside go test: only the methods the
// PostgreSQL helpers call are implemented.
type benchTB struct {
	testing.TB
	cleanups []func()
}

func (t *benchTB) Helper()                   {}
func (t *benchTB) Name() string              { return "bench" }
func (t *benchTB) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *benchTB) Logf(f string, a ...any)   { progress(f, a...) }
func (t *benchTB) Log(a ...any)              { progress("%s", fmt.Sprint(a...)) }
func (t *benchTB) Errorf(f string, a ...any) { progress("harness error: "+f, a...) }
func (t *benchTB) Fatalf(f string, a ...any) { panic(fmt.Errorf(f, a...)) }
func (t *benchTB) Fatal(a ...any)            { panic(errors.New(fmt.Sprint(a...))) }
func (t *benchTB) Skip(a ...any)             { panic(errors.New(fmt.Sprint(a...))) }
func (t *benchTB) runCleanups() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

// postgres hands out fresh databases: on -database-url's cluster, or on a throwaway
// cluster from tests/harness started at the first call.
type postgres struct {
	tb      benchTB
	baseURL string
}

func (p *postgres) newDatabase() (u string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PostgreSQL: %v", r)
		}
	}()
	if p.baseURL == "" {
		progress("starting a throwaway PostgreSQL cluster (tests/harness)...")
		p.baseURL = harness.StartPostgres(&p.tb)
		return p.baseURL, nil
	}
	return harness.NewDatabase(&p.tb, p.baseURL), nil
}

func (p *postgres) close() { p.tb.runCleanups() }

// ---- memory ----

// rssMiB is the resident memory of process pid (0: this one) in MiB, -1 if unknown.
func rssMiB(pid int) float64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = filepath.Join("/proc", strconv.Itoa(pid), "status")
	}
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(fs[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// postgresRSSMiB sums the resident memory of the PostgreSQL server listening on the port
// of databaseURL (postmaster and its backends), -1 if it is not found on this machine.
func postgresRSSMiB(databaseURL string) float64 {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return -1
	}
	port := u.Port()
	procs, _ := os.ReadDir("/proc")
	master := 0
	parents := map[int]int{}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		args := strings.Split(string(cmd), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "postgres" && argAfter(args, "-p") == port {
			master = pid
		}
		if st, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat")); err == nil {
			if i := strings.LastIndexByte(string(st), ')'); i > 0 {
				if fs := strings.Fields(string(st)[i+1:]); len(fs) > 1 {
					parents[pid], _ = strconv.Atoi(fs[1])
				}
			}
		}
	}
	if master == 0 {
		return -1
	}
	total := rssMiB(master)
	for pid, ppid := range parents {
		if ppid == master {
			total += max(rssMiB(pid), 0)
		}
	}
	return total
}

func argAfter(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// benchSecretKey seals bucket config secrets in the bench's services (every replica the
// same): a throwaway key, never a real installation's.
const benchSecretKey = "YmVuY2gtb25seS1zZWNyZXQta2V5LTMyLWJ5dGVzISE=" //nolint:gosec // G101: a bench key

package relations

import (
	"context"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// defaultCheck checks with no consistency of its own: the hot path, served from the
// check cache when it can be.
func defaultCheck(t *testing.T, e Engine, resource, permission, subject string) bool {
	t.Helper()
	res, err := e.Check(context.Background(), CheckRequest{Resource: obj(t, resource), Permission: permission, Subject: sub(t, subject)})
	require.NoError(t, err)
	return res.Allowed
}

// O3, P2: on the memory datastore a delete made through the engine is denied at the
// very next check that names no consistency, even with the answer cached before.
func TestLocalDeleteDeniedAtNextCheck_O3(t *testing.T) {
	e := engine(t)
	write(t, e, "org:ld#platform@platform:root", "org:ld#member@user:bob@example.com")
	for range 3 { // the answer is now cached
		require.True(t, defaultCheck(t, e, "org:ld", "read", "user:bob@example.com"))
	}
	f, ok := Revision(e)
	require.True(t, ok)
	require.True(t, f.Complete, "the memory datastore has no writer but this engine")
	_, err := e.Write(context.Background(), []Update{{Operation: OpDelete, Relationship: rel(t, "org:ld#member@user:bob@example.com")}}, nil)
	require.NoError(t, err)
	require.False(t, defaultCheck(t, e, "org:ld", "read", "user:bob@example.com"))
	f2, _ := Revision(e)
	require.NotEqual(t, f.Token, f2.Token, "a write advances the revision seen")
}

// NewRemote honours its context: canceled or expired while SpiceDB does not answer,
// it returns promptly with the context's error (wrapped in ErrUnavailable).
func TestNewRemoteHonoursContext(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, endpoint := range []string{"127.0.0.1:1", "10.255.255.1:50051"} { // refused; unroutable (hangs)
		start := time.Now()
		_, err := NewRemote(canceled, RemoteConfig{Endpoint: endpoint, Insecure: true})
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, ErrUnavailable)
		require.Less(t, time.Since(start), time.Second, endpoint)

		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start = time.Now()
		_, err = NewRemote(ctx, RemoteConfig{Endpoint: endpoint, Insecure: true})
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 1500*time.Millisecond, endpoint)
		t.Logf("%s: NewRemote gave up %s after its 300ms deadline", endpoint, time.Since(start)-300*time.Millisecond)
	}
}

// pgReplicas starts two embedded engines (two replicas) on one PostgreSQL database,
// with the schema written and the platform open.
func pgReplicas(t *testing.T) (a, b Engine) {
	t.Helper()
	url := harness.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := NewEmbedded(ctx, EmbeddedConfig{DatastoreEngine: "postgres", DatastoreURI: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err = NewEmbedded(ctx, EmbeddedConfig{DatastoreEngine: "postgres", DatastoreURI: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, a.WriteSchema(ctx, gatehouseSchema(t)))
	write(t, a, "platform:root#unlocked@user:*", "org:rp#platform@platform:root")
	require.Eventually(t, func() bool { f, _ := Revision(b); return f.Complete }, 10*time.Second, 10*time.Millisecond,
		"replica B's watch does not start (PostgreSQL needs track_commit_timestamp=on)")
	return a, b
}

// pollUntil checks on e until the answer is want, and returns how long it took.
func pollUntil(t *testing.T, e Engine, want bool, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for defaultCheck(t, e, "org:rp", "read", "user:bob@example.com") != want {
		if time.Since(start) > limit {
			t.Fatalf("replica B still answers %v after %s", !want, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// ID2, O3: a relationship deleted on replica A stops allowing on replica B within
// StaleBound (1 s), with B's answer cached before the delete.
func TestReplicaDeleteDeniedWithinBound_ID2_O3(t *testing.T) {
	a, b := pgReplicas(t)
	var worst time.Duration
	for round := range 5 {
		write(t, a, "org:rp#member@user:bob@example.com")
		grant := pollUntil(t, b, true, 5*time.Second)
		for range 3 {
			require.True(t, defaultCheck(t, b, "org:rp", "read", "user:bob@example.com"))
		}
		_, err := a.Write(context.Background(), []Update{{Operation: OpDelete, Relationship: rel(t, "org:rp#member@user:bob@example.com")}}, nil)
		require.NoError(t, err)
		revoke := pollUntil(t, b, false, 5*time.Second)
		t.Logf("round %d: grant seen on B after %s, delete denied on B after %s", round, grant, revoke)
		worst = max(worst, revoke)
	}
	t.Logf("worst delete-to-denied latency across replicas: %s (bound %s)", worst, StaleBound)
	require.LessOrEqual(t, worst, StaleBound)
	for _, e := range []Engine{a, b} { // still on the fast path, not fallen back to full reads
		f, _ := Revision(e)
		require.True(t, f.Complete)
		require.NotEmpty(t, f.Token)
	}
}

// ID2, O3, fail closed: when replica B's watch stops, B reads the newest data, so a
// delete on A is still denied on B within the bound (not served stale forever).
func TestReplicaWatchBrokenFallsBackToFreshReads_ID2(t *testing.T) {
	a, b := pgReplicas(t)
	write(t, a, "org:rp#member@user:bob@example.com")
	pollUntil(t, b, true, 5*time.Second)
	b.(*spiceEngine).watch.stop()
	f, _ := Revision(b)
	require.False(t, f.Complete)
	require.True(t, defaultCheck(t, b, "org:rp", "read", "user:bob@example.com"))
	_, err := a.Write(context.Background(), []Update{{Operation: OpDelete, Relationship: rel(t, "org:rp#member@user:bob@example.com")}}, nil)
	require.NoError(t, err)
	revoke := pollUntil(t, b, false, 5*time.Second)
	t.Logf("watch stopped: delete denied on B after %s (bound %s)", revoke, StaleBound)
	require.LessOrEqual(t, revoke, StaleBound)
}

// O3: the tracker keeps the newest of the revisions it is told of, whatever the order
// in which concurrent writes report them.
func TestTrackerKeepsNewest_O3(t *testing.T) {
	e := engine(t).(*spiceEngine)
	t1 := write(t, e, "org:tk#platform@platform:root")
	t2 := write(t, e, "org:tk#member@user:bob@example.com")
	st := e.seen.load()
	require.Equal(t, t2, st.token.GetToken())
	e.seen.noteToken(&v1.ZedToken{Token: t1}) // an older write reported late
	require.Same(t, st, e.seen.load(), "an older revision changes nothing")
	require.True(t, e.seen.load().fresh())
}

// NewEmbedded honours its context too: canceled, it returns promptly with its error.
func TestNewEmbeddedHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	e, err := NewEmbedded(ctx, EmbeddedConfig{})
	if e != nil {
		_ = e.Close()
	}
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 5*time.Second)
}

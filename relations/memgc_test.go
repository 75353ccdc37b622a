package relations

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memEngine is a fresh memory engine with the schema and an open platform, and a GC
// window of one second.
func memEngine(t *testing.T) Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := NewEmbedded(ctx, EmbeddedConfig{GCWindow: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	require.NoError(t, e.WriteSchema(ctx, gatehouseSchema(t)))
	write(t, e, "platform:root#unlocked@user:*", "org:acme#platform@platform:root", "repo:acme/raw#org@org:acme")
	return e
}

// The memory datastore's GC window (issue 10.7): snapshots older than the window are
// dropped, so the revisions kept come back to one after writes stop; a token older than
// every snapshot left is still honoured (a newer snapshot answers at_least_as_fresh).
func TestMemoryGCWindowDropsOldSnapshots(t *testing.T) {
	e := memEngine(t)
	old := write(t, e, "repo:acme/raw#reader@user:carol@example.com")
	for i := range 200 {
		write(t, e, fmt.Sprintf("repo:acme/raw#reader@user:u%d@example.com", i))
	}
	n, ok := MemoryRevisions(e)
	require.True(t, ok)
	require.Greater(t, n, 150, "the writes of the last second are kept")
	deadline := time.Now().Add(3 * time.Second)
	for n > 1 {
		require.True(t, time.Now().Before(deadline), "still %d revisions kept after the window", n)
		time.Sleep(50 * time.Millisecond)
		n, _ = MemoryRevisions(e)
	}
	require.True(t, check(t, e, "repo:acme/raw", "read", "user:carol@example.com", old), "an old token is still answered")
	require.False(t, check(t, e, "repo:acme/raw", "read", "user:dave@example.com", old))
	require.False(t, check(t, e, "repo:acme/raw", "read", "user:dave@example.com", ""))
}

// An export reads every page at the snapshot of its start, even when it outlasts the
// GC window while writes go on: the collector keeps what it reads (memRevisions.hold).
func TestMemoryGCWindowKeepsAnExportsSnapshot(t *testing.T) {
	e := memEngine(t)
	ctx := context.Background()
	var first []string
	for i := range 1500 {
		first = append(first, fmt.Sprintf("repo:acme/raw#reader@user:e%d@example.com", i))
	}
	for _, chunk := range [][]string{first[:1000], first[1000:]} {
		_, err := e.Write(ctx, touches(t, chunk...), nil)
		require.NoError(t, err)
	}
	got := map[string]bool{}
	paused := false
	err := e.Export(ctx, func(r Relationship) error {
		if !paused { // change the data under the export and outlast the window
			paused = true
			_, err := e.Write(ctx, []Update{{Operation: OpDelete, Relationship: rel(t, first[1400])}}, nil)
			require.NoError(t, err)
			write(t, e, "repo:acme/raw#reader@user:late@example.com")
			time.Sleep(2 * time.Second)
			for i := range 20 {
				write(t, e, fmt.Sprintf("repo:acme/raw#writer@user:w%d@example.com", i))
			}
			time.Sleep(1500 * time.Millisecond)
		}
		got[r.String()] = true
		return nil
	})
	require.NoError(t, err)
	for _, r := range first {
		require.True(t, got[r], "%s missing from the export", r)
	}
	require.False(t, got["repo:acme/raw#reader@user:late@example.com"], "a later write leaked into the export")
	n, _ := MemoryRevisions(e)
	t.Logf("export of %d relationships over 3.5 s of writes; %d revisions kept after it", len(got), n)
}

package ingress

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// C3: a decision is served only at the revision it was answered at and within the TTL;
// a decision answered while the revision moved is not kept; the cache is bounded.
func TestC3CacheRevisionTTLAndBound(t *testing.T) {
	c := NewCache(time.Second, 64)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	k := Key{TokenID: "t1", Resource: "repo:acme/raw", Permission: "read"}

	_, ok := c.Get(k, "r1")
	require.False(t, ok)
	c.Put(k, "r1", "r1", true)
	allowed, ok := c.Get(k, "r1")
	require.True(t, ok)
	require.True(t, allowed)
	_, ok = c.Get(k, "r2")
	require.False(t, ok, "a newer revision does not see older decisions")
	_, ok = c.Get(Key{TokenID: "t2", Resource: k.Resource, Permission: k.Permission}, "r1")
	require.False(t, ok, "another token's decision")

	now = now.Add(time.Second)
	_, ok = c.Get(k, "r1")
	require.False(t, ok, "expired after the TTL")

	c.Put(k, "r2", "r3", true)
	_, ok = c.Get(k, "r2")
	require.False(t, ok, "answered while the revision moved: not kept")
	c.Put(k, "", "", true)
	_, ok = c.Get(k, "")
	require.False(t, ok, "no revision: no caching")

	c.Put(k, "r3", "r3", false)
	allowed, ok = c.Get(k, "r3")
	require.True(t, ok)
	require.False(t, allowed, "denials are kept too")
	c.Put(Key{TokenID: "t9", Resource: "x", Permission: "read"}, "r4", "r4", true)
	require.LessOrEqual(t, c.Len(), 2)

	for i := range 1000 {
		c.Put(Key{TokenID: fmt.Sprint(i), Resource: "x", Permission: "read"}, "r5", "r5", true)
	}
	require.LessOrEqual(t, c.Len(), 64, "bounded")

	var none *Cache
	none.Put(k, "r1", "r1", true)
	_, ok = none.Get(k, "r1")
	require.False(t, ok)
	require.Nil(t, NewCache(0, 0))
}

func TestC3CacheConcurrent(t *testing.T) {
	c := NewCache(time.Second, 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := Key{TokenID: fmt.Sprint(i % 50), Resource: "r", Permission: "read"}
				rev := fmt.Sprint(i / 500)
				c.Put(k, rev, rev, g%2 == 0)
				c.Get(k, rev)
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCacheGet(b *testing.B) {
	c := NewCache(time.Hour, 0)
	k := Key{TokenID: "t1", Resource: "repo:acme/raw", Permission: "read"}
	c.Put(k, "r1", "r1", true)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get(k, "r1")
		}
	})
}

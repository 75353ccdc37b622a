package ingress

import (
	"hash/maphash"
	"sync"
	"time"
)

// DefaultCacheTTL is how long a decision is kept by default.
const DefaultCacheTTL = time.Second

// DefaultCacheEntries bounds a Cache.
const DefaultCacheEntries = 100_000

const cacheShards = 32

// Key is what a decision is about: a token (by id), a resource and a permission.
type Key struct {
	TokenID, Resource, Permission string
}

// Cache remembers ingress decisions (allowed or denied, never a failure) for at most a
// TTL, each under the datastore revision it was answered at (relations.Freshness.Token,
// as Permify keys its cache by snapshot): once the engine has seen a newer revision (a
// write of this process, or a change delivered by SpiceDB's Watch), every decision
// answered before it is dropped at its next lookup. It holds at most size entries (an
// arbitrary one is dropped to make room). Token revocation needs nothing here: the token
// is verified on every request before the cache is asked. Safe for concurrent use; a nil
// *Cache caches nothing.
type Cache struct {
	ttl      time.Duration
	perShard int
	now      func() time.Time
	seed     maphash.Seed
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu  sync.RWMutex
	rev string // the revision every entry was answered at
	m   map[Key]decision
}

type decision struct {
	allowed bool
	expires time.Time
}

// NewCache returns a cache keeping decisions for ttl, at most size of them (<= 0:
// DefaultCacheEntries). ttl <= 0 returns nil: no caching.
func NewCache(ttl time.Duration, size int) *Cache {
	if ttl <= 0 {
		return nil
	}
	if size <= 0 {
		size = DefaultCacheEntries
	}
	c := &Cache{ttl: ttl, perShard: max(size/cacheShards, 1), now: time.Now, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = map[Key]decision{}
	}
	return c
}

// TTL is the longest a decision is kept (0 for a nil cache).
func (c *Cache) TTL() time.Duration {
	if c == nil {
		return 0
	}
	return c.ttl
}

func (c *Cache) shard(k Key) *cacheShard {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.TokenID)
	h.WriteByte(0)
	h.WriteString(k.Resource)
	h.WriteByte(0)
	h.WriteString(k.Permission)
	return &c.shards[h.Sum64()%cacheShards]
}

// Get returns the decision about k answered at revision rev, if one is kept.
func (c *Cache) Get(k Key, rev string) (allowed, ok bool) {
	if c == nil || rev == "" {
		return false, false
	}
	sh := c.shard(k)
	sh.mu.RLock()
	d, found := sh.m[k]
	same := sh.rev == rev
	sh.mu.RUnlock()
	if !found || !same || !c.now().Before(d.expires) {
		return false, false
	}
	return d.allowed, true
}

// Put keeps a decision about k answered at revision rev. The caller reads rev before
// deciding and passes the revision current after: when they differ (a change was seen
// meanwhile) nothing is kept. A decision at a newer revision than the shard's drops the
// shard's older ones.
func (c *Cache) Put(k Key, rev, current string, allowed bool) {
	if c == nil || rev == "" || rev != current {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.rev != rev {
		sh.rev = rev
		clear(sh.m)
	}
	if _, exists := sh.m[k]; !exists && len(sh.m) >= c.perShard {
		for old := range sh.m { // map order is random: drop an arbitrary entry
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = decision{allowed: allowed, expires: c.now().Add(c.ttl)}
}

// Len is the number of decisions kept, for tests.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}

package store

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCacheEntries bounds the token cache of NewCached.
const DefaultCacheEntries = 100_000

const cacheShards = 32

// NewCached returns inner with an in-process cache in front of GetToken, the lookup
// every request makes (tokens.Service.Verify). Records are kept for at most ttl; at
// most DefaultCacheEntries are kept (a random one is dropped to make room). Lookups
// that fail are not cached: a flood of made-up token ids must not push real tokens
// out, and a token minted here is usable at once. ttl <= 0 returns inner unchanged.
//
// Changes made through the returned Store take effect in this process at once:
// RevokeToken, DeleteTokensOf, DeleteAPIKey, DeleteOrg and Reset drop the affected
// records from the cache after inner has applied them, and a lookup that raced with
// such a change does not put its (possibly stale) answer in the cache.
//
// Multi-replica caveat: the cache is per process. A token revoked or deleted through
// another replica (or directly in the database) is still accepted here for up to ttl;
// keep ttl short (seconds) when several replicas serve requests.
//
// Every other method is inner's own; a method added to Store that changes or deletes
// tokens must be overridden here to invalidate.
func NewCached(inner Store, ttl time.Duration) Store {
	if ttl <= 0 {
		return inner
	}
	c := &cached{Store: inner, ttl: ttl, now: time.Now, seed: maphash.MakeSeed(), perShard: DefaultCacheEntries / cacheShards}
	for i := range c.shards {
		c.shards[i].m = map[string]cacheEntry{}
	}
	return c
}

type cached struct {
	Store
	ttl      time.Duration
	now      func() time.Time
	seed     maphash.Seed
	perShard int
	// gen counts invalidations. A lookup that misses remembers gen before asking inner
	// and stores the answer only if no invalidation happened in between.
	gen    atomic.Uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	tok     Token
	expires time.Time
}

func (c *cached) shard(id string) *cacheShard {
	return &c.shards[maphash.String(c.seed, id)%cacheShards]
}

func (c *cached) GetToken(ctx context.Context, id string) (Token, error) {
	sh := c.shard(id)
	sh.mu.RLock()
	e, ok := sh.m[id]
	sh.mu.RUnlock()
	now := c.now()
	if ok && now.Before(e.expires) {
		return e.tok, nil
	}
	gen := c.gen.Load()
	t, err := c.Store.GetToken(ctx, id)
	if err != nil {
		return t, err
	}
	sh.mu.Lock()
	if c.gen.Load() == gen { // checked under the shard lock that invalidate also takes
		if _, exists := sh.m[id]; !exists && len(sh.m) >= c.perShard {
			for k := range sh.m { // map order is random: drop an arbitrary entry
				delete(sh.m, k)
				break
			}
		}
		sh.m[id] = cacheEntry{tok: t, expires: now.Add(c.ttl)}
	}
	sh.mu.Unlock()
	return t, nil
}

// invalidate drops the entries drop selects (all when nil). It runs after inner has
// applied the change. The generation is bumped first: a GetToken that read the old
// generation (so may hold a stale answer) either stored it before its shard is swept
// below, and is dropped, or checks the generation after, and does not store it.
func (c *cached) invalidate(drop func(id string, t Token) bool) {
	c.gen.Add(1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		if drop == nil {
			clear(sh.m)
		} else {
			for id, e := range sh.m {
				if drop(id, e.tok) {
					delete(sh.m, id)
				}
			}
		}
		sh.mu.Unlock()
	}
}

func (c *cached) RevokeToken(ctx context.Context, id string, at time.Time) error {
	err := c.Store.RevokeToken(ctx, id, at)
	c.invalidate(func(k string, _ Token) bool { return k == id })
	return err
}

func (c *cached) DeleteTokensOf(ctx context.Context, subject string) error {
	err := c.Store.DeleteTokensOf(ctx, subject)
	c.invalidate(func(_ string, t Token) bool { return t.Subject == subject })
	return err
}

func (c *cached) DeleteAPIKey(ctx context.Context, org, name string) error {
	err := c.Store.DeleteAPIKey(ctx, org, name)
	c.invalidate(nil)
	return err
}

func (c *cached) DeleteOrg(ctx context.Context, name string) error {
	err := c.Store.DeleteOrg(ctx, name)
	c.invalidate(nil)
	return err
}

func (c *cached) Reset(ctx context.Context) error {
	err := c.Store.Reset(ctx)
	c.invalidate(nil)
	return err
}

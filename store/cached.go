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
// Across replicas (inner is *SQL): every change that revokes or deletes tokens also
// moves the token epoch, a counter row in the database, in the same transaction. A
// cached record is served only while the epoch was read less than InvalidationPeriod
// ago; otherwise the lookup that finds it stale reads the epoch again (one at a time;
// the others meanwhile go to the database) and drops every entry when it moved. So a
// token revoked or deleted through any replica is refused here within
// InvalidationPeriod (200 ms) of the change committing, and when the epoch cannot be
// read (database down) nothing is served from the cache. A change made directly in the
// database without moving the epoch is seen after ttl. With another inner store (memory,
// one process) the cache holds records for up to ttl.
//
// Every other method is inner's own; a method added to Store that changes or deletes
// tokens must be overridden here to invalidate.
func NewCached(inner Store, ttl time.Duration) Store {
	if ttl <= 0 {
		return inner
	}
	c := &cached{Store: inner, ttl: ttl, now: time.Now, seed: maphash.MakeSeed(), perShard: DefaultCacheEntries / cacheShards}
	c.epochs, _ = inner.(epochSource)
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

	epochs    epochSource  // nil: no cross-replica invalidation
	epoch     atomic.Int64 // the last epoch read
	epochRead atomic.Int64 // when the last successful read began, in UnixNano; 0: never
	reading   atomic.Bool  // one lookup at a time reads the epoch
}

// InvalidationPeriod bounds how long a token revoked or deleted through another replica
// is still accepted from a replica's token cache (NewCached on SQL).
const InvalidationPeriod = 200 * time.Millisecond

// epochSource is a store with a token epoch (see NewCached): *SQL.
type epochSource interface {
	tokenEpoch(ctx context.Context) (int64, error)
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
	if !c.fresh(ctx) {
		return c.Store.GetToken(ctx, id)
	}
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

// fresh reports whether the cache may answer: always without an epoch source; else when
// the epoch was read less than InvalidationPeriod ago, reading it now (dropping every
// entry when it moved) unless another lookup already is.
func (c *cached) fresh(ctx context.Context) bool {
	if c.epochs == nil {
		return true
	}
	if time.Since(time.Unix(0, c.epochRead.Load())) < InvalidationPeriod {
		return true
	}
	if !c.reading.CompareAndSwap(false, true) {
		return false // another lookup is reading the epoch: ask the database meanwhile
	}
	defer c.reading.Store(false)
	start := time.Now()
	epoch, err := c.epochs.tokenEpoch(ctx)
	if err != nil {
		return false
	}
	if old := c.epoch.Swap(epoch); old != epoch || c.epochRead.Load() == 0 {
		c.invalidate(nil)
	}
	c.epochRead.Store(start.UnixNano())
	return true
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

// WithTx runs inner's transaction with a tx that notes whether fn revoked or deleted
// tokens, and then drops the cache as those methods do (inner moves the token epoch for
// other replicas in the transaction itself).
func (c *cached) WithTx(ctx context.Context, fn func(tx Tx) error) error {
	var dropped atomic.Bool
	err := c.Store.WithTx(ctx, func(tx Tx) error { return fn(droppingTx{Tx: tx, dropped: &dropped}) })
	if dropped.Load() {
		c.invalidate(nil)
	}
	return err
}

// droppingTx notes the calls that revoke or delete tokens.
type droppingTx struct {
	Tx
	dropped *atomic.Bool
}

func (t droppingTx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	t.dropped.Store(true)
	return t.Tx.RevokeToken(ctx, id, at)
}

func (t droppingTx) DeleteTokensOf(ctx context.Context, subject string) error {
	t.dropped.Store(true)
	return t.Tx.DeleteTokensOf(ctx, subject)
}

func (t droppingTx) DeleteAPIKey(ctx context.Context, org, name string) error {
	t.dropped.Store(true)
	return t.Tx.DeleteAPIKey(ctx, org, name)
}

func (t droppingTx) DeleteOrg(ctx context.Context, name string) error {
	t.dropped.Store(true)
	return t.Tx.DeleteOrg(ctx, name)
}

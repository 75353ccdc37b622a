package relations

import (
	"sync"
	"time"
)

// checkCache remembers the answers to checks that asked for no particular consistency.
// Every entry belongs to the view of revisions (revState) it was computed under: the
// first check after any change the engine sees (its own write, or a change delivered
// by its watch) asks SpiceDB again. An entry also expires after the ttl given with it,
// which, when the engine may not see every change (see revState.cacheTTL), is the whole
// bound on how late another process's write is seen. Data services ask the same
// questions thousands of times a second; this is what keeps them off the datastore.
type checkCache struct {
	max int
	now func() time.Time

	mu      sync.RWMutex
	gen     *revState // the view the entries belong to
	entries map[checkKey]cachedCheck
}

type checkKey struct {
	resource   Object
	permission string
	subject    Subject
}

type cachedCheck struct {
	result  CheckResult
	expires time.Time
}

func newCheckCache(max int) *checkCache {
	return &checkCache{max: max, now: time.Now, entries: map[checkKey]cachedCheck{}}
}

// get returns the cached answer for k computed under gen.
func (c *checkCache) get(k checkKey, gen *revState) (CheckResult, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return CheckResult{}, false
	}
	e, ok := c.entries[k]
	if !ok || !c.now().Before(e.expires) {
		return CheckResult{}, false
	}
	return e.result, true
}

// put stores an answer computed under gen for ttl, unless a change has been seen since
// (current is the newest view now).
func (c *checkCache) put(k checkKey, gen, current *revState, r CheckResult, ttl time.Duration) {
	if gen != current {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || len(c.entries) >= c.max {
		c.gen = gen
		c.entries = make(map[checkKey]cachedCheck, min(c.max, 1024))
	}
	c.entries[k] = cachedCheck{result: r, expires: c.now().Add(ttl)}
}

package relations

import (
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// checkCache remembers the answers to checks that asked for no particular consistency.
// An answer is kept until this engine's next write (every entry belongs to the write
// generation it was computed in, so the first check after a write asks SpiceDB again) and
// at most ttl, which bounds how late a write made by another process is seen: the same
// bound as SpiceDB's own minimize_latency answers. Data services ask the same questions
// thousands of times a second; this is what keeps them off the datastore.
type checkCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.RWMutex
	gen     *v1.ZedToken // the write generation the entries belong to
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

func newCheckCache(ttl time.Duration, max int) *checkCache {
	return &checkCache{ttl: ttl, max: max, now: time.Now, entries: map[checkKey]cachedCheck{}}
}

// get returns the cached answer for k computed in generation gen.
func (c *checkCache) get(k checkKey, gen *v1.ZedToken) (CheckResult, bool) {
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

// put stores an answer computed in generation gen, unless a write has happened since
// (current is the newest generation now).
func (c *checkCache) put(k checkKey, gen, current *v1.ZedToken, r CheckResult) {
	if gen != current {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || len(c.entries) >= c.max {
		c.gen = gen
		c.entries = make(map[checkKey]cachedCheck, min(c.max, 1024))
	}
	c.entries[k] = cachedCheck{result: r, expires: c.now().Add(c.ttl)}
}

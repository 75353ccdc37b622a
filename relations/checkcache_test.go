package relations

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCheckCache(3)
	c.now = func() time.Time { return now }
	k := checkKey{resource: Object{"repo", "acme/x"}, permission: "read", subject: Subject{Object: Object{"user", "bob@example.com"}}}
	g1, g2 := &revState{complete: true}, &revState{complete: true}

	c.put(k, g1, g1, CheckResult{Allowed: true, CheckedAt: "t1"}, time.Second)
	r, ok := c.get(k, g1)
	require.True(t, ok)
	require.True(t, r.Allowed)

	_, ok = c.get(k, g2)
	require.False(t, ok, "a write makes every earlier answer stale")

	c.put(k, g1, g2, CheckResult{Allowed: true}, time.Second)
	_, ok = c.get(k, g2)
	require.False(t, ok, "an answer computed before a write is not stored after it")

	c.put(k, g2, g2, CheckResult{Allowed: false}, time.Second)
	r, ok = c.get(k, g2)
	require.True(t, ok)
	require.False(t, r.Allowed)

	now = now.Add(time.Second)
	_, ok = c.get(k, g2)
	require.False(t, ok, "answers expire after the ttl")

	for i := range 5 { // the size bound holds
		k.permission = string(rune('a' + i))
		c.put(k, g2, g2, CheckResult{}, time.Second)
	}
	require.LessOrEqual(t, len(c.entries), 3)
}

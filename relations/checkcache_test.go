package relations

import (
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
)

func TestCheckCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCheckCache(time.Second, 3)
	c.now = func() time.Time { return now }
	k := checkKey{resource: Object{"repo", "acme/x"}, permission: "read", subject: Subject{Object: Object{"user", "bob@example.com"}}}
	g1, g2 := &v1.ZedToken{Token: "1"}, &v1.ZedToken{Token: "2"}

	c.put(k, g1, g1, CheckResult{Allowed: true, CheckedAt: "t1"})
	r, ok := c.get(k, g1)
	require.True(t, ok)
	require.True(t, r.Allowed)

	_, ok = c.get(k, g2)
	require.False(t, ok, "a write makes every earlier answer stale")

	c.put(k, g1, g2, CheckResult{Allowed: true})
	_, ok = c.get(k, g2)
	require.False(t, ok, "an answer computed before a write is not stored after it")

	c.put(k, g2, g2, CheckResult{Allowed: false})
	r, ok = c.get(k, g2)
	require.True(t, ok)
	require.False(t, r.Allowed)

	now = now.Add(time.Second)
	_, ok = c.get(k, g2)
	require.False(t, ok, "answers expire after the ttl")

	for i := range 5 { // the size bound holds
		k.permission = string(rune('a' + i))
		c.put(k, g2, g2, CheckResult{})
	}
	require.LessOrEqual(t, len(c.entries), 3)
}

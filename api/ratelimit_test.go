package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFailureLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newFailureLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for range 3 {
		require.Zero(t, l.fail("10.0.0.1"))
	}
	now = now.Add(10 * time.Second)
	require.Equal(t, 50*time.Second, l.fail("10.0.0.1"), "over the limit: wait until the window ends")
	require.Zero(t, l.fail("10.0.0.2"), "clients are counted apart")
	now = now.Add(50 * time.Second)
	require.Zero(t, l.fail("10.0.0.1"), "a new window starts afresh")
}

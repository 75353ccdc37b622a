package api

import (
	"sync"
	"time"
)

// failureLimiter counts failed authentications per client. Past max failures within
// window a client is refused with 429 until the window ends, so tokens cannot be guessed
// quickly; valid tokens are never refused, so a shared address does not lock out its
// legitimate users.
type failureLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	clients map[string]*failures
}

type failures struct {
	start time.Time
	count int
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: max, window: window, now: time.Now, clients: map[string]*failures{}}
}

// fail records a failure of client and reports how long it must wait when it is now
// over the limit (0 when it is not).
func (l *failureLimiter) fail(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.clients) > 100_000 {
		for k, f := range l.clients {
			if now.Sub(f.start) >= l.window {
				delete(l.clients, k)
			}
		}
	}
	f := l.clients[client]
	if f == nil || now.Sub(f.start) >= l.window {
		f = &failures{start: now}
		l.clients[client] = f
	}
	f.count++
	if f.count <= l.max {
		return 0
	}
	return f.start.Add(l.window).Sub(now)
}

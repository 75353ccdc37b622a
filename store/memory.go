package store

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is the in-memory Store: the default, and lost on exit.
type Memory struct {
	mu     sync.RWMutex
	tokens map[string]Token
	robots map[string]Robot
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{tokens: map[string]Token{}, robots: map[string]Robot{}}
}

var _ Store = (*Memory)(nil)

func (m *Memory) CreateToken(_ context.Context, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[t.ID]; ok {
		return ErrExists
	}
	t.Hash = slices.Clone(t.Hash)
	m.tokens[t.ID] = t
	return nil
}

func (m *Memory) GetToken(_ context.Context, id string) (Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.tokens[id]
	if !ok {
		return Token{}, ErrNotFound
	}
	return t, nil
}

func (m *Memory) ListTokens(_ context.Context, subject string) ([]Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Token
	for _, t := range m.tokens {
		if t.Subject == subject {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (m *Memory) RevokeToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return ErrNotFound
	}
	if t.RevokedAt == nil {
		t.RevokedAt = &at
		m.tokens[id] = t
	}
	return nil
}

func (m *Memory) DeleteTokensOf(_ context.Context, subject string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, t := range m.tokens {
		if t.Subject == subject {
			delete(m.tokens, id)
		}
	}
	return nil
}

func (m *Memory) CreateRobot(_ context.Context, r Robot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.robots[r.Name]; ok {
		return ErrExists
	}
	m.robots[r.Name] = r
	return nil
}

func (m *Memory) GetRobot(_ context.Context, name string) (Robot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.robots[name]
	if !ok {
		return Robot{}, ErrNotFound
	}
	return r, nil
}

func (m *Memory) ListRobots(_ context.Context) ([]Robot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Robot, 0, len(m.robots))
	for _, r := range m.robots {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Name, out[j].Name) < 0 })
	return out, nil
}

func (m *Memory) DeleteRobot(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.robots[name]; !ok {
		return ErrNotFound
	}
	delete(m.robots, name)
	return nil
}

func (m *Memory) Reset(_ context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens = map[string]Token{}
	m.robots = map[string]Robot{}
	return nil
}

package store

import (
	"context"
	"crypto/subtle"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is the in-memory Store: the default, and lost on exit.
type Memory struct {
	mu       sync.RWMutex
	tokens   map[string]Token
	robots   map[string]Robot
	users    map[string]User
	orgs     map[string]Org
	apiKeys  map[apiKeyID]APIKey
	sessions map[string]Session
	audit    []AuditEvent // in ID order; never shrinks
	auditID  int64
	// activatedAt is the activation record (nil: not activated); Reset keeps it.
	activatedAt *time.Time

	locks localLocks
}

type apiKeyID struct{ org, name string }

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{}
	m.wipe()
	return m
}

// wipe empties everything but the audit log.
func (m *Memory) wipe() {
	m.tokens = map[string]Token{}
	m.robots = map[string]Robot{}
	m.users = map[string]User{}
	m.orgs = map[string]Org{}
	m.apiKeys = map[apiKeyID]APIKey{}
	m.sessions = map[string]Session{}
}

var _ Store = (*Memory)(nil)

func (m *Memory) CreateToken(_ context.Context, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[t.ID]; ok {
		return ErrExists
	}
	t.Hash = slices.Clone(t.Hash)
	t.Grants = slices.Clone(t.Grants)
	t.RevokedAt = clonePtr(t.RevokedAt)
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
	m.wipe()
	return nil
}

func (m *Memory) UpsertUser(_ context.Context, u User) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u.LastLoginAt = clonePtr(u.LastLoginAt)
	old, ok := m.users[u.Email]
	if !ok {
		if u.CreatedAt.IsZero() {
			u.CreatedAt = time.Now().UTC()
		}
		m.users[u.Email] = u
		return u, nil
	}
	if u.Name != "" {
		old.Name = u.Name
	}
	if u.LastLoginAt != nil {
		old.LastLoginAt = u.LastLoginAt
	}
	m.users[u.Email] = old
	return old, nil
}

func (m *Memory) GetUser(_ context.Context, email string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[email]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (m *Memory) CreateOrg(_ context.Context, o Org) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.orgs[o.Name]; ok {
		return ErrExists
	}
	m.orgs[o.Name] = o
	return nil
}

func (m *Memory) GetOrg(_ context.Context, name string) (Org, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, ok := m.orgs[name]
	if !ok {
		return Org{}, ErrNotFound
	}
	return o, nil
}

func (m *Memory) ListOrgs(_ context.Context) ([]Org, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Org, 0, len(m.orgs))
	for _, o := range m.orgs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Memory) UpdateOrg(_ context.Context, o Org) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.orgs[o.Name]
	if !ok {
		return ErrNotFound
	}
	old.RepoAccess = o.RepoAccess
	m.orgs[o.Name] = old
	return nil
}

func (m *Memory) DeleteOrg(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.orgs[name]; !ok {
		return ErrNotFound
	}
	for id, k := range m.apiKeys {
		if id.org == name {
			delete(m.tokens, k.TokenID)
			delete(m.apiKeys, id)
		}
	}
	delete(m.orgs, name)
	return nil
}

func (m *Memory) CreateAPIKey(_ context.Context, k APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.orgs[k.Org]; !ok {
		return ErrNotFound
	}
	id := apiKeyID{k.Org, k.Name}
	if _, ok := m.apiKeys[id]; ok {
		return ErrExists
	}
	m.apiKeys[id] = k
	return nil
}

func (m *Memory) GetAPIKey(_ context.Context, org, name string) (APIKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.apiKeys[apiKeyID{org, name}]
	if !ok {
		return APIKey{}, ErrNotFound
	}
	return k, nil
}

func (m *Memory) ListAPIKeys(_ context.Context, org string) ([]APIKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []APIKey{}
	for id, k := range m.apiKeys {
		if id.org == org {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Memory) DeleteAPIKey(_ context.Context, org, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := apiKeyID{org, name}
	k, ok := m.apiKeys[id]
	if !ok {
		return ErrNotFound
	}
	delete(m.tokens, k.TokenID)
	delete(m.apiKeys, id)
	return nil
}

func (m *Memory) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return ErrExists
	}
	s.RefreshHash = slices.Clone(s.RefreshHash)
	s.PreviousRefreshHash = slices.Clone(s.PreviousRefreshHash)
	s.AccessTokenIDs = slices.Clone(s.AccessTokenIDs)
	s.RevokedAt = clonePtr(s.RevokedAt)
	m.sessions[s.ID] = s
	return nil
}

func (m *Memory) GetSession(_ context.Context, id string) (Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[id]
	if !ok {
		return Session{}, ErrNotFound
	}
	return s, nil
}

func (m *Memory) RevokeSession(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return ErrNotFound
	}
	if s.RevokedAt == nil {
		s.RevokedAt = &at
		m.sessions[id] = s
	}
	return nil
}

func (m *Memory) RotateSessionRefresh(_ context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return ErrNotFound
	}
	if s.RevokedAt != nil || subtle.ConstantTimeCompare(s.RefreshHash, oldHash) != 1 {
		return ErrConflict
	}
	s.PreviousRefreshHash = s.RefreshHash
	s.RefreshHash = slices.Clone(newHash)
	s.ExpiresAt = expiresAt
	m.sessions[id] = s
	return nil
}

func (m *Memory) AddSessionToken(_ context.Context, id, tokenID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return ErrNotFound
	}
	s.AccessTokenIDs = append(slices.Clone(s.AccessTokenIDs), tokenID)
	m.sessions[id] = s
	return nil
}

func (m *Memory) AppendAudit(_ context.Context, e AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.auditID++
	e.ID = m.auditID
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if len(e.Details) == 0 {
		e.Details = nil
	} else {
		e.Details = maps.Clone(e.Details)
	}
	m.audit = append(m.audit, e)
	return nil
}

func (m *Memory) ListAudit(_ context.Context, f AuditFilter) ([]AuditEvent, error) {
	m.mu.RLock()
	var out []AuditEvent
	for _, e := range m.audit {
		if (f.Org == "" || e.Org == f.Org) && (f.Actor == "" || e.Actor == f.Actor) &&
			(f.Since.IsZero() || !e.Time.Before(f.Since)) {
			out = append(out, e)
		}
	}
	m.mu.RUnlock()
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	if limit := auditLimit(f.Limit); len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i].Details = maps.Clone(out[i].Details)
	}
	return out, nil
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

package store

import (
	"context"
	"crypto/subtle"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// memData is Memory's records. Its methods do no locking: Memory's methods hold the lock
// around them, and WithTx holds it for a whole transaction, with undo set so that every
// change can be undone if fn fails.
type memData struct {
	tokens   map[string]Token
	robots   map[string]Robot
	users    map[string]User
	orgs     map[string]Org
	apiKeys  map[apiKeyID]APIKey
	sessions map[string]Session
	logins   map[string]LoginState
	audit    []AuditEvent // in ID order; never shrinks
	auditID  int64
	// activatedAt is the activation record (nil: not activated); Reset keeps it.
	activatedAt *time.Time
	// undo, inside WithTx only, collects the inverse of every change, newest last.
	undo *[]func()

	// Bucket configs (by ID) and repos (memory_data_buckets.go).
	buckets map[string]BucketConfig
	repos   map[repoKey]Repo
}

type apiKeyID struct{ org, name string }

var _ Tx = (*memData)(nil)

// wipe empties everything but the audit log and the activation record.
func (d *memData) wipe() {
	d.tokens = map[string]Token{}
	d.robots = map[string]Robot{}
	d.users = map[string]User{}
	d.orgs = map[string]Org{}
	d.apiKeys = map[apiKeyID]APIKey{}
	d.sessions = map[string]Session{}
	d.logins = map[string]LoginState{}
	// Bucket configs and repos (memory_data_buckets.go).
	d.buckets = map[string]BucketConfig{}
	d.repos = map[repoKey]Repo{}
}

// record adds f to the undo log, when there is one.
func (d *memData) record(f func()) {
	if d.undo != nil {
		*d.undo = append(*d.undo, f)
	}
}

// setKey sets m[k] = v, recording how to undo it.
func setKey[K comparable, V any](undo *[]func(), m map[K]V, k K, v V) {
	if undo != nil {
		old, ok := m[k]
		*undo = append(*undo, func() {
			if ok {
				m[k] = old
			} else {
				delete(m, k)
			}
		})
	}
	m[k] = v
}

// delKey deletes m[k], recording how to undo it.
func delKey[K comparable, V any](undo *[]func(), m map[K]V, k K) {
	if old, ok := m[k]; ok && undo != nil {
		*undo = append(*undo, func() { m[k] = old })
	}
	delete(m, k)
}

func (d *memData) CreateToken(_ context.Context, t Token) error {
	if _, ok := d.tokens[t.ID]; ok {
		return ErrExists
	}
	t.Hash = slices.Clone(t.Hash)
	t.Grants = slices.Clone(t.Grants)
	t.RevokedAt = clonePtr(t.RevokedAt)
	setKey(d.undo, d.tokens, t.ID, t)
	return nil
}

func (d *memData) GetToken(_ context.Context, id string) (Token, error) {
	t, ok := d.tokens[id]
	if !ok {
		return Token{}, ErrNotFound
	}
	return t, nil
}

func (d *memData) ListTokens(_ context.Context, subject string) ([]Token, error) {
	var out []Token
	for _, t := range d.tokens {
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

func (d *memData) RevokeToken(_ context.Context, id string, at time.Time) error {
	t, ok := d.tokens[id]
	if !ok {
		return ErrNotFound
	}
	if t.RevokedAt == nil {
		t.RevokedAt = &at
		setKey(d.undo, d.tokens, id, t)
	}
	return nil
}

func (d *memData) DeleteTokensOf(_ context.Context, subject string) error {
	for id, t := range d.tokens {
		if t.Subject == subject {
			delKey(d.undo, d.tokens, id)
		}
	}
	return nil
}

func (d *memData) CreateRobot(_ context.Context, r Robot) error {
	if _, ok := d.robots[r.Name]; ok {
		return ErrExists
	}
	setKey(d.undo, d.robots, r.Name, r)
	return nil
}

func (d *memData) GetRobot(_ context.Context, name string) (Robot, error) {
	r, ok := d.robots[name]
	if !ok {
		return Robot{}, ErrNotFound
	}
	return r, nil
}

func (d *memData) ListRobots(_ context.Context) ([]Robot, error) {
	out := make([]Robot, 0, len(d.robots))
	for _, r := range d.robots {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Name, out[j].Name) < 0 })
	return out, nil
}

func (d *memData) DeleteRobot(_ context.Context, name string) error {
	if _, ok := d.robots[name]; !ok {
		return ErrNotFound
	}
	delKey(d.undo, d.robots, name)
	return nil
}

func (d *memData) UpsertUser(_ context.Context, u User) (User, error) {
	u.LastLoginAt = clonePtr(u.LastLoginAt)
	old, ok := d.users[u.Email]
	if !ok {
		if u.CreatedAt.IsZero() {
			u.CreatedAt = time.Now().UTC()
		}
		setKey(d.undo, d.users, u.Email, u)
		return u, nil
	}
	if u.Name != "" {
		old.Name = u.Name
	}
	if u.LastLoginAt != nil {
		old.LastLoginAt = u.LastLoginAt
	}
	setKey(d.undo, d.users, u.Email, old)
	return old, nil
}

func (d *memData) GetUser(_ context.Context, email string) (User, error) {
	u, ok := d.users[email]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (d *memData) CreateOrg(_ context.Context, o Org) error {
	if _, ok := d.orgs[o.Name]; ok {
		return ErrExists
	}
	setKey(d.undo, d.orgs, o.Name, o)
	return nil
}

func (d *memData) GetOrg(_ context.Context, name string) (Org, error) {
	o, ok := d.orgs[name]
	if !ok {
		return Org{}, ErrNotFound
	}
	return o, nil
}

func (d *memData) ListOrgs(_ context.Context) ([]Org, error) {
	out := make([]Org, 0, len(d.orgs))
	for _, o := range d.orgs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *memData) UpdateOrg(_ context.Context, o Org) error {
	old, ok := d.orgs[o.Name]
	if !ok {
		return ErrNotFound
	}
	old.RepoAccess = o.RepoAccess
	setKey(d.undo, d.orgs, o.Name, old)
	return nil
}

func (d *memData) DeleteOrg(_ context.Context, name string) error {
	if _, ok := d.orgs[name]; !ok {
		return ErrNotFound
	}
	for id, k := range d.apiKeys {
		if id.org == name {
			delKey(d.undo, d.tokens, k.TokenID)
			delKey(d.undo, d.apiKeys, id)
		}
	}
	d.deleteOrgData(name) // its repos and bucket configs
	delKey(d.undo, d.orgs, name)
	return nil
}

func (d *memData) CreateAPIKey(_ context.Context, k APIKey) error {
	if _, ok := d.orgs[k.Org]; !ok {
		return ErrNotFound
	}
	id := apiKeyID{k.Org, k.Name}
	if _, ok := d.apiKeys[id]; ok {
		return ErrExists
	}
	setKey(d.undo, d.apiKeys, id, k)
	return nil
}

func (d *memData) GetAPIKey(_ context.Context, org, name string) (APIKey, error) {
	k, ok := d.apiKeys[apiKeyID{org, name}]
	if !ok {
		return APIKey{}, ErrNotFound
	}
	return k, nil
}

func (d *memData) ListAPIKeys(_ context.Context, org string) ([]APIKey, error) {
	out := []APIKey{}
	for id, k := range d.apiKeys {
		if id.org == org {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *memData) DeleteAPIKey(_ context.Context, org, name string) error {
	id := apiKeyID{org, name}
	k, ok := d.apiKeys[id]
	if !ok {
		return ErrNotFound
	}
	delKey(d.undo, d.tokens, k.TokenID)
	delKey(d.undo, d.apiKeys, id)
	return nil
}

func (d *memData) CreateSession(_ context.Context, s Session) error {
	if _, ok := d.sessions[s.ID]; ok {
		return ErrExists
	}
	s.RefreshHash = slices.Clone(s.RefreshHash)
	s.PreviousRefreshHash = slices.Clone(s.PreviousRefreshHash)
	s.AccessTokenIDs = slices.Clone(s.AccessTokenIDs)
	s.RevokedAt = clonePtr(s.RevokedAt)
	setKey(d.undo, d.sessions, s.ID, s)
	return nil
}

func (d *memData) GetSession(_ context.Context, id string) (Session, error) {
	s, ok := d.sessions[id]
	if !ok {
		return Session{}, ErrNotFound
	}
	return s, nil
}

func (d *memData) RevokeSession(_ context.Context, id string, at time.Time) error {
	s, ok := d.sessions[id]
	if !ok {
		return ErrNotFound
	}
	if s.RevokedAt == nil {
		s.RevokedAt = &at
		setKey(d.undo, d.sessions, id, s)
	}
	return nil
}

func (d *memData) RotateSessionRefresh(_ context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error {
	s, ok := d.sessions[id]
	if !ok {
		return ErrNotFound
	}
	if s.RevokedAt != nil || subtle.ConstantTimeCompare(s.RefreshHash, oldHash) != 1 {
		return ErrConflict
	}
	s.PreviousRefreshHash = s.RefreshHash
	s.RefreshHash = slices.Clone(newHash)
	s.ExpiresAt = expiresAt
	setKey(d.undo, d.sessions, id, s)
	return nil
}

func (d *memData) AddSessionToken(_ context.Context, id, tokenID string) error {
	s, ok := d.sessions[id]
	if !ok {
		return ErrNotFound
	}
	s.AccessTokenIDs = append(slices.Clone(s.AccessTokenIDs), tokenID)
	setKey(d.undo, d.sessions, id, s)
	return nil
}

func (d *memData) AppendAudit(_ context.Context, e AuditEvent) error {
	d.record(func(n int, id int64) func() { return func() { d.audit, d.auditID = d.audit[:n], id } }(len(d.audit), d.auditID))
	d.auditID++
	e.ID = d.auditID
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if len(e.Details) == 0 {
		e.Details = nil
	} else {
		e.Details = maps.Clone(e.Details)
	}
	d.audit = append(d.audit, e)
	return nil
}

func (d *memData) ListAudit(_ context.Context, f AuditFilter) ([]AuditEvent, error) {
	var out []AuditEvent
	for _, e := range d.audit {
		if (f.Org == "" || e.Org == f.Org) && (f.Actor == "" || e.Actor == f.Actor) &&
			(f.Since.IsZero() || !e.Time.Before(f.Since)) {
			out = append(out, e)
		}
	}
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

func (d *memData) MarkActivated(_ context.Context, at time.Time) error {
	if d.activatedAt != nil {
		return ErrExists
	}
	d.record(func() { d.activatedAt = nil })
	d.activatedAt = &at
	return nil
}

func (d *memData) Activation(_ context.Context) (time.Time, bool, error) {
	if d.activatedAt == nil {
		return time.Time{}, false, nil
	}
	return *d.activatedAt, true, nil
}

func (d *memData) ClearActivated(_ context.Context) error {
	old := d.activatedAt
	d.record(func() { d.activatedAt = old })
	d.activatedAt = nil
	return nil
}

func (d *memData) CreateLoginState(_ context.Context, l LoginState) error {
	if _, ok := d.logins[l.Key]; ok {
		return ErrExists
	}
	setKey(d.undo, d.logins, l.Key, l)
	return nil
}

func (d *memData) TakeLoginState(_ context.Context, key string, now time.Time) (LoginState, error) {
	l, ok := d.logins[key]
	if !ok {
		return LoginState{}, ErrNotFound
	}
	delKey(d.undo, d.logins, key)
	if !now.Before(l.ExpiresAt) {
		return LoginState{}, ErrNotFound
	}
	return l, nil
}

func (d *memData) GetLoginState(_ context.Context, key string, now time.Time) (LoginState, error) {
	l, ok := d.logins[key]
	if !ok || !now.Before(l.ExpiresAt) {
		return LoginState{}, ErrNotFound
	}
	return l, nil
}

func (d *memData) UpdateLoginPoll(_ context.Context, key string, prevNextPoll, nextPoll time.Time, interval time.Duration) error {
	l, ok := d.logins[key]
	if !ok {
		return ErrNotFound
	}
	if !l.NextPoll.Equal(prevNextPoll) {
		return ErrConflict
	}
	l.NextPoll, l.Interval = nextPoll, interval
	setKey(d.undo, d.logins, key, l)
	return nil
}

func (d *memData) PurgeLoginStates(_ context.Context, now time.Time) (int, error) {
	for k, l := range d.logins {
		if !now.Before(l.ExpiresAt) {
			delKey(d.undo, d.logins, k)
		}
	}
	return len(d.logins), nil
}

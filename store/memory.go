package store

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-memory Store: the default, and lost on exit. One lock guards every
// record; WithTx holds it for the whole transaction (so transactions are serial) and
// undoes every change when fn fails.
type Memory struct {
	mu    sync.RWMutex
	d     memData
	locks localLocks
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{}
	m.d.wipe()
	return m
}

var _ Store = (*Memory)(nil)

func (m *Memory) Reset(_ context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.d.wipe()
	return nil
}

// WithTx runs fn with every record of the store, holding the store's lock: concurrent
// transactions run one after the other. When fn returns an error (or panics), every
// change it made is undone. fn must use only tx: calling the Memory itself deadlocks.
func (m *Memory) WithTx(ctx context.Context, fn func(tx Tx) error) (err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var undo []func()
	m.d.undo = &undo
	done := false
	defer func() {
		m.d.undo = nil
		if !done || err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	err = fn(&m.d)
	done = true
	return err
}

// Lock takes a one-slot semaphore per name, so that waiting honours ctx.
func (m *Memory) Lock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	release, err := m.locks.acquire(ctx, name)
	if err != nil {
		return err
	}
	defer release()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return fn(fctx)
}

// The methods below hold the lock around memData's.

func (m *Memory) CreateToken(ctx context.Context, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateToken(ctx, t)
}

func (m *Memory) GetToken(ctx context.Context, id string) (Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetToken(ctx, id)
}

func (m *Memory) ListTokens(ctx context.Context, subject string) ([]Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListTokens(ctx, subject)
}

func (m *Memory) RevokeToken(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.RevokeToken(ctx, id, at)
}

func (m *Memory) DeleteTokensOf(ctx context.Context, subject string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeleteTokensOf(ctx, subject)
}

func (m *Memory) CreateRobot(ctx context.Context, r Robot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateRobot(ctx, r)
}

func (m *Memory) GetRobot(ctx context.Context, name string) (Robot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetRobot(ctx, name)
}

func (m *Memory) ListRobots(ctx context.Context) ([]Robot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListRobots(ctx)
}

func (m *Memory) DeleteRobot(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeleteRobot(ctx, name)
}

func (m *Memory) UpsertUser(ctx context.Context, u User) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.UpsertUser(ctx, u)
}

func (m *Memory) GetUser(ctx context.Context, email string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetUser(ctx, email)
}

func (m *Memory) CreateOrg(ctx context.Context, o Org) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateOrg(ctx, o)
}

func (m *Memory) GetOrg(ctx context.Context, name string) (Org, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetOrg(ctx, name)
}

func (m *Memory) ListOrgs(ctx context.Context) ([]Org, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListOrgs(ctx)
}

func (m *Memory) UpdateOrg(ctx context.Context, o Org) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.UpdateOrg(ctx, o)
}

func (m *Memory) DeleteOrg(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeleteOrg(ctx, name)
}

func (m *Memory) CreateAPIKey(ctx context.Context, k APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateAPIKey(ctx, k)
}

func (m *Memory) GetAPIKey(ctx context.Context, org, name string) (APIKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetAPIKey(ctx, org, name)
}

func (m *Memory) ListAPIKeys(ctx context.Context, org string) ([]APIKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListAPIKeys(ctx, org)
}

func (m *Memory) DeleteAPIKey(ctx context.Context, org, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.DeleteAPIKey(ctx, org, name)
}

func (m *Memory) CreateSession(ctx context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateSession(ctx, s)
}

func (m *Memory) GetSession(ctx context.Context, id string) (Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetSession(ctx, id)
}

func (m *Memory) RevokeSession(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.RevokeSession(ctx, id, at)
}

func (m *Memory) RotateSessionRefresh(ctx context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.RotateSessionRefresh(ctx, id, oldHash, newHash, expiresAt)
}

func (m *Memory) AddSessionToken(ctx context.Context, id, tokenID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.AddSessionToken(ctx, id, tokenID)
}

func (m *Memory) AppendAudit(ctx context.Context, e AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.AppendAudit(ctx, e)
}

func (m *Memory) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.ListAudit(ctx, f)
}

func (m *Memory) MarkActivated(ctx context.Context, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.MarkActivated(ctx, at)
}

func (m *Memory) Activation(ctx context.Context) (time.Time, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.Activation(ctx)
}

func (m *Memory) ClearActivated(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.ClearActivated(ctx)
}

func (m *Memory) CreateLoginState(ctx context.Context, l LoginState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.CreateLoginState(ctx, l)
}

func (m *Memory) TakeLoginState(ctx context.Context, key string, now time.Time) (LoginState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.TakeLoginState(ctx, key, now)
}

func (m *Memory) GetLoginState(ctx context.Context, key string, now time.Time) (LoginState, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.d.GetLoginState(ctx, key, now)
}

func (m *Memory) UpdateLoginPoll(ctx context.Context, key string, prevNextPoll, nextPoll time.Time, interval time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.UpdateLoginPoll(ctx, key, prevNextPoll, nextPoll, interval)
}

func (m *Memory) PurgeLoginStates(ctx context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d.PurgeLoginStates(ctx, now)
}

// Package store holds Gatehouse's own records (tokens, robots, users, orgs, API keys,
// login sessions, logins in progress, the audit log and the platform state), one small
// interface per record kind (TokenStore, RobotStore, ...), all composed in Store, with
// WithTx to change several records all or nothing. Memory is the default
// implementation and loses everything on exit; SQL keeps them in PostgreSQL or
// CockroachDB; NewCached puts an in-process cache in front of the token lookup that
// every request makes.
//
// Revocation across replicas: on SQL, every change that revokes or deletes tokens moves
// a token epoch in the same transaction, and each replica's cache reads it at most every
// InvalidationPeriod (200 ms) before answering from memory. A token revoked or an API key
// deleted through one replica is therefore refused by every other replica within
// InvalidationPeriod plus one database round trip (measured about 200 ms, bound 1 s),
// and a replica that cannot read the epoch answers from the database, not the cache.
package store

import (
	"context"
	"errors"
	"time"
)

// The errors every implementation returns, checked with errors.Is. Their messages never
// carry driver text.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict is a failed compare-and-swap: the record changed since the caller read
	// it (a replayed refresh token, for one).
	ErrConflict = errors.New("conflict")
)

// Token is a minted token's record. The secret itself is never stored: only Hash, the
// SHA-256 of the whole token.
type Token struct {
	ID        string
	Hash      []byte
	Subject   string // typed subject, ID6: "robot:ci", "user:alice@example.com"
	Kind      string // "robot", "user", "scoped", "pipeline", "api_key", "session"
	Role      string
	Grants    []byte // JSON of []tokens.Grant; nil for an unscoped token
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	// ParentID is the id of the token that minted this one; "" for a root token
	// (activation, robot creation, API key, login). The token is refused once any
	// ancestor is missing, revoked or expired (tokens.Service.Verify).
	ParentID string
}

// Robot is a platform machine identity (ID3).
type Robot struct {
	Name      string
	CreatedAt time.Time
	CreatedBy string
}

// User is a person (ID1), known by email. The store compares emails exactly as given:
// callers lower-case them first.
type User struct {
	Email       string // lower-case; the key
	Name        string
	CreatedAt   time.Time
	LastLoginAt *time.Time // nil until the first login (a user can be added before it)
}

// Org repo access modes (O2).
const (
	RepoAccessMembers = "members"  // every member reads and writes every repo (the default)
	RepoAccessACLOnly = "acl_only" // repo access comes only from each repo's ACL
)

// Org is an organisation (O1).
type Org struct {
	Name       string
	RepoAccess string // RepoAccessMembers or RepoAccessACLOnly
	CreatedAt  time.Time
	CreatedBy  string // typed subject
}

// APIKey is a service account's key (ID2). The service account is "sa:<Name>@<Org>"; the
// token itself is a Token record with ID TokenID.
type APIKey struct {
	Org       string
	Name      string
	TokenID   string
	Role      string
	CreatedAt time.Time
	ExpiresAt time.Time
	CreatedBy string // typed subject
}

// Session is a login session (T1). Only the SHA-256 of the current refresh token is
// kept; refreshing swaps it (RotateSessionRefresh), so an old refresh token is refused.
type Session struct {
	ID          string
	Subject     string // typed subject
	Issuer      string // the OIDC issuer the person logged in through
	RefreshHash []byte
	// PreviousRefreshHash is the hash the last rotation replaced: presenting that spent
	// token again is reuse, and revokes the session.
	PreviousRefreshHash []byte
	// AccessTokenIDs are the tokens minted for the session, revoked at logout.
	AccessTokenIDs []string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	RevokedAt      *time.Time
}

// LoginState is a login in progress (browser, copy-code or device flow), kept until it
// is taken once or expires. Key is the SHA-256 (hex) of the state or handle that names
// the login, never the secret itself. Verifier and DeviceCode must be kept as they are
// to finish the login; they live at most until ExpiresAt (minutes).
type LoginState struct {
	Key        string
	Flow       string // "browser", "copy_code" or "device"
	Issuer     string // the issuer's configured name
	Verifier   string // PKCE verifier (code flows)
	Nonce      string // code flows
	DeviceCode string // device flow
	Interval   time.Duration
	NextPoll   time.Time // device flow: polling earlier is too fast
	ExpiresAt  time.Time
}

// AuditEvent is one entry of the append-only audit log (AU1). Details never hold secrets.
type AuditEvent struct {
	ID      int64 // assigned by the store; ignored by AppendAudit
	Time    time.Time
	Actor   string // typed subject
	Action  string // e.g. "token.mint", "org.delete"
	Target  string
	Org     string // "" for platform-level events
	Outcome string // e.g. "ok", "denied", "error"
	Details map[string]string
}

// AuditFilter selects audit events; zero fields select everything.
type AuditFilter struct {
	Org   string
	Actor string
	Since time.Time // inclusive
	Limit int       // <= 0: DefaultAuditLimit; at most MaxAuditLimit
}

// Limits of ListAudit.
const (
	DefaultAuditLimit = 1000
	MaxAuditLimit     = 10000
)

// Store is Gatehouse's own tables: every record interface, the platform state, Reset and
// WithTx. Implementations are safe for concurrent use. Every change a method makes is all
// or nothing; WithTx makes several changes all or nothing.
//
// Records come back as they were stored, except that SQL keeps times to the
// microsecond and returns them in UTC: callers that compare times use Equal. Callers
// must not modify the slices of a returned record (NewCached shares them).
type Store interface {
	TokenStore
	RobotStore
	UserStore
	OrgStore
	APIKeyStore
	SessionStore
	LoginStateStore
	AuditStore
	PlatformStore
	// Bucket configs and repos (store/data.go, contract D1).
	BucketStore
	RepoStore

	// Reset deletes every record except the audit log and the activation record: tokens,
	// robots, users, orgs, API keys, sessions and logins in progress (platform
	// deactivation, P3;
	// ClearActivated forgets the activation). The audit log survives because the
	// deactivation is itself an audited act, and what happened before it must stay
	// answerable.
	Reset(ctx context.Context) error

	// WithTx runs fn in one transaction: every change fn makes through tx is applied
	// together when fn returns nil, and none is when it returns an error. Concurrent
	// transactions are serializable. fn may run more than once (SQL retries
	// serialization failures), so it must have no effect outside tx; tx must not be used
	// after fn returns, nor concurrently.
	WithTx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the records of one transaction (Store.WithTx).
type Tx interface {
	TokenStore
	RobotStore
	UserStore
	OrgStore
	APIKeyStore
	SessionStore
	LoginStateStore
	AuditStore
	ActivationStore
	// Bucket configs and repos (store/data.go, contract D1).
	BucketStore
	RepoStore
}

// TokenStore keeps token records.
type TokenStore interface {
	// CreateToken stores a new token record; ErrExists when the id is taken.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns the record of id, revoked or not; ErrNotFound when absent. It is
	// on the path of every request: callers refuse revoked and expired records.
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns the records of subject, newest first (ties by id).
	ListTokens(ctx context.Context, subject string) ([]Token, error)
	// RevokeToken marks id revoked at the given time (a second revocation keeps the
	// first time); ErrNotFound when absent.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// DeleteTokensOf deletes every token of subject; none is not an error.
	DeleteTokensOf(ctx context.Context, subject string) error
}

// RobotStore keeps robots.
type RobotStore interface {
	// CreateRobot stores a robot; ErrExists when the name is taken.
	CreateRobot(ctx context.Context, r Robot) error
	// GetRobot returns a robot; ErrNotFound when absent.
	GetRobot(ctx context.Context, name string) (Robot, error)
	// ListRobots returns every robot by name.
	ListRobots(ctx context.Context) ([]Robot, error)
	// DeleteRobot deletes a robot; ErrNotFound when absent.
	DeleteRobot(ctx context.Context, name string) error
}

// UserStore keeps users.
type UserStore interface {
	// UpsertUser creates u, or updates the user with u.Email, and returns the stored
	// record. An update replaces Name when u.Name is not empty and LastLoginAt when
	// u.LastLoginAt is not nil, so adding a known person again never erases anything;
	// CreatedAt is set on creation only (now when zero).
	UpsertUser(ctx context.Context, u User) (User, error)
	// GetUser returns the user with email (compared exactly); ErrNotFound when absent.
	GetUser(ctx context.Context, email string) (User, error)
}

// OrgStore keeps orgs.
type OrgStore interface {
	// CreateOrg stores an org; ErrExists when the name is taken.
	CreateOrg(ctx context.Context, o Org) error
	// GetOrg returns an org; ErrNotFound when absent.
	GetOrg(ctx context.Context, name string) (Org, error)
	// ListOrgs returns every org by name.
	ListOrgs(ctx context.Context) ([]Org, error)
	// UpdateOrg replaces the mutable fields (RepoAccess) of the org named o.Name;
	// ErrNotFound when absent. CreatedAt and CreatedBy never change.
	UpdateOrg(ctx context.Context, o Org) error
	// DeleteOrg deletes an org together with its API keys and their tokens, its repos and
	// its bucket configs, in one step; ErrNotFound when absent.
	DeleteOrg(ctx context.Context, name string) error
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	// CreateAPIKey stores an API key; ErrExists when (k.Org, k.Name) is taken,
	// ErrNotFound when the org does not exist. The key's token is created separately
	// (CreateToken, before this call, with ID k.TokenID).
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKey returns a key; ErrNotFound when absent.
	GetAPIKey(ctx context.Context, org, name string) (APIKey, error)
	// ListAPIKeys returns the keys of org by name; none (or no such org) is an empty list.
	ListAPIKeys(ctx context.Context, org string) ([]APIKey, error)
	// DeleteAPIKey deletes a key and its token (TokenID), in one step, so the key is
	// refused at once (ID2); ErrNotFound when absent.
	DeleteAPIKey(ctx context.Context, org, name string) error
}

// SessionStore keeps login sessions.
type SessionStore interface {
	// CreateSession stores a session; ErrExists when the id is taken.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session, revoked or not; ErrNotFound when absent. Callers
	// refuse revoked and expired sessions.
	GetSession(ctx context.Context, id string) (Session, error)
	// RevokeSession marks a session revoked at the given time (logout; a second
	// revocation keeps the first time); ErrNotFound when absent.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RotateSessionRefresh atomically replaces the refresh hash of session id with
	// newHash and its expiry with expiresAt, if and only if the stored hash is oldHash
	// and the session is not revoked. ErrConflict otherwise (a replayed or raced refresh
	// token, or a revoked session), ErrNotFound when absent.
	RotateSessionRefresh(ctx context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error
	// AddSessionToken records tokenID as one of the session's access tokens;
	// ErrNotFound when absent.
	AddSessionToken(ctx context.Context, id, tokenID string) error
}

// LoginStateStore keeps logins in progress, so that a login begun on one replica can
// finish on another (issue 8.6).
type LoginStateStore interface {
	// CreateLoginState stores l; ErrExists when l.Key is taken.
	CreateLoginState(ctx context.Context, l LoginState) error
	// TakeLoginState deletes the login under key and returns it, once: of concurrent
	// takers only one gets it. ErrNotFound when absent or expired at now (an expired one
	// is deleted too).
	TakeLoginState(ctx context.Context, key string, now time.Time) (LoginState, error)
	// GetLoginState returns the login under key; ErrNotFound when absent or expired at
	// now.
	GetLoginState(ctx context.Context, key string, now time.Time) (LoginState, error)
	// UpdateLoginPoll sets the polling interval and next poll of the login under key if
	// and only if its NextPoll is still prevNextPoll (compare-and-swap, Equal);
	// ErrConflict otherwise, ErrNotFound when absent.
	UpdateLoginPoll(ctx context.Context, key string, prevNextPoll, nextPoll time.Time, interval time.Duration) error
	// PurgeLoginStates deletes the logins expired at now and returns how many remain.
	PurgeLoginStates(ctx context.Context, now time.Time) (remaining int, err error)
}

// AuditStore is the append-only audit log (AU1): there is no way to change or delete an event.
type AuditStore interface {
	// AppendAudit appends an event to the audit log. The store assigns its ID (ignoring
	// e.ID) and sets Time to now when zero. The log is append-only: there is no way to
	// change or delete an event.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns the events matching f, oldest first (by Time, then ID), at most
	// f.Limit of them (see AuditFilter).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// PlatformStore is the platform's own state (C1): whether it was activated, and named
// locks that serialise invariant checks across every process sharing the store.
type PlatformStore interface {
	ActivationStore
	// Lock runs fn while holding the lock called name, exclusive across every process
	// sharing the store (SQL: a row lock held in a transaction; memory: a mutex per
	// name). fn gets a ctx canceled with ctx. Returns fn's error, or ctx's error when
	// ctx ends before the lock is taken.
	Lock(ctx context.Context, name string, fn func(ctx context.Context) error) error
}

// ActivationStore is the activation record (P1, P3).
type ActivationStore interface {
	// MarkActivated records, once, that the platform was activated at at (P1). ErrExists
	// when it already is. Only ClearActivated (deactivation, P3) reopens it.
	MarkActivated(ctx context.Context, at time.Time) error
	// Activation reports whether and when the platform was activated.
	Activation(ctx context.Context) (at time.Time, activated bool, err error)
	// ClearActivated forgets the activation (deactivation, P3); none is not an error.
	ClearActivated(ctx context.Context) error
}

// auditLimit returns the number of events ListAudit returns for limit.
func auditLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultAuditLimit
	case limit > MaxAuditLimit:
		return MaxAuditLimit
	}
	return limit
}

package login

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound and ErrConflict are returned by every SessionStore.
var (
	ErrNotFound = errors.New("session not found")
	ErrConflict = errors.New("session changed concurrently")
)

// Session is one login of a person: it lives at most Config.SessionTTL, is renewed with
// its refresh token and ends at logout. Only the SHA-256 of the refresh token is kept.
type Session struct {
	ID                  string
	Subject             string // "user:<email>"
	Issuer              string // the issuer's name
	RefreshHash         []byte // SHA-256 of the current refresh token
	PreviousRefreshHash []byte // SHA-256 of the refresh token it replaced: seeing it again means theft
	AccessTokenIDs      []string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	RevokedAt           *time.Time
}

// SessionStore keeps sessions. Implementations are safe for concurrent use and return
// copies: changing a returned Session changes nothing stored.
type SessionStore interface {
	// CreateSession stores a new session; ErrConflict when the id is taken.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns session id, revoked or expired alike; ErrNotFound when absent.
	GetSession(ctx context.Context, id string) (Session, error)
	// RevokeSession marks id revoked at the given time (the first time only);
	// ErrNotFound when absent.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RotateSessionRefresh atomically replaces the refresh hash of id, only if it is still
	// oldHash and the session is not revoked (else ErrConflict): it then sets
	// PreviousRefreshHash to oldHash, RefreshHash to newHash and ExpiresAt to expiresAt.
	// ErrNotFound when absent.
	RotateSessionRefresh(ctx context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error
	// AddSessionToken records that access token tokenID was minted for session id, so that
	// logout revokes it; ErrNotFound when absent.
	AddSessionToken(ctx context.Context, id, tokenID string) error
}

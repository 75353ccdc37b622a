// Package store holds Gatehouse's own records (tokens and robots today) behind one
// interface. Memory is the default implementation; it loses everything on exit.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound and ErrExists are returned by every implementation.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
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
}

// Robot is a platform machine identity (ID3).
type Robot struct {
	Name      string
	CreatedAt time.Time
	CreatedBy string
}

// Store is Gatehouse's own tables. Implementations are safe for concurrent use.
type Store interface {
	// CreateToken stores a new token record; ErrExists when the id is taken.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns the record of id, revoked or not; ErrNotFound when absent.
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns the records of subject, newest first.
	ListTokens(ctx context.Context, subject string) ([]Token, error)
	// RevokeToken marks id revoked at the given time; ErrNotFound when absent.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// DeleteTokensOf deletes every token of subject.
	DeleteTokensOf(ctx context.Context, subject string) error

	// CreateRobot stores a robot; ErrExists when the name is taken.
	CreateRobot(ctx context.Context, r Robot) error
	// GetRobot returns a robot; ErrNotFound when absent.
	GetRobot(ctx context.Context, name string) (Robot, error)
	// ListRobots returns every robot by name.
	ListRobots(ctx context.Context) ([]Robot, error)
	// DeleteRobot deletes a robot; ErrNotFound when absent.
	DeleteRobot(ctx context.Context, name string) error

	// Reset deletes every record (platform deactivation, P3).
	Reset(ctx context.Context) error
}

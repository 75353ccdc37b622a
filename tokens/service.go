package tokens

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Config bounds token lifetimes (T4).
type Config struct {
	DefaultTTL  time.Duration // when a request names none
	MaxTTL      time.Duration // any token
	MaxAdminTTL time.Duration // tokens with admin power
}

// DefaultConfig returns short-lived defaults: 1 h by default, at most a year, admin power
// at most a day.
func DefaultConfig() Config {
	return Config{DefaultTTL: time.Hour, MaxTTL: 365 * 24 * time.Hour, MaxAdminTTL: 24 * time.Hour}
}

// Validate checks the bounds are coherent.
func (c Config) Validate() error {
	switch {
	case c.DefaultTTL <= 0 || c.MaxTTL <= 0 || c.MaxAdminTTL <= 0:
		return errors.New("token lifetimes must be positive")
	case c.DefaultTTL > c.MaxTTL:
		return fmt.Errorf("default token ttl %s exceeds the maximum %s", c.DefaultTTL, c.MaxTTL)
	case c.MaxAdminTTL > c.MaxTTL:
		return fmt.Errorf("max admin token ttl %s exceeds the maximum %s", c.MaxAdminTTL, c.MaxTTL)
	}
	return nil
}

// Principal is a verified token: who holds it and what it may do.
type Principal struct {
	Subject   string // typed subject (ID6)
	TokenID   string
	Kind      string
	Role      string
	Grants    []Grant // nil: the owner's full access
	ExpiresAt time.Time
	ParentID  string // the token that minted this one; "" for a root token
	// ParentSubject is the owner of the token that minted this one (Verify fills it in;
	// "" for a root token): powers granted at mint time only because the minter held
	// them (the check function) are asked of it again at each use (T3).
	ParentSubject string
}

// Scoped reports whether the token is limited by grants.
func (p Principal) Scoped() bool { return p.Grants != nil }

// Allows reports whether the token's grants cover function on resourceType in org. An
// unscoped token allows everything its owner may do; the owner's own permission is
// always checked separately, so effective access is the intersection (T3).
func (p Principal) Allows(function, resourceType, org string) bool {
	if p.Grants == nil {
		return true
	}
	for _, g := range p.Grants {
		if g.Allows(function, resourceType, org) {
			return true
		}
	}
	return false
}

// MintRequest describes a token to mint.
type MintRequest struct {
	Subject    string
	Kind       string
	Role       string
	Grants     []Grant // nil: unscoped
	TTL        time.Duration
	AdminPower bool // the owner is an admin and the grants allow administration (T4)
	// Parent is the token that mints this one; nil for a root token (activation, robot
	// creation, API key, login). The new token never outlives it: ExpiresAt is cut to
	// Parent.ExpiresAt (Minted.Capped), and it is refused once Parent (or any of
	// Parent's ancestors) is missing, revoked or expired.
	Parent *Principal
}

// Minted is a new token: Token is shown once and never stored.
type Minted struct {
	ID        string
	Subject   string
	Token     string
	ExpiresAt time.Time
	Capped    bool // ExpiresAt was cut to the parent's expiry
}

// Service mints, verifies, lists and revokes tokens.
type Service struct {
	store store.Store
	cfg   Config
	now   func() time.Time
}

// NewService returns a token service over st.
func NewService(st store.Store, cfg Config) *Service {
	return &Service{store: st, cfg: cfg, now: time.Now}
}

// MaxAdminTTL is the longest lifetime of a token with admin power.
func (s *Service) MaxAdminTTL() time.Duration { return s.cfg.MaxAdminTTL }

// ResolveRole expands a role name into its grants; "" yields (nil, nil).
func ResolveRole(role string) ([]Grant, error) {
	if role == "" {
		return nil, nil
	}
	g, ok := Roles[role]
	if !ok {
		return nil, apperr.InvalidField("role", "unknown role %q (known: admin, developer, auditor, checker)", role)
	}
	return g, nil
}

// TTL returns the lifetime to use for a requested one, or an error naming the bound.
func (s *Service) TTL(requested time.Duration, adminPower bool) (time.Duration, error) {
	if requested == 0 {
		requested = s.cfg.DefaultTTL
		if adminPower && requested > s.cfg.MaxAdminTTL {
			requested = s.cfg.MaxAdminTTL
		}
	}
	switch {
	case requested < 0:
		return 0, apperr.InvalidField("ttl", "must be positive")
	case requested < time.Minute:
		return 0, apperr.InvalidField("ttl", "must be at least 1m")
	case adminPower && requested > s.cfg.MaxAdminTTL:
		return 0, apperr.InvalidField("ttl", "tokens with admin power live at most %s", s.cfg.MaxAdminTTL)
	case requested > s.cfg.MaxTTL:
		return 0, apperr.InvalidField("ttl", "must be at most %s", s.cfg.MaxTTL)
	}
	return requested, nil
}

// Prepare validates req and returns a new token and the record to store for it, without
// storing it: for callers that must order the write among others (an API key's token is
// stored last, so that a crash leaves nothing usable). With a Parent it records the
// parent and caps the expiry, but does not walk the parent's ancestors as Mint does;
// Verify refuses the token anyway once any of them is gone.
func (s *Service) Prepare(req MintRequest) (Minted, store.Token, error) {
	ttl, err := s.TTL(req.TTL, req.AdminPower)
	if err != nil {
		return Minted{}, store.Token{}, err
	}
	for i, g := range req.Grants {
		if err := g.Validate(); err != nil {
			return Minted{}, store.Token{}, apperr.InvalidField(fmt.Sprintf("grants[%d]", i), "%s", err)
		}
	}
	var grants []byte
	if req.Grants != nil {
		if grants, err = json.Marshal(req.Grants); err != nil {
			return Minted{}, store.Token{}, err
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	expires, capped := now.Add(ttl), false
	var parentID string
	if p := req.Parent; p != nil {
		if p.TokenID == "" || !now.Before(p.ExpiresAt) {
			return Minted{}, store.Token{}, apperr.Unauth()
		}
		parentID = p.TokenID
		if expires.After(p.ExpiresAt) {
			expires, capped = p.ExpiresAt.UTC(), true
		}
	}
	tok, id := generate()
	rec := store.Token{
		ID: id, Hash: Hash(tok), Subject: req.Subject, Kind: req.Kind, Role: req.Role,
		Grants: grants, CreatedAt: now, ExpiresAt: expires, ParentID: parentID,
	}
	return Minted{ID: id, Subject: req.Subject, Token: tok, ExpiresAt: rec.ExpiresAt, Capped: capped}, rec, nil
}

// Mint creates a token. The returned Token is the only copy of the secret. A token with
// a Parent is refused (apperr.Unauth) when the parent or one of its ancestors is
// missing, revoked or expired, and (apperr.Invalid) when it would be more than
// MaxLineageDepth tokens deep.
func (s *Service) Mint(ctx context.Context, req MintRequest) (Minted, error) {
	if req.Parent != nil {
		depth, _, err := s.ancestors(ctx, req.Parent.TokenID, s.now(), MaxLineageDepth)
		if depth >= MaxLineageDepth {
			return Minted{}, apperr.InvalidField("parent", "tokens derive from tokens at most %d deep", MaxLineageDepth)
		}
		if err != nil {
			return Minted{}, err
		}
	}
	for range 3 { // an id collision is astronomically unlikely; retry anyway
		m, rec, err := s.Prepare(req)
		if err != nil {
			return Minted{}, err
		}
		err = s.store.CreateToken(ctx, rec)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return Minted{}, fmt.Errorf("store token: %w", err)
		}
		return m, nil
	}
	return Minted{}, errors.New("could not allocate a token id")
}

// MaxLineageDepth is the longest chain of tokens, from a root token to the token
// itself: Mint refuses to make a longer one, and Verify walks at most
// MaxLineageDepth-1 ancestors.
const MaxLineageDepth = 8

// dummyHash is compared against when a token id is unknown, so that an unknown id costs
// the same constant-time comparison as a known one (issue 7.5).
var dummyHash = Hash(Prefix + strings.Repeat("a", tokenLen-len(Prefix)))

// Verify returns the principal of a token. Every failure (malformed, unknown, wrong
// secret, expired, revoked, or an ancestor missing, revoked or expired) is the same
// apperr.Unauth error.
func (s *Service) Verify(ctx context.Context, token string) (Principal, error) {
	id, err := Parse(token)
	if err != nil {
		return Principal{}, apperr.Unauth()
	}
	rec, err := s.store.GetToken(ctx, id)
	want := rec.Hash
	if err != nil {
		want = dummyHash
	}
	hashOK := subtle.ConstantTimeCompare(want, Hash(token)) == 1
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, apperr.Unauth()
	}
	if err != nil {
		return Principal{}, unavailable(err)
	}
	now := s.now()
	if !hashOK || rec.RevokedAt != nil || !now.Before(rec.ExpiresAt) {
		return Principal{}, apperr.Unauth()
	}
	_, minter, err := s.ancestors(ctx, rec.ParentID, now, MaxLineageDepth-1)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Subject: rec.Subject, TokenID: rec.ID, Kind: rec.Kind, Role: rec.Role, ExpiresAt: rec.ExpiresAt,
		ParentID: rec.ParentID, ParentSubject: minter}
	if rec.Grants != nil {
		if err := json.Unmarshal(rec.Grants, &p.Grants); err != nil {
			return Principal{}, fmt.Errorf("token %s: corrupt grants: %w", rec.ID, err)
		}
		if p.Grants == nil {
			p.Grants = []Grant{}
		}
	}
	return p, nil
}

func unavailable(err error) error {
	return apperr.New(apperr.Unavailable, "unavailable", "token store unavailable").WithCause(err)
}

// ancestors walks the chain of parents from parentID and returns its length and the
// owner of the first (the parent; "" without one). It fails with apperr.Unauth when an
// ancestor is missing, revoked or expired at now, or when the chain is longer than limit
// (a cycle included); the length is then limit.
func (s *Service) ancestors(ctx context.Context, parentID string, now time.Time, limit int) (int, string, error) {
	depth, parent := 0, ""
	for id := parentID; id != ""; depth++ {
		if depth >= limit {
			return depth, "", apperr.Unauth()
		}
		a, err := s.store.GetToken(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return depth, "", apperr.Unauth()
		}
		if err != nil {
			return depth, "", unavailable(err)
		}
		if a.RevokedAt != nil || !now.Before(a.ExpiresAt) {
			return depth, "", apperr.Unauth()
		}
		if depth == 0 {
			parent = a.Subject
		}
		id = a.ParentID
	}
	return depth, parent, nil
}

// Info is a token's metadata, never its secret.
type Info struct {
	ID        string     `json:"id"`
	Subject   string     `json:"subject"`
	Kind      string     `json:"kind"`
	Role      string     `json:"role,omitempty"`
	Scoped    bool       `json:"scoped"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// List returns the metadata of subject's tokens.
func (s *Service) List(ctx context.Context, subject string) ([]Info, error) {
	recs, err := s.store.ListTokens(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		out = append(out, Info{ID: r.ID, Subject: r.Subject, Kind: r.Kind, Role: r.Role, Scoped: r.Grants != nil,
			CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt})
	}
	return out, nil
}

// Revoke revokes token id owned by subject (any owner when subject is ""). Unknown ids
// and other people's tokens are both NotFound.
func (s *Service) Revoke(ctx context.Context, subject, id string) error {
	rec, err := s.store.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && subject != "" && rec.Subject != subject) {
		return apperr.New(apperr.NotFound, "not_found", "no token %q", id)
	}
	if err != nil {
		return err
	}
	return s.store.RevokeToken(ctx, id, s.now().UTC())
}

// RevokeAllOf deletes every token of subject.
func (s *Service) RevokeAllOf(ctx context.Context, subject string) error {
	return s.store.DeleteTokensOf(ctx, subject)
}

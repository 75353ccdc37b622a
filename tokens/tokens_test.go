package tokens

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
)

func newTestService(t *testing.T) (*Service, *store.Memory, *time.Time) {
	t.Helper()
	st := store.NewMemory()
	s := NewService(st, DefaultConfig())
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, st, &now
}

func TestFormat(t *testing.T) {
	tok, id := generate()
	require.True(t, strings.HasPrefix(tok, Prefix), "fixed prefix for secret scanners")
	require.Len(t, tok, tokenLen)
	got, err := Parse(tok)
	require.NoError(t, err)
	require.Equal(t, id, got)

	other, _ := generate()
	require.NotEqual(t, tok, other, "tokens are random")

	// Every single-character change is caught by the checksum or the alphabet check.
	for i := len(Prefix); i < len(tok); i++ {
		b := []byte(tok)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		_, err := Parse(string(b))
		require.ErrorIs(t, err, ErrMalformed, "tampered at %d", i)
	}
	for _, bad := range []string{"", "gth_", "xyz_" + tok[4:], tok[:len(tok)-1], tok + "a", strings.ToUpper(tok)} {
		_, err := Parse(bad)
		require.ErrorIs(t, err, ErrMalformed, bad)
	}
}

func TestMintVerifyRevoke(t *testing.T) {
	ctx := context.Background()
	s, st, now := newTestService(t)
	m, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "robot", TTL: 2 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, now.Add(2*time.Hour), m.ExpiresAt)

	rec, err := st.GetToken(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, Hash(m.Token), rec.Hash, "only the hash is stored")
	require.NotContains(t, string(rec.Hash), m.Token)

	p, err := s.Verify(ctx, m.Token)
	require.NoError(t, err)
	require.Equal(t, "robot:ci", p.Subject)
	require.False(t, p.Scoped())

	// A well-formed token with the right id but another secret is refused like any other.
	forged, _ := generate()
	forged = Prefix + m.ID + forged[len(Prefix)+idLen:len(forged)-sumLen]
	forged += checksum(forged[len(Prefix):])
	_, err = s.Verify(ctx, forged)
	require.Equal(t, apperr.Unauth().Message, err.Error())

	// Expiry is enforced at the very moment it passes.
	*now = now.Add(2 * time.Hour)
	_, err = s.Verify(ctx, m.Token)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err))
	*now = now.Add(-time.Minute)

	require.NoError(t, s.Revoke(ctx, "robot:ci", m.ID))
	_, err = s.Verify(ctx, m.Token)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), "revoked tokens are refused at once")

	require.Equal(t, apperr.NotFound, apperr.KindOf(s.Revoke(ctx, "robot:other", m.ID)), "other people's tokens look absent")
}

func TestTTLBounds(t *testing.T) {
	s, _, _ := newTestService(t)
	ttl, err := s.TTL(0, false)
	require.NoError(t, err)
	require.Equal(t, time.Hour, ttl, "short-lived by default (T4)")
	_, err = s.TTL(25*time.Hour, true)
	require.Error(t, err, "admin power is bounded (T4)")
	_, err = s.TTL(-time.Hour, false)
	require.Error(t, err)
	_, err = s.TTL(2*365*24*time.Hour, false)
	require.Error(t, err)
}

func TestGrants(t *testing.T) {
	g := Grant{Functions: []string{"read"}, Resources: []string{"repo"}, Orgs: []string{"acme"}}
	require.NoError(t, g.Validate())
	require.True(t, g.Allows("read", "repo", "acme"))
	require.False(t, g.Allows("write", "repo", "acme"))
	require.False(t, g.Allows("read", "repo", "beta"))
	require.False(t, g.Allows("read", "bucket", "acme"))
	require.Error(t, Grant{Functions: []string{"fly"}, Resources: []string{"repo"}, Orgs: []string{"*"}}.Validate())
	require.Error(t, Grant{Functions: []string{"read"}, Resources: []string{"widget"}, Orgs: []string{"*"}}.Validate())

	p := Principal{Grants: []Grant{g}}
	require.True(t, p.Scoped())
	require.True(t, p.Allows("read", "repo", "acme"))
	require.False(t, p.Allows("admin", "platform", ""))
	require.True(t, Principal{}.Allows("admin", "platform", ""), "unscoped tokens defer to the owner's permissions")
}

func FuzzParse(f *testing.F) {
	tok, _ := generate()
	f.Add(tok)
	f.Add("gth_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			return
		}
		require.Len(t, id, idLen)
		require.True(t, strings.HasPrefix(s, Prefix+id))
	})
}

// TestMintCapsAtParent: a token minted by another never outlives it (T4, issue 7.4): its
// expiry is cut to the parent's and the answer says so; the parent id is recorded.
func TestMintCapsAtParent(t *testing.T) {
	ctx := context.Background()
	s, st, now := newTestService(t)
	parent, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "robot", TTL: 5 * time.Minute})
	require.NoError(t, err)
	require.False(t, parent.Capped)
	pp, err := s.Verify(ctx, parent.Token)
	require.NoError(t, err)
	require.Empty(t, pp.ParentID, "a root token has no parent")

	child, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "scoped", TTL: 365 * 24 * time.Hour, Parent: &pp})
	require.NoError(t, err)
	require.True(t, child.Capped)
	require.Equal(t, now.Add(5*time.Minute), child.ExpiresAt, "cut to the parent's expiry")
	rec, err := st.GetToken(ctx, child.ID)
	require.NoError(t, err)
	require.Equal(t, parent.ID, rec.ParentID)
	cp, err := s.Verify(ctx, child.Token)
	require.NoError(t, err)
	require.Equal(t, parent.ID, cp.ParentID)

	short, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "scoped", TTL: 2 * time.Minute, Parent: &pp})
	require.NoError(t, err)
	require.False(t, short.Capped, "a shorter lifetime is kept")
	require.Equal(t, now.Add(2*time.Minute), short.ExpiresAt)
}

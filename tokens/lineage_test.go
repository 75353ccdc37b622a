package tokens

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

// lineageStores are the stores lineage is checked on: memory, and PostgreSQL behind the
// token cache as serve runs it.
func lineageStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"memory": func(*testing.T) store.Store { return store.NewMemory() },
		"postgres": func(t *testing.T) store.Store {
			ctx := context.Background()
			sql, err := store.NewSQL(ctx, harness.StartPostgres(t))
			require.NoError(t, err)
			t.Cleanup(sql.Close)
			require.NoError(t, sql.Migrate(ctx))
			return store.NewCached(sql, time.Hour)
		},
	}
}

func unauth(t *testing.T, err error, msg string) {
	t.Helper()
	require.Error(t, err, msg)
	require.Equal(t, apperr.Unauthenticated, apperr.KindOf(err), msg)
}

// TestLineageRevocation: revoking, deleting or expiring a parent refuses every
// descendant at its next request (ID2, T4; issue 7.3).
func TestLineageRevocation(t *testing.T) {
	for name, newStore := range lineageStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			s := NewService(st, DefaultConfig())
			now := time.Now().UTC().Truncate(time.Second)
			s.now = func() time.Time { return now }
			chain := func(subject string) (root Minted, tokens []string) {
				root, err := s.Mint(ctx, MintRequest{Subject: subject, Kind: "robot", TTL: time.Hour})
				require.NoError(t, err)
				tokens = []string{root.Token}
				for range 2 {
					p, err := s.Verify(ctx, tokens[len(tokens)-1])
					require.NoError(t, err)
					m, err := s.Mint(ctx, MintRequest{Subject: subject, Kind: "scoped", TTL: 24 * time.Hour, Parent: &p})
					require.NoError(t, err)
					require.True(t, m.Capped)
					tokens = append(tokens, m.Token)
				}
				return root, tokens
			}

			root, toks := chain("robot:a")
			require.NoError(t, s.Revoke(ctx, "", root.ID))
			for i, tok := range toks {
				_, err := s.Verify(ctx, tok)
				unauth(t, err, "revoked root refuses generation "+string(rune('0'+i)))
			}

			_, toks = chain("robot:b")
			mid, err := s.Verify(ctx, toks[1])
			require.NoError(t, err)
			require.NoError(t, st.RevokeToken(ctx, mid.TokenID, now))
			_, err = s.Verify(ctx, toks[0])
			require.NoError(t, err, "the parent of a revoked token stays valid")
			_, err = s.Verify(ctx, toks[2])
			unauth(t, err, "revoked parent refuses the child")
			p, err := s.Verify(ctx, toks[0])
			require.NoError(t, err)
			_, err = s.Mint(ctx, MintRequest{Subject: "robot:b", Kind: "scoped", Parent: &mid})
			unauth(t, err, "a revoked token mints nothing")
			_, err = s.Mint(ctx, MintRequest{Subject: "robot:b", Kind: "scoped", Parent: &p})
			require.NoError(t, err)

			// Deleting the parent (robot deletion, API key deletion) refuses descendants.
			_, toks = chain("robot:c")
			require.NoError(t, st.DeleteTokensOf(ctx, "robot:c"))
			for _, tok := range toks {
				_, err := s.Verify(ctx, tok)
				unauth(t, err, "deleted lineage")
			}

			// Expiry of the root: the capped children expire with it.
			_, toks = chain("robot:d")
			now = now.Add(time.Hour)
			for _, tok := range toks {
				_, err := s.Verify(ctx, tok)
				unauth(t, err, "expired root")
			}
		})
	}
}

// TestLineageDepth: Mint refuses a chain longer than MaxLineageDepth; Verify refuses a
// stored chain that is too long or loops, rather than walking it forever.
func TestLineageDepth(t *testing.T) {
	ctx := context.Background()
	s, st, now := newTestService(t)
	m, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "robot", TTL: time.Hour})
	require.NoError(t, err)
	for i := 1; i < MaxLineageDepth; i++ {
		p, err := s.Verify(ctx, m.Token)
		require.NoError(t, err, "generation %d", i)
		m, err = s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "scoped", Parent: &p})
		require.NoError(t, err, "generation %d", i)
	}
	p, err := s.Verify(ctx, m.Token)
	require.NoError(t, err, "a chain of MaxLineageDepth verifies")
	_, err = s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "scoped", Parent: &p})
	require.Equal(t, apperr.Invalid, apperr.KindOf(err), "one more is refused: %v", err)

	// A loop written behind the service's back is refused, not followed forever.
	tok, id := generate()
	require.NoError(t, st.CreateToken(ctx, store.Token{ID: id, Hash: Hash(tok), Subject: "robot:ci", Kind: "scoped",
		CreatedAt: *now, ExpiresAt: now.Add(time.Hour), ParentID: id}))
	_, err = s.Verify(ctx, tok)
	unauth(t, err, "a token that is its own parent")
}

// TestVerifyUnknownID: an unknown id and a known id with a wrong secret fail alike
// (issue 7.5: both compare a hash in constant time; the error is the same).
func TestVerifyUnknownID(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t)
	m, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: "robot", TTL: time.Hour})
	require.NoError(t, err)
	unknown, _ := generate()
	forged, _ := generate()
	forged = Prefix + m.ID + forged[len(Prefix)+idLen:len(forged)-sumLen]
	forged += checksum(forged[len(Prefix):])
	_, errUnknown := s.Verify(ctx, unknown)
	_, errForged := s.Verify(ctx, forged)
	require.Equal(t, errUnknown.Error(), errForged.Error())
	unauth(t, errUnknown, "unknown id")
	require.Len(t, dummyHash, len(Hash(m.Token)), "the dummy costs a full comparison")
}

// TestVerifyNamesTheMinter: Verify returns the owner of the parent token, which authz asks
// again at each use about powers granted only because the minter held them (T3: the
// check function).
func TestVerifyNamesTheMinter(t *testing.T) {
	ctx := context.Background()
	s := NewService(store.NewMemory(), DefaultConfig())
	root, err := s.Mint(ctx, MintRequest{Subject: "user:admin@example.com", Kind: KindUser, TTL: time.Hour})
	require.NoError(t, err)
	rp, err := s.Verify(ctx, root.Token)
	require.NoError(t, err)
	require.Empty(t, rp.ParentSubject, "a root token has no minter")
	child, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: KindScoped, TTL: time.Hour, Parent: &rp,
		Grants: []Grant{{Functions: []string{FuncCheck}, Resources: []string{Any}, Orgs: []string{Any}}}})
	require.NoError(t, err)
	cp, err := s.Verify(ctx, child.Token)
	require.NoError(t, err)
	require.Equal(t, "user:admin@example.com", cp.ParentSubject)
	grand, err := s.Mint(ctx, MintRequest{Subject: "robot:ci", Kind: KindScoped, TTL: time.Hour, Parent: &cp, Grants: cp.Grants})
	require.NoError(t, err)
	gp, err := s.Verify(ctx, grand.Token)
	require.NoError(t, err)
	require.Equal(t, "robot:ci", gp.ParentSubject, "the minter is the parent's owner, not the root's")
}

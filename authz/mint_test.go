package authz

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// deadEngine is SpiceDB down: every call fails.
type deadEngine struct{}

func (deadEngine) Check(context.Context, relations.CheckRequest) (relations.CheckResult, error) {
	return relations.CheckResult{}, fmt.Errorf("%w: down", relations.ErrUnavailable)
}

func (deadEngine) LookupResources(context.Context, relations.Subject, string, string, relations.Consistency) ([]relations.Object, error) {
	return nil, fmt.Errorf("%w: down", relations.ErrUnavailable)
}

func sub(t *testing.T, s string) relations.Subject {
	t.Helper()
	r, err := relations.ParseSubject(s)
	require.NoError(t, err)
	return r
}

// T4, hole 3, hole 4: a derived token never outlives the token that mints it; the cap
// is said (Capped), and the parent is handed to the token service (C2).
func TestMintCapsAtParentExpiry_T4_ID2(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		p   tokens.Principal
		ttl time.Duration
	}{
		"5-minute scoped token asks a year":   {principal("user:bob@example.com", "scoped", all, "", 5*time.Minute), 8760 * time.Hour},
		"2-minute robot token asks a year":    {principal("robot:ci", "robot", nil, "", 2*time.Minute), 8760 * time.Hour},
		"API key of 2 h asks a year":          {principal("sa:etl@acme", "api_key", nil, "", 2*time.Hour), 8760 * time.Hour},
		"a one-hour session asks the default": {principal("user:bob@example.com", "session", nil, "", 30*time.Minute), 0},
	} {
		plan, err := a.Mint(ctx, tc.p, MintInput{TTL: tc.ttl})
		require.NoError(t, err, name)
		require.True(t, plan.Capped, name)
		require.NotNil(t, plan.Request.Parent, name)
		require.Equal(t, tc.p.TokenID, plan.Request.Parent.TokenID, name)
		expires := time.Now().Add(plan.Request.TTL)
		require.False(t, expires.After(tc.p.ExpiresAt), "%s: %s after the parent's %s", name, expires, tc.p.ExpiresAt)
		require.WithinDuration(t, tc.p.ExpiresAt, expires, 3*time.Second, name)
	}

	// Within the parent's life nothing is cut.
	p := principal("user:bob@example.com", "session", nil, "", 3*time.Hour)
	plan, err := a.Mint(ctx, p, MintInput{TTL: time.Hour})
	require.NoError(t, err)
	require.False(t, plan.Capped)
	require.Equal(t, time.Hour, plan.Request.TTL)

	// A parent about to expire cannot mint at all: 400 on ttl.
	p = principal("user:bob@example.com", "session", nil, "", 30*time.Second)
	_, err = a.Mint(ctx, p, MintInput{TTL: time.Hour})
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))
	require.Equal(t, "ttl", err.(*apperr.Error).Field)
}

// T4, hole 4: an org admin's role:admin (or unscoped) token has admin power and lives at
// most the admin lifetime, like a platform admin's; a member's does not.
func TestMintAdminPowerOfOrgAdmins_T4(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	for _, who := range []string{"org-admin", "api-key-admin", "platform-admin"} {
		p := principals[who]
		p.ExpiresAt = time.Now().Add(2 * 8760 * time.Hour)
		_, err := a.Mint(ctx, p, MintInput{Role: "admin", Grants: all, TTL: 8760 * time.Hour})
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), who)
		require.Equal(t, "ttl", err.(*apperr.Error).Field, who)
		plan, err := a.Mint(ctx, p, MintInput{Role: "admin", Grants: all})
		require.NoError(t, err, who)
		require.True(t, plan.Request.AdminPower, who)
		require.LessOrEqual(t, plan.Request.TTL, 24*time.Hour, who)
		plan, err = a.Mint(ctx, p, MintInput{})
		require.NoError(t, err, who)
		require.True(t, plan.Request.AdminPower, "%s: an unscoped token of an admin is admin power", who)
	}
	p := principals["member"]
	p.ExpiresAt = time.Now().Add(2 * 8760 * time.Hour)
	plan, err := a.Mint(ctx, p, MintInput{Role: "admin", Grants: all, TTL: 8760 * time.Hour})
	require.NoError(t, err)
	require.False(t, plan.Request.AdminPower)
	// An admin's token without administration in its grants is not admin power.
	p = principals["org-admin"]
	p.ExpiresAt = time.Now().Add(2 * 8760 * time.Hour)
	plan, err = a.Mint(ctx, p, MintInput{Grants: read, TTL: 8760 * time.Hour})
	require.NoError(t, err)
	require.False(t, plan.Request.AdminPower)
}

// T3, hole 5: a scoped token can do nothing outside its grants, managing tokens included;
// only platform admins mint for others or grant check.
func TestMintPolicy_T3(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	check := []tokens.Grant{{Functions: []string{"check"}, Resources: []string{"*"}, Orgs: []string{"*"}}}
	writeRepo := []tokens.Grant{{Functions: []string{"write"}, Resources: []string{"repo"}, Orgs: []string{"acme"}}}

	for _, tc := range []struct {
		who  string
		in   MintInput
		kind apperr.Kind // 0: allowed
	}{
		{"scoped-read", MintInput{}, apperr.Forbidden},
		{"checker", MintInput{}, apperr.Forbidden},
		{"token-manager", MintInput{}, 0},
		{"token-manager", MintInput{Grants: writeRepo}, apperr.Invalid}, // exceeds its grants
		{"member", MintInput{Subject: sub(t, "robot:ci")}, apperr.Forbidden},
		{"org-admin", MintInput{Subject: sub(t, "user:bob@example.com")}, apperr.Forbidden},
		{"platform-admin", MintInput{Subject: sub(t, "robot:ci")}, 0},
		{"member", MintInput{Grants: check}, apperr.Forbidden},
		{"api-key-admin", MintInput{Grants: check}, apperr.Forbidden},
		{"platform-admin", MintInput{Grants: check}, 0},
		{"member", MintInput{Grants: writeRepo}, 0},
	} {
		_, err := a.Mint(ctx, principals[tc.who], tc.in)
		if tc.kind == 0 {
			require.NoError(t, err, "%s %+v", tc.who, tc.in)
		} else {
			require.Equal(t, tc.kind, apperr.KindOf(err), "%s %+v: %v", tc.who, tc.in, err)
		}
	}

	// A token minted by a scoped token for itself keeps the scope.
	plan, err := a.Mint(ctx, principals["token-manager"], MintInput{})
	require.NoError(t, err)
	require.Equal(t, principals["token-manager"].Grants, plan.Request.Grants)
	require.Equal(t, "scoped", plan.Request.Kind)
}

// T3, hole 5: revoking tokens: a scoped read token may not; platform admins revoke any;
// others their own.
func TestRevokeOwner_T3(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	_, err := a.RevokeOwner(ctx, principals["scoped-read"])
	require.Equal(t, apperr.Forbidden, apperr.KindOf(err))
	owner, err := a.RevokeOwner(ctx, principals["platform-admin"])
	require.NoError(t, err)
	require.Empty(t, owner)
	owner, err = a.RevokeOwner(ctx, principals["member"])
	require.NoError(t, err)
	require.Equal(t, "user:bob@example.com", owner)
}

package authz

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/relations"
)

// C3, T3: an ingress request is allowed when the owner holds the permission now AND the
// token's grants allow it; every principal kind against read and write of acme/raw.
func TestC3IngressDecision(t *testing.T) {
	a := newAuthorizer(t)
	raw := relations.Object{Type: "repo", ID: "acme/raw"}
	for who, want := range map[string][2]bool{ // {read, write}
		"platform-admin": {true, true}, "org-admin": {true, true}, "member": {true, true},
		"api-key-admin": {true, true}, "api-key-member": {true, true}, "derived-member": {true, true},
		"scoped-admin-role": {true, true},
		"scoped-read":       {true, false},  // owner may write; the grants only read (T3)
		"checker":           {false, false}, // robot:ci holds nothing on acme/raw
		"token-manager":     {false, false}, // grants manage on token only
		"outsider":          {false, false}, "robot": {false, false},
	} {
		for i, perm := range []string{"read", "write"} {
			ok, err := a.Ingress(context.Background(), principals[who], raw, perm)
			require.NoError(t, err, who)
			require.Equal(t, want[i], ok, "%s %s", who, perm)
		}
	}
	ok, err := a.Ingress(context.Background(), principals["platform-admin"], raw, "reader")
	require.NoError(t, err)
	require.False(t, ok, "an internal relation is never a permission to ask")
}

// C3: an engine that fails denies (an error, never an allow).
func TestC3IngressFailsClosed(t *testing.T) {
	a := New(deadEngine{}, nil)
	ok, err := a.Ingress(context.Background(), principals["platform-admin"], relations.Object{Type: "repo", ID: "acme/raw"}, "read")
	require.Error(t, err)
	require.False(t, ok)
}

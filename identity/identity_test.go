package identity

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"user:Alice@Example.COM", "user:alice@example.com"}, // ID1: case-insensitive emails
		{"robot:ci", "robot:ci"},
		{"sa:etl@acme", "sa:etl@acme"},
		{"pipeline:acme/clean", "pipeline:acme/clean"},
		{"team:acme/analysts#member", "team:acme/analysts#member"},
	} {
		got, err := ParseSubject("subject", tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got.String())
	}
	for _, bad := range []string{"", "alice", "user:", "user:not-an-email", "robot:Bad Name", "sa:etl", "pipeline:acme",
		"team:acme/", "widget:x", "repo:acme/x/y", "user:a@b.c#member#x"} {
		_, err := ParseSubject("subject", bad)
		require.Error(t, err, bad)
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "subject", ae.Field, "errors name the field")
	}
}

func TestParseObjectAndOrg(t *testing.T) {
	o, err := ParseObject("resource", "repo:acme/raw")
	require.NoError(t, err)
	require.Equal(t, "acme", OrgOf(o))
	o, err = ParseObject("resource", "platform:root")
	require.NoError(t, err)
	require.Empty(t, OrgOf(o))
	_, err = ParseObject("resource", "platform:other")
	require.Error(t, err)
}

func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"user:a@b.co", "team:acme/x#member", "sa:etl@acme", "robot:ci"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sub, err := ParseSubject("subject", s)
		if err != nil {
			return
		}
		again, err := ParseSubject("subject", sub.String())
		require.NoError(t, err)
		require.Equal(t, sub, again, "normalized subjects are stable")
	})
}

// TestNormalizeEmailFoldsOnlyASCII_ID1: emails compare case-insensitively, but a character
// whose Unicode lower case is an ASCII letter (the Kelvin sign U+212A lowers to "k") names
// a different mailbox and must not become an existing user.
func TestNormalizeEmailFoldsOnlyASCII_ID1(t *testing.T) {
	got, err := NormalizeEmail(" Kate@Example.COM ")
	require.NoError(t, err)
	require.Equal(t, "kate@example.com", got)
	got, err = NormalizeEmail("\u212aate@example.com")
	if err == nil {
		require.NotEqual(t, "kate@example.com", got, "the Kelvin sign folded onto an existing address")
	}
}

package guard_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// TestOrgLinksO1O2O4: no write or import gives an object named in one org to another org
// (adopting acme's repo, config, pipeline, team or API key into beta), nor lets another
// org's keys, teams or members hold a repo role (ID2); its own org, and deleting any #org
// link, pass.
func TestOrgLinksO1O2O4(t *testing.T) {
	f := newFixture(t, true)
	for _, rel := range []string{
		"repo:acme/raw#org@org:beta", "bucket:acme/main#org@org:beta", "pipeline:acme/etl#org@org:beta",
		"team:acme/t#org@org:beta", "sa:ops@acme#org@org:beta",
		"org:acme#repos_open_to@org:beta",                                // O2: beta's members in acme's repos
		"org:acme#admin@team:beta/t#member", "org:acme#member@sa:k@beta", // O4, ID2: beta names acme's people
		"team:acme/t#member@team:beta/u#member", "team:acme/t#member@sa:k@beta",
		// ID2, O4: a repo's roles name its own org's keys, teams and members only
		"repo:acme/raw#writer@sa:k@beta", "repo:acme/raw#reader@team:beta/u#member", "repo:acme/raw#owner@org:beta#member",
	} {
		_, err := f.g.Write(f.ctx, ups(t, relations.OpTouch, rel), nil)
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), "%s: %v", rel, err)
		_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, "repo:acme/raw#org@org:acme"), mustRel(t, rel)})
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), "import %s: %v", rel, err)
	}
	got, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: "repo"}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Empty(t, got, "nothing of a refused import")

	f.seed(t, "repo:acme/raw#org@org:beta") // left by an older version: it can be deleted
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, "repo:acme/raw#org@org:beta"), nil)
	require.NoError(t, err)
	_, err = f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/raw#org@org:acme", "sa:ops@acme#org@org:acme", "team:acme/t#org@org:acme",
		"org:acme#repos_open_to@org:acme", "org:acme#admin@team:acme/t#member", "team:acme/t#member@sa:k@acme", "org:acme#member@user:x@example.com",
		"repo:acme/raw#writer@sa:k@acme", "repo:acme/raw#reader@team:acme/t#member", "repo:acme/raw#owner@org:acme#member",
		"repo:acme/raw#reader@user:y@example.com"), nil)
	require.NoError(t, err)
}

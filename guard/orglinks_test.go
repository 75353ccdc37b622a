package guard_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// TestOrgLinksO1: no write or import gives an object named in one org to another org
// (adopting acme's repo, config, pipeline, team or API key into beta); its own org, and
// deleting any #org link, pass.
func TestOrgLinksO1(t *testing.T) {
	f := newFixture(t, true)
	for _, rel := range []string{
		"repo:acme/raw#org@org:beta", "bucket:acme/main#org@org:beta", "pipeline:acme/etl#org@org:beta",
		"team:acme/t#org@org:beta", "sa:ops@acme#org@org:beta",
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
	_, err = f.g.Write(f.ctx, ups(t, relations.OpTouch, "repo:acme/raw#org@org:acme", "sa:ops@acme#org@org:acme", "team:acme/t#org@org:acme"), nil)
	require.NoError(t, err)
}

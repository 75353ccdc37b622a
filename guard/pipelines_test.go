package guard_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// PL1, PL4 (contract D2): pipeline wiring written by hand is refused on every write path;
// the pipeline service's privileged context allows exactly what it names.
func TestPL1PL4PipelineLinks(t *testing.T) {
	f := newFixture(t, true)
	links := []string{
		"repo:acme/raw#input_of@pipeline:acme/p",
		"repo:acme/clean#output_of@pipeline:acme/p",
		"pipeline:acme/p#creator@user:ann@example.com",
	}
	for _, l := range links {
		_, err := f.g.Write(guard.NamingUpdates(f.ctx, "updates"), append(ups(t, relations.OpTouch, "repo:acme/raw#org@org:acme"), ups(t, relations.OpTouch, l)...), nil)
		ae := requireCode(t, err, apperr.Forbidden, "pipeline_link")
		require.Equal(t, "updates[1].relationship", ae.Field, l)
		_, err = f.g.Write(f.ctx, ups(t, relations.OpCreate, l), nil)
		requireCode(t, err, apperr.Forbidden, "pipeline_link")
		_, err = f.g.Import(f.ctx, []relations.Relationship{mustRel(t, "repo:acme/raw#org@org:acme"), mustRel(t, l)})
		requireCode(t, err, apperr.Forbidden, "pipeline_link")
	}
	require.Equal(t, 0, f.count(t, relations.Filter{ResourceType: "repo"}), "nothing of a refused write was applied")

	// The pipeline service's context allows exactly the links it names.
	ctx := guard.AllowPipelineLinks(f.ctx, mustRel(t, links[0]), mustRel(t, links[2]))
	_, err := f.g.Write(ctx, ups(t, relations.OpTouch, links[1]), nil)
	requireCode(t, err, apperr.Forbidden, "pipeline_link")
	_, err = f.g.Write(ctx, ups(t, relations.OpTouch, links[0], links[2]), nil)
	require.NoError(t, err)
	// Deleting wiring only takes access away: always allowed.
	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, links[0], links[2]), nil)
	require.NoError(t, err)
	require.Equal(t, 0, f.count(t, relations.Filter{ResourceType: "repo", Relation: "input_of"}))
}

package guard_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// TestStructuralLinksStayWithTheirObjectO1R4: the generic relationships route cannot
// delete where an object lives (a repo's #org and #bucket, an org's #platform): that
// orphaned a repo (404 to everyone, its name still taken), let its bucket link disagree
// with its stored row, or shut the platform admins out of an org. The services that
// delete the objects still can; adding such links stays under the other rules.
func TestStructuralLinksStayWithTheirObjectO1R4(t *testing.T) {
	f := newFixture(t, true)
	links := []string{"repo:acme/raw#org@org:acme", "repo:acme/raw#bucket@bucket:acme/main", "org:acme#platform@platform:root", "team:acme/t#org@org:acme"}
	f.seed(t, links...)
	raw := guard.NamingUpdates(f.ctx, "updates")
	for _, l := range links {
		_, err := f.g.Write(raw, ups(t, relations.OpDelete, l), nil)
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae, l)
		require.Equal(t, "structural_link", ae.Code, l)
		require.Equal(t, "updates[0].relationship", ae.Field, l)
	}
	got, err := f.raw.Read(f.ctx, relations.Filter{ResourceType: "repo"}, relations.Consistency{Full: true})
	require.NoError(t, err)
	require.Len(t, got, 2, "nothing deleted")

	// A replacement in the same write is no orphaning: the repo moves to another config
	// of its org (R4 and the other rules judge the new link).
	f.bucketConfigs(t, "acme", "other")
	swap := append(ups(t, relations.OpDelete, "repo:acme/raw#bucket@bucket:acme/main"), ups(t, relations.OpTouch, "repo:acme/raw#bucket@bucket:acme/other")...)
	_, err = f.g.Write(raw, swap, nil)
	require.NoError(t, err)
	links[1] = "repo:acme/raw#bucket@bucket:acme/other"

	_, err = f.g.Write(f.ctx, ups(t, relations.OpDelete, links...), nil) // a service deleting the objects
	require.NoError(t, err)
}

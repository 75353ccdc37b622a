package guard

import (
	"context"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Structural links (O1, R4, A1): an object's #org link, a repo's #bucket link and an
// org's #platform link say where the object lives. The routes that create and delete
// those objects write them, together with the stored rows that match them. Deleted
// through the generic relationships route, they orphan what stands on them: a repo
// without #org is 404 to everyone while its name stays taken, a repo whose #bucket is
// swapped disagrees with its stored row, an org without #platform shuts out even the
// platform admins. The relationships route may add them (the guard's org-link rules
// apply) and replace them in one write, but not delete them: that is the dedicated DELETE
// routes' job.

// isStructural reports whether r is a structural link.
func isStructural(r relations.Relationship) bool {
	switch {
	case r.Relation == schema.RelOrg && r.Resource.Type != schema.TypeOrg:
		return true
	case r.Resource.Type == schema.TypeRepo && r.Relation == schema.RelBucket:
		return true
	case r.Resource.Type == schema.TypeOrg && r.Relation == schema.RelPlatform:
		return true
	}
	return false
}

// replaced reports whether updates also write a replacement for r: the same resource
// and relation, another subject (a repo moved to another config of its org, R4: its
// stored location stays, and the other rules judge the new link).
func replaced(r relations.Relationship, updates []relations.Update) bool {
	return slices.ContainsFunc(updates, func(u relations.Update) bool {
		return u.Operation != relations.OpDelete && u.Relationship.Resource == r.Resource && u.Relationship.Relation == r.Relation
	})
}

// refuseStructuralDeletes refuses, on the generic relationships routes (ctx names their
// updates, NamingUpdates), a write deleting a structural link.
func refuseStructuralDeletes(ctx context.Context, updates []relations.Update) error {
	field := fieldsOf(ctx)
	if field == "" {
		return nil
	}
	for i, u := range updates {
		if u.Operation != relations.OpDelete || !isStructural(u.Relationship) || replaced(u.Relationship, updates) {
			continue
		}
		e := apperr.New(apperr.Forbidden, "structural_link",
			"%s says where %s lives: it goes with its object, through the object's own DELETE route (O1, R4)",
			u.Relationship, u.Relationship.Resource)
		e.Field = fieldOf(field, i)
		return e
	}
	return nil
}

package orgs

import (
	"context"
	"slices"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// maxRemovalUpdates is the most relationships one removal deletes: the limit of updates
// per write (relations.MaxUpdatesPerWrite). A removal must be one write, so that it is
// atomic and the guard's last-admin rule sees all of it (O2, O3); past the limit
// SpiceDB would refuse the whole write. memberRemoval refuses it first, naming the
// count, and nothing changes: the admin removes some of the person's repo grants or team
// memberships, then removes the person.
const maxRemovalUpdates = relations.MaxUpdatesPerWrite

// memberRemoval is the one write that removes subject o from org (O3, PL3): its org
// roles and every relationship on an object of org that names it directly, its repo
// roles (schema.Roles), team memberships and any other grant, read at full consistency
// on the types that can hold a grant (schema.SubjectHolders, where
// relations.DeleteSubject looks when a whole subject goes). Without them a removed
// person kept their direct grants, the repos they created (R1) and their pipelines'
// outputs (PL2), and so did their pipelines. Kept: pipeline:<org>/*#creator and
// o#agent@pipeline links, so each pipeline stays wired to its creator and has, on the
// next check, exactly what its creator has now: nothing in org (PL3). Other orgs are
// untouched. A grant written between this read and the write survives it, as one
// written just after the removal would.
func (s *Service) memberRemoval(ctx context.Context, org string, o relations.Object) ([]relations.Update, error) {
	u := sub(o, "")
	updates := []relations.Update{del(rel(orgObj(org), schema.RelMember, u)), del(rel(orgObj(org), schema.RelAdmin, u))}
	for _, rt := range schema.SubjectHolders {
		if rt == schema.TypePlatform { // no org's object: platform admins stay (P2)
			continue
		}
		rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: rt, SubjectType: o.Type, SubjectID: o.ID}, relations.Consistency{Full: true})
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			if identity.OrgOf(r.Resource) != org || (r.Resource.Type == schema.TypePipeline && r.Relation == schema.RelCreator) {
				continue
			}
			if d := del(r); !slices.Contains(updates, d) {
				updates = append(updates, d)
			}
		}
	}
	if len(updates) > maxRemovalUpdates {
		return nil, apperr.InvalidField("email",
			"%s holds %d relationships in org %s, more than the %d one removal can delete at once: remove some of their repo grants or team memberships first (O3)",
			o, len(updates), org, maxRemovalUpdates)
	}
	return updates, nil
}

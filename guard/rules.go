package guard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

const (
	platformType  = schema.TypePlatform
	orgType       = schema.TypeOrg
	adminRelation = schema.RelAdmin
)

func isPlatformAdmin(r relations.Relationship) bool {
	return r.Resource.Type == platformType && r.Relation == adminRelation
}

func isOrgAdmin(r relations.Relationship) bool {
	return r.Resource.Type == orgType && r.Relation == adminRelation
}

// isTeamEdge: team:X#member@team:Y#member, "X contains Y" (O4).
func isTeamEdge(r relations.Relationship) bool {
	return r.Resource.Type == schema.TypeTeam && r.Relation == schema.RelMember && r.Subject.Type == schema.TypeTeam
}

func isBucketLink(r relations.Relationship) bool {
	return r.Resource.Type == schema.TypeRepo && r.Relation == schema.RelBucket
}

// fieldOf names update i in errors: "updates[2].relationship"; "" when the write was not
// spelled by the caller as a list of updates (a dedicated route, a filter delete).
func fieldOf(field string, i int) string {
	if field == "" {
		return ""
	}
	return fmt.Sprintf("%s[%d].relationship", field, i)
}

// exact is the filter matching exactly r.
func exact(r relations.Relationship) relations.Filter {
	return relations.Filter{ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
		SubjectType: r.Subject.Type, SubjectID: r.Subject.ID, SubjectRelation: r.Subject.Relation}
}

// refuseAgentLinks refuses every `agent` relationship the write adds but those the
// pipeline-creation path allowed (PL3, PL4). Deleting one is always allowed.
func refuseAgentLinks(ctx context.Context, updates []relations.Update, field string) error {
	for i, u := range updates {
		r := u.Relationship
		if u.Operation == relations.OpDelete || r.Relation != schema.RelAgent || agentLinkAllowed(ctx, r) {
			continue
		}
		e := apperr.New(apperr.Forbidden, "agent_link",
			"%s would lend %s the rights of %s: agent relationships are written only by creating the pipeline (PL3, PL4)",
			r, r.Subject, r.Resource)
		e.Field = fieldOf(field, i)
		return e
	}
	return nil
}

// outcome applies updates, those pick selects, to before: what remains, and which of
// before's relationships the updates remove.
func outcome(before []relations.Relationship, updates []relations.Update, pick func(relations.Relationship) bool) (after map[relations.Relationship]bool, removed []relations.Relationship, firstRemoval int) {
	after = make(map[relations.Relationship]bool, len(before))
	for _, r := range before {
		after[r] = true
	}
	firstRemoval = -1
	for i, u := range updates {
		if !pick(u.Relationship) {
			continue
		}
		if u.Operation != relations.OpDelete {
			after[u.Relationship] = true
			continue
		}
		if after[u.Relationship] && slices.Contains(before, u.Relationship) {
			removed = append(removed, u.Relationship)
			if firstRemoval < 0 {
				firstRemoval = i
			}
		}
		delete(after, u.Relationship)
	}
	return after, removed, firstRemoval
}

// survivor returns a precondition that one of before's relationships left standing still
// exists when SpiceDB applies the write; none when only new ones remain (the lock alone
// keeps those).
func survivor(before []relations.Relationship, after map[relations.Relationship]bool) []relations.Precondition {
	for _, r := range before {
		if after[r] {
			return []relations.Precondition{{Filter: exact(r), MustExist: true}}
		}
	}
	return nil
}

func subjects(rels []relations.Relationship) string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = r.Subject.String()
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// keepPlatformAdmin: P1, P2. Adding a platform admin needs an activated platform;
// removing the last one is refused unless deactivating.
func (g *guarded) keepPlatformAdmin(ctx context.Context, updates []relations.Update, field string) ([]relations.Precondition, error) {
	removing := false
	for i, u := range updates {
		if !isPlatformAdmin(u.Relationship) {
			continue
		}
		if u.Operation == relations.OpDelete {
			removing = true
			continue
		}
		_, activated, err := g.st.Activation(ctx)
		if err != nil {
			return nil, err
		}
		if !activated {
			e := apperr.New(apperr.NotActivated, "not_activated", "platform admins are named by activation first (P1): %s refused", u.Relationship)
			e.Field = fieldOf(field, i)
			return nil, e
		}
	}
	if !removing || isDeactivating(ctx) {
		return nil, nil
	}
	before, err := g.Engine.Read(ctx, relations.Filter{ResourceType: platformType, ResourceID: schema.PlatformID, Relation: adminRelation}, relations.Consistency{Full: true})
	if err != nil {
		return nil, err
	}
	after, removed, first := outcome(before, updates, isPlatformAdmin)
	if len(after) > 0 || len(removed) == 0 {
		return survivor(before, after), nil
	}
	e := apperr.New(apperr.Conflict, "last_admin",
		"%s is the last platform admin and cannot be removed (P2); appoint another admin first", subjects(removed))
	e.Field = fieldOf(field, first)
	return nil, e
}

// keepOrgAdmins: O2, O3. A write never removes the last direct admin of an org, unless
// the org itself is being deleted or the platform deactivated.
func (g *guarded) keepOrgAdmins(ctx context.Context, updates []relations.Update, field string) ([]relations.Precondition, error) {
	if isDeactivating(ctx) {
		return nil, nil
	}
	var orgs []string
	for _, u := range updates {
		r := u.Relationship
		if isOrgAdmin(r) && u.Operation == relations.OpDelete && !isDeletingOrg(ctx, r.Resource.ID) && !slices.Contains(orgs, r.Resource.ID) {
			orgs = append(orgs, r.Resource.ID)
		}
	}
	slices.Sort(orgs)
	var pres []relations.Precondition
	for _, org := range orgs {
		before, err := g.Engine.Read(ctx, relations.Filter{ResourceType: orgType, ResourceID: org, Relation: adminRelation}, relations.Consistency{Full: true})
		if err != nil {
			return nil, err
		}
		after, removed, first := outcome(before, updates, func(r relations.Relationship) bool {
			return isOrgAdmin(r) && r.Resource.ID == org
		})
		if len(after) > 0 || len(removed) == 0 {
			pres = append(pres, survivor(before, after)...)
			continue
		}
		e := apperr.New(apperr.Conflict, "last_admin",
			"%s is the last admin of org %s and cannot be removed (O2); make someone else admin first", subjects(removed), org)
		e.Field = fieldOf(field, first)
		return nil, e.WithDetails("org", org)
	}
	return pres, nil
}

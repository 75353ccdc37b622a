package orgs

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Writes into an org (a member, a team, an API key's role, the repo access mode) check
// that the org exists before they start, but the org can be deleted between that check
// and the write: the write would then land after the deletion took the org's
// relationships, and wait there for a new org of the same name, whose member the old
// org's people would silently be (O3, R5). So each such write carries a precondition
// that SpiceDB checks atomically with it: the org's platform link, which creation writes
// first and deletion takes, or, for a team's members, the team's org link.

// orgAlive is the precondition that org still exists.
func orgAlive(org string) relations.Precondition {
	return relations.Precondition{MustExist: true,
		Filter: relations.Filter{ResourceType: schema.TypeOrg, ResourceID: org, Relation: schema.RelPlatform}}
}

// teamAlive is the precondition that team org/team still exists.
func teamAlive(org, team string) relations.Precondition {
	t := teamObj(org, team)
	return relations.Precondition{MustExist: true,
		Filter: relations.Filter{ResourceType: t.Type, ResourceID: t.ID, Relation: schema.RelOrg}}
}

// writeWhile writes updates while pre holds; when it no longer does, the thing is gone:
// gone's error.
func (s *Service) writeWhile(ctx context.Context, pre relations.Precondition, updates []relations.Update, gone func() error) (string, error) {
	token, err := s.rel.Write(ctx, updates, []relations.Precondition{pre})
	if errors.Is(err, relations.ErrPrecondition) {
		return "", gone()
	}
	return token, err
}

package api

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// oneBucketPerRepo enforces R4, "a repo uses exactly one bucket config", which a SpiceDB
// schema cannot say (schema/gatehouse.zed names this function). It refuses a write that
// would give a repo a second repo#bucket relationship: two in one request, or a new one
// while another is stored, unless the same request deletes that one (a replacement). It
// returns the preconditions that keep the check true against concurrent writers.
func oneBucketPerRepo(ctx context.Context, e relations.Engine, updates []relations.Update) ([]relations.Precondition, error) {
	added := map[string]int{}    // repo id -> index of the update adding its bucket
	deleted := map[string]bool{} // repo ids whose bucket the request deletes
	for i, u := range updates {
		r := u.Relationship
		if r.Resource.Type != "repo" || r.Relation != "bucket" {
			continue
		}
		if u.Operation == relations.OpDelete {
			deleted[r.Resource.ID] = true
			continue
		}
		if j, ok := added[r.Resource.ID]; ok && updates[j].Relationship != r {
			return nil, apperr.InvalidField(fmt.Sprintf("updates[%d].relationship", i),
				"repo %s would use two bucket configs (R4: exactly one)", r.Resource.ID)
		}
		added[r.Resource.ID] = i
	}
	var pres []relations.Precondition
	for repo, i := range added {
		if deleted[repo] {
			continue
		}
		f := relations.Filter{ResourceType: "repo", ResourceID: repo, Relation: "bucket"}
		existing, err := e.Read(ctx, f, relations.Consistency{Full: true})
		if err != nil {
			return nil, err
		}
		switch {
		case len(existing) == 0:
			pres = append(pres, relations.Precondition{Filter: f, MustExist: false})
		case existing[0] != updates[i].Relationship:
			return nil, apperr.New(apperr.Conflict, "bucket_in_use",
				"repo %s already uses %s (R4: exactly one bucket config); delete that relationship in the same request to replace it",
				repo, existing[0].Subject).WithDetails("field", fmt.Sprintf("updates[%d].relationship", i))
		default:
			// The same relationship again: an idempotent touch. Keep it that way.
			pres = append(pres, relations.Precondition{Filter: relations.Filter{ResourceType: "repo", ResourceID: repo,
				Relation: "bucket", SubjectType: existing[0].Subject.Type, SubjectID: existing[0].Subject.ID}, MustExist: true})
		}
	}
	return pres, nil
}

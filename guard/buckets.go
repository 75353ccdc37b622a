package guard

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
)

// oneBucketPerRepo: R4, "a repo uses exactly one bucket config", which a schema cannot
// say. It refuses a write that would give a repo a second repo#bucket relationship: two
// in one write, or a new one while another is stored, unless the same write deletes that
// one (a replacement). The preconditions it returns keep the check true in SpiceDB.
func (g *guarded) oneBucketPerRepo(ctx context.Context, updates []relations.Update, field string) ([]relations.Precondition, error) {
	added := map[string]int{}    // repo id -> index of the update adding its bucket
	deleted := map[string]bool{} // repo ids whose bucket the write deletes
	var repos []string
	for i, u := range updates {
		r := u.Relationship
		if !isBucketLink(r) {
			continue
		}
		if u.Operation == relations.OpDelete {
			deleted[r.Resource.ID] = true
			continue
		}
		if err := g.existingBucket(ctx, r, fieldOf(field, i)); err != nil {
			return nil, err
		}
		if j, ok := added[r.Resource.ID]; ok && updates[j].Relationship != r {
			return nil, apperr.InvalidField(fieldOf(field, i), "repo %s would use two bucket configs (R4: exactly one)", r.Resource.ID)
		} else if !ok {
			repos = append(repos, r.Resource.ID)
		}
		added[r.Resource.ID] = i
	}
	slices.Sort(repos)
	var pres []relations.Precondition
	for _, repo := range repos {
		if deleted[repo] {
			continue
		}
		i := added[repo]
		f := relations.Filter{ResourceType: schema.TypeRepo, ResourceID: repo, Relation: schema.RelBucket}
		existing, err := g.Engine.Read(ctx, f, relations.Consistency{Full: true})
		if err != nil {
			return nil, err
		}
		switch {
		case len(existing) == 0:
			pres = append(pres, relations.Precondition{Filter: f, MustExist: false})
		case existing[0] != updates[i].Relationship:
			return nil, apperr.New(apperr.Conflict, "bucket_in_use",
				"repo %s already uses %s (R4: exactly one bucket config); delete that relationship in the same request to replace it",
				repo, existing[0].Subject).WithDetails("field", fieldOf(field, i))
		default:
			// The same relationship again: an idempotent touch. Keep it that way.
			pres = append(pres, relations.Precondition{Filter: exact(existing[0]), MustExist: true})
		}
	}
	return pres, nil
}

// existingBucket refuses a repo#bucket relationship that names no stored bucket config of
// the repo's own org: another org's config, or one that does not exist (R4, O1).
func (g *guarded) existingBucket(ctx context.Context, r relations.Relationship, field string) error {
	repoOrg, _, _ := strings.Cut(r.Resource.ID, "/")
	org, nickname, ok := strings.Cut(r.Subject.ID, "/")
	if !ok || org != repoOrg || r.Subject.Relation != "" {
		return apperr.InvalidField(field, "repo %s can only use a bucket config of its own org %s, not %s", r.Resource.ID, repoOrg, r.Subject)
	}
	_, err := g.st.GetBucket(ctx, org, nickname)
	if errors.Is(err, store.ErrNotFound) {
		return apperr.InvalidField(field, "org %s has no bucket config %q: create it first (R4)", org, nickname)
	}
	return err
}

package relations

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// DeleteSubject deletes every relationship that names o as its subject (any subject
// relation), across every type that can hold such a grant, and the agent links o holds
// (<o>#agent@pipeline:...): a deleted user, robot or API key lends its pipelines nothing,
// and neither does a new one created under the same name (PL3).
func DeleteSubject(ctx context.Context, e Engine, o Object) error {
	for _, rt := range schema.SubjectHolders {
		if _, err := e.DeleteMatching(ctx, Filter{ResourceType: rt, SubjectType: o.Type, SubjectID: o.ID}); err != nil {
			return err
		}
	}
	if _, ok := schema.Relations[o.Type][schema.RelAgent]; ok {
		if _, err := e.DeleteMatching(ctx, Filter{ResourceType: o.Type, ResourceID: o.ID, Relation: schema.RelAgent}); err != nil {
			return err
		}
	}
	return nil
}

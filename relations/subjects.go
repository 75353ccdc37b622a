package relations

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// DeleteSubject deletes every relationship that names o as its subject (any subject
// relation), across every type that can hold such a grant.
func DeleteSubject(ctx context.Context, e Engine, o Object) error {
	for _, rt := range schema.SubjectHolders {
		if _, err := e.DeleteMatching(ctx, Filter{ResourceType: rt, SubjectType: o.Type, SubjectID: o.ID}); err != nil {
			return err
		}
	}
	return nil
}

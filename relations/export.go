package relations

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Export streams every stored relationship to fn with ExportBulkRelationships, in
// SpiceDB's stable order, all pages at one snapshot.
func (e *spiceEngine) Export(ctx context.Context, fn func(Relationship) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.memRevs != nil {
		defer e.memRevs.hold()() // every page reads the snapshot of the start (memgc.go)
	}
	// Pin the export to one revision: read the head token first.
	schemaResp, err := e.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	var cons *v1.Consistency
	switch {
	case err == nil && schemaResp.GetReadAt() != nil:
		cons = &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: schemaResp.GetReadAt()}}
	case err == nil || status.Code(err) == codes.NotFound:
		cons = consistencyProto(Consistency{Full: true})
	default:
		return mapError("export", err, false)
	}
	return paged("export", exportPageSize, func(cursor *v1.Cursor) (recvStream[*v1.ExportBulkRelationshipsResponse], error) {
		return e.perms.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
			Consistency:    cons,
			OptionalLimit:  exportPageSize,
			OptionalCursor: cursor,
		})
	}, func(resp *v1.ExportBulkRelationshipsResponse) (*v1.Cursor, int, error) {
		for _, r := range resp.GetRelationships() {
			rel, err := relationshipFromProto(r)
			if err != nil {
				return nil, 0, fmt.Errorf("export: %w", err)
			}
			if err := fn(rel); err != nil {
				return nil, 0, err
			}
		}
		return resp.GetAfterResultCursor(), len(resp.GetRelationships()), nil
	})
}

// Import writes rels with TOUCH in batches of at most the server's write limit, so a
// re-import is idempotent. It returns how many relationships were written; on error,
// the batches before the failing one stay written.
func (e *spiceEngine) Import(ctx context.Context, rels []Relationship) (int, error) {
	written := 0
	batch := make([]*v1.RelationshipUpdate, 0, min(len(rels), e.maxUpdates))
	seen := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		resp, err := e.perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: batch})
		if err != nil {
			return fmt.Errorf("import after %d relationships: %w", written, mapError("import", err, true))
		}
		e.noteWrite(resp.GetWrittenAt())
		written += len(batch)
		batch = batch[:0]
		clear(seen)
		return nil
	}
	for i, r := range rels {
		pr, err := relationshipProto(r)
		if err != nil {
			return written, fmt.Errorf("relationship %d: %w", i, err)
		}
		key := r.String()
		if seen[key] {
			written++ // duplicate within the batch: touching it twice is the same write
			continue
		}
		seen[key] = true
		batch = append(batch, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: pr})
		if len(batch) == e.maxUpdates {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	if err := flush(); err != nil {
		return written, err
	}
	return written, nil
}

package relations

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Export streams every stored relationship to fn with ExportBulkRelationships, in
// SpiceDB's stable order, all pages at one snapshot.
func (e *spiceEngine) Export(ctx context.Context, fn func(Relationship) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	var cursor *v1.Cursor
	for {
		stream, err := e.perms.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
			Consistency:    cons,
			OptionalLimit:  exportPageSize,
			OptionalCursor: cursor,
		})
		if err != nil {
			return mapError("export", err, false)
		}
		n := 0
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return mapError("export", err, false)
			}
			cursor = resp.GetAfterResultCursor()
			for _, r := range resp.GetRelationships() {
				n++
				rel, err := relationshipFromProto(r)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				if err := fn(rel); err != nil {
					return err
				}
			}
		}
		if n < exportPageSize || cursor == nil {
			return nil
		}
	}
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

package relations

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// Read returns the relationships matching f, paging through SpiceDB's limit.
func (e *spiceEngine) Read(ctx context.Context, f Filter, c Consistency) ([]Relationship, error) {
	pf, err := filterProto(f)
	if err != nil {
		return nil, err
	}
	out := []Relationship{}
	err = e.readProto(ctx, pf, e.consistency(c), func(r *v1.Relationship) error {
		rel, err := relationshipFromProto(r)
		if err != nil {
			return err
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readProto streams the relationships matching pf to fn, page by page.
func (e *spiceEngine) readProto(ctx context.Context, pf *v1.RelationshipFilter, cons *v1.Consistency, fn func(*v1.Relationship) error) error {
	return paged("read", readPageSize, func(cursor *v1.Cursor) (recvStream[*v1.ReadRelationshipsResponse], error) {
		return e.perms.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			Consistency:        cons,
			RelationshipFilter: pf,
			OptionalLimit:      readPageSize,
			OptionalCursor:     cursor,
		})
	}, func(resp *v1.ReadRelationshipsResponse) (*v1.Cursor, int, error) {
		if cons.GetAtLeastAsFresh() == nil && !cons.GetFullyConsistent() && resp.GetReadAt() != nil {
			// Pin later pages to the revision of the first one.
			cons = &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetReadAt()}}
		}
		return resp.GetAfterResultCursor(), 1, fn(resp.GetRelationship())
	})
}

// recvStream is a gRPC server stream of T.
type recvStream[T any] interface {
	Recv() (T, error)
}

// paged walks a paginated server stream: open asks for the page after cursor (nil: the
// first), and each message goes to fn, which returns the cursor after it and how many
// results it held. It stops after a page short of size results or without a cursor.
// method names the call in errors.
func paged[T any](method string, size int, open func(cursor *v1.Cursor) (recvStream[T], error), fn func(T) (*v1.Cursor, int, error)) error {
	var cursor *v1.Cursor
	for {
		stream, err := open(cursor)
		if err != nil {
			return mapError(method, err, false)
		}
		n := 0
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return mapError(method, err, false)
			}
			next, k, err := fn(msg)
			if err != nil {
				return err
			}
			cursor, n = next, n+k
		}
		if n < size || cursor == nil {
			return nil
		}
	}
}

func updateProto(u Update) (*v1.RelationshipUpdate, error) {
	var op v1.RelationshipUpdate_Operation
	switch u.Operation {
	case OpTouch:
		op = v1.RelationshipUpdate_OPERATION_TOUCH
	case OpCreate:
		op = v1.RelationshipUpdate_OPERATION_CREATE
	case OpDelete:
		op = v1.RelationshipUpdate_OPERATION_DELETE
	default:
		return nil, fmt.Errorf("%w: operation %q: must be touch, create or delete", ErrInvalid, u.Operation)
	}
	r, err := relationshipProto(u.Relationship)
	if err != nil {
		return nil, err
	}
	return &v1.RelationshipUpdate{Operation: op, Relationship: r}, nil
}

// Write applies all updates atomically if every precondition holds.
func (e *spiceEngine) Write(ctx context.Context, updates []Update, preconditions []Precondition) (string, error) {
	if len(updates) == 0 {
		return "", fmt.Errorf("%w: updates: at least one update is required", ErrInvalid)
	}
	req := &v1.WriteRelationshipsRequest{}
	for i, u := range updates {
		pu, err := updateProto(u)
		if err != nil {
			return "", fmt.Errorf("update %d: %w", i, err)
		}
		req.Updates = append(req.Updates, pu)
	}
	for i, p := range preconditions {
		pf, err := filterProto(p.Filter)
		if err != nil {
			return "", fmt.Errorf("precondition %d: %w", i, err)
		}
		op := v1.Precondition_OPERATION_MUST_NOT_MATCH
		if p.MustExist {
			op = v1.Precondition_OPERATION_MUST_MATCH
		}
		req.OptionalPreconditions = append(req.OptionalPreconditions, &v1.Precondition{Operation: op, Filter: pf})
	}
	resp, err := e.perms.WriteRelationships(ctx, req)
	if err != nil {
		return "", mapError("write", err, true)
	}
	e.noteWrite(resp.GetWrittenAt())
	return resp.GetWrittenAt().GetToken(), nil
}

// DeleteMatching deletes every relationship matching f, in as many calls as SpiceDB's
// deletion limit requires.
func (e *spiceEngine) DeleteMatching(ctx context.Context, f Filter) (string, error) {
	pf, err := filterProto(f)
	if err != nil {
		return "", err
	}
	for {
		resp, err := e.perms.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{
			RelationshipFilter:            pf,
			OptionalLimit:                 defaultMaxUpdates,
			OptionalAllowPartialDeletions: true,
		})
		if err != nil {
			return "", mapError("delete", err, true)
		}
		e.noteWrite(resp.GetDeletedAt())
		if resp.GetDeletionProgress() != v1.DeleteRelationshipsResponse_DELETION_PROGRESS_PARTIAL {
			return resp.GetDeletedAt().GetToken(), nil
		}
	}
}

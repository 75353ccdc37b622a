package relations

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ReadSchema returns the stored schema, "" when none is written.
func (e *spiceEngine) ReadSchema(ctx context.Context) (string, error) {
	resp, err := e.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) == codes.NotFound {
		return "", nil
	}
	if err != nil {
		return "", mapError("read schema", err, false)
	}
	return resp.GetSchemaText(), nil
}

// WriteSchema replaces the schema; a change that would orphan stored relationships is
// ErrSchemaConflict with SpiceDB's message naming them.
func (e *spiceEngine) WriteSchema(ctx context.Context, schema string) error {
	if strings.TrimSpace(schema) == "" {
		return fmt.Errorf("%w: schema: empty", ErrInvalid)
	}
	resp, err := e.schema.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema})
	if err == nil {
		// Serve writes the schema at start, so even the first checks after a restart are
		// at least as fresh as everything written before it.
		e.noteWrite(resp.GetWrittenAt())
		return nil
	}
	if msg, ok := isSchemaConflict(err); ok {
		return fmt.Errorf("%w: %s", ErrSchemaConflict, msg)
	}
	return mapError("write schema", err, false)
}

// Ready returns nil while SpiceDB answers a cheap call.
func (e *spiceEngine) Ready(ctx context.Context) error {
	_, err := e.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err == nil || status.Code(err) == codes.NotFound {
		return nil
	}
	return mapError("ready", err, false)
}

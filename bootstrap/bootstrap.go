// Package bootstrap prepares a Gatehouse installation at start: it writes the embedded
// policy schema, refusing a change that would orphan stored relationships. It is
// idempotent and runs under a timeout.
package bootstrap

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/relations"
)

// Timeout bounds the whole bootstrap.
const Timeout = 60 * time.Second

// WriteSchema writes schemaText. SpiceDB applies only the difference with the stored
// schema, so writing the same schema again changes nothing. A change that would orphan
// relationships fails with relations.ErrSchemaConflict, naming them, and changes nothing.
func WriteSchema(ctx context.Context, e relations.Engine, schemaText string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := e.WriteSchema(ctx, schemaText); err != nil {
		return fmt.Errorf("write the policy schema: %w", err)
	}
	return nil
}

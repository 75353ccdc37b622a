package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// analyze refreshes PostgreSQL's planner statistics after a bulk load, as autovacuum
// would within a minute or so, so that checks are measured on the plans a running
// installation gets rather than on the empty tables' estimates.
func analyze(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/store"
)

// newMigrateCmd returns `gatehouse migrate`: it creates or updates Gatehouse's own
// tables on PostgreSQL or CockroachDB and prints the migrations it applied.
func newMigrateCmd() *cobra.Command {
	var databaseURL string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update Gatehouse's tables in PostgreSQL or CockroachDB",
		Long: `Apply the schema migrations of Gatehouse's own tables (tokens, robots, users, orgs,
API keys, sessions, audit log) that the database does not have yet. Running it again is a
no-op, and several processes may run it at once. The URL can also be given as
GATEHOUSE_DATABASE_URL.`,
		Example: `  gatehouse migrate --database-url postgres://gatehouse@db:5432/gatehouse?sslmode=require
  GATEHOUSE_DATABASE_URL=postgresql://root@cockroachdb:26257/gatehouse gatehouse migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("database-url") {
				databaseURL = os.Getenv("GATEHOUSE_DATABASE_URL")
			}
			if databaseURL == "" {
				return errors.New("no database: give --database-url postgres://... (or set GATEHOUSE_DATABASE_URL)")
			}
			if !strings.HasPrefix(databaseURL, "postgres://") && !strings.HasPrefix(databaseURL, "postgresql://") {
				return errors.New("--database-url must be a postgres:// or postgresql:// URL (CockroachDB uses the same form)")
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			db, err := store.NewSQL(ctx, databaseURL)
			if err != nil {
				return err
			}
			defer db.Close()
			applied, err := db.ApplyMigrations(ctx)
			out := cmd.OutOrStdout()
			for _, m := range applied {
				fmt.Fprintf(out, "applied migration %d (%s)\n", m.Version, m.Name)
			}
			if err != nil {
				return err
			}
			all := store.Migrations()
			latest := 0
			if len(all) > 0 {
				latest = all[len(all)-1].Version
			}
			kind := "PostgreSQL"
			if db.CockroachDB() {
				kind = "CockroachDB"
			}
			if len(applied) == 0 {
				fmt.Fprintf(out, "%s schema already up to date (version %d)\n", kind, latest)
			} else {
				fmt.Fprintf(out, "%s schema now at version %d\n", kind, latest)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "postgres:// URL of the PostgreSQL or CockroachDB database (env GATEHOUSE_DATABASE_URL)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long (0: never)")
	return cmd
}

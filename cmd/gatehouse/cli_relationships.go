package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// registerRelationshipCmd is `gatehouse relationship`, in zed's shape (A1).
func registerRelationshipCmd(root *cobra.Command, f *clientFlags) {
	rel := &cobra.Command{
		Use:     "relationship",
		Aliases: []string{"relationships", "rel"},
		Short:   "Create, touch, delete, read, import and export relationships (platform admins, A1)",
		Long: `Create, touch, delete, read, import and export relationships (platform admins, A1).
A relationship is RESOURCE RELATION SUBJECT, or one string like
repo:acme/x#reader@user:bob@example.com. Subjects: ` + subjectSyntax + `.`,
	}
	for _, op := range []struct{ name, short string }{
		{client.OpCreate, "Create a relationship; fails when it exists"},
		{client.OpTouch, "Create a relationship, or keep it when it exists"},
		{client.OpDelete, "Delete a relationship, if present"},
	} {
		rel.AddCommand(newWriteRelCmd(f, op.name, op.short))
	}
	rel.AddCommand(newReadRelCmd(f), newImportRelCmd(f), newExportRelCmd(f))
	root.AddCommand(rel)
}

func newWriteRelCmd(f *clientFlags, op, short string) *cobra.Command {
	return &cobra.Command{
		Use:   op + " (RESOURCE RELATION SUBJECT | RESOURCE#RELATION@SUBJECT)",
		Short: short,
		Example: fmt.Sprintf("  gatehouse relationship %s repo:acme/x reader user:bob@example.com\n"+
			"  gatehouse relationship %s repo:acme/x#reader@bob@example.com", op, op),
		Args: cobra.MatchAll(cobra.RangeArgs(1, 3), func(_ *cobra.Command, args []string) error {
			if len(args) == 2 {
				return fmt.Errorf("give RESOURCE RELATION SUBJECT, or one relationship string")
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := parseRelationshipArgs(args)
			if err != nil {
				return err
			}
			req := client.WriteRequest{Updates: []client.Update{{Operation: op, Relationship: r.String()}}}
			return show(cmd, f, func(c *client.Client) (client.WriteResponse, error) {
				return c.WriteRelationships(cmd.Context(), req)
			}, func(out client.WriteResponse) {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\nwritten at %s\n", pastTense(op), r, out.WrittenAt)
			})
		},
	}
}

func pastTense(op string) string {
	switch op {
	case client.OpCreate:
		return "created"
	case client.OpDelete:
		return "deleted"
	}
	return "touched"
}

func newReadRelCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "read [RESOURCE [RELATION [SUBJECT]]]",
		Short: "List relationships matching a filter: RESOURCE is a type or type:id, SUBJECT a subject or a subject type",
		Example: "  gatehouse relationship read\n  gatehouse relationship read repo\n" +
			"  gatehouse relationship read repo:acme/x reader bob@example.com",
		Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			var flt client.Filter
			if len(args) > 0 {
				flt.Resource = args[0]
			}
			if len(args) > 1 {
				flt.Relation = args[1]
			}
			if len(args) > 2 {
				sub, err := parseFilterSubject(args[2])
				if err != nil {
					return err
				}
				flt.Subject = sub
			}
			return show(cmd, f, func(c *client.Client) (client.RelationshipsResponse, error) {
				return c.Relationships(cmd.Context(), flt)
			}, func(out client.RelationshipsResponse) {
				for _, r := range out.Relationships {
					fmt.Fprintln(cmd.OutOrStdout(), r)
				}
			})
		},
	}
}

func newImportRelCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE|-",
		Short: `Import NDJSON relationships ({"relationship":"..."} per line, as export writes them); - reads standard input`,
		Long: `Import NDJSON relationships, one {"relationship":"..."} per line, as export writes
them; - reads standard input. Import touches: it is idempotent, and all or nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("import %s: %w", args[0], err)
			}
			return show(cmd, f, func(c *client.Client) (client.ImportResponse, error) {
				return c.ImportRelationships(cmd.Context(), bytes.NewReader(data))
			}, func(out client.ImportResponse) {
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d relationships\n", out.Imported)
			})
		},
	}
}

func newExportRelCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: `Export every relationship as NDJSON ({"relationship":"..."} per line, whatever -o says), for import`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			enc := json.NewEncoder(w)
			err = c.ExportRelationships(cmd.Context(), func(l client.ExportLine) error { return enc.Encode(l) })
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
}

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/relations/validation"
)

// newSchemaValidateCmd is `gatehouse schema validate FILE...`: it validates schemas (.zed)
// and validation files (.yaml) exactly as `zed validate` does, offline, and prints one
// line per problem, compiler style, so editors and CI annotate the right line (A2).
func newSchemaValidateCmd() *cobra.Command {
	var failOnWarn bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate schema (.zed) and validation (.yaml) files like `zed validate`",
		Long: "Validate SpiceDB schema files and validation files (schema or schemaFile, " +
			"relationships, assertions, expected relations). Problems are printed as " +
			"file:line:col: error: message (or warning:). Exits non-zero on any error, " +
			"and on any warning with --fail-on-warn.",
		Example: "  gatehouse schema validate schema/gatehouse.zed schema/testdata/*.yaml",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSchemaValidate(cmd, args, failOnWarn)
		},
		SilenceUsage: true,
	}
	cmd.Flags().BoolVar(&failOnWarn, "fail-on-warn", false, "treat schema warnings as failures")
	return cmd
}

func runSchemaValidate(cmd *cobra.Command, files []string, failOnWarn bool) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	out := cmd.OutOrStdout()
	var nErrors, nWarnings int
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep, err := validation.ValidateFileContext(ctx, file)
		if err != nil {
			// An unreadable file is an error of that file; go on with the others.
			rep = validation.Report{Errors: []validation.Diagnostic{{File: file, Message: err.Error()}}}
		}
		nErrors += len(rep.Errors)
		nWarnings += len(rep.Warnings)
		printDiagnostics(out, "error", rep.Errors)
		printDiagnostics(out, "warning", rep.Warnings)
	}
	fmt.Fprintf(out, "%d files, %d errors, %d warnings\n", len(files), nErrors, nWarnings)

	switch {
	case nErrors > 0:
		return fmt.Errorf("schema validation failed: %d errors", nErrors)
	case failOnWarn && nWarnings > 0:
		return fmt.Errorf("schema validation failed: %d warnings (--fail-on-warn)", nWarnings)
	}
	return nil
}

// printDiagnostics prints "file:line:col: severity: message", one per line.
func printDiagnostics(w io.Writer, severity string, ds []validation.Diagnostic) {
	for _, d := range ds {
		msg := d.Message
		d.Message = severity + ": " + msg
		fmt.Fprintln(w, d.String())
	}
}

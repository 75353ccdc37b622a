package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errSilent marks an error already reported to the user.
var errSilent = errors.New("")

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: Zanzibar-style authorization for data platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	registerServeCmd(root)
	registerSchemaCmd(root)
	root.AddCommand(newMigrateCmd())
	registerClientCmds(root)
	return root
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return 1
	}
	return 0
}

func registerSchemaCmd(root *cobra.Command) {
	cmd := &cobra.Command{Use: "schema", Short: "Work with policy schemas"}
	cmd.AddCommand(newSchemaValidateCmd())
	root.AddCommand(cmd)
}

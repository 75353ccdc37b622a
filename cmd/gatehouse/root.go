package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"strings"
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
	root.SuggestionsMinimumDistance = 2
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands gives every command group (a command with subcommands and no
// action of its own) an action that refuses an unknown subcommand with a suggestion and
// a non-zero exit; cobra would otherwise print the group's help and exit 0. The root
// needs none: cobra already refuses unknown commands there.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		if sub.HasSubCommands() && !sub.Runnable() {
			sub.Args = cobra.ArbitraryArgs
			sub.RunE = unknownSubcommand
			sub.SuggestionsMinimumDistance = 2
		}
		refuseUnknownSubcommands(sub)
	}
}

// unknownSubcommand is a command group's action: help when called alone, an error
// naming the closest subcommands otherwise.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return fmt.Errorf("%s\nRun '%s --help' for usage", msg, cmd.CommandPath())
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitAllowed
	case errors.Is(err, errDenied):
		return exitDenied
	case !errors.Is(err, errSilent):
		fmt.Fprintln(stderr, "error:", err)
	}
	return exitError
}

func registerSchemaCmd(root *cobra.Command) {
	cmd := &cobra.Command{Use: "schema", Short: "Work with policy schemas"}
	cmd.AddCommand(newSchemaValidateCmd())
	root.AddCommand(cmd)
}

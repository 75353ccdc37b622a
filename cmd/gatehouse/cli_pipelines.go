package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Repo roles (R1-R3, as pachctl's `auth get` and `auth set`) and pipelines (PL1-PL4).

// repoRoles are the role names `auth set` accepts: R1's roles and none (R2).
var repoRoles = append(slices.Clone(schema.Roles), schema.RoleNone)

// parseRepo reads a repo as ORG/REPO or repo:ORG/REPO.
func parseRepo(s string) (string, error) {
	id := strings.TrimPrefix(strings.TrimSpace(s), "repo:")
	org, name, ok := strings.Cut(id, "/")
	if !ok || org == "" || name == "" || strings.ContainsAny(name, "/:#@ ") {
		return "", fmt.Errorf("%q is not a repo: give ORG/REPO, e.g. acme/raw", s)
	}
	return id, nil
}

// parsePipeline reads a pipeline as ORG/NAME or pipeline:ORG/NAME.
func parsePipeline(s string) (org, name string, err error) {
	id := strings.TrimPrefix(strings.TrimSpace(s), "pipeline:")
	org, name, ok := strings.Cut(id, "/")
	if !ok || org == "" || name == "" || strings.ContainsAny(name, "/:#@ ") {
		return "", "", fmt.Errorf("%q is not a pipeline: give ORG/NAME, e.g. acme/clean", s)
	}
	return org, name, nil
}

// registerRoleCmds adds `auth get` and `auth set` to the auth command group.
func registerRoleCmds(auth *cobra.Command, f *clientFlags) {
	auth.AddCommand(&cobra.Command{
		Use:   "get [SUBJECT] REPO",
		Short: "A repo's direct grants, or SUBJECT's effective (highest) role on it (R2)",
		Long: "With REPO alone, list the repo's direct grants. With SUBJECT, print its effective role:\n" +
			"reader, writer, owner or none. A subject is " + subjectSyntax + ", or pipeline:<org>/<name>.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, err := parseRepo(args[len(args)-1])
			if err != nil {
				return err
			}
			if len(args) == 1 {
				return show(cmd, f, func(c *client.Client) (client.RolesResponse, error) { return c.Roles(cmd.Context(), repo) },
					func(out client.RolesResponse) {
						t := newTable(cmd.OutOrStdout(), "SUBJECT", "ROLE")
						for _, g := range out.Roles {
							t.row(g.Subject, g.Role)
						}
						t.flush()
					})
			}
			sub, err := parseSubject(args[0])
			if err != nil {
				return err
			}
			return show(cmd, f, func(c *client.Client) (client.RepoRole, error) { return c.Role(cmd.Context(), repo, sub) },
				func(out client.RepoRole) { fmt.Fprintln(cmd.OutOrStdout(), out.Role) })
		},
	}, &cobra.Command{
		Use:   "set SUBJECT reader|writer|owner|none REPO",
		Short: "Set SUBJECT's role on REPO, replacing its previous one; none removes it (R1-R3)",
		Long:  "A subject is " + subjectSyntax + ", or org:<org>#member for every member of an org.",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			sub, err := parseSubject(args[0])
			if err != nil {
				return err
			}
			if err := oneOf("role", args[1], repoRoles...); err != nil {
				return err
			}
			repo, err := parseRepo(args[2])
			if err != nil {
				return err
			}
			return show(cmd, f, func(c *client.Client) (client.RoleSetResponse, error) {
				return c.SetRole(cmd.Context(), repo, sub, args[1])
			}, func(out client.RoleSetResponse) {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s of %s\n", out.Subject, out.Role, out.Repo)
			})
		},
	})
}

func pipelineTable(cmd *cobra.Command, p client.Pipeline) {
	t := newTable(cmd.OutOrStdout(), "PIPELINE", "CREATOR", "INPUTS", "OUTPUT", "UPDATED")
	t.row(p.Subject, p.Creator, strings.Join(p.Inputs, ","), p.Output, fmtTime(p.UpdatedAt))
	t.flush()
}

func registerPipelineCmd(root *cobra.Command, f *clientFlags) {
	pl := &cobra.Command{Use: "pipeline", Aliases: []string{"pipelines"}, Short: "Create, update and delete pipelines, and mint their tokens (PL1-PL4)"}
	// create and update take the same wiring flags and show the pipeline they answer.
	wiringCmd := func(use, short string, send func(ctx context.Context, c *client.Client, org, name string, inputs []string, output string) (client.Pipeline, error)) *cobra.Command {
		var inputs []string
		var output string
		cmd := &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				org, name, err := parsePipeline(args[0])
				if err != nil {
					return err
				}
				return show(cmd, f, func(c *client.Client) (client.Pipeline, error) {
					return send(cmd.Context(), c, org, name, inputs, output)
				}, func(p client.Pipeline) { pipelineTable(cmd, p) })
			},
		}
		cmd.Flags().StringSliceVar(&inputs, "input", nil, "an input repo ORG/REPO (repeat, or comma-separated)")
		cmd.Flags().StringVar(&output, "output-repo", "", "the output repo ORG/REPO")
		return cmd
	}
	create := wiringCmd("create ORG/NAME --input ORG/REPO... --output-repo ORG/REPO",
		"Create a pipeline acting for you: needs read on its inputs and write on its output (PL1)",
		func(ctx context.Context, c *client.Client, org, name string, inputs []string, output string) (client.Pipeline, error) {
			return c.CreatePipeline(ctx, org, client.PipelineRequest{Name: name, Inputs: inputs, Output: output})
		})
	update := wiringCmd("update ORG/NAME --input ORG/REPO... --output-repo ORG/REPO",
		"Replace a pipeline's inputs and output (PL1)",
		func(ctx context.Context, c *client.Client, org, name string, inputs []string, output string) (client.Pipeline, error) {
			return c.UpdatePipeline(ctx, org, name, client.PipelineUpdate{Inputs: inputs, Output: output})
		})
	pl.AddCommand(create, update, &cobra.Command{
		Use:   "delete ORG/NAME",
		Short: "Delete a pipeline, its wiring and its tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, name, err := parsePipeline(args[0])
			if err != nil {
				return err
			}
			return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) {
				return c.DeletePipeline(cmd.Context(), org, name)
			})
		},
	}, newPipelineTokenCmd(f))
	root.AddCommand(pl)
}

func newPipelineTokenCmd(f *clientFlags) *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token ORG/NAME [--ttl 1h]",
		Short: "Mint the pipeline's own token, for its runner (PL3); shown once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, name, err := parsePipeline(args[0])
			if err != nil {
				return err
			}
			return show(cmd, f, func(c *client.Client) (client.MintResponse, error) {
				return c.PipelineToken(cmd.Context(), org, name, client.PipelineTokenRequest{TTL: client.Duration(ttl)})
			}, func(out client.MintResponse) {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "created token %s for %s, expires %s\n", out.ID, out.Subject, fmtTime(out.ExpiresAt))
				fmt.Fprintf(w, "WARNING: this token is shown once and cannot be shown again; store it now:\n%s\n", out.Token)
			})
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 2h (default: the server's)")
	return cmd
}

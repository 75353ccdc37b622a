package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// cliNameRE is the server's rule for org, repo and bucket config names (identity.ValidName),
// checked here so that a typo gets a clear error before any request.
var cliNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)

func checkCLIName(what, s string) error {
	if !cliNameRE.MatchString(s) {
		return fmt.Errorf("%s %q is not a valid name: lowercase letters, digits, '-' and '_', at most 63, starting and ending with a letter or digit", what, s)
	}
	return nil
}

// repoRef reads a repo argument, <org>/<repo> (O1).
func repoRef(s string) (org, repo string, err error) {
	org, repo, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("%q is not a repo: give <org>/<repo>, e.g. acme/raw", s)
	}
	if err := checkCLIName("org", org); err != nil {
		return "", "", err
	}
	return org, repo, checkCLIName("repo", repo)
}

func repoTable(cmd *cobra.Command, list ...client.Repo) {
	t := newTable(cmd.OutOrStdout(), "NAME", "BUCKET", "PREFIX", "CREATED", "CREATED BY")
	for _, r := range list {
		t.row(r.Name, r.Bucket, r.Prefix, fmtTime(r.CreatedAt), r.CreatedBy)
	}
	t.flush()
}

func registerRepoCmd(root *cobra.Command, f *clientFlags) {
	repo := &cobra.Command{Use: "repo", Aliases: []string{"repos"}, Short: "Manage repos (R1, R4, R5)"}
	var bucket string
	create := &cobra.Command{
		Use:   "create ORG/REPO",
		Short: "Create a repo in a bucket config (the org's default unless --bucket); you become its owner",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, name, err := repoRef(args[0])
			if err != nil {
				return err
			}
			if bucket != "" {
				if err := checkCLIName("--bucket", bucket); err != nil {
					return err
				}
			}
			return show(cmd, f, func(c *client.Client) (client.Repo, error) {
				return c.CreateRepo(cmd.Context(), org, client.RepoRequest{Name: name, Bucket: bucket})
			}, func(r client.Repo) { repoTable(cmd, r) })
		},
	}
	create.Flags().StringVar(&bucket, "bucket", "", "nickname of one of the org's bucket configs (default: the org's default)")
	repo.AddCommand(create,
		&cobra.Command{
			Use:   "list ORG",
			Short: "List the org's repos you can read",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := checkCLIName("org", args[0]); err != nil {
					return err
				}
				return show(cmd, f, func(c *client.Client) (client.ReposResponse, error) { return c.Repos(cmd.Context(), args[0]) },
					func(out client.ReposResponse) { repoTable(cmd, out.Repos...) })
			},
		},
		&cobra.Command{
			Use:   "get ORG/REPO",
			Short: "Show a repo",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				org, name, err := repoRef(args[0])
				if err != nil {
					return err
				}
				return show(cmd, f, func(c *client.Client) (client.Repo, error) { return c.Repo(cmd.Context(), org, name) },
					func(r client.Repo) { repoTable(cmd, r) })
			},
		},
		&cobra.Command{
			Use:   "delete ORG/REPO",
			Short: "Delete a repo and every relationship that mentions it (R5)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				org, name, err := repoRef(args[0])
				if err != nil {
					return err
				}
				return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) { return c.DeleteRepo(cmd.Context(), org, name) })
			},
		},
	)
	root.AddCommand(repo)
}

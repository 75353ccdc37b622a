package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// newCredsCmd is `gatehouse creds ORG/REPO --access read|write [--duration D] [--export]`
// (B6): temporary credentials for one repo's prefix, printed as the AWS_* environment
// lines that AWS tools read.
func newCredsCmd(f *clientFlags) *cobra.Command {
	var access, duration string
	var export bool
	cmd := &cobra.Command{
		Use:   "creds ORG/REPO",
		Short: "Get temporary bucket credentials for a repo, as AWS_* environment lines (B6)",
		Long: `Get temporary credentials scoped to one repo's prefix (B6): read-only with --access read
(the default), read-write with --access write. The answer is printed as the AWS_*
environment lines AWS tools read (NAME=value); --export prints shell statements instead:

  eval "$(gatehouse creds acme/raw --access read --export)"

-o json prints the whole answer. The bucket, prefix and expiry go to stderr. A
self_managed bucket config gives no keys, only the location.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			org, repo, err := parseCredsRepo(args[0])
			if err != nil {
				return err
			}
			if err := oneOf("--access", access, client.AccessRead, client.AccessWrite); err != nil {
				return err
			}
			if err := f.checkOutput(); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out, err := c.Credentials(cmd.Context(), org, repo, client.CredentialsRequest{Access: access, Duration: duration})
			if err != nil {
				return err
			}
			describeCreds(cmd.ErrOrStderr(), out)
			return f.print(cmd.OutOrStdout(), out, func() { printEnv(cmd.OutOrStdout(), out, export) })
		},
	}
	cmd.Flags().StringVar(&access, "access", client.AccessRead, "read or write")
	cmd.Flags().StringVar(&duration, "duration", "", "lifetime such as 1h (default: the server's, within its bounds)")
	cmd.Flags().BoolVar(&export, "export", false, "print `export NAME='value'` statements for eval in a shell")
	return cmd
}

// parseCredsRepo splits ORG/REPO.
func parseCredsRepo(s string) (string, string, error) {
	org, repo, ok := strings.Cut(s, "/")
	if !ok || org == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("repo %q: give it as ORG/REPO", s)
	}
	return org, repo, nil
}

// printEnv writes the environment lines: NAME=value, or export NAME='value'.
func printEnv(w io.Writer, out client.CredentialsResponse, export bool) {
	for _, v := range out.Environment() {
		if export {
			fmt.Fprintf(w, "export %s=%s\n", v.Name, client.ShellQuote(v.Value))
		} else {
			fmt.Fprintf(w, "%s=%s\n", v.Name, v.Value)
		}
	}
}

// describeCreds tells the person, on stderr, where the credentials reach and until when.
func describeCreds(w io.Writer, out client.CredentialsResponse) {
	if out.AccessKeyID == "" {
		fmt.Fprintf(w, "%s (%s): self_managed bucket config: no credentials are vended, bring your own\n", out.URI(), out.Access)
		return
	}
	expires := ""
	if out.Expiration != nil {
		expires = ", expires " + fmtTime(*out.Expiration)
	}
	fmt.Fprintf(w, "%s credentials for %s%s\n", out.Access, out.URI(), expires)
}

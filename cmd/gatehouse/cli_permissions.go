package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Exit codes of `check` and `permission check`.
const (
	exitAllowed = 0 // the permission is held
	exitError   = 1 // bad input, network or server error: no answer
	exitDenied  = 2 // the permission is not held
)

const checkExitCodes = `Exit codes: 0 allowed, 2 denied, 1 error (bad input, network or server error; no
answer). Scripts can tell a denial from a failure:

  gatehouse permission check repo:acme/x read bob@example.com; echo $?`

// errDenied makes a check exit 2 (exitDenied) without an error message.
var errDenied = fmt.Errorf("%wdenied", errSilent)

// registerPermissionCmd is `gatehouse permission`, in zed's shape (C1, C2).
func registerPermissionCmd(root *cobra.Command, f *clientFlags) {
	perm := &cobra.Command{
		Use:     "permission",
		Aliases: []string{"permissions", "perm"},
		Short:   "Check, look up and explain permissions (C1, C2)",
		Long: `Check, look up and explain permissions (C1, C2). Subjects: ` + subjectSyntax + `;
without one, the question is about the token's own subject. Asking about others needs a
platform admin or a token granted the check function.`,
	}
	var fresh string
	perm.PersistentFlags().StringVar(&fresh, "at-least-as-fresh", "", "consistency token (a written_at) the answer must be at least as fresh as")
	perm.AddCommand(newCheckSubCmd(f, &fresh), newLookupResourcesCmd(f, &fresh), newLookupSubjectsCmd(f, &fresh), newExplainCmd(f, &fresh))
	root.AddCommand(perm)
}

// checkRequest builds a check from RESOURCE PERMISSION [SUBJECT].
func checkRequest(args []string, subject, fresh string) (client.CheckRequest, error) {
	req := client.CheckRequest{Resource: args[0], Permission: args[1], AtLeastAsFresh: fresh}
	if len(args) > 2 {
		if subject != "" {
			return req, fmt.Errorf("give the subject as an argument or with --subject, not both")
		}
		subject = args[2]
	}
	if err := checkResource(req.Resource); err != nil {
		return req, err
	}
	if subject != "" {
		sub, err := parseSubject(subject)
		if err != nil {
			return req, err
		}
		req.Subject = sub
	}
	return req, nil
}

// runCheck checks and prints "allowed" or "denied"; a denial is errDenied (exit 2).
func runCheck(cmd *cobra.Command, f *clientFlags, req client.CheckRequest) error {
	var allowed bool
	err := show(cmd, f, func(c *client.Client) (client.CheckResponse, error) {
		out, err := c.Check(cmd.Context(), req)
		allowed = out.Allowed
		return out, err
	}, func(out client.CheckResponse) {
		fmt.Fprintln(cmd.OutOrStdout(), verdict(out.Allowed))
	})
	if err == nil && !allowed {
		return errDenied
	}
	return err
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}

// newCheckCmd is the top-level `gatehouse check`.
func newCheckCmd(f *clientFlags) *cobra.Command {
	var subject, fresh string
	check := &cobra.Command{
		Use:   "check RESOURCE PERMISSION [SUBJECT]",
		Short: "Check a permission, e.g. check repo:acme/raw read bob@example.com; exit 0 allowed, 2 denied, 1 error (C1)",
		Long:  "Check a permission (the same as `gatehouse permission check`).\n\n" + checkExitCodes,
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := checkRequest(args, subject, fresh)
			if err != nil {
				return err
			}
			return runCheck(cmd, f, req)
		},
	}
	check.Flags().StringVar(&subject, "subject", "", "subject to check (default: the token's own)")
	check.Flags().StringVar(&fresh, "at-least-as-fresh", "", "consistency token the answer must be at least as fresh as")
	return check
}

func newCheckSubCmd(f *clientFlags, fresh *string) *cobra.Command {
	return &cobra.Command{
		Use:     "check RESOURCE PERMISSION [SUBJECT]",
		Short:   "Check one permission; exit 0 allowed, 2 denied, 1 error",
		Long:    "Check one permission of SUBJECT (default: the token's own) on RESOURCE.\n\n" + checkExitCodes,
		Example: "  gatehouse permission check repo:acme/x read user:bob@example.com",
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := checkRequest(args, "", *fresh)
			if err != nil {
				return err
			}
			return runCheck(cmd, f, req)
		},
	}
}

func newLookupResourcesCmd(f *clientFlags, fresh *string) *cobra.Command {
	return &cobra.Command{
		Use:     "lookup-resources TYPE PERMISSION [SUBJECT]",
		Short:   "List the resources of TYPE on which SUBJECT (default: the token's own) holds PERMISSION",
		Example: "  gatehouse permission lookup-resources repo read bob@example.com",
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := client.LookupResourcesRequest{ResourceType: args[0], Permission: args[1], AtLeastAsFresh: *fresh}
			if len(args) > 2 {
				sub, err := parseSubject(args[2])
				if err != nil {
					return err
				}
				req.Subject = sub
			}
			return show(cmd, f, func(c *client.Client) (client.LookupResourcesResponse, error) {
				return c.LookupResources(cmd.Context(), req)
			}, func(out client.LookupResourcesResponse) {
				for _, r := range out.Resources {
					fmt.Fprintln(cmd.OutOrStdout(), r)
				}
			})
		},
	}
}

func newLookupSubjectsCmd(f *clientFlags, fresh *string) *cobra.Command {
	return &cobra.Command{
		Use:     "lookup-subjects RESOURCE PERMISSION [SUBJECT_TYPE]",
		Short:   "List the subjects of SUBJECT_TYPE (default user) that hold PERMISSION on RESOURCE",
		Example: "  gatehouse permission lookup-subjects repo:acme/x write robot",
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkResource(args[0]); err != nil {
				return err
			}
			req := client.LookupSubjectsRequest{Resource: args[0], Permission: args[1], AtLeastAsFresh: *fresh}
			if len(args) > 2 {
				req.SubjectType = args[2]
			}
			return show(cmd, f, func(c *client.Client) (client.LookupSubjectsResponse, error) {
				return c.LookupSubjects(cmd.Context(), req)
			}, func(out client.LookupSubjectsResponse) {
				for _, s := range out.Subjects {
					fmt.Fprintln(cmd.OutOrStdout(), s)
				}
			})
		},
	}
}

func newExplainCmd(f *clientFlags, fresh *string) *cobra.Command {
	return &cobra.Command{
		Use:   "explain RESOURCE PERMISSION [SUBJECT]",
		Short: "Say whether SUBJECT holds PERMISSION on RESOURCE, and through which relationships",
		Long: `Say whether SUBJECT (default: the token's own) holds PERMISSION on RESOURCE, and
through which relationships. Exits 0 whenever it answers, allowed or denied; 1 on error.`,
		Example: "  gatehouse permission explain repo:acme/x read bob@example.com",
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := checkRequest(args, "", *fresh)
			if err != nil {
				return err
			}
			return show(cmd, f, func(c *client.Client) (client.ExplainResponse, error) {
				return c.Explain(cmd.Context(), req)
			}, func(out client.ExplainResponse) {
				w := cmd.OutOrStdout()
				fmt.Fprintln(w, verdict(out.Allowed))
				for i, p := range out.Paths {
					fmt.Fprintf(w, "  path %d: %s\n", i+1, strings.Join(p, " -> "))
				}
			})
		},
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// show does one API call, decodes the answer into out (may be nil), and prints either
// the API's JSON answer unchanged (-o json) or the table.
func (f *clientFlags) show(cmd *cobra.Command, method, path string, in, out any, table func()) error {
	var raw json.RawMessage
	if err := f.call(cmd, method, path, in, &raw); err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("unexpected answer from %s %s: %w", method, path, err)
		}
	}
	return f.print(cmd.OutOrStdout(), raw, table)
}

// apiPath joins escaped path segments onto /api/v1.
func apiPath(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func oneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not one of %s", flag, v, strings.Join(allowed, ", "))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(time.RFC3339)
}

type orgInfo struct {
	Name       string    `json:"name"`
	RepoAccess string    `json:"repo_access"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
}

type member struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

type deleted struct {
	Deleted string `json:"deleted"`
}

func (f *clientFlags) printDeleted(cmd *cobra.Command, path string) error {
	var out deleted
	return f.show(cmd, "DELETE", path, nil, &out, func() {
		fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", out.Deleted)
	})
}

func registerOrgsCmd(root *cobra.Command, f *clientFlags) {
	orgs := &cobra.Command{Use: "orgs", Aliases: []string{"org"}, Short: "Manage orgs and their members (O1-O3)"}
	orgTable := func(cmd *cobra.Command, list ...orgInfo) {
		t := newTable(cmd.OutOrStdout(), "NAME", "REPO ACCESS", "CREATED", "CREATED BY")
		for _, o := range list {
			t.row(o.Name, o.RepoAccess, fmtTime(o.CreatedAt), o.CreatedBy)
		}
		t.flush()
	}
	orgs.AddCommand(
		&cobra.Command{
			Use:   "create NAME",
			Short: "Create an org (platform admins, O1)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var o orgInfo
				return f.show(cmd, "POST", "/api/v1/orgs", map[string]string{"name": args[0]}, &o, func() { orgTable(cmd, o) })
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the orgs you can see",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out struct {
					Orgs []orgInfo `json:"orgs"`
				}
				return f.show(cmd, "GET", "/api/v1/orgs", nil, &out, func() { orgTable(cmd, out.Orgs...) })
			},
		},
		&cobra.Command{
			Use:   "get NAME",
			Short: "Show an org",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var o orgInfo
				return f.show(cmd, "GET", apiPath("orgs", args[0]), nil, &o, func() { orgTable(cmd, o) })
			},
		},
		&cobra.Command{
			Use:   "delete NAME",
			Short: "Delete an org that has no repos",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.printDeleted(cmd, apiPath("orgs", args[0]))
			},
		},
		&cobra.Command{
			Use:       "set-access NAME members|acl_only",
			Short:     "Let every member reach every repo (members) or only through repo ACLs (acl_only) (O2)",
			Args:      cobra.ExactArgs(2),
			ValidArgs: []string{"members", "acl_only"},
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := oneOf("repo access", args[1], "members", "acl_only"); err != nil {
					return err
				}
				var o orgInfo
				return f.show(cmd, "PATCH", apiPath("orgs", args[0]), map[string]string{"repo_access": args[1]}, &o, func() { orgTable(cmd, o) })
			},
		},
	)
	orgs.AddCommand(newMembersCmd(f))
	root.AddCommand(orgs)
}

func newMembersCmd(f *clientFlags) *cobra.Command {
	members := &cobra.Command{Use: "members", Aliases: []string{"member"}, Short: "Add people by email, change roles, remove them (O3)"}
	setRole := func(cmd *cobra.Command, org, email, role string) error {
		if err := oneOf("role", role, "member", "admin"); err != nil {
			return err
		}
		var m member
		return f.show(cmd, "PUT", apiPath("orgs", org, "members", email), map[string]string{"role": role}, &m, func() {
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s of %s\n", m.Subject, m.Role, org)
		})
	}
	var role string
	add := &cobra.Command{
		Use:   "add ORG EMAIL",
		Short: "Add a person by email, before or after their first login",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setRole(cmd, args[0], args[1], role)
		},
	}
	add.Flags().StringVar(&role, "role", "member", "member or admin")
	members.AddCommand(
		add,
		&cobra.Command{
			Use:   "set-role ORG EMAIL member|admin",
			Short: "Change a member's role",
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				return setRole(cmd, args[0], args[1], args[2])
			},
		},
		&cobra.Command{
			Use:   "remove ORG EMAIL",
			Short: "Remove a person from the org (effective at the next check)",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.printDeleted(cmd, apiPath("orgs", args[0], "members", args[1]))
			},
		},
		&cobra.Command{
			Use:   "list ORG",
			Short: "List members and admins",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out struct {
					Members []member `json:"members"`
				}
				return f.show(cmd, "GET", apiPath("orgs", args[0], "members"), nil, &out, func() {
					t := newTable(cmd.OutOrStdout(), "SUBJECT", "ROLE")
					for _, m := range out.Members {
						t.row(m.Subject, m.Role)
					}
					t.flush()
				})
			},
		},
	)
	return members
}

func registerTeamsCmd(root *cobra.Command, f *clientFlags) {
	teams := &cobra.Command{Use: "teams", Aliases: []string{"team"}, Short: "Manage teams inside an org (O4)"}
	teams.AddCommand(
		&cobra.Command{
			Use:   "create ORG TEAM",
			Short: "Create a team",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out struct {
					Team string `json:"team"`
				}
				return f.show(cmd, "PUT", apiPath("orgs", args[0], "teams", args[1]), nil, &out, func() {
					fmt.Fprintf(cmd.OutOrStdout(), "created %s\n", out.Team)
				})
			},
		},
		&cobra.Command{
			Use:   "delete ORG TEAM",
			Short: "Delete a team and its grants",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.printDeleted(cmd, apiPath("orgs", args[0], "teams", args[1]))
			},
		},
		&cobra.Command{
			Use:   "list ORG",
			Short: "List an org's teams",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out struct {
					Teams []string `json:"teams"`
				}
				return f.show(cmd, "GET", apiPath("orgs", args[0], "teams"), nil, &out, func() {
					t := newTable(cmd.OutOrStdout(), "TEAM")
					for _, name := range out.Teams {
						t.row("team:" + args[0] + "/" + name)
					}
					t.flush()
				})
			},
		},
		&cobra.Command{
			Use:   "add-member ORG TEAM SUBJECT",
			Short: "Add a user, robot, service account or team (team:ORG/TEAM) to a team",
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out struct {
					Subject string `json:"subject"`
				}
				return f.show(cmd, "PUT", apiPath("orgs", args[0], "teams", args[1], "members", args[2]), nil, &out, func() {
					fmt.Fprintf(cmd.OutOrStdout(), "%s is a member of team:%s/%s\n", out.Subject, args[0], args[1])
				})
			},
		},
		&cobra.Command{
			Use:   "remove-member ORG TEAM SUBJECT",
			Short: "Remove a member from a team",
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.printDeleted(cmd, apiPath("orgs", args[0], "teams", args[1], "members", args[2]))
			},
		},
	)
	root.AddCommand(teams)
}

func registerAPIKeysCmd(root *cobra.Command, f *clientFlags) {
	keys := &cobra.Command{Use: "api-keys", Aliases: []string{"api-key", "keys"}, Short: "Manage an org's API keys (service accounts, ID2)"}
	var lifetime, role string
	create := &cobra.Command{
		Use:   "create ORG NAME",
		Short: "Create an API key; its token is shown once",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := map[string]string{"name": args[1]}
			if lifetime != "" {
				if _, err := time.ParseDuration(lifetime); err != nil {
					return fmt.Errorf("--lifetime: %q is not a duration such as 720h", lifetime)
				}
				in["lifetime"] = lifetime
			}
			if role != "" {
				if err := oneOf("--role", role, "member", "admin"); err != nil {
					return err
				}
				in["role"] = role
			}
			var k orgs.NewKey
			return f.show(cmd, "POST", apiPath("orgs", args[0], "api-keys"), in, &k, func() {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "created API key %s (%s), role %s, expires %s\n", k.Subject, k.Account, k.Role, fmtTime(k.ExpiresAt))
				fmt.Fprintf(w, "WARNING: this token is shown once and cannot be shown again; store it now:\n%s\n", k.Token)
			})
		},
	}
	create.Flags().StringVar(&lifetime, "lifetime", "", "how long the key lives, e.g. 720h (default: the server's, one year)")
	create.Flags().StringVar(&role, "role", "", "member or admin (default: member)")
	keys.AddCommand(
		create,
		&cobra.Command{
			Use:   "list ORG",
			Short: "List an org's API keys (metadata only)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out struct {
					Keys []orgs.KeyInfo `json:"api_keys"`
				}
				return f.show(cmd, "GET", apiPath("orgs", args[0], "api-keys"), nil, &out, func() {
					t := newTable(cmd.OutOrStdout(), "NAME", "SUBJECT", "ROLE", "CREATED", "EXPIRES", "CREATED BY")
					for _, k := range out.Keys {
						t.row(k.Name, k.Subject, k.Role, fmtTime(k.CreatedAt), fmtTime(k.ExpiresAt), k.CreatedBy)
					}
					t.flush()
				})
			},
		},
		&cobra.Command{
			Use:   "delete ORG NAME",
			Short: "Delete an API key; its token is refused at once",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.printDeleted(cmd, apiPath("orgs", args[0], "api-keys", args[1]))
			},
		},
	)
	root.AddCommand(keys)
}

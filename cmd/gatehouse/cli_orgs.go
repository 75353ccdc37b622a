package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

func oneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not one of %s", flag, v, strings.Join(allowed, ", "))
}

// deleted runs a DELETE call and prints what it removed.
func deleted(cmd *cobra.Command, f *clientFlags, call func(*client.Client) (client.DeletedResponse, error)) error {
	return show(cmd, f, call, func(out client.DeletedResponse) {
		fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", out.Deleted)
	})
}

func orgTable(cmd *cobra.Command, list ...client.Org) {
	t := newTable(cmd.OutOrStdout(), "NAME", "REPO ACCESS", "CREATED", "CREATED BY")
	for _, o := range list {
		t.row(o.Name, o.RepoAccess, fmtTime(o.CreatedAt), o.CreatedBy)
	}
	t.flush()
}

// Org roles of API.md's member and API key bodies (O2, O3): API values, which the server
// maps to the org relations.
const (
	orgRoleMember = "member"
	orgRoleAdmin  = "admin"
)

func registerOrgsCmd(root *cobra.Command, f *clientFlags) {
	orgs := &cobra.Command{Use: "orgs", Aliases: []string{"org"}, Short: "Manage orgs and their members (O1-O3)"}
	orgs.AddCommand(
		&cobra.Command{
			Use:   "create NAME",
			Short: "Create an org (platform admins, O1)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return show(cmd, f, func(c *client.Client) (client.Org, error) {
					return c.CreateOrg(cmd.Context(), client.OrgRequest{Name: args[0]})
				}, func(o client.Org) { orgTable(cmd, o) })
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the orgs you can see",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return show(cmd, f, func(c *client.Client) (client.OrgsResponse, error) { return c.Orgs(cmd.Context()) },
					func(out client.OrgsResponse) { orgTable(cmd, out.Orgs...) })
			},
		},
		&cobra.Command{
			Use:   "get NAME",
			Short: "Show an org",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return show(cmd, f, func(c *client.Client) (client.Org, error) { return c.Org(cmd.Context(), args[0]) },
					func(o client.Org) { orgTable(cmd, o) })
			},
		},
		&cobra.Command{
			Use:   "delete NAME",
			Short: "Delete an org that has no repos",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) { return c.DeleteOrg(cmd.Context(), args[0]) })
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
				return show(cmd, f, func(c *client.Client) (client.Org, error) {
					return c.UpdateOrg(cmd.Context(), args[0], client.OrgPatch{RepoAccess: args[1]})
				}, func(o client.Org) { orgTable(cmd, o) })
			},
		},
	)
	orgs.AddCommand(newMembersCmd(f))
	root.AddCommand(orgs)
}

func newMembersCmd(f *clientFlags) *cobra.Command {
	members := &cobra.Command{Use: "members", Aliases: []string{"member"}, Short: "Add people by email, change roles, remove them (O3)"}
	setRole := func(cmd *cobra.Command, org, person, role string) error {
		if err := oneOf("role", role, orgRoleMember, orgRoleAdmin); err != nil {
			return err
		}
		email, err := parseEmail(person)
		if err != nil {
			return err
		}
		return show(cmd, f, func(c *client.Client) (client.Member, error) {
			return c.SetMember(cmd.Context(), org, email, client.RoleBody{Role: role})
		}, func(m client.Member) {
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s of %s\n", m.Subject, m.Role, org)
		})
	}
	var role string
	add := &cobra.Command{
		Use:   "add ORG EMAIL",
		Short: "Add a person by email (or user:<email>), before or after their first login",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setRole(cmd, args[0], args[1], role)
		},
	}
	add.Flags().StringVar(&role, "role", orgRoleMember, orgRoleMember+" or "+orgRoleAdmin)
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
				email, err := parseEmail(args[1])
				if err != nil {
					return err
				}
				return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) {
					return c.RemoveMember(cmd.Context(), args[0], email)
				})
			},
		},
		newMembersListCmd(f),
	)
	return members
}

func newMembersListCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list ORG",
		Short: "List members and admins",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, f, func(c *client.Client) (client.MembersResponse, error) { return c.Members(cmd.Context(), args[0]) },
				func(out client.MembersResponse) {
					t := newTable(cmd.OutOrStdout(), "SUBJECT", "ROLE")
					for _, m := range out.Members {
						t.row(m.Subject, m.Role)
					}
					t.flush()
				})
		},
	}
}

// newTeamMemberCmd is `teams add-member` or `teams remove-member`: SUBJECT in the one
// subject syntax, checked before anything is sent.
func newTeamMemberCmd(f *clientFlags, use, short string, call func(c *client.Client, cmd *cobra.Command, org, team, sub string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ORG TEAM SUBJECT",
		Short: short,
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			sub, err := parseSubject(args[2])
			if err != nil {
				return err
			}
			if err := f.checkOutput(); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return call(c, cmd, args[0], args[1], sub)
		},
	}
}

func teamMemberCmds(f *clientFlags) []*cobra.Command {
	return []*cobra.Command{
		newTeamMemberCmd(f, "add-member", "Add a member ("+subjectSyntax+") to a team", func(c *client.Client, cmd *cobra.Command, org, team, sub string) error {
			out, err := c.AddTeamMember(cmd.Context(), org, team, sub)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is a member of team:%s/%s\n", out.Subject, org, team)
			})
		}),
		newTeamMemberCmd(f, "remove-member", "Remove a member from a team", func(c *client.Client, cmd *cobra.Command, org, team, sub string) error {
			out, err := c.RemoveTeamMember(cmd.Context(), org, team, sub)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func() { fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", out.Deleted) })
		}),
	}
}

func registerTeamsCmd(root *cobra.Command, f *clientFlags) {
	teams := &cobra.Command{Use: "teams", Aliases: []string{"team"}, Short: "Manage teams inside an org (O4)"}
	teams.AddCommand(
		&cobra.Command{
			Use:   "create ORG TEAM",
			Short: "Create a team",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return show(cmd, f, func(c *client.Client) (client.TeamResponse, error) {
					return c.CreateTeam(cmd.Context(), args[0], args[1])
				},
					func(out client.TeamResponse) { fmt.Fprintf(cmd.OutOrStdout(), "created %s\n", out.Team) })
			},
		},
		&cobra.Command{
			Use:   "delete ORG TEAM",
			Short: "Delete a team and its grants",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) {
					return c.DeleteTeam(cmd.Context(), args[0], args[1])
				})
			},
		},
		&cobra.Command{
			Use:   "list ORG",
			Short: "List an org's teams",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return show(cmd, f, func(c *client.Client) (client.TeamsResponse, error) { return c.Teams(cmd.Context(), args[0]) },
					func(out client.TeamsResponse) {
						t := newTable(cmd.OutOrStdout(), "TEAM")
						for _, name := range out.Teams {
							t.row("team:" + args[0] + "/" + name)
						}
						t.flush()
					})
			},
		},
	)
	teams.AddCommand(teamMemberCmds(f)...)
	root.AddCommand(teams)
}

func registerAPIKeysCmd(root *cobra.Command, f *clientFlags) {
	keys := &cobra.Command{Use: "api-keys", Aliases: []string{"api-key", "keys"}, Short: "Manage an org's API keys (service accounts, ID2)"}
	keys.AddCommand(
		newAPIKeyCreateCmd(f),
		&cobra.Command{
			Use:   "list ORG",
			Short: "List an org's API keys (metadata only)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return show(cmd, f, func(c *client.Client) (client.APIKeysResponse, error) { return c.APIKeys(cmd.Context(), args[0]) },
					func(out client.APIKeysResponse) {
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
				return deleted(cmd, f, func(c *client.Client) (client.DeletedResponse, error) {
					return c.DeleteAPIKey(cmd.Context(), args[0], args[1])
				})
			},
		},
	)
	root.AddCommand(keys)
}

func newAPIKeyCreateCmd(f *clientFlags) *cobra.Command {
	var lifetime, role string
	create := &cobra.Command{
		Use:   "create ORG NAME",
		Short: "Create an API key; its token is shown once",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := client.APIKeyRequest{Name: args[1]}
			if lifetime != "" {
				d, err := time.ParseDuration(lifetime)
				if err != nil {
					return fmt.Errorf("--lifetime: %q is not a duration such as 720h", lifetime)
				}
				req.Lifetime = client.Duration(d)
			}
			if role != "" {
				if err := oneOf("--role", role, orgRoleMember, orgRoleAdmin); err != nil {
					return err
				}
				req.Role = role
			}
			return show(cmd, f, func(c *client.Client) (client.NewAPIKey, error) { return c.CreateAPIKey(cmd.Context(), args[0], req) },
				func(k client.NewAPIKey) {
					w := cmd.OutOrStdout()
					fmt.Fprintf(w, "created API key %s (%s), role %s, expires %s\n", k.Subject, k.Account, k.Role, fmtTime(k.ExpiresAt))
					fmt.Fprintf(w, "WARNING: this token is shown once and cannot be shown again; store it now:\n%s\n", k.Token)
				})
		},
	}
	create.Flags().StringVar(&lifetime, "lifetime", "", "how long the key lives, e.g. 720h (default: the server's, one year)")
	create.Flags().StringVar(&role, "role", "", "member or admin (default: member)")
	return create
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// tokenSpec is what `tokens create` sends to POST /api/v1/tokens (T3): a role, or grants,
// or neither (an unscoped token), for the caller or (platform admins) another subject.
type tokenSpec struct {
	Subject string         `json:"subject,omitempty" yaml:"subject"`
	TTL     string         `json:"ttl,omitempty" yaml:"ttl"`
	Role    string         `json:"role,omitempty" yaml:"role"`
	Grants  []client.Grant `json:"grants,omitempty" yaml:"grants"`
}

var (
	specKeys  = []string{"subject", "ttl", "role", "grants"}
	grantKeys = []string{"functions", "resources", "orgs"}
)

// parseTokenSpec reads a YAML token spec, like Dyff's policy file:
//
//	subject: robot:ci        # optional
//	ttl: 2h                  # optional
//	grants:
//	- functions: [read, write]
//	  resources: [repo]
//	  orgs: [acme]
//
// or a top-level role: instead of grants. Unknown keys, unknown functions and resource
// types, and empty lists are errors naming the key and line.
func parseTokenSpec(src string, data []byte) (tokenSpec, error) {
	var spec tokenSpec
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return spec, fmt.Errorf("%s: %w", src, err)
	}
	if len(doc.Content) == 0 {
		return spec, fmt.Errorf("%s: empty token spec: give role or grants", src)
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return spec, fmt.Errorf("%s: line %d: a token spec is a mapping with keys %s", src, top.Line, strings.Join(specKeys, ", "))
	}
	if err := checkKeys(src, "", top, specKeys); err != nil {
		return spec, err
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "grants" {
			continue
		}
		list := top.Content[i+1]
		if list.Kind != yaml.SequenceNode {
			return spec, fmt.Errorf("%s: line %d: grants: must be a list of {functions, resources, orgs}", src, list.Line)
		}
		for j, g := range list.Content {
			if g.Kind != yaml.MappingNode {
				return spec, fmt.Errorf("%s: line %d: grants[%d]: must be a mapping with keys %s", src, g.Line, j, strings.Join(grantKeys, ", "))
			}
			if err := checkKeys(src, fmt.Sprintf("grants[%d].", j), g, grantKeys); err != nil {
				return spec, err
			}
		}
	}
	if err := top.Decode(&spec); err != nil {
		return spec, fmt.Errorf("%s: %w", src, err)
	}
	hasGrants := false
	for i := 0; i < len(top.Content); i += 2 {
		hasGrants = hasGrants || top.Content[i].Value == "grants"
	}
	if hasGrants && spec.Grants == nil {
		spec.Grants = []client.Grant{} // "grants: []" is an error below, not "no grants"
	}
	if err := spec.validate("", hasGrants); err != nil {
		return spec, fmt.Errorf("%s: %w", src, err)
	}
	return spec, nil
}

func checkKeys(src, prefix string, m *yaml.Node, known []string) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if !slices.Contains(known, k.Value) {
			return fmt.Errorf("%s: line %d: unknown key %q (known: %s)", src, k.Line, prefix+k.Value, strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return fmt.Errorf("%s: line %d: key %q given twice", src, k.Line, prefix+k.Value)
		}
		seen[k.Value] = true
	}
	return nil
}

// validate checks the spec before anything is sent. flagStyle names fields as flags
// ("--functions") instead of YAML keys ("grants[0].functions").
func (s tokenSpec) validate(flagStyle string, hasGrants bool) error {
	name := func(i int, key string) string {
		if flagStyle != "" {
			return "--" + key
		}
		return fmt.Sprintf("grants[%d].%s", i, key)
	}
	roleName, grantsName := "role", "grants"
	if flagStyle != "" {
		roleName, grantsName = "--role", "--functions/--resources/--orgs"
	}
	if s.TTL != "" {
		d, err := time.ParseDuration(s.TTL)
		if err != nil || d <= 0 {
			ttl := "ttl"
			if flagStyle != "" {
				ttl = "--ttl"
			}
			return fmt.Errorf("%s: %q is not a positive duration such as 2h", ttl, s.TTL)
		}
	}
	if s.Role != "" && hasGrants {
		return fmt.Errorf("give either %s or %s, not both", roleName, grantsName)
	}
	if s.Role != "" {
		if _, ok := tokens.Roles[s.Role]; !ok {
			return fmt.Errorf("%s: unknown role %q (known: %s)", roleName, s.Role, strings.Join(roleNames(), ", "))
		}
	}
	if hasGrants && len(s.Grants) == 0 {
		return fmt.Errorf("%s: must name at least one grant; omit it for an unscoped token", grantsName)
	}
	for i, g := range s.Grants {
		lists := []struct {
			key   string
			vals  []string
			known []string
			what  string
		}{
			{"functions", g.Functions, tokens.Functions, "function"},
			{"resources", g.Resources, tokens.Resources, "resource type"},
			{"orgs", g.Orgs, nil, "org"},
		}
		for _, l := range lists {
			if len(l.vals) == 0 {
				return fmt.Errorf("%s: must name at least one %s (or *)", name(i, l.key), l.what)
			}
			for _, v := range l.vals {
				if v == "" {
					return fmt.Errorf("%s: empty %s", name(i, l.key), l.what)
				}
				if l.known != nil && !slices.Contains(l.known, v) {
					return fmt.Errorf("%s: unknown %s %q (known: %s)", name(i, l.key), l.what, v, strings.Join(l.known, ", "))
				}
			}
		}
	}
	return nil
}

func roleNames() []string {
	names := make([]string, 0, len(tokens.Roles))
	for r := range tokens.Roles {
		names = append(names, r)
	}
	sort.Strings(names)
	return names
}

// tokenFlags are `tokens create`'s flags.
type tokenFlags struct {
	subject, ttl, role, file       string
	functions, resources, orgNames []string
}

// spec builds the request from the flags or the file (- is standard input), refusing
// mixtures before anything is sent.
func (tf *tokenFlags) spec(cmd *cobra.Command) (tokenSpec, error) {
	changed := func(names ...string) []string {
		var out []string
		for _, n := range names {
			if cmd.Flags().Changed(n) {
				out = append(out, "--"+n)
			}
		}
		return out
	}
	if cmd.Flags().Changed("file") {
		if c := changed("subject", "ttl", "role", "functions", "resources", "orgs"); len(c) > 0 {
			return tokenSpec{}, fmt.Errorf("-c/--file cannot be combined with %s: put everything in the file", strings.Join(c, ", "))
		}
		var data []byte
		var err error
		src := tf.file
		if tf.file == "-" {
			src = "standard input"
			data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
		} else {
			data, err = os.ReadFile(tf.file)
		}
		if err != nil {
			return tokenSpec{}, fmt.Errorf("-c %s: %w", tf.file, err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return tokenSpec{}, fmt.Errorf("%s: empty token spec: give role or grants", src)
		}
		return parseTokenSpec(src, data)
	}
	grantFlags := changed("functions", "resources", "orgs")
	if tf.role != "" && len(grantFlags) > 0 {
		return tokenSpec{}, fmt.Errorf("give either --role or %s, not both", strings.Join(grantFlags, ", "))
	}
	if cmd.Flags().Changed("role") && tf.role == "" {
		return tokenSpec{}, errors.New("--role: must not be empty")
	}
	spec := tokenSpec{Subject: tf.subject, TTL: tf.ttl, Role: tf.role}
	if len(grantFlags) > 0 {
		spec.Grants = []client.Grant{{Functions: tf.functions, Resources: tf.resources, Orgs: tf.orgNames}}
	}
	return spec, spec.validate("flags", len(grantFlags) > 0)
}

func newTokensCreateCmd(f *clientFlags) *cobra.Command {
	tf := &tokenFlags{}
	create := &cobra.Command{
		Use:   "create [--subject S] [--ttl D] (--role R | --functions F,.. --resources R,.. --orgs O,.. | -c FILE | -c -)",
		Short: "Create a token, scoped by a role or by grants; it is shown once",
		Long: `Create a token for yourself (or, as a platform admin, for --subject), scoped by a role
or by grants (functions x resource types x orgs), given as flags or as a YAML file
(-c FILE, or -c - for standard input):

  subject: robot:ci        # optional
  ttl: 2h                  # optional
  grants:
  - functions: [read, write]
    resources: [repo]
    orgs: [acme]

A top-level "role: developer" may replace grants. With neither, the token carries the
owner's full access. The spec is checked before anything is sent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := tf.spec(cmd)
			if err != nil {
				return err
			}
			if spec.Subject != "" {
				if spec.Subject, err = parseSubject(spec.Subject); err != nil {
					return err
				}
			}
			req := client.MintRequest{Subject: spec.Subject, Role: spec.Role, Grants: spec.Grants}
			if spec.TTL != "" {
				d, _ := time.ParseDuration(spec.TTL) // checked by spec()
				req.TTL = client.Duration(d)
			}
			return show(cmd, f, func(c *client.Client) (client.MintResponse, error) { return c.MintToken(cmd.Context(), req) }, func(out client.MintResponse) {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "created token %s for %s, expires %s\n", out.ID, out.Subject, fmtTime(out.ExpiresAt))
				fmt.Fprintf(w, "WARNING: this token is shown once and cannot be shown again; store it now:\n%s\n", out.Token)
			})
		},
	}
	fl := create.Flags()
	fl.StringVar(&tf.subject, "subject", "", "whose token (user:<email> or robot:<name>; others than yourself: platform admins only)")
	fl.StringVar(&tf.ttl, "ttl", "", "lifetime, e.g. 2h (default: the server's)")
	fl.StringVar(&tf.role, "role", "", "a named bundle of grants: "+strings.Join(roleNames(), ", "))
	fl.StringSliceVar(&tf.functions, "functions", nil, "functions to grant: "+strings.Join(tokens.Functions, ", "))
	fl.StringSliceVar(&tf.resources, "resources", nil, "resource types to grant: "+strings.Join(tokens.Resources, ", "))
	fl.StringSliceVar(&tf.orgNames, "orgs", nil, "orgs the grant covers (or *)")
	fl.StringVarP(&tf.file, "file", "c", "", "YAML token spec; - reads standard input")
	return create
}

func registerTokensCmd(root *cobra.Command, f *clientFlags) {
	toks := &cobra.Command{Use: "tokens", Aliases: []string{"token"}, Short: "Create, list and revoke tokens (T3, T4)"}

	toks.AddCommand(
		newTokensCreateCmd(f),
		&cobra.Command{
			Use:   "list",
			Short: "List your tokens (no secrets)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return show(cmd, f, func(c *client.Client) (client.TokensResponse, error) { return c.Tokens(cmd.Context()) }, func(out client.TokensResponse) {
					t := newTable(cmd.OutOrStdout(), "ID", "KIND", "SCOPED", "EXPIRES")
					for _, tok := range out.Tokens {
						expires := fmtTime(tok.ExpiresAt)
						if tok.RevokedAt != nil {
							expires = "revoked " + fmtTime(*tok.RevokedAt)
						}
						t.row(tok.ID, tok.Kind, tok.Scoped, expires)
					}
					t.flush()
				})
			},
		},
		&cobra.Command{
			Use:   "revoke ID",
			Short: "Revoke a token; it is refused at once",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return show(cmd, f, func(c *client.Client) (client.RevokeResponse, error) { return c.RevokeToken(cmd.Context(), args[0]) }, func(out client.RevokeResponse) {
					fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s\n", out.ID)
				})
			},
		},
	)
	root.AddCommand(toks)
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// newClient builds the API client for an address and token; swappable in tests.
var newClient = func(addr, token string) *client.Client {
	return client.New(addr, client.WithToken(token), client.WithUserAgent("gatehouse-cli/"+version))
}

// clientFlags are the client commands' persistent flags. Address and token come from
// --addr/--token, then GATEHOUSE_ADDR/GATEHOUSE_TOKEN (T5), then the config file (see
// cli_config.go).
type clientFlags struct {
	addr, token, output string
}

func (f *clientFlags) bind(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.addr, "addr", "", "Gatehouse address (default $GATEHOUSE_ADDR, then the config file, then "+defaultAddr+")")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "bearer token (default $GATEHOUSE_TOKEN, then the config file)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "table or json")
}

const defaultAddr = "http://127.0.0.1:8080"

// endpoint resolves the address and token: flag, then environment (T5), then the config
// file. The file's token is only used with the file's address, so a token saved for one
// server is never sent to another.
func (f *clientFlags) endpoint() (addr, token string, err error) {
	addr, token = f.addr, f.token
	if addr == "" {
		addr = os.Getenv("GATEHOUSE_ADDR")
	}
	if token == "" {
		token = os.Getenv(client.TokenEnv)
	}
	if addr == "" || token == "" {
		path, err := configPath()
		if err != nil {
			return "", "", err
		}
		cfg, err := loadConfig(path)
		if err != nil {
			return "", "", err
		}
		if addr == "" {
			addr = cfg.Addr
		}
		if token == "" && cfg.Token != "" && sameAddr(addr, cfg.Addr) {
			token = cfg.Token
		}
	}
	if addr == "" {
		addr = defaultAddr
	}
	return strings.TrimRight(addr, "/"), token, nil
}

func sameAddr(a, b string) bool {
	if b == "" {
		b = defaultAddr
	}
	if a == "" {
		a = b
	}
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// client returns a client for the resolved address and token.
func (f *clientFlags) client() (*client.Client, error) {
	addr, token, err := f.endpoint()
	if err != nil {
		return nil, err
	}
	return newClient(addr, token), nil
}

// checkOutput refuses an unknown -o before anything is sent.
func (f *clientFlags) checkOutput() error {
	if f.output != "json" && f.output != "table" && f.output != "" {
		return fmt.Errorf("--output: %q is not table or json", f.output)
	}
	return nil
}

// print writes v as indented JSON (-o json) or runs table (the default, for people).
func (f *clientFlags) print(w io.Writer, v any, table func()) error {
	if err := f.checkOutput(); err != nil {
		return err
	}
	if f.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	table()
	return nil
}

// show resolves the client, checks -o, calls the API with it and prints the answer.
func show[T any](cmd *cobra.Command, f *clientFlags, call func(*client.Client) (T, error), table func(T)) error {
	if err := f.checkOutput(); err != nil {
		return err
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	out, err := call(c)
	if err != nil {
		return err
	}
	return f.print(cmd.OutOrStdout(), out, func() { table(out) })
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(time.RFC3339)
}

func registerClientCmds(root *cobra.Command) {
	f := &clientFlags{}
	f.bind(root)
	root.AddCommand(newActivateCmd(f), newCheckCmd(f), newWhoamiCmd(f))
	registerAuthCmd(root, f)
	registerOrgsCmd(root, f)
	registerTeamsCmd(root, f)
	registerAPIKeysCmd(root, f)
	registerTokensCmd(root, f)
	registerRelationshipCmd(root, f)
	registerPermissionCmd(root, f)
	// Credential vending (B6, h/vend).
	root.AddCommand(newCredsCmd(f))
	// Repos and bucket configs (cli_repos.go, cli_buckets.go).
	registerRepoCmd(root, f)
	registerBucketCmd(root, f)
	registerPipelineCmd(root, f) // contract D2
}

func newActivateCmd(f *clientFlags) *cobra.Command {
	var initialAdmin string
	var noSave bool
	activate := &cobra.Command{
		Use:   "activate",
		Short: "Activate a fresh installation with its first platform admin (P1)",
		Long: "Activate a fresh installation with its first platform admin (P1). A robot admin's\n" +
			"token is printed once and saved to the config file (unless --no-save).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if initialAdmin == "" {
				return fmt.Errorf("--initial-admin is required (robot:<name> or user:<email>)")
			}
			admin, err := parseSubject(initialAdmin)
			if err != nil {
				return fmt.Errorf("--initial-admin: %w", err)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out, err := c.Activate(cmd.Context(), client.ActivateRequest{InitialAdmin: admin})
			if err != nil {
				return err
			}
			saved := ""
			if out.Token != "" && !noSave {
				if saved, err = saveLogin(c.BaseURL(), out.Token, ""); err != nil {
					return fmt.Errorf("activated, but the token could not be saved (copy it now: %s): %w", out.Token, err)
				}
			}
			return f.print(cmd.OutOrStdout(), out, func() {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "activated; platform admin %s\n", out.Subject)
				if out.Token != "" {
					expires := ""
					if out.ExpiresAt != nil {
						expires = ", expires " + fmtTime(*out.ExpiresAt)
					}
					fmt.Fprintf(w, "token (shown once%s):\n%s\n", expires, out.Token)
				}
				if saved != "" {
					fmt.Fprintf(w, "saved to %s\n", saved)
				}
			})
		},
	}
	activate.Flags().StringVar(&initialAdmin, "initial-admin", "", "robot:<name> or user:<email> (a bare email is a user)")
	activate.Flags().BoolVar(&noSave, "no-save", false, "do not save the address and token to the config file")
	return activate
}

// newWhoamiCmd is `gatehouse whoami` and `gatehouse auth whoami`.
func newWhoamiCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the token belongs to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, f, func(c *client.Client) (client.WhoamiResponse, error) { return c.Whoami(cmd.Context()) }, func(w client.WhoamiResponse) {
				whoamiTable(cmd.OutOrStdout(), w)
			})
		},
	}
}

func whoamiTable(out io.Writer, w client.WhoamiResponse) {
	tw := newTable(out, "SUBJECT", "ORGS", "PLATFORM ADMIN", "TOKEN", "SCOPED", "EXPIRES")
	tw.row(w.Subject, strings.Join(w.Orgs, ","), w.PlatformAdmin, w.Token.ID, w.Token.Scoped, fmtTime(w.Token.ExpiresAt))
	tw.flush()
}

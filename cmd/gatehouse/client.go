package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// client is the CLI's HTTP client. Address and token come from --addr/--token, then
// GATEHOUSE_ADDR/GATEHOUSE_TOKEN (T5), then the config file (see cli_config.go).
type client struct {
	addr  string
	token string
	http  *http.Client
}

// newClient is swappable in tests.
var newClient = func(addr, token string) *client {
	return &client{addr: strings.TrimRight(addr, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// apiError is the API's error body, or a bare HTTP status when the answer had none.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Field  string `json:"field"`
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return e.Msg
	}
	s := fmt.Sprintf("%s (HTTP %d, %s)", e.Msg, e.Status, e.Code)
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	return s
}

// do sends a JSON request and decodes a JSON answer into out.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.addr+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach Gatehouse at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
			return &apiError{Status: resp.StatusCode, Msg: fmt.Sprintf("HTTP %d from %s %s", resp.StatusCode, method, path)}
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

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
		token = os.Getenv("GATEHOUSE_TOKEN")
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
func (f *clientFlags) client() (*client, error) {
	addr, token, err := f.endpoint()
	if err != nil {
		return nil, err
	}
	return newClient(addr, token), nil
}

// call is client().do in one step.
func (f *clientFlags) call(cmd *cobra.Command, method, path string, in, out any) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	return c.do(cmd.Context(), method, path, in, out)
}

func (f *clientFlags) print(w io.Writer, v any, table func()) error {
	switch f.output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "table", "":
		table()
		return nil
	default:
		return fmt.Errorf("--output: %q is not table or json", f.output)
	}
}

func registerClientCmds(root *cobra.Command) {
	f := &clientFlags{}
	f.bind(root)

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
			var out struct {
				Subject   string `json:"subject"`
				Token     string `json:"token"`
				ExpiresAt string `json:"expires_at,omitempty"`
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), "POST", "/api/v1/activate", map[string]string{"initial_admin": initialAdmin}, &out); err != nil {
				return err
			}
			saved := ""
			if out.Token != "" && !noSave {
				if saved, err = saveLogin(c.addr, out.Token, ""); err != nil {
					return fmt.Errorf("activated, but the token could not be saved (copy it now: %s): %w", out.Token, err)
				}
			}
			return f.print(cmd.OutOrStdout(), out, func() {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "activated; platform admin %s\n", out.Subject)
				if out.Token != "" {
					expires := ""
					if out.ExpiresAt != "" {
						expires = ", expires " + out.ExpiresAt
					}
					fmt.Fprintf(w, "token (shown once%s):\n%s\n", expires, out.Token)
				}
				if saved != "" {
					fmt.Fprintf(w, "saved to %s\n", saved)
				}
			})
		},
	}
	activate.Flags().StringVar(&initialAdmin, "initial-admin", "", "robot:<name> or user:<email>")
	activate.Flags().BoolVar(&noSave, "no-save", false, "do not save the address and token to the config file")
	root.AddCommand(activate)

	var subject, fresh string
	check := &cobra.Command{
		Use:   "check RESOURCE PERMISSION",
		Short: "Check a permission, e.g. check repo:acme/raw read --subject user:bob@example.com (C1)",
		Long:  "Check a permission. Exits 0 when allowed, non-zero when denied.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Allowed   bool   `json:"allowed"`
				CheckedAt string `json:"checked_at"`
			}
			in := map[string]string{"resource": args[0], "permission": args[1], "subject": subject, "at_least_as_fresh": fresh}
			if err := f.call(cmd, "POST", "/api/v1/check", in, &out); err != nil {
				return err
			}
			if err := f.print(cmd.OutOrStdout(), out, func() {
				verdict := "denied"
				if out.Allowed {
					verdict = "allowed"
				}
				fmt.Fprintln(cmd.OutOrStdout(), verdict)
			}); err != nil {
				return err
			}
			if !out.Allowed {
				return errDenied
			}
			return nil
		},
	}
	check.Flags().StringVar(&subject, "subject", "", "subject to check (default: the token's own)")
	check.Flags().StringVar(&fresh, "at-least-as-fresh", "", "consistency token the answer must be at least as fresh as")
	root.AddCommand(check)

	root.AddCommand(newWhoamiCmd(f))
	registerAuthCmd(root, f)
	registerOrgsCmd(root, f)
	registerTeamsCmd(root, f)
	registerAPIKeysCmd(root, f)
	registerTokensCmd(root, f)
}

// newWhoamiCmd is `gatehouse whoami` and `gatehouse auth whoami`.
func newWhoamiCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the token belongs to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out whoami
			if err := f.call(cmd, "GET", "/api/v1/whoami", nil, &out); err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out.raw, func() { out.table(cmd.OutOrStdout()) })
		},
	}
}

// whoami is GET /api/v1/whoami's answer; raw keeps every field for -o json.
type whoami struct {
	Subject       string   `json:"subject"`
	Orgs          []string `json:"orgs"`
	PlatformAdmin bool     `json:"platform_admin"`
	Token         struct {
		ID        string `json:"id"`
		ExpiresAt string `json:"expires_at"`
		Scoped    bool   `json:"scoped"`
		Role      string `json:"role"`
	} `json:"token"`
	raw map[string]any
}

func (w *whoami) UnmarshalJSON(b []byte) error {
	type plain whoami
	if err := json.Unmarshal(b, (*plain)(w)); err != nil {
		return err
	}
	return json.Unmarshal(b, &w.raw)
}

func (w *whoami) table(out io.Writer) {
	tw := newTable(out, "SUBJECT", "ORGS", "PLATFORM ADMIN", "TOKEN", "SCOPED", "EXPIRES")
	tw.row(w.Subject, strings.Join(w.Orgs, ","), w.PlatformAdmin, w.Token.ID, w.Token.Scoped, w.Token.ExpiresAt)
	tw.flush()
}

// errDenied makes `gatehouse check` exit non-zero on a denial without an error message.
var errDenied = fmt.Errorf("%wdenied", errSilent)

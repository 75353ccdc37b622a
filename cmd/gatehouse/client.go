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
// GATEHOUSE_ADDR/GATEHOUSE_TOKEN (T5).
type client struct {
	addr  string
	token string
	http  *http.Client
}

// newClient is swappable in tests.
var newClient = func(addr, token string) *client {
	return &client{addr: strings.TrimRight(addr, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// apiError is the API's error body.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
	Field  string `json:"field"`
}

func (e *apiError) Error() string {
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
			return fmt.Errorf("HTTP %d from %s", resp.StatusCode, path)
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
	cmd.PersistentFlags().StringVar(&f.addr, "addr", "", "Gatehouse address (default $GATEHOUSE_ADDR or http://127.0.0.1:8080)")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "bearer token (default $GATEHOUSE_TOKEN)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "table or json")
}

func (f *clientFlags) client() *client {
	addr, token := f.addr, f.token
	if addr == "" {
		addr = os.Getenv("GATEHOUSE_ADDR")
	}
	if addr == "" {
		addr = "http://127.0.0.1:8080"
	}
	if token == "" {
		token = os.Getenv("GATEHOUSE_TOKEN")
	}
	return newClient(addr, token)
}

func (f *clientFlags) print(w io.Writer, v any, table func()) error {
	if f.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	table()
	return nil
}

func registerClientCmds(root *cobra.Command) {
	f := &clientFlags{}
	f.bind(root)

	var initialAdmin string
	activate := &cobra.Command{
		Use:   "activate",
		Short: "Activate a fresh installation with its first platform admin (P1)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if initialAdmin == "" {
				return fmt.Errorf("--initial-admin is required (robot:<name> or user:<email>)")
			}
			var out struct {
				Subject   string `json:"subject"`
				Token     string `json:"token"`
				ExpiresAt string `json:"expires_at"`
			}
			if err := f.client().do(cmd.Context(), "POST", "/api/v1/activate", map[string]string{"initial_admin": initialAdmin}, &out); err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "activated; platform admin %s\n", out.Subject)
				if out.Token != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "token (shown once, expires %s):\n%s\n", out.ExpiresAt, out.Token)
				}
			})
		},
	}
	activate.Flags().StringVar(&initialAdmin, "initial-admin", "", "robot:<name> or user:<email>")
	root.AddCommand(activate)

	var subject, fresh string
	check := &cobra.Command{
		Use:   "check RESOURCE PERMISSION",
		Short: "Check a permission, e.g. check repo:acme/raw read --subject user:bob@example.com (C1)",
		Long:  "Check a permission. Exits 0 when allowed, 2 when denied.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Allowed   bool   `json:"allowed"`
				CheckedAt string `json:"checked_at"`
			}
			in := map[string]string{"resource": args[0], "permission": args[1], "subject": subject, "at_least_as_fresh": fresh}
			if err := f.client().do(cmd.Context(), "POST", "/api/v1/check", in, &out); err != nil {
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

	whoami := &cobra.Command{
		Use:   "whoami",
		Short: "Show who the token belongs to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out map[string]any
			if err := f.client().do(cmd.Context(), "GET", "/api/v1/whoami", nil, &out); err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), out, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "%v\n", out["subject"])
			})
		},
	}
	root.AddCommand(whoami)
}

// errDenied makes `gatehouse check` exit non-zero on a denial without an error message.
var errDenied = fmt.Errorf("%wdenied", errSilent)

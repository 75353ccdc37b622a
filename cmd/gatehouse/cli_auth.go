package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func registerAuthCmd(root *cobra.Command, f *clientFlags) {
	auth := &cobra.Command{Use: "auth", Short: "Log in and out, and manage the saved token (T1, T5)"}
	auth.AddCommand(newWhoamiCmd(f), newUseTokenCmd(f), newLogoutCmd(f), newLoginCmd(f))
	root.AddCommand(auth)
}

func newUseTokenCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "use-token TOKEN",
		Short: "Check a token with the server and save it, with the address, to the config file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, _, err := f.endpoint()
			if err != nil {
				return err
			}
			token := strings.TrimSpace(args[0])
			var who whoami
			if err := newClient(addr, token).do(cmd.Context(), "GET", "/api/v1/whoami", nil, &who); err != nil {
				return fmt.Errorf("token not saved: %w", err)
			}
			path, err := saveLogin(addr, token, "")
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), who.raw, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "using %s as %s; saved to %s\n", addr, who.Subject, path)
			})
		},
	}
}

func newLogoutCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the saved session on the server and remove the token from the config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := configPath()
			if err != nil {
				return err
			}
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if cfg.Token == "" {
				fmt.Fprintf(w, "not logged in (no token in %s)\n", path)
				return nil
			}
			addr := cfg.Addr
			if addr == "" {
				addr = defaultAddr
			}
			body := map[string]string{}
			if cfg.RefreshToken != "" {
				body["refresh_token"] = cfg.RefreshToken
			}
			err = newClient(addr, cfg.Token).do(cmd.Context(), "POST", "/api/v1/auth/logout", body, nil)
			var ae *apiError
			// 404: the server has no logout route; 401: the token is already dead. Either
			// way nothing is left to end on the server.
			if err != nil && (!errors.As(err, &ae) || (ae.Status != http.StatusNotFound && ae.Status != http.StatusUnauthorized)) {
				return fmt.Errorf("logout failed, token kept in %s: %w", path, err)
			}
			cfg.Token, cfg.RefreshToken = "", ""
			if err := saveConfig(path, cfg); err != nil {
				return err
			}
			fmt.Fprintf(w, "logged out of %s; token removed from %s\n", addr, path)
			return nil
		},
	}
}

// deviceStart is POST /api/v1/auth/device's answer.
type deviceStart struct {
	Mode                    string `json:"mode"` // device or copy_code
	Handle                  string `json:"handle"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	UserCode                string `json:"user_code"`
	Interval                int    `json:"interval"`
	ExpiresIn               int    `json:"expires_in"`
	AuthURL                 string `json:"auth_url"`
}

// deviceToken is POST /api/v1/auth/device/token's answer once the login is done.
type deviceToken struct {
	Token        string `json:"token"`
	ExpiresAt    string `json:"expires_at"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
	Subject      string `json:"subject"`
}

// pollUnit is the unit of the server's interval (seconds); tests shorten it.
var pollUnit = time.Second

func newLoginCmd(f *clientFlags) *cobra.Command {
	var issuer string
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in from the terminal: device code, or paste a code (T1)",
		Long: `Log in from the terminal. Depending on the server, either open the printed URL on
any device and enter the code shown (device code), or open the URL, log in, and paste
the code you are given here (copy code; also with --no-browser). The token and refresh
token are saved to the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, _, err := f.endpoint()
			if err != nil {
				return err
			}
			c := newClient(addr, "") // the login flow is unauthenticated
			ctx := cmd.Context()
			in := map[string]string{}
			if issuer != "" {
				in["issuer"] = issuer
			}
			var start deviceStart
			if err := c.do(ctx, "POST", "/api/v1/auth/device", in, &start); err != nil {
				return err
			}
			if start.Handle == "" {
				return errors.New("the server started no login (no handle in its answer)")
			}
			w := cmd.ErrOrStderr()
			var tok deviceToken
			switch {
			case start.Mode == "copy_code" || (noBrowser && start.AuthURL != ""):
				url := start.AuthURL
				if url == "" {
					url = start.VerificationURI
				}
				fmt.Fprintf(w, "Open this URL in a browser, log in, and paste the code you are given:\n\n  %s\n\nCode: ", url)
				code, err := readCode(cmd.InOrStdin())
				if err != nil {
					return err
				}
				if err := c.do(ctx, "POST", "/api/v1/auth/device/token", map[string]string{"handle": start.Handle, "code": code}, &tok); err != nil {
					return err
				}
			case start.Mode == "device" || start.Mode == "":
				url := start.VerificationURIComplete
				if url == "" {
					url = start.VerificationURI
				}
				fmt.Fprintf(w, "Open this URL on any device and log in:\n\n  %s\n\n", url)
				if start.UserCode != "" {
					fmt.Fprintf(w, "and enter the code: %s\n\n", start.UserCode)
				}
				fmt.Fprintln(w, "Waiting for the login to complete...")
				if tok, err = pollDevice(ctx, c, start); err != nil {
					return err
				}
			default:
				return fmt.Errorf("the server offered an unknown login mode %q", start.Mode)
			}
			if tok.Token == "" {
				return errors.New("the server answered without a token")
			}
			path, err := saveLogin(addr, tok.Token, tok.RefreshToken)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), map[string]string{"subject": tok.Subject, "expires_at": tok.ExpiresAt, "session_id": tok.SessionID, "config": path}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s (expires %s); saved to %s\n", addr, tok.Subject, tok.ExpiresAt, path)
			})
		},
	}
	cmd.Flags().StringVar(&issuer, "issuer", "", "identity provider to log in with (default: the server's)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "paste a code instead of waiting for a browser on another device")
	return cmd
}

func readCode(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	code := strings.TrimSpace(line)
	if code == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", errors.New("no code given")
	}
	return code, nil
}

// pollDevice asks for the token every interval until the login completes, fails or
// expires (RFC 8628 section 3.5).
func pollDevice(ctx context.Context, c *client, start deviceStart) (deviceToken, error) {
	interval := time.Duration(start.Interval) * pollUnit
	if start.Interval <= 0 {
		interval = 5 * pollUnit
	}
	expires := time.Duration(start.ExpiresIn) * pollUnit
	if start.ExpiresIn <= 0 {
		expires = 15 * time.Minute
	}
	deadline := time.Now().Add(expires)
	for {
		timer := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return deviceToken{}, ctx.Err()
		case <-timer.C:
		}
		var tok deviceToken
		err := c.do(ctx, "POST", "/api/v1/auth/device/token", map[string]string{"handle": start.Handle}, &tok)
		if err == nil {
			return tok, nil
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			return deviceToken{}, err
		}
		switch {
		case ae.Code == "slow_down":
			interval += 5 * pollUnit
		case ae.Code == "authorization_pending", ae.Code == "" && (ae.Status == http.StatusConflict || ae.Status == http.StatusPreconditionRequired):
		case ae.Status == http.StatusConflict || ae.Status == http.StatusPreconditionRequired:
			if ae.Code == "expired_token" || ae.Code == "access_denied" {
				return deviceToken{}, err
			}
		default:
			return deviceToken{}, err
		}
		if time.Now().After(deadline) {
			return deviceToken{}, errors.New("the login was not completed in time; run gatehouse auth login again")
		}
	}
}

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

	"github.com/gatehouse-dev/gatehouse/client"
)

func registerAuthCmd(root *cobra.Command, f *clientFlags) {
	auth := &cobra.Command{Use: "auth", Short: "Log in and out, and manage the saved token (T1, T5)"}
	auth.AddCommand(newWhoamiCmd(f), newUseTokenCmd(f), newLogoutCmd(f), newLoginCmd(f))
	registerRoleCmds(auth, f) // auth get, auth set: repo roles (contract D2)
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
			if err := f.checkOutput(); err != nil {
				return err
			}
			who, err := newClient(addr, token).Whoami(cmd.Context())
			if err != nil {
				return fmt.Errorf("token not saved: %w", err)
			}
			path, err := saveLogin(addr, token, "")
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), who, func() {
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
			_, err = newClient(addr, cfg.Token).Logout(cmd.Context(), client.LogoutRequest{RefreshToken: cfg.RefreshToken})
			var ae *client.Error
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
			start, err := c.StartDeviceLogin(ctx, client.IssuerRequest{Issuer: issuer})
			if err != nil {
				return err
			}
			if start.Handle == "" {
				return errors.New("the server started no login (no handle in its answer)")
			}
			tok, err := completeLogin(cmd, c, start, noBrowser)
			if err != nil {
				return err
			}
			if tok.Token == "" {
				return errors.New("the server answered without a token")
			}
			path, err := saveLogin(addr, tok.Token, tok.RefreshToken)
			if err != nil {
				return err
			}
			expires := tok.ExpiresAt.UTC().Format(time.RFC3339)
			return f.print(cmd.OutOrStdout(), map[string]string{"subject": tok.Subject, "expires_at": expires, "session_id": tok.SessionID, "config": path}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s (expires %s); saved to %s\n", addr, tok.Subject, expires, path)
			})
		},
	}
	cmd.Flags().StringVar(&issuer, "issuer", "", "identity provider to log in with (default: the server's)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "paste a code instead of waiting for a browser on another device")
	return cmd
}

// completeLogin finishes the login start began, the way the server offered: the user
// pastes a code (copy code, or --no-browser), or logs in on any device while this waits
// (device code).
func completeLogin(cmd *cobra.Command, c *client.Client, start client.DeviceResponse, noBrowser bool) (client.LoginResponse, error) {
	w, ctx := cmd.ErrOrStderr(), cmd.Context()
	switch {
	case start.Mode == "copy_code" || (noBrowser && start.AuthURL != ""):
		url := start.AuthURL
		if url == "" {
			url = start.VerificationURI
		}
		fmt.Fprintf(w, "Open this URL in a browser, log in, and paste the code you are given:\n\n  %s\n\nCode: ", url)
		code, err := readCode(cmd.InOrStdin())
		if err != nil {
			return client.LoginResponse{}, err
		}
		return c.DeviceToken(ctx, client.DeviceTokenRequest{Handle: start.Handle, Code: code})
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
		return pollDevice(ctx, c, start)
	}
	return client.LoginResponse{}, fmt.Errorf("the server offered an unknown login mode %q", start.Mode)
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
func pollDevice(ctx context.Context, c *client.Client, start client.DeviceResponse) (client.LoginResponse, error) {
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
			return client.LoginResponse{}, ctx.Err()
		case <-timer.C:
		}
		tok, err := c.DeviceToken(ctx, client.DeviceTokenRequest{Handle: start.Handle})
		if err == nil {
			return tok, nil
		}
		var ae *client.Error
		if !errors.As(err, &ae) {
			return client.LoginResponse{}, err
		}
		switch {
		case ae.Code == "slow_down":
			interval += 5 * pollUnit
		case ae.Code == "authorization_pending", ae.Code == "" && (ae.Status == http.StatusConflict || ae.Status == http.StatusPreconditionRequired):
		case ae.Status == http.StatusConflict || ae.Status == http.StatusPreconditionRequired:
			if ae.Code == "expired_token" || ae.Code == "access_denied" {
				return client.LoginResponse{}, err
			}
		default:
			return client.LoginResponse{}, err
		}
		if time.Now().After(deadline) {
			return client.LoginResponse{}, errors.New("the login was not completed in time; run gatehouse auth login again")
		}
	}
}

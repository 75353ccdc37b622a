package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// serveConfig is everything `gatehouse serve` can be told. Each field is a flag; unset
// flags take GATEHOUSE_<FLAG> from the environment, then the --config file, then the
// default.
type serveConfig struct {
	HTTPAddr        string
	ShutdownTimeout time.Duration
	BodyLimit       int64
	LogLevel        string

	SpiceDBEndpoint string
	SpiceDBToken    string
	SpiceDBInsecure bool
	DatabaseURL     string
	TokenCacheTTL   time.Duration

	ServiceDomain  string
	LicenceExpires string // RFC 3339; empty: never

	OIDCIssuers []string // name=...,url=...,client-id=...,client-secret=...,scopes=a b
	PublicURL   string
	SessionTTL  time.Duration

	AuthFailureLimit  int
	AuthFailureWindow time.Duration

	Tokens tokens.Config
}

func defaultServeConfig() serveConfig {
	return serveConfig{
		HTTPAddr:        "127.0.0.1:8080",
		ShutdownTimeout: 30 * time.Second,
		BodyLimit:       1 << 20,
		LogLevel:        "info",
		Tokens:          tokens.DefaultConfig(),

		ServiceDomain: "gatehouse.local",
		TokenCacheTTL: 5 * time.Second,
		SessionTTL:    12 * time.Hour,

		AuthFailureLimit:  20,
		AuthFailureWindow: time.Minute,
	}
}

func (c *serveConfig) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "address the HTTP API listens on")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long requests in flight may finish after SIGTERM")
	fs.Int64Var(&c.BodyLimit, "body-limit", c.BodyLimit, "maximum request body in bytes")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.SpiceDBEndpoint, "spicedb-endpoint", c.SpiceDBEndpoint, "host:port of a remote SpiceDB; empty runs SpiceDB embedded in this process")
	fs.StringVar(&c.SpiceDBToken, "spicedb-token", c.SpiceDBToken, "preshared key of the remote SpiceDB")
	fs.BoolVar(&c.SpiceDBInsecure, "spicedb-insecure", c.SpiceDBInsecure, "connect to the remote SpiceDB without TLS")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres:// URL (PostgreSQL or CockroachDB) for Gatehouse's tables and, unless --spicedb-endpoint is set, the embedded SpiceDB's datastore; empty keeps everything in memory (ephemeral)")
	fs.DurationVar(&c.TokenCacheTTL, "token-cache-ttl", c.TokenCacheTTL, "with --database-url: how long a token record is cached in this process (revocations through another replica take effect after at most this)")
	fs.StringVar(&c.LicenceExpires, "licence-expires", c.LicenceExpires, "RFC 3339 time from which only platform admins have access (P4); empty: never")
	fs.StringVar(&c.ServiceDomain, "service-domain", c.ServiceDomain, "domain of service accounts: <name>@<org>.service.<domain>")
	fs.StringArrayVar(&c.OIDCIssuers, "oidc-issuer", c.OIDCIssuers, "an OIDC issuer people log in through, repeatable: name=google,url=https://accounts.google.com,client-id=ID,client-secret=SECRET[,scopes=openid email profile] (environment: several separated by ';')")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "the URL people and issuers reach this server at (login redirects); default http://<http-addr>")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "how long a login session lives before logging in again")
	fs.IntVar(&c.AuthFailureLimit, "auth-failure-limit", c.AuthFailureLimit, "failed authentications per client within --auth-failure-window before 429")
	fs.DurationVar(&c.AuthFailureWindow, "auth-failure-window", c.AuthFailureWindow, "window of --auth-failure-limit")
	fs.DurationVar(&c.Tokens.DefaultTTL, "token-default-ttl", c.Tokens.DefaultTTL, "lifetime of tokens that ask for none")
	fs.DurationVar(&c.Tokens.MaxTTL, "token-max-ttl", c.Tokens.MaxTTL, "longest lifetime of any token")
	fs.DurationVar(&c.Tokens.MaxAdminTTL, "token-max-admin-ttl", c.Tokens.MaxAdminTTL, "longest lifetime of a token with admin power")
}

// Validate names the first bad setting.
func (c *serveConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("--http-addr %q: %w", c.HTTPAddr, err)
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("--shutdown-timeout must be positive")
	}
	if c.BodyLimit < 1024 {
		return errors.New("--body-limit must be at least 1024 bytes")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	if c.SpiceDBEndpoint == "" && (c.SpiceDBToken != "" || c.SpiceDBInsecure) {
		return errors.New("--spicedb-token and --spicedb-insecure need --spicedb-endpoint")
	}
	if c.SpiceDBEndpoint != "" && c.SpiceDBToken == "" {
		return errors.New("--spicedb-endpoint needs --spicedb-token (the SpiceDB preshared key)")
	}
	if c.TokenCacheTTL < 0 {
		return errors.New("--token-cache-ttl must not be negative")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errors.New("--database-url must be a postgres:// URL")
	}
	if c.LicenceExpires != "" {
		if _, err := time.Parse(time.RFC3339, c.LicenceExpires); err != nil {
			return fmt.Errorf("--licence-expires %q: must be an RFC 3339 time such as 2027-01-01T00:00:00Z", c.LicenceExpires)
		}
	}
	if c.ServiceDomain == "" || strings.ContainsAny(c.ServiceDomain, "@/ ") {
		return fmt.Errorf("--service-domain %q: must be a DNS domain", c.ServiceDomain)
	}
	if _, err := c.loginIssuers(); err != nil {
		return err
	}
	if c.SessionTTL < time.Minute {
		return errors.New("--session-ttl must be at least 1m")
	}
	if c.AuthFailureLimit < 1 || c.AuthFailureWindow <= 0 {
		return errors.New("--auth-failure-limit must be at least 1 and --auth-failure-window positive")
	}
	if err := c.Tokens.Validate(); err != nil {
		return fmt.Errorf("token lifetimes: %w", err)
	}
	return nil
}

// envName is the environment variable of a flag: http-addr -> GATEHOUSE_HTTP_ADDR.
func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnvAndFile fills flags not given on the command line from the environment, then
// from the YAML config file (keys are flag names).
func applyEnvAndFile(cmd *cobra.Command, configPath string) error {
	file := map[string]any{}
	if configPath != "" {
		b, err := os.ReadFile(configPath) //nolint:gosec // G304: the operator names the file
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("--config %s: not valid YAML: %w", configPath, err)
		}
	}
	fs := cmd.Flags()
	for key := range file {
		if fs.Lookup(key) == nil || key == "config" {
			return fmt.Errorf("--config %s: unknown setting %q", configPath, key)
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" {
			return
		}
		list := f.Value.Type() == "stringArray"
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			vals := []string{v}
			if list {
				vals = splitList(v, ";")
			}
			for _, v := range vals {
				if e := f.Value.Set(v); e != nil {
					err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
				}
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			vals := []any{v}
			if l, isList := v.([]any); isList && list {
				vals = l
			}
			for _, v := range vals {
				if e := f.Value.Set(fmt.Sprint(v)); e != nil {
					err = fmt.Errorf("--config %s: %s: %w", configPath, f.Name, e)
				}
			}
		}
	})
	return err
}

// splitList splits s at sep, trimming blanks and dropping empty parts.
func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loginIssuers parses --oidc-issuer values.
func (c *serveConfig) loginIssuers() ([]login.Issuer, error) {
	var out []login.Issuer
	for i, spec := range c.OIDCIssuers {
		var is login.Issuer
		for _, kv := range splitList(spec, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("--oidc-issuer %d: %q is not key=value", i+1, kv)
			}
			switch k {
			case "name":
				is.Name = v
			case "url":
				is.URL = v
			case "client-id":
				is.ClientID = v
			case "client-secret":
				is.ClientSecret = v
			case "scopes":
				is.Scopes = strings.Fields(v)
			default:
				return nil, fmt.Errorf("--oidc-issuer %d: unknown key %q (name, url, client-id, client-secret, scopes)", i+1, k)
			}
		}
		out = append(out, is)
	}
	if len(out) > 0 {
		if err := (login.Config{Issuers: out, RedirectURL: c.publicURL() + "/api/v1/auth/callback"}).Validate(); err != nil {
			return nil, fmt.Errorf("--oidc-issuer: %w", err)
		}
	}
	return out, nil
}

// publicURL is where people and issuers reach this server.
func (c *serveConfig) publicURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.HTTPAddr
}

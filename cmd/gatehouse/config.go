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

	ServiceDomain string

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
	fs.StringVar(&c.ServiceDomain, "service-domain", c.ServiceDomain, "domain of service accounts: <name>@<org>.service.<domain>")
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
	if c.ServiceDomain == "" || strings.ContainsAny(c.ServiceDomain, "@/ ") {
		return fmt.Errorf("--service-domain %q: must be a DNS domain", c.ServiceDomain)
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
		b, err := os.ReadFile(configPath)
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
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if e := f.Value.Set(fmt.Sprint(v)); e != nil {
				err = fmt.Errorf("--config %s: %s: %w", configPath, f.Name, e)
			}
		}
	})
	return err
}

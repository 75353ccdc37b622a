package app

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/ingress"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Config is everything Gatehouse can be told. Each setting has a flag of `gatehouse
// serve` (its name is the setting's name), an environment variable GATEHOUSE_<NAME>
// (http-addr -> GATEHOUSE_HTTP_ADDR) and a key of the YAML --config file; BindFlags and
// ApplyEnvAndFile map them onto it. The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	HTTPAddr        string        // http-addr
	ShutdownTimeout time.Duration // shutdown-timeout
	BodyLimit       int64         // body-limit
	LogLevel        string        // log-level

	SpiceDBEndpoint string        // spicedb-endpoint: remote SpiceDB; empty runs it embedded
	SpiceDBToken    string        // spicedb-token
	SpiceDBInsecure bool          // spicedb-insecure
	DatabaseURL     string        // database-url: Gatehouse's tables and the embedded datastore
	TokenCacheTTL   time.Duration // token-cache-ttl

	ServiceDomain  string // service-domain
	LicenceExpires string // licence-expires: RFC 3339; empty: never

	OIDCIssuers []string // oidc-issuer: name=...,url=...,client-id=...,client-secret=...,scopes=a b
	PublicURL   string   // public-url
	SessionTTL  time.Duration

	AuthFailureLimit  int           // auth-failure-limit
	AuthFailureWindow time.Duration // auth-failure-window

	Tokens tokens.Config // token-default-ttl, token-max-ttl, token-max-admin-ttl

	// Ingress auth (C3, h/ingress).
	IngressRoutes   string        // ingress-routes: route table file; empty: ingress.Default()
	IngressCacheTTL time.Duration // ingress-cache-ttl: how long an ingress decision is cached; 0: not cached
	// Credential vending (B6, h/vend; app/vend.go).
	Credentials    credentials.Config // credential-default-duration, credential-min-duration, credential-max-duration
	AWSSTS         bool               // aws-sts: assume aws_role roles with the AWS SDK's default config
	AWSSTSEndpoint string             // aws-sts-endpoint
	// Bucket configs (B5, B7; app/config_data.go).
	SecretKey       string // secret-key: base64 of 32 bytes sealing bucket secrets
	AWSPrincipalARN string // aws-principal-arn: Gatehouse's AWS principal, in trust policies

	// h/drills: how long the in-memory datastore keeps a revision's snapshot (its heap
	// bound; relations.DefaultMemoryGCWindow says what it bounds and what it costs).
	MemoryGCWindow time.Duration // memory-gc-window

	// Set by the program, not by flags.

	// Version is what /version reports.
	Version string
	// Logger receives the service's logs; nil: JSON at LogLevel to Stderr.
	Logger *slog.Logger
	// Stderr receives the ephemeral banner (and the logs when Logger is nil); nil: discarded.
	Stderr io.Writer

	// Hooks of the in-process tests (h/apptests), never set by `gatehouse serve`;
	// Validate checks nothing of them.

	// WrapStore, tests only: wraps Gatehouse's store before any service gets it (the
	// guard and its locks, orgs, platform, tokens, login, buckets, repos), to inject
	// faults such as delays or lock-free guards; nil: none.
	WrapStore func(store.Store) store.Store
	// LoginNow, tests only: the login service's clock (pending logins' expiry, device
	// polling intervals, ID token times); nil: time.Now.
	LoginNow func() time.Time
}

// DefaultConfig is the configuration of a bare `gatehouse serve`: everything in this
// process, in memory.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:        "127.0.0.1:8080",
		ShutdownTimeout: 30 * time.Second,
		BodyLimit:       1 << 20,
		LogLevel:        "info",
		Tokens:          tokens.DefaultConfig(),
		Credentials:     credentials.DefaultConfig(), // 1h, within 15m..12h (B6)

		ServiceDomain: "gatehouse.local",
		TokenCacheTTL: 5 * time.Second,
		SessionTTL:    12 * time.Hour,

		AuthFailureLimit:  20,
		AuthFailureWindow: time.Minute,
		Version:           "dev",

		IngressCacheTTL: ingress.DefaultCacheTTL, // C3, h/ingress

		MemoryGCWindow: relations.DefaultMemoryGCWindow, // h/drills
	}
}

// FieldError is a bad setting. Field is the setting's name: its flag (--Field), its
// --config key and, upper-cased, its environment variable (GATEHOUSE_FIELD).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s (--%s, %s): %v", e.Field, e.Field, EnvName(e.Field), e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate returns a *FieldError naming the first bad setting.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateServer, c.validateBackends, c.validateIdentity, c.validateIngress, c.validateData} {
		if err := check(); err != nil {
			return err
		}
	}
	// Credential vending (h/vend).
	if err := c.validateVending(); err != nil {
		return err
	}
	return nil
}

func (c *Config) validateServer() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fieldErr("http-addr", "%q: %w", c.HTTPAddr, err)
	}
	if c.ShutdownTimeout <= 0 {
		return fieldErr("shutdown-timeout", "must be positive")
	}
	if c.BodyLimit < 1024 {
		return fieldErr("body-limit", "must be at least 1024 bytes")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fieldErr("log-level", "%q: use debug, info, warn or error", c.LogLevel)
	}
	if c.AuthFailureLimit < 1 {
		return fieldErr("auth-failure-limit", "must be at least 1")
	}
	if c.AuthFailureWindow <= 0 {
		return fieldErr("auth-failure-window", "must be positive")
	}
	return nil
}

func (c *Config) validateBackends() error {
	if c.SpiceDBEndpoint == "" && c.SpiceDBToken != "" {
		return fieldErr("spicedb-token", "needs --spicedb-endpoint")
	}
	if c.SpiceDBEndpoint == "" && c.SpiceDBInsecure {
		return fieldErr("spicedb-insecure", "needs --spicedb-endpoint")
	}
	if c.SpiceDBEndpoint != "" && c.SpiceDBToken == "" {
		return fieldErr("spicedb-token", "--spicedb-endpoint needs --spicedb-token (the SpiceDB preshared key)")
	}
	if c.TokenCacheTTL < 0 {
		return fieldErr("token-cache-ttl", "must not be negative")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fieldErr("database-url", "must be a postgres:// URL")
	}
	if c.MemoryGCWindow < time.Second { // h/drills
		return fieldErr("memory-gc-window", "must be at least 1s")
	}
	return nil
}

func (c *Config) validateIdentity() error {
	if c.LicenceExpires != "" {
		if _, err := time.Parse(time.RFC3339, c.LicenceExpires); err != nil {
			return fieldErr("licence-expires", "%q: must be an RFC 3339 time such as 2027-01-01T00:00:00Z", c.LicenceExpires)
		}
	}
	if c.ServiceDomain == "" || strings.ContainsAny(c.ServiceDomain, "@/ ") {
		return fieldErr("service-domain", "%q: must be a DNS domain", c.ServiceDomain)
	}
	if _, err := c.LoginIssuers(); err != nil {
		return err
	}
	if c.SessionTTL < time.Minute {
		return fieldErr("session-ttl", "must be at least 1m")
	}
	if err := c.Tokens.Validate(); err != nil {
		return fieldErr(tokenField(c.Tokens), "token lifetimes: %w", err)
	}
	return nil
}

// tokenField names the token lifetime setting that tokens.Config.Validate refuses.
func tokenField(tc tokens.Config) string {
	switch {
	case tc.MaxTTL <= 0:
		return "token-max-ttl"
	case tc.MaxAdminTTL <= 0 || tc.MaxAdminTTL > tc.MaxTTL:
		return "token-max-admin-ttl"
	default:
		return "token-default-ttl"
	}
}

// LoginIssuers parses the oidc-issuer settings.
func (c *Config) LoginIssuers() ([]login.Issuer, error) {
	var out []login.Issuer
	for i, spec := range c.OIDCIssuers {
		is, err := parseIssuer(spec)
		if err != nil {
			return nil, fieldErr("oidc-issuer", "%d: %w", i+1, err)
		}
		out = append(out, is)
	}
	if len(out) > 0 {
		if err := (login.Config{Issuers: out, RedirectURL: c.CallbackURL()}).Validate(); err != nil {
			return nil, fieldErr("oidc-issuer", "%w", err)
		}
	}
	return out, nil
}

func parseIssuer(spec string) (login.Issuer, error) {
	var is login.Issuer
	for _, kv := range splitList(spec, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return is, fmt.Errorf("%q is not key=value", kv)
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
			return is, fmt.Errorf("unknown key %q (name, url, client-id, client-secret, scopes)", k)
		}
	}
	return is, nil
}

// PublicBaseURL is where people and issuers reach this server.
func (c *Config) PublicBaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.HTTPAddr
}

// CallbackURL is the login callback registered at every issuer.
func (c *Config) CallbackURL() string { return c.PublicBaseURL() + "/api/v1/auth/callback" }

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

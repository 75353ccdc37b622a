package app

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	require.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
	require.Empty(t, cfg.DatabaseURL, "memory by default")
	require.Empty(t, cfg.SpiceDBEndpoint, "embedded SpiceDB by default")
	require.Equal(t, 5*time.Second, cfg.TokenCacheTTL)
}

// TestValidateNamesTheField: a bad setting is refused with an error naming it (the house
// rule: bad input gets a clear error naming the field).
func TestValidateNamesTheField(t *testing.T) {
	for field, mutate := range map[string]func(*Config){
		"http-addr":           func(c *Config) { c.HTTPAddr = "nope" },
		"shutdown-timeout":    func(c *Config) { c.ShutdownTimeout = 0 },
		"body-limit":          func(c *Config) { c.BodyLimit = 10 },
		"log-level":           func(c *Config) { c.LogLevel = "loud" },
		"spicedb-token":       func(c *Config) { c.SpiceDBEndpoint = "h:50051" },
		"spicedb-insecure":    func(c *Config) { c.SpiceDBInsecure = true },
		"token-cache-ttl":     func(c *Config) { c.TokenCacheTTL = -time.Second },
		"database-url":        func(c *Config) { c.DatabaseURL = "mysql://x" },
		"licence-expires":     func(c *Config) { c.LicenceExpires = "tomorrow" },
		"service-domain":      func(c *Config) { c.ServiceDomain = "a b" },
		"oidc-issuer":         func(c *Config) { c.OIDCIssuers = []string{"name=x,bogus=1"} },
		"session-ttl":         func(c *Config) { c.SessionTTL = time.Second },
		"auth-failure-limit":  func(c *Config) { c.AuthFailureLimit = 0 },
		"auth-failure-window": func(c *Config) { c.AuthFailureWindow = 0 },
		"token-default-ttl":   func(c *Config) { c.Tokens.DefaultTTL = 9000 * time.Hour },
		"token-max-admin-ttl": func(c *Config) { c.Tokens.MaxAdminTTL = 9000 * time.Hour },
		"token-max-ttl":       func(c *Config) { c.Tokens.MaxTTL = 0 },
		// Bucket configs (D1): a database needs a secret key; keys and ARNs are checked.
		"secret-key":        func(c *Config) { c.DatabaseURL = "postgres://db/x" },
		"aws-principal-arn": func(c *Config) { c.AWSPrincipalARN = "arn:aws:iam::1:role/x" },
		"memory-gc-window":  func(c *Config) { c.MemoryGCWindow = time.Millisecond }, // h/drills
	} {
		t.Run(field, func(t *testing.T) {
			cfg := DefaultConfig()
			mutate(&cfg)
			err := cfg.Validate()
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "want a *FieldError, got %v", err)
			require.Equal(t, field, fe.Field)
			require.ErrorContains(t, err, "--"+field)
			require.ErrorContains(t, err, EnvName(field))
		})
	}
}

func TestEnvName(t *testing.T) {
	require.Equal(t, "GATEHOUSE_HTTP_ADDR", EnvName("http-addr"))
	require.Equal(t, "GATEHOUSE_TOKEN_MAX_ADMIN_TTL", EnvName("token-max-admin-ttl"))
}

// parse binds a fresh config to a flag set, parses args, and applies env and file.
func parse(t *testing.T, args []string, file string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.BindFlags(fs)
	var path string
	if file != "" {
		path = filepath.Join(t.TempDir(), "gatehouse.yaml")
		require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
	}
	fs.StringVar(&path, ConfigFlag, path, "")
	require.NoError(t, fs.Parse(args))
	if err := ApplyEnvAndFile(fs, path); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// TestEveryFlagMapsOntoConfig: every setting reaches its Config field from a flag, from
// GATEHOUSE_<NAME> and from the --config file.
func TestEveryFlagMapsOntoConfig(t *testing.T) {
	cases := []struct {
		flag, value string
		got         func(Config) any
		want        any
	}{
		{"http-addr", "127.0.0.1:9999", func(c Config) any { return c.HTTPAddr }, "127.0.0.1:9999"},
		{"shutdown-timeout", "7s", func(c Config) any { return c.ShutdownTimeout }, 7 * time.Second},
		{"body-limit", "4096", func(c Config) any { return c.BodyLimit }, int64(4096)},
		{"log-level", "debug", func(c Config) any { return c.LogLevel }, "debug"},
		{"database-url", "postgres://db/x", func(c Config) any { return c.DatabaseURL }, "postgres://db/x"},
		{"token-cache-ttl", "1ms", func(c Config) any { return c.TokenCacheTTL }, time.Millisecond},
		{"licence-expires", "2030-01-01T00:00:00Z", func(c Config) any { return c.LicenceExpires }, "2030-01-01T00:00:00Z"},
		{"service-domain", "corp.example", func(c Config) any { return c.ServiceDomain }, "corp.example"},
		{"public-url", "https://gh.example", func(c Config) any { return c.PublicURL }, "https://gh.example"},
		{"session-ttl", "2h", func(c Config) any { return c.SessionTTL }, 2 * time.Hour},
		{"auth-failure-limit", "3", func(c Config) any { return c.AuthFailureLimit }, 3},
		{"auth-failure-window", "5m", func(c Config) any { return c.AuthFailureWindow }, 5 * time.Minute},
		{"token-default-ttl", "30m", func(c Config) any { return c.Tokens.DefaultTTL }, 30 * time.Minute},
		{"token-max-ttl", "48h", func(c Config) any { return c.Tokens.MaxTTL }, 48 * time.Hour},
		{"token-max-admin-ttl", "2h", func(c Config) any { return c.Tokens.MaxAdminTTL }, 2 * time.Hour},
		{"secret-key", "Z2F0ZWhvdXNlLXRlc3Qtc2VjcmV0LWtleS0zMmJ5dGU=", func(c Config) any { return c.SecretKey }, "Z2F0ZWhvdXNlLXRlc3Qtc2VjcmV0LWtleS0zMmJ5dGU="},
		{"aws-principal-arn", "arn:aws:iam::123456789012:role/gh", func(c Config) any { return c.AWSPrincipalARN }, "arn:aws:iam::123456789012:role/gh"},
		{"memory-gc-window", "30s", func(c Config) any { return c.MemoryGCWindow }, 30 * time.Second}, // h/drills
	}
	for _, tc := range cases {
		t.Run(tc.flag, func(t *testing.T) {
			if tc.flag == "database-url" { // a database needs a secret key (D1)
				t.Setenv(EnvName("secret-key"), "Z2F0ZWhvdXNlLXRlc3Qtc2VjcmV0LWtleS0zMmJ5dGU=")
			}
			cfg, err := parse(t, []string{"--" + tc.flag, tc.value}, "")
			require.NoError(t, err)
			require.Equal(t, tc.want, tc.got(cfg), "flag")

			cfg, err = parse(t, nil, tc.flag+": "+tc.value+"\n")
			require.NoError(t, err)
			require.Equal(t, tc.want, tc.got(cfg), "config file")

			t.Setenv(EnvName(tc.flag), tc.value)
			cfg, err = parse(t, nil, "")
			require.NoError(t, err)
			require.Equal(t, tc.want, tc.got(cfg), "environment")
		})
	}
}

func TestRemoteSpiceDBSettings(t *testing.T) {
	t.Setenv("GATEHOUSE_SPICEDB_ENDPOINT", "spicedb:50051")
	t.Setenv("GATEHOUSE_SPICEDB_TOKEN", "k")
	t.Setenv("GATEHOUSE_SPICEDB_INSECURE", "true")
	cfg, err := parse(t, nil, "")
	require.NoError(t, err)
	require.Equal(t, "spicedb:50051", cfg.SpiceDBEndpoint)
	require.Equal(t, "k", cfg.SpiceDBToken)
	require.True(t, cfg.SpiceDBInsecure)
}

func TestOIDCIssuersFromEnvAndFile(t *testing.T) {
	a := "name=a,url=https://a.example,client-id=ca"
	b := "name=b,url=https://b.example,client-id=cb,scopes=openid email"
	cfg, err := parse(t, nil, "oidc-issuer:\n  - "+a+"\n  - "+b+"\n")
	require.NoError(t, err)
	require.Equal(t, []string{a, b}, cfg.OIDCIssuers, "a YAML list")
	is, err := cfg.LoginIssuers()
	require.NoError(t, err)
	require.Len(t, is, 2)
	require.Equal(t, []string{"openid", "email"}, is[1].Scopes)

	t.Setenv("GATEHOUSE_OIDC_ISSUER", a+";"+b)
	cfg, err = parse(t, nil, "")
	require.NoError(t, err)
	require.Equal(t, []string{a, b}, cfg.OIDCIssuers, "';'-separated in the environment")
}

func TestConfigFileErrors(t *testing.T) {
	_, err := parse(t, nil, "http_port: 80\n")
	require.ErrorContains(t, err, `unknown setting "http_port"`)
	_, err = parse(t, nil, "config: other.yaml\n")
	require.ErrorContains(t, err, `unknown setting "config"`)
	_, err = parse(t, nil, "[unclosed")
	require.ErrorContains(t, err, "not valid YAML")
	_, err = parse(t, nil, "body-limit: lots\n")
	require.ErrorContains(t, err, "body-limit")
	t.Setenv("GATEHOUSE_BODY_LIMIT", "lots")
	_, err = parse(t, nil, "")
	require.ErrorContains(t, err, "GATEHOUSE_BODY_LIMIT")
}

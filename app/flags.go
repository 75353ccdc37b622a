package app

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// ConfigFlag is the flag naming the YAML file of settings; ApplyEnvAndFile skips it.
const ConfigFlag = "config"

// BindFlags defines a flag for every setting of c on fs, with c's values as defaults.
func (c *Config) BindFlags(fs *pflag.FlagSet) {
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
	// Ingress auth (C3, h/ingress).
	fs.StringVar(&c.IngressRoutes, "ingress-routes", c.IngressRoutes, "YAML route table of GET /api/iam/v1/auth (match, resource, permission); a bad table stops the start naming its line; empty: the built-in table (GET/HEAD /repos/{org}/{repo}/** read, PUT write; everything else 403)")
	fs.DurationVar(&c.IngressCacheTTL, "ingress-cache-ttl", c.IngressCacheTTL, "how long an ingress decision is cached (at most 1s; 0: not cached); a relationship change or revoked token takes effect before that")
	c.bindVendFlags(fs) // credential vending (h/vend)
	// Bucket configs (app/config_data.go).
	fs.StringVar(&c.SecretKey, "secret-key", c.SecretKey, "base64 of 32 random bytes (openssl rand -base64 32) sealing bucket config secrets at rest (AES-256-GCM); required with --database-url, generated per process in memory")
	fs.StringVar(&c.AWSPrincipalARN, "aws-principal-arn", c.AWSPrincipalARN, "Gatehouse's own AWS principal (arn:aws:iam::<account>:role/<name>), named in the trust policy of aws_role bucket configs")
}

// EnvName is the environment variable of a setting: http-addr -> GATEHOUSE_HTTP_ADDR.
func EnvName(setting string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// ApplyEnvAndFile fills the flags of fs not given on the command line from the
// environment (GATEHOUSE_<NAME>), then from the YAML file at configPath (keys are flag
// names; "" reads none). Precedence: flag, environment, file, default. A file key that
// is no flag is an error naming it.
func ApplyEnvAndFile(fs *pflag.FlagSet, configPath string) error {
	file, err := readConfigFile(configPath)
	if err != nil {
		return err
	}
	for key := range file {
		if fs.Lookup(key) == nil || key == ConfigFlag {
			return fmt.Errorf("--config %s: unknown setting %q", configPath, key)
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == ConfigFlag {
			return
		}
		list := f.Value.Type() == "stringArray"
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			vals := []string{v}
			if list {
				vals = splitList(v, ";")
			}
			for _, v := range vals {
				if e := f.Value.Set(v); e != nil && err == nil {
					err = fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, e)
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
				if e := f.Value.Set(yamlString(v)); e != nil && err == nil {
					err = fmt.Errorf("--config %s: %s: %w", configPath, f.Name, e)
				}
			}
		}
	})
	return err
}

func readConfigFile(path string) (map[string]any, error) {
	file := map[string]any{}
	if path == "" {
		return file, nil
	}
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator names the file
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("--config %s: not valid YAML: %w", path, err)
	}
	return file, nil
}

// yamlString is a YAML scalar as typed: YAML reads 2027-01-01T00:00:00Z as a time, which
// is given back in RFC 3339, not in Go's default format.
func yamlString(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

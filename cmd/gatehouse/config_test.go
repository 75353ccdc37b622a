package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
)

// parseServe runs the serve command's flag handling without serving.
func parseServe(t *testing.T, args []string, configYAML string) (app.Config, error) {
	t.Helper()
	cfg := app.DefaultConfig()
	var configPath string
	if configYAML != "" {
		configPath = filepath.Join(t.TempDir(), "gatehouse.yaml")
		require.NoError(t, os.WriteFile(configPath, []byte(configYAML), 0o600))
	}
	cmd := &cobra.Command{Use: "serve", RunE: func(*cobra.Command, []string) error { return nil }}
	cfg.BindFlags(cmd.Flags())
	cmd.Flags().StringVar(&configPath, app.ConfigFlag, configPath, "")
	require.NoError(t, cmd.Flags().Parse(args))
	err := loadServeConfig(cmd, &cfg, configPath)
	return cfg, err
}

func TestServeConfigPrecedence(t *testing.T) {
	cfg, err := parseServe(t, nil, "")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr, "default")
	require.Equal(t, int64(1<<20), cfg.BodyLimit, "1 MiB body limit by default")

	cfg, err = parseServe(t, nil, "http-addr: 127.0.0.1:9000\ntoken-default-ttl: 30m\n")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9000", cfg.HTTPAddr, "config file")
	require.Equal(t, 30*time.Minute, cfg.Tokens.DefaultTTL)

	t.Setenv("GATEHOUSE_HTTP_ADDR", "127.0.0.1:9100")
	cfg, err = parseServe(t, nil, "http-addr: 127.0.0.1:9000\n")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9100", cfg.HTTPAddr, "environment beats the file")

	cfg, err = parseServe(t, []string{"--http-addr", "127.0.0.1:9200"}, "http-addr: 127.0.0.1:9000\n")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9200", cfg.HTTPAddr, "flags beat everything")
}

func TestServeConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		file string
		want string
	}{
		"unknown file key":   {file: "http_port: 80\n", want: `unknown setting "http_port"`},
		"bad address":        {args: []string{"--http-addr", "nope"}, want: "--http-addr"},
		"token without host": {args: []string{"--spicedb-token", "k"}, want: "--spicedb-endpoint"},
		"endpoint no token":  {args: []string{"--spicedb-endpoint", "h:50051"}, want: "--spicedb-token"},
		"bad database url":   {args: []string{"--database-url", "mysql://x"}, want: "postgres://"},
		"ttl bounds":         {args: []string{"--token-default-ttl", "9000h"}, want: "exceeds the maximum"},
		"not yaml":           {file: "[unclosed", want: "not valid YAML"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseServe(t, tc.args, tc.file)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

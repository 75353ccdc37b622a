package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// C3: the ingress settings: defaults, flags, environment, bounds.
func TestC3IngressSettings(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, time.Second, cfg.IngressCacheTTL)
	require.Empty(t, cfg.IngressRoutes, "no table by default: every ingress request is denied")
	for _, bad := range []time.Duration{-time.Millisecond, 1500 * time.Millisecond} {
		cfg.IngressCacheTTL = bad
		var fe *FieldError
		require.True(t, errors.As(cfg.Validate(), &fe), "%s", bad)
		require.Equal(t, "ingress-cache-ttl", fe.Field)
	}
	cfg.IngressCacheTTL = 0
	require.NoError(t, cfg.Validate(), "0 turns the cache off")

	cfg = DefaultConfig()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.BindFlags(fs)
	require.NoError(t, fs.Parse([]string{"--ingress-cache-ttl", "250ms"}))
	t.Setenv("GATEHOUSE_INGRESS_ROUTES", "/etc/gatehouse/routes.yaml")
	require.NoError(t, ApplyEnvAndFile(fs, ""))
	require.Equal(t, 250*time.Millisecond, cfg.IngressCacheTTL)
	require.Equal(t, "/etc/gatehouse/routes.yaml", cfg.IngressRoutes)
}

// C3: a bad route table stops New before anything is opened, naming the setting, the
// file and the line; a missing file too.
func TestC3BadIngressTableStopsNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(path, []byte("routes:\n  - match: \"GET /a/{org}\"\n    resource: \"org:{org}\"\n    permission: read\n  - match: \"GET /a/{x}\"\n    resource: \"org:{x}\"\n    permission: read\n"), 0o600))
	cfg := DefaultConfig()
	cfg.IngressRoutes = path
	_, err := New(context.Background(), cfg)
	var fe *FieldError
	require.True(t, errors.As(err, &fe), "%v", err)
	require.Equal(t, "ingress-routes", fe.Field)
	require.ErrorContains(t, err, path+":5: GET /a/{x} overlaps GET /a/{org} (line 2)")

	cfg.IngressRoutes = filepath.Join(t.TempDir(), "missing.yaml")
	_, err = New(context.Background(), cfg)
	require.ErrorContains(t, err, "ingress-routes")
}

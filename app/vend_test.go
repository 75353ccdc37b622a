package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// B6: vended credentials live 1h by default within 15m..12h; the bounds can be narrowed
// by flag or environment, and a bad one is refused naming its setting.
func TestVendingSettings_B6(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, time.Hour, cfg.Credentials.DefaultDuration)
	require.Equal(t, 15*time.Minute, cfg.Credentials.MinDuration)
	require.Equal(t, 12*time.Hour, cfg.Credentials.MaxDuration)
	require.False(t, cfg.AWSSTS, "AWS STS is off unless configured")

	t.Setenv("GATEHOUSE_CREDENTIAL_MAX_DURATION", "2h")
	got, err := parse(t, []string{"--credential-default-duration", "30m", "--aws-sts", "--aws-sts-endpoint", "http://127.0.0.1:4566"}, "credential-min-duration: 20m\n")
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, got.Credentials.DefaultDuration)
	require.Equal(t, 20*time.Minute, got.Credentials.MinDuration)
	require.Equal(t, 2*time.Hour, got.Credentials.MaxDuration)
	require.True(t, got.AWSSTS)
	require.Equal(t, "http://127.0.0.1:4566", got.AWSSTSEndpoint)

	for field, mutate := range map[string]func(*Config){
		"credential-min-duration":     func(c *Config) { c.Credentials.MinDuration = time.Minute },
		"credential-max-duration":     func(c *Config) { c.Credentials.MaxDuration = 13 * time.Hour },
		"credential-default-duration": func(c *Config) { c.Credentials.DefaultDuration = 10 * time.Minute },
		"aws-sts-endpoint":            func(c *Config) { c.AWSSTSEndpoint = "http://x" },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		err := cfg.Validate()
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%s: want a *FieldError, got %v", field, err)
		require.Equal(t, field, fe.Field)
	}
	cfg = DefaultConfig()
	cfg.AWSSTS, cfg.AWSSTSEndpoint = true, "ftp://x"
	var fe *FieldError
	require.True(t, errors.As(cfg.Validate(), &fe))
	require.Equal(t, "aws-sts-endpoint", fe.Field)
}

// B6: with --aws-sts, New builds an STS client from the SDK's default configuration
// (here: keys and region from the environment), without calling AWS.
func TestNewAWSSTSFromDefaultConfig_B6(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	c, err := newAWSSTS(context.Background(), "http://127.0.0.1:1")
	require.NoError(t, err)
	require.Equal(t, "us-east-1", c.Options().Region, "STS needs a region: us-east-1 by default")
	require.Equal(t, "http://127.0.0.1:1", *c.Options().BaseEndpoint)
}

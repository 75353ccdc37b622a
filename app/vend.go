package app

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/credentials"
)

// Credential vending settings (B6): the lifetime bounds of vended credentials and
// whether Gatehouse assumes aws_role roles with AWS STS. They live in Config's
// Credentials, AWSSTS and AWSSTSEndpoint fields.

// bindVendFlags defines the vending flags.
func (c *Config) bindVendFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.Credentials.DefaultDuration, "credential-default-duration", c.Credentials.DefaultDuration, "lifetime of vended bucket credentials when the caller names none (B6)")
	fs.DurationVar(&c.Credentials.MinDuration, "credential-min-duration", c.Credentials.MinDuration, "shortest lifetime a caller may ask vended credentials for (at least 15m, STS's minimum)")
	fs.DurationVar(&c.Credentials.MaxDuration, "credential-max-duration", c.Credentials.MaxDuration, "longest lifetime a caller may ask vended credentials for (at most 12h, STS's maximum)")
	fs.BoolVar(&c.AWSSTS, "aws-sts", c.AWSSTS, "assume the roles of aws_role bucket configs with AWS STS, signing with the AWS SDK's default credentials (environment, shared config, instance role); off: aws_role vending is refused")
	fs.StringVar(&c.AWSSTSEndpoint, "aws-sts-endpoint", c.AWSSTSEndpoint, "with --aws-sts: STS endpoint URL instead of the SDK's (a VPC endpoint; AWS_ENDPOINT_URL_STS works too)")
}

// validateVending names the first bad vending setting.
func (c *Config) validateVending() error {
	v := c.Credentials
	switch {
	case v.MinDuration < credentials.MinDuration || v.MinDuration > credentials.MaxDuration:
		return fieldErr("credential-min-duration", "%s: must lie within %s..%s (STS's bounds)", v.MinDuration, credentials.MinDuration, credentials.MaxDuration)
	case v.MaxDuration < v.MinDuration || v.MaxDuration > credentials.MaxDuration:
		return fieldErr("credential-max-duration", "%s: must lie within --credential-min-duration %s and %s", v.MaxDuration, v.MinDuration, credentials.MaxDuration)
	case v.DefaultDuration < v.MinDuration || v.DefaultDuration > v.MaxDuration:
		return fieldErr("credential-default-duration", "%s: must lie within %s..%s", v.DefaultDuration, v.MinDuration, v.MaxDuration)
	case v.DefaultDuration%time.Second != 0 || v.MinDuration%time.Second != 0 || v.MaxDuration%time.Second != 0:
		return fieldErr("credential-default-duration", "credential durations must be whole seconds")
	case c.AWSSTSEndpoint != "" && !c.AWSSTS:
		return fieldErr("aws-sts-endpoint", "needs --aws-sts")
	}
	if c.AWSSTSEndpoint != "" {
		if err := credentials.ValidateEndpoint(c.AWSSTSEndpoint); err != nil {
			return fieldErr("aws-sts-endpoint", "%q is not an http(s) URL", c.AWSSTSEndpoint)
		}
	}
	return nil
}

// buildVendor builds the credential Vendor: lifetime bounds from the config, and with
// --aws-sts an STS client on the AWS SDK's default configuration for aws_role configs.
func (a *App) buildVendor(ctx context.Context) error {
	var opts []credentials.Option
	if a.cfg.AWSSTS {
		client, err := newAWSSTS(ctx, a.cfg.AWSSTSEndpoint)
		if err != nil {
			return fmt.Errorf("configure AWS STS (--aws-sts): %w", err)
		}
		opts = append(opts, credentials.WithAWSSTS(client))
		a.log.Info("aws_role vending on: AWS STS with the SDK's default credentials", "endpoint", a.cfg.AWSSTSEndpoint)
	}
	v, err := credentials.NewVendor(a.cfg.Credentials, opts...)
	if err != nil {
		return fieldErr("credential-default-duration", "%w", err)
	}
	a.vendor = v
	return nil
}

// newAWSSTS is an STS client on the SDK's default configuration (environment, shared
// files, instance or task role). STS needs a region; us-east-1 when none is configured.
func newAWSSTS(ctx context.Context, endpoint string) (*sts.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return sts.NewFromConfig(cfg, func(o *sts.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Vendor is the credential vendor (B6).
func (a *App) Vendor() *credentials.Vendor { return a.vendor }

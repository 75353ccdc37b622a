package app

import (
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/internal/seal"
)

// validateData checks the bucket config settings: a secret key that decodes to 32 bytes,
// required with a database (sealed secrets outlive the process there), and a valid AWS
// principal when one is given.
func (c *Config) validateData() error {
	if c.SecretKey == "" {
		if c.DatabaseURL != "" {
			return fieldErr("secret-key", "required with --database-url: bucket secrets are sealed with it and must open after a restart (make one with: openssl rand -base64 32)")
		}
	} else if _, err := seal.ParseKey(c.SecretKey); err != nil {
		return fieldErr("secret-key", "%w", err)
	}
	if c.AWSPrincipalARN != "" {
		if err := credentials.ValidatePrincipalARN(c.AWSPrincipalARN); err != nil {
			return fieldErr("aws-principal-arn", "%w", err)
		}
	}
	return nil
}

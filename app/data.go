package app

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/internal/seal"
	"github.com/gatehouse-dev/gatehouse/repos"
)

const generatedKeyBanner = `
*  No --secret-key: bucket config secrets are sealed with a key generated for this   *
*  process only (fine in memory, where they die with it too).                        *
`

// buildData builds the bucket config and repo services. Without a secret key (only
// allowed in memory: Validate) one is generated and announced, never printed.
func (a *App) buildData() error {
	var key []byte
	var err error
	if a.cfg.SecretKey == "" {
		if key, _, err = seal.GenerateKey(); err != nil {
			return err
		}
		if a.cfg.Stderr != nil {
			fmt.Fprint(a.cfg.Stderr, generatedKeyBanner)
		}
		a.log.Warn("no --secret-key: bucket secrets are sealed with a key generated for this process", "ephemeral", true)
	} else if key, err = seal.ParseKey(a.cfg.SecretKey); err != nil {
		return fmt.Errorf("secret-key: %w", err)
	}
	box, err := seal.New(key)
	if err != nil {
		return err
	}
	a.buckets = buckets.New(a.store, a.engine, box, a.cfg.AWSPrincipalARN)
	a.repos = repos.New(a.store, a.engine, a.buckets)
	return nil
}

// Buckets is the bucket config service.
func (a *App) Buckets() *buckets.Service { return a.buckets }

// Repos is the repo service.
func (a *App) Repos() *repos.Service { return a.repos }

package app

import (
	"github.com/gatehouse-dev/gatehouse/ingress"
	"github.com/gatehouse-dev/gatehouse/relations"
)

// validateIngress checks the ingress cache lifetime: at most relations.StaleBound (1 s),
// the bound on how late any change is seen (C3).
func (c *Config) validateIngress() error {
	if c.IngressCacheTTL < 0 || c.IngressCacheTTL > relations.StaleBound {
		return fieldErr("ingress-cache-ttl", "must be between 0 (no cache) and %s", relations.StaleBound)
	}
	return nil
}

// loadIngress loads the ingress route table (C3). A bad table stops the start with an
// error naming the setting, the file and the line; without one every ingress request is
// denied, which the log says.
func (a *App) loadIngress() error {
	if a.cfg.IngressRoutes == "" {
		a.log.Warn("no --ingress-routes table: GET /api/iam/v1/auth denies every request (403 no_route)")
		return nil
	}
	t, err := ingress.Load(a.cfg.IngressRoutes)
	if err != nil {
		return &FieldError{Field: "ingress-routes", Err: err}
	}
	a.ingress = t
	a.log.Info("ingress route table loaded", "file", a.cfg.IngressRoutes, "routes", t.Len(),
		"cache_ttl", a.cfg.IngressCacheTTL.String())
	return nil
}

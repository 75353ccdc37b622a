package authz

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Ingress decides a request a reverse proxy forwards (C3): p's token may exercise
// permission on res when its grants allow the permission's function on res's type in
// res's org (CheckGrant, as for a check about oneself) and its owner holds the permission
// now (one check, at the engine's default consistency). (false, nil) is a denial; an
// error (the engine unavailable) must deny too. A permission callers may not check is
// denied.
func (a *Authorizer) Ingress(ctx context.Context, p tokens.Principal, res relations.Object, permission string) (bool, error) {
	if !CheckGrant(p, true, res, permission) {
		return false, nil
	}
	return a.check(ctx, p, res, permission)
}

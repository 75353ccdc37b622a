package authz

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// requireOrgPermission needs org#read of p's owner (else NotFound, like an absent org)
// and permission on the org (else Forbidden).
func (a *Authorizer) requireOrgPermission(ctx context.Context, p tokens.Principal, org, permission string) error {
	if err := a.requireOrg(ctx, p, org, false); err != nil {
		return err
	}
	ok, err := a.check(ctx, p, relations.Object{Type: schema.TypeOrg, ID: org}, permission)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Forbid("%s may not %s in org %s", p.Subject, permission, org)
	}
	return nil
}

// ReadableRepos returns the names of org's repos p can read (R5's filtered list): none
// unless the token's grants allow read on repo in org, else those its owner reads now.
func (a *Authorizer) ReadableRepos(ctx context.Context, p tokens.Principal, org string) (map[string]bool, error) {
	out := map[string]bool{}
	if !p.Allows(tokens.FuncRead, schema.TypeRepo, org) {
		return out, nil
	}
	sub, err := subjectOf(p)
	if err != nil {
		return nil, err
	}
	objs, err := a.rel.LookupResources(ctx, sub, schema.PermRead, schema.TypeRepo, relations.Consistency{})
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o, name, ok := strings.Cut(o.ID, "/"); ok && o == org {
			out[name] = true
		}
	}
	return out, nil
}

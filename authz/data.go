package authz

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/identity"
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

// DecideRepo decides permission (read, write, delete, manage_acl) on repo org/name for p,
// on the repo object itself: the token's grants must allow the functions of read and of
// permission on repo in org (else Forbidden), its owner must read the repo (else
// NotFound: a repo's existence is private to those who can read it), then hold
// permission (else Forbidden). Unknown permissions are denied.
func (a *Authorizer) DecideRepo(ctx context.Context, p tokens.Principal, org, name, permission string) error {
	fn, ok := FunctionFor(schema.TypeRepo, permission)
	readFn, _ := FunctionFor(schema.TypeRepo, schema.PermRead)
	if !ok {
		return apperr.Forbid("permission %q on repo has no decision: denied", permission)
	}
	for _, f := range []string{readFn, fn} {
		if !p.Allows(f, schema.TypeRepo, org) {
			return apperr.Forbid("this token's grants do not allow %s on repo in org %s; mint a token granted it", f, org).
				WithDetails("missing", f+":"+schema.TypeRepo)
		}
	}
	absent := apperr.New(apperr.NotFound, "not_found", "no repo %s/%s", org, name)
	if !identity.ValidName(org) || !identity.ValidName(name) {
		return absent
	}
	obj := relations.Object{Type: schema.TypeRepo, ID: org + "/" + name}
	if ok, err := a.check(ctx, p, obj, schema.PermRead); err != nil {
		return err
	} else if !ok {
		return absent
	}
	if permission == schema.PermRead {
		return nil
	}
	if ok, err := a.check(ctx, p, obj, permission); err != nil {
		return err
	} else if !ok {
		return apperr.Forbid("%s may not %s repo %s/%s", p.Subject, permission, org, name)
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

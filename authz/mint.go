package authz

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// MintInput is a request to mint a token, as the API received it (role already resolved
// into grants).
type MintInput struct {
	Subject relations.Subject // the token's owner; the zero Subject: the caller
	Role    string
	Grants  []tokens.Grant // nil: unscoped
	TTL     time.Duration  // 0: the default
}

// MintPlan is what the mint policy allows: the request to hand to tokens.Service.Mint,
// and whether its lifetime was cut to the parent's (C2).
type MintPlan struct {
	Request tokens.MintRequest
	Capped  bool
}

// lineageMargin keeps a derived token's expiry strictly before its parent's, whatever
// rounding the token service applies.
const lineageMargin = time.Second

// Mint decides whether p may mint the token in (T3, T4) and returns the request to mint:
//   - a scoped token needs the manage function on token;
//   - only platform admins mint for another subject, or grant the check function;
//   - a token minted by a scoped token keeps its scope, and no grant may exceed
//     the grants of the token making the request;
//   - a token has admin power when its owner is a platform admin or an org admin (of any
//     org) and its grants allow administration: it lives at most the admin lifetime;
//   - a derived token never outlives its parent, the token making the request: its
//     lifetime is cut to the parent's remaining life (Capped), and refused when less than
//     the shortest lifetime would remain.
func (a *Authorizer) Mint(ctx context.Context, p tokens.Principal, in MintInput) (MintPlan, error) {
	if err := a.Decide(ctx, p, OpTokenMint, ""); err != nil {
		return MintPlan{}, err
	}
	caller, err := subjectOf(p)
	if err != nil {
		return MintPlan{}, err
	}
	owner := in.Subject
	if owner == (relations.Subject{}) {
		owner = caller
	}
	admin, err := a.PlatformAdmin(ctx, p)
	if err != nil {
		return MintPlan{}, err
	}
	if owner != caller && !admin {
		return MintPlan{}, apperr.Forbid("only platform admins mint tokens for other subjects")
	}
	grants := in.Grants
	if grants == nil && p.Scoped() {
		grants = p.Grants // a token minted by a scoped token stays within its scope
	}
	if err := coveredBy(p, grants, admin); err != nil {
		return MintPlan{}, err
	}
	power, err := a.adminPower(ctx, owner, grants)
	if err != nil {
		return MintPlan{}, err
	}
	ttl, capped, err := a.lifetime(p, in.TTL, power)
	if err != nil {
		return MintPlan{}, err
	}
	parent := p
	req := tokens.MintRequest{Subject: owner.String(), Kind: kindOf(owner, grants), Role: in.Role, Grants: grants,
		TTL: ttl, AdminPower: power, Parent: &parent}
	return MintPlan{Request: req, Capped: capped}, nil
}

// coveredBy refuses grants that exceed p's, and the check function unless p acts as a
// platform admin.
func coveredBy(p tokens.Principal, grants []tokens.Grant, admin bool) error {
	for i, g := range grants {
		field := fmt.Sprintf("grants[%d]", i)
		if err := g.Validate(); err != nil {
			return apperr.InvalidField(field, "%s", err)
		}
		if slices.Contains(g.Functions, tokens.FuncCheck) && !admin {
			return apperr.Forbid("only platform admins mint tokens with the check function")
		}
		if !p.Scoped() {
			continue
		}
		for _, f := range g.Functions {
			for _, r := range g.Resources {
				for _, o := range g.Orgs {
					if !p.Allows(f, r, o) {
						return apperr.InvalidField(field, "%s on %s in org %s exceeds the grants of the token making the request", f, r, o)
					}
				}
			}
		}
	}
	return nil
}

// adminPower reports whether a token of owner with grants confers administration (T4):
// the owner administers the platform or an org, and the grants (all, when nil) allow it.
func (a *Authorizer) adminPower(ctx context.Context, owner relations.Subject, grants []tokens.Grant) (bool, error) {
	if grants != nil && !slices.ContainsFunc(grants, tokens.Grant.AdminPower) {
		return false, nil
	}
	r, err := a.rel.Check(ctx, relations.CheckRequest{Resource: root, Permission: schema.PermSuperAdmin, Subject: owner})
	if err != nil || r.Allowed {
		return r.Allowed, err
	}
	orgs, err := a.rel.LookupResources(ctx, owner, schema.PermManage, schema.TypeOrg, relations.Consistency{})
	if err != nil {
		return false, err
	}
	return len(orgs) > 0, nil
}

// lifetime resolves the requested lifetime within the bounds (T4) and cuts it to the
// parent's remaining life.
func (a *Authorizer) lifetime(parent tokens.Principal, requested time.Duration, power bool) (time.Duration, bool, error) {
	ttl, err := a.life.TTL(requested, power)
	if err != nil {
		return 0, false, err
	}
	if parent.ExpiresAt.IsZero() {
		return ttl, false, nil
	}
	remaining := parent.ExpiresAt.Sub(a.now()).Truncate(time.Second) - lineageMargin
	if ttl <= remaining {
		return ttl, false, nil
	}
	if _, err := a.life.TTL(remaining, power); err != nil || remaining <= 0 {
		return 0, false, apperr.InvalidField("ttl", "the token making the request expires at %s, too soon to mint a token from it; a derived token never outlives its parent",
			parent.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return remaining, true, nil
}

// kindOf names the kind of a minted token.
func kindOf(owner relations.Subject, grants []tokens.Grant) string {
	switch {
	case grants != nil:
		return tokens.KindScoped
	case owner.Type == schema.TypeRobot:
		return tokens.KindRobot
	}
	return tokens.KindUser
}

// RevokeOwner decides whether p may revoke tokens and whose: "" (any owner) for a
// platform admin, else p's own owner. Another's token is then NotFound, like an unknown.
func (a *Authorizer) RevokeOwner(ctx context.Context, p tokens.Principal) (string, error) {
	if err := a.Decide(ctx, p, OpTokenRevoke, ""); err != nil {
		return "", err
	}
	admin, err := a.PlatformAdmin(ctx, p)
	if err != nil {
		return "", err
	}
	if admin {
		return "", nil
	}
	return p.Subject, nil
}

// Package authz is the one place that decides whether a principal may do something. In:
// a principal (a verified token of a user, robot or API key, scoped by grants or not,
// minted from another token or not) and an operation, with the org it acts in. Out: nil
// (allowed) or an apperr (Forbidden, NotFound, Invalid) whose message says what is
// missing. Every route of the API names its operation (api/server.go); an operation, a
// permission or a grant function this package does not know is denied.
//
// A decision has two halves, both required (T3): the token's grants must allow the
// operation's function on its resource type in its org, and the token's owner must hold
// the relationship the operation needs now (platform admin, org member, org admin),
// asked of SpiceDB. Unscoped tokens allow every function, so for them only the second
// half decides.
package authz

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Relations is what authz asks the permission engine: one check, and the objects a
// subject reaches. relations.Engine satisfies it. Errors fail closed (deny).
type Relations interface {
	Check(ctx context.Context, req relations.CheckRequest) (relations.CheckResult, error)
	LookupResources(ctx context.Context, subject relations.Subject, permission, resourceType string, c relations.Consistency) ([]relations.Object, error)
}

// Lifetimes resolves a requested token lifetime within the configured bounds (T4);
// tokens.Service satisfies it.
type Lifetimes interface {
	TTL(requested time.Duration, adminPower bool) (time.Duration, error)
}

// Authorizer decides. It is safe for concurrent use.
type Authorizer struct {
	rel   Relations
	life  Lifetimes
	now   func() time.Time
	rules map[Op]rule
}

// New returns an Authorizer asking rel about relationships and life about lifetimes.
func New(rel Relations, life Lifetimes) *Authorizer {
	return &Authorizer{rel: rel, life: life, now: time.Now, rules: rules}
}

// root is the platform object, platform:root.
var root = relations.Object{Type: schema.TypePlatform, ID: schema.PlatformID}

// subjectOf parses the principal's subject; a token whose subject does not parse is
// refused like an invalid token.
func subjectOf(p tokens.Principal) (relations.Subject, error) {
	sub, err := relations.ParseSubject(p.Subject)
	if err != nil || p.Subject == "" {
		return sub, apperr.Unauth()
	}
	return sub, nil
}

// check asks one permission of the owner of p.
func (a *Authorizer) check(ctx context.Context, p tokens.Principal, res relations.Object, perm string) (bool, error) {
	sub, err := subjectOf(p)
	if err != nil {
		return false, err
	}
	r, err := a.rel.Check(ctx, relations.CheckRequest{Resource: res, Permission: perm, Subject: sub})
	if err != nil {
		return false, err
	}
	return r.Allowed, nil
}

// IsPlatformAdmin reports whether p's owner is a platform admin now (P2), whatever the
// token's grants: for display (whoami). Decisions use PlatformAdmin.
func (a *Authorizer) IsPlatformAdmin(ctx context.Context, p tokens.Principal) (bool, error) {
	return a.check(ctx, p, root, schema.PermSuperAdmin)
}

// PlatformAdmin reports whether p acts as a platform admin: its owner is one and its
// grants allow platform administration.
func (a *Authorizer) PlatformAdmin(ctx context.Context, p tokens.Principal) (bool, error) {
	if !p.Allows(tokens.FuncAdmin, schema.TypePlatform, "") {
		return false, nil
	}
	return a.IsPlatformAdmin(ctx, p)
}

// requirePlatformAdmin is PlatformAdmin as a decision.
func (a *Authorizer) requirePlatformAdmin(ctx context.Context, p tokens.Principal) error {
	if !p.Allows(tokens.FuncAdmin, schema.TypePlatform, "") {
		return apperr.Forbid("this token's grants do not allow platform administration (function admin on platform); use an unscoped token or one granted it")
	}
	ok, err := a.IsPlatformAdmin(ctx, p)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Forbid("only platform admins may do this; %s is not one", p.Subject)
	}
	return nil
}

// Visible reports whether p's grants let it see an org at all (read on org): lists of
// orgs show only those.
func Visible(p tokens.Principal, org string) bool {
	return p.Allows(tokens.FuncRead, schema.TypeOrg, org)
}

// AdminOnly decides a request while the platform is in admin-only mode (P4): only
// platform admins get any access. licenceExpired says why the mode is on.
func (a *Authorizer) AdminOnly(ctx context.Context, p tokens.Principal, licenceExpired bool) error {
	admin, err := a.IsPlatformAdmin(ctx, p)
	if err != nil || admin {
		return err
	}
	msg := "the platform is in admin-only mode; only platform admins have access"
	if licenceExpired {
		msg = "the platform licence has expired; only platform admins have access until it is renewed"
	}
	return apperr.New(apperr.Forbidden, "admin_only", "%s", msg)
}

// EndSession decides whether p may end, by its id, the login session owned by
// sessionSubject: only its owner's, and a scoped token only with the manage function on
// token (ending a session revokes the owner's other tokens). Another's session is
// NotFound, like an unknown one (T1).
func EndSession(p tokens.Principal, sessionID, sessionSubject string) error {
	if sessionSubject == "" || sessionSubject != p.Subject {
		return apperr.New(apperr.NotFound, "not_found", "no session %q", sessionID)
	}
	if !p.Allows(tokens.FuncManage, tokens.ResToken, "") {
		return apperr.Forbid("this token's grants do not allow manage on token, which ending a session needs")
	}
	return nil
}

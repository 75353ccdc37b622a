package authz

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// OpRepoCredentials: temporary bucket credentials for a repo (B6). Any valid token
// reaches the handler; what it may get depends on the repo and the access asked for in
// the body, decided by VendCredentials.
const OpRepoCredentials Op = "repo.credentials"

// VendCredentials decides whether p may have temporary credentials on the repo org/name:
// read credentials need repo#read, write credentials repo#write, both of the token's
// owner now (B6). A caller may ask for less than it could get (read while holding
// write).
//
//   - A repo the caller cannot read is NotFound (404), like one that does not exist: its
//     existence is private. One it can read but not write, asked for write, is
//     Forbidden (403).
//   - Scoped tokens vend only within their grants (function read, and write for write
//     credentials, on repo in that org) intersected with what their owner can do now
//     (T3); a missing grant is Forbidden whether or not the repo exists.
//   - Pipelines are asked like any subject: relations asks the pipeline half of the
//     permission (schema.SubjectPermission), which holds only while the pipeline's
//     creator can (PL3).
//
// Checks are asked at full consistency, not from the check cache: credentials live an
// hour, so a grant removed a moment ago must already refuse them.
func (a *Authorizer) VendCredentials(ctx context.Context, p tokens.Principal, org, name string, write bool) error {
	if !identity.ValidName(org) || !identity.ValidName(name) {
		return repoNotFound(org, name)
	}
	if !p.Allows(tokens.FuncRead, schema.TypeRepo, org) {
		return apperr.Forbid("this token's grants do not allow read on repo in org %s, which credentials need; mint a token granted it", org).
			WithDetails("missing", tokens.FuncRead+":"+schema.TypeRepo)
	}
	repo := relations.Object{Type: schema.TypeRepo, ID: org + "/" + name}
	ok, err := a.checkNow(ctx, p, repo, schema.PermRead)
	if err != nil {
		return err
	}
	if !ok {
		return repoNotFound(org, name)
	}
	if !write {
		return nil
	}
	if !p.Allows(tokens.FuncWrite, schema.TypeRepo, org) {
		return apperr.Forbid("this token's grants do not allow write on repo in org %s; ask for read credentials or mint a token granted write", org).
			WithDetails("missing", tokens.FuncWrite+":"+schema.TypeRepo)
	}
	if ok, err = a.checkNow(ctx, p, repo, schema.PermWrite); err != nil {
		return err
	}
	if !ok {
		return apperr.Forbid("%s may read repo %s/%s but not write it: ask for read credentials", p.Subject, org, name).
			WithDetails("missing", schema.PermWrite)
	}
	return nil
}

// checkNow asks one permission of p's owner at full consistency.
func (a *Authorizer) checkNow(ctx context.Context, p tokens.Principal, res relations.Object, perm string) (bool, error) {
	sub, err := subjectOf(p)
	if err != nil {
		return false, err
	}
	r, err := a.rel.Check(ctx, relations.CheckRequest{Resource: res, Permission: perm, Subject: sub,
		Consistency: relations.Consistency{Full: true}})
	if err != nil {
		return false, err
	}
	return r.Allowed, nil
}

// repoNotFound is the answer about a repo the caller cannot see (or that is absent).
func repoNotFound(org, name string) *apperr.Error {
	return apperr.New(apperr.NotFound, "not_found", "no repo %s/%s", org, name) // as DecideRepo says it
}

package authz

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Op names an operation of the API. Every route names one (api/server.go).
type Op string

// Operations. A route's handler may decide more on top (which check items a caller may
// ask, which tokens it may mint) through the other functions of this package.
const (
	// OpPublic needs no token: health, version, metrics, OpenAPI, activation, login.
	OpPublic Op = "public"
	// OpSelf is about the calling token itself (whoami, logout): any valid token.
	OpSelf Op = "self"
	// OpPlatformAdmin: deactivation, platform admins, admin-only mode, robots (P2-P4, ID3).
	OpPlatformAdmin Op = "platform.admin"
	// OpOrgCreate: create an org (O1), platform admins only.
	OpOrgCreate Op = "org.create"
	// OpOrgList lists the orgs the caller can see: any token; the list is filtered.
	OpOrgList Op = "org.list"
	// OpOrgRead: see an org and its members (O1, O3). Orgs the caller cannot see are 404.
	OpOrgRead Op = "org.read"
	// OpOrgManage: change or delete an org, its members (O2, O3).
	OpOrgManage Op = "org.manage"
	// OpTeamRead and OpTeamManage: an org's teams (O4).
	OpTeamRead   Op = "team.read"
	OpTeamManage Op = "team.manage"
	// OpAPIKeyManage: an org's API keys (ID2).
	OpAPIKeyManage Op = "apikey.manage"
	// OpAuditRead: the audit log (AU1): an org's for its admins, all of it for platform admins.
	OpAuditRead Op = "audit.read"
	// OpTokenMint, OpTokenList, OpTokenRevoke: managing tokens (T3, T4). A scoped token
	// needs the manage function on token; minting is further decided by Mint.
	OpTokenMint   Op = "token.mint"
	OpTokenList   Op = "token.list"
	OpTokenRevoke Op = "token.revoke"
	// OpCheck: checks, bulk checks, lookups, explain (C1, C2): any token may ask; each
	// question is decided by CheckPermission, MayInspect and CheckGrant.
	OpCheck Op = "check"
	// OpRelationshipRead and OpRelationshipWrite: raw relationships, export, import (A1).
	OpRelationshipRead  Op = "relationship.read"
	OpRelationshipWrite Op = "relationship.write"
	// OpSchemaRead: read or validate the schema (A2).
	OpSchemaRead Op = "schema.read"

	// Ingress (C3, h/ingress).
	// OpIngress: GET /api/iam/v1/auth, asked by a reverse proxy before each request it
	// forwards: any valid token may ask; the answer is decided by Ingress.
	OpIngress Op = "ingress"
	// Bucket configs and repos (authz/data.go).
	// OpBucketRead: list and get an org's bucket configs (B1); OpBucketManage: create,
	// change, delete them and render their IAM policies (B2-B4, B7).
	OpBucketRead   Op = "bucket.read"
	OpBucketManage Op = "bucket.manage"
	// OpRepoCreate: create a repo in an org (R1, O2: org#create_repo).
	OpRepoCreate Op = "repo.create"
	// OpRepoList: list an org's repos; the list is filtered to those the caller can read.
	OpRepoList Op = "repo.list"
	// OpRepoRead and OpRepoDelete are decided on the repo the path names (Route,
	// DecideObject): a repo the caller cannot read is 404.
	OpRepoRead   Op = "repo.read"
	OpRepoDelete Op = "repo.delete"
)

// need is the relationship an operation needs of the token's owner.
type need int

const (
	needNothing need = iota // any valid token
	// needObject: the token's half here (a subject, the grant); the owner's half on the
	// object the route's path names (a repo, a pipeline), which Route decides through
	// DecideObject. Decide alone never lets such an operation through without it: only
	// Route (and DecideObject) do.
	needObject
	needPlatformAdmin // platform:root#super_admin, and the admin grant on platform
	needOrgRead       // org#read (else 404 not found)
	needOrgManage     // org#read (else 404) and org#manage (else 403)
	needAuditScope    // with an org: needOrgManage; without: needPlatformAdmin
	needOrgCreateRepo // org#read (else 404) and org#create_repo (else 403)
)

// rule is the decision of one operation: the grant a scoped token needs (function on
// resource, in the org acted in; "" for none) and the relationship its owner needs.
type rule struct {
	function, resource string
	need               need
}

// rules decides every operation. An Op missing here is denied.
var rules = map[Op]rule{
	OpSelf:              {need: needNothing},
	OpPlatformAdmin:     {function: tokens.FuncAdmin, resource: schema.TypePlatform, need: needPlatformAdmin},
	OpOrgCreate:         {function: tokens.FuncAdmin, resource: schema.TypePlatform, need: needPlatformAdmin},
	OpOrgList:           {need: needNothing},
	OpOrgRead:           {function: tokens.FuncRead, resource: schema.TypeOrg, need: needOrgRead},
	OpOrgManage:         {function: tokens.FuncManage, resource: schema.TypeOrg, need: needOrgManage},
	OpTeamRead:          {function: tokens.FuncRead, resource: schema.TypeTeam, need: needOrgRead},
	OpTeamManage:        {function: tokens.FuncManage, resource: schema.TypeTeam, need: needOrgManage},
	OpAPIKeyManage:      {function: tokens.FuncManage, resource: schema.TypeOrg, need: needOrgManage},
	OpAuditRead:         {function: tokens.FuncRead, resource: tokens.ResAudit, need: needAuditScope},
	OpTokenMint:         {function: tokens.FuncManage, resource: tokens.ResToken, need: needNothing},
	OpTokenList:         {function: tokens.FuncManage, resource: tokens.ResToken, need: needNothing},
	OpTokenRevoke:       {function: tokens.FuncManage, resource: tokens.ResToken, need: needNothing},
	OpCheck:             {need: needNothing},
	OpRelationshipRead:  {function: tokens.FuncRead, resource: tokens.ResRelationship, need: needPlatformAdmin},
	OpRelationshipWrite: {function: tokens.FuncWrite, resource: tokens.ResRelationship, need: needPlatformAdmin},
	OpSchemaRead:        {function: tokens.FuncRead, resource: tokens.ResSchema, need: needNothing},
	// Ingress (C3, h/ingress): the question itself is decided by Ingress.
	OpIngress: {need: needNothing},

	// Credential vending (B6, h/vend): any valid token; VendCredentials decides.
	OpRepoCredentials: {need: needNothing},
	// Bucket configs and repos (authz/data.go).
	OpBucketRead:   {function: tokens.FuncRead, resource: schema.TypeBucket, need: needOrgRead},
	OpBucketManage: {function: tokens.FuncManage, resource: schema.TypeBucket, need: needOrgManage},
	OpRepoCreate:   {function: tokens.FuncWrite, resource: schema.TypeRepo, need: needOrgCreateRepo},
	OpRepoList:     {function: tokens.FuncRead, resource: schema.TypeRepo, need: needNothing},
	OpRepoRead:     {function: tokens.FuncRead, resource: schema.TypeRepo, need: needObject},
	OpRepoDelete:   {function: tokens.FuncDelete, resource: schema.TypeRepo, need: needObject},

	// Repo roles and pipelines (authz/pipelines.go): decided on their object too, except
	// creation, decided on the org and then per repo by PipelineWiring.
	OpRepoRolesRead:  {function: tokens.FuncRead, resource: schema.TypeRepo, need: needObject},
	OpRepoRolesSet:   {function: tokens.FuncManage, resource: schema.TypeRepo, need: needObject},
	OpPipelineCreate: {function: tokens.FuncWrite, resource: schema.TypePipeline, need: needOrgRead},
	OpPipelineUpdate: {function: tokens.FuncWrite, resource: schema.TypePipeline, need: needObject},
	OpPipelineDelete: {function: tokens.FuncDelete, resource: schema.TypePipeline, need: needObject},
	OpPipelineToken:  {function: tokens.FuncManage, resource: schema.TypePipeline, need: needObject},
}

// Ops lists every operation a route may name, OpPublic included.
func Ops() []Op {
	out := []Op{OpPublic}
	for op := range rules {
		out = append(out, op)
	}
	return out
}

// Known reports whether op is an operation this package decides (or OpPublic).
func Known(op Op) bool {
	_, ok := rules[op]
	return ok || op == OpPublic
}

// Decide answers whether p may do op in org ("" for operations outside any org). nil
// means allowed; otherwise an apperr saying what is missing: Forbidden (403), or
// NotFound (404) for an org the caller cannot see. OpPublic and unknown operations are
// denied: public routes never reach a decision.
//
// An operation on an object (a repo, a pipeline) is denied here: Route decides it, on
// the object its route's path names.
func (a *Authorizer) Decide(ctx context.Context, p tokens.Principal, op Op, org string) error {
	if r, ok := a.rules[op]; ok && r.need == needObject {
		return apperr.Forbid("operation %q is decided on the object its route names: denied without one", op)
	}
	return a.decide(ctx, p, op, org)
}

// Route decides op for a request: Decide's half in org, then, for an operation on an
// object, DecideObject on the object the request's path parameters (param) name: a repo
// is :org/:repo, a pipeline :org/:name. A path naming no valid object is NotFound. The
// API's middleware calls it for every route, so no route can skip the object's half.
func (a *Authorizer) Route(ctx context.Context, p tokens.Principal, op Op, org string, param func(string) string) error {
	r, ok := objectRules[op]
	if !ok {
		return a.Decide(ctx, p, op, org)
	}
	if err := a.decide(ctx, p, op, org); err != nil {
		return err
	}
	obj, err := pathObject(r.typ, param)
	if err != nil {
		return err
	}
	return a.DecideObject(ctx, p, op, obj)
}

// ObjectType is the type of the object op is decided on ("" for none): the route's path
// must name one (Route).
func ObjectType(op Op) string { return objectRules[op].typ }

// pathObject returns the object of type typ that a route's path names (Route).
func pathObject(typ string, param func(string) string) (relations.Object, error) {
	org, name := param(PathOrg), param(PathRepo)
	if typ == schema.TypePipeline {
		name = param(PathName)
	}
	if !identity.ValidName(org) || !identity.ValidName(name) {
		return relations.Object{}, apperr.New(apperr.NotFound, "not_found", "no %s %q", typ, org+"/"+name)
	}
	return relations.Object{Type: typ, ID: org + "/" + name}, nil
}

// The path parameters that name an object (Route): /repos/:org/:repo, /pipelines/:org/:name.
const (
	PathOrg  = "org"
	PathRepo = "repo"
	PathName = "name"
)

// decide is Decide for every operation: for one on an object, only the token's half.
func (a *Authorizer) decide(ctx context.Context, p tokens.Principal, op Op, org string) error {
	r, ok := a.rules[op]
	if !ok {
		return apperr.Forbid("operation %q has no authorization rule: denied", op)
	}
	if r.function != "" && !p.Allows(r.function, r.resource, org) {
		where := ""
		if org != "" {
			where = " in org " + org
		}
		return apperr.Forbid("this token's grants do not allow %s on %s%s; mint a token granted it", r.function, r.resource, where).
			WithDetails("missing", fmt.Sprintf("%s:%s", r.function, r.resource))
	}
	n := r.need
	if n == needAuditScope {
		n = needPlatformAdmin
		if org != "" {
			n = needOrgManage
		}
	}
	switch n {
	case needNothing, needObject:
		_, err := subjectOf(p)
		return err
	case needPlatformAdmin:
		return a.requirePlatformAdmin(ctx, p)
	case needOrgRead, needOrgManage:
		return a.requireOrg(ctx, p, org, n == needOrgManage)
	case needOrgCreateRepo:
		return a.requireOrgPermission(ctx, p, org, schema.PermCreateRepo)
	}
	return apperr.Forbid("operation %q: denied", op)
}

// requireOrg needs org#read of p's owner (an org it cannot see is NotFound, like an
// absent one) and, for manage, org#manage.
func (a *Authorizer) requireOrg(ctx context.Context, p tokens.Principal, org string, manage bool) error {
	if !identity.ValidName(org) {
		return apperr.New(apperr.NotFound, "not_found", "no org %q", org)
	}
	obj := relations.Object{Type: schema.TypeOrg, ID: org}
	ok, err := a.check(ctx, p, obj, schema.PermRead)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.NotFound, "not_found", "no org %q", org)
	}
	if !manage {
		return nil
	}
	if ok, err = a.check(ctx, p, obj, schema.PermManage); err != nil {
		return err
	}
	if !ok {
		return apperr.Forbid("only admins of org %s may do this", org)
	}
	return nil
}

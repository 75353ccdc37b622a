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

// Repo roles (R1-R3) and pipelines (PL1-PL4), contract D2.
//
// These operations act on one object of the path (a repo, a pipeline), which Decide
// (given only the org) cannot see. Route takes the token's half (the grant), then
// DecideObject on the object the path names takes the owner's half: an object the owner
// cannot see is NotFound (its existence is private), one it sees but may not act on is
// Forbidden. The api's middleware calls Route for every route.
const (
	// OpRepoRolesRead: a repo's direct grants and a subject's effective role (R2):
	// repo#read.
	OpRepoRolesRead Op = "repo.roles.read"
	// OpRepoRolesSet: set or remove a subject's role on a repo (R1-R3): repo#manage_acl.
	OpRepoRolesSet Op = "repo.roles.set"
	// OpPipelineCreate: create a pipeline in an org (org#read), then PL1 per repo
	// (PipelineWiring).
	OpPipelineCreate Op = "pipeline.create"
	// OpPipelineUpdate and OpPipelineDelete: pipeline#manage (and PL1 again on update).
	OpPipelineUpdate Op = "pipeline.update"
	OpPipelineDelete Op = "pipeline.delete"
	// OpPipelineToken: mint the pipeline's own token (PL3): pipeline#manage.
	OpPipelineToken Op = "pipeline.token"
)

// objectRule is the owner's half of an object operation: see (else NotFound) and act
// (else Forbidden; "" for none) on the object's type.
type objectRule struct {
	typ       string
	see, act  string
	actDenied string
}

var objectRules = map[Op]objectRule{
	OpRepoRead:       {typ: schema.TypeRepo, see: schema.PermRead},
	OpRepoDelete:     {typ: schema.TypeRepo, see: schema.PermRead, act: schema.PermDelete, actDenied: "only the repo's owners, its org's admins and members (where the org is open to them) delete it (R5, O2)"},
	OpRepoRolesRead:  {typ: schema.TypeRepo, see: schema.PermRead},
	OpRepoRolesSet:   {typ: schema.TypeRepo, see: schema.PermRead, act: schema.PermManageACL, actDenied: "only the repo's owners, its org's admins and platform admins change its roles (R1, R3)"},
	OpPipelineUpdate: {typ: schema.TypePipeline, see: schema.PermRead, act: schema.PermManage, actDenied: "only the pipeline's creator and its org's admins change it"},
	OpPipelineDelete: {typ: schema.TypePipeline, see: schema.PermRead, act: schema.PermManage, actDenied: "only the pipeline's creator and its org's admins delete it"},
	OpPipelineToken:  {typ: schema.TypePipeline, see: schema.PermRead, act: schema.PermManage, actDenied: "only the pipeline's creator and its org's admins mint its token"},
}

// DecideObject answers whether p may do op on obj: the token's grant, then its owner: NotFound when it cannot see obj (absent or private alike), Forbidden
// when it sees but may not act. An operation without an object rule, or an object of
// another type, is denied.
func (a *Authorizer) DecideObject(ctx context.Context, p tokens.Principal, op Op, obj relations.Object) error {
	r, ok := objectRules[op]
	if !ok || obj.Type != r.typ {
		return apperr.Forbid("operation %q has no rule for %s: denied", op, obj)
	}
	if !p.Allows(a.rules[op].function, r.typ, identity.OrgOf(obj)) {
		return apperr.Forbid("this token's grants do not allow %s on %s in org %s; mint a token granted it", a.rules[op].function, r.typ, identity.OrgOf(obj))
	}
	seen, err := a.holds(ctx, p, obj, r.see)
	if err != nil {
		return err
	}
	if !seen {
		return apperr.New(apperr.NotFound, "not_found", "no %s %q", obj.Type, obj.ID)
	}
	if r.act == "" {
		return nil
	}
	can, err := a.holds(ctx, p, obj, r.act)
	if err != nil {
		return err
	}
	if !can {
		return apperr.Forbid("%s", r.actDenied)
	}
	return nil
}

// holds asks whether p's owner holds perm on obj, through the cheaper half of a repo
// permission for its subject type (schema.SubjectPermission).
func (a *Authorizer) holds(ctx context.Context, p tokens.Principal, obj relations.Object, perm string) (bool, error) {
	sub, err := subjectOf(p)
	if err != nil {
		return false, err
	}
	return a.check(ctx, p, obj, schema.SubjectPermission(obj.Type, perm, sub.Type))
}

// SeesOrg reports whether p's owner can see org (org#read) and p's grants let it read
// the org: where a repo's absence may be told rather than hidden.
func (a *Authorizer) SeesOrg(ctx context.Context, p tokens.Principal, org string) (bool, error) {
	if !p.Allows(tokens.FuncRead, schema.TypeOrg, org) {
		return false, nil
	}
	return a.check(ctx, p, relations.Object{Type: schema.TypeOrg, ID: org}, schema.PermRead)
}

// PipelineCreator returns the subject a pipeline created by p acts for: p's owner, a
// user, robot or service account (the types with agent links). A pipeline's own token
// creates no pipeline (PL4: nothing lends a pipeline more).
func PipelineCreator(p tokens.Principal) (relations.Subject, error) {
	sub, err := subjectOf(p)
	if err != nil {
		return sub, err
	}
	switch sub.Type {
	case schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount:
		return sub, nil
	}
	return sub, apperr.Forbid("%s cannot create or change pipelines: only users, robots and service accounts can (PL4)", sub)
}

// Missing is one permission a pipeline's creator lacks (PL1).
type Missing struct {
	Repo       string `json:"repo"`
	Permission string `json:"permission"`
}

// PipelineWiring decides PL1 for p wiring a pipeline to inputs and output (repo
// objects): p's owner needs read on every input and write on the output now, and p's
// grants must allow both. A refusal is Forbidden with details.missing listing EVERY
// {repo, permission} missing, inputs first, in order.
func (a *Authorizer) PipelineWiring(ctx context.Context, p tokens.Principal, inputs []relations.Object, output relations.Object) error {
	sub, err := subjectOf(p)
	if err != nil {
		return err
	}
	type need struct {
		repo relations.Object
		perm string
	}
	needs := make([]need, 0, len(inputs)+1)
	for _, in := range inputs {
		needs = append(needs, need{in, schema.PermRead})
	}
	needs = append(needs, need{output, schema.PermWrite})
	reqs := make([]relations.CheckRequest, len(needs))
	for i, n := range needs {
		reqs[i] = relations.CheckRequest{Resource: n.repo, Permission: schema.SubjectPermission(schema.TypeRepo, n.perm, sub.Type), Subject: sub}
	}
	res, err := a.bulk(ctx, reqs)
	if err != nil {
		return err
	}
	var missing []Missing
	for i, n := range needs {
		f, _ := FunctionFor(schema.TypeRepo, n.perm)
		if !res[i] || !p.Allows(f, schema.TypeRepo, identity.OrgOf(n.repo)) {
			missing = append(missing, Missing{Repo: n.repo.ID, Permission: n.perm})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return apperr.Forbid("a pipeline needs read on every input and write on its output (PL1); %s lacks %s", sub, describe(missing)).
		WithDetails("missing", missing)
}

func describe(missing []Missing) string {
	out := ""
	for i, m := range missing {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s on %s", m.Permission, m.Repo)
	}
	return out
}

// bulkChecker is the engine's bulk check, when it has one (relations.Engine does).
type bulkChecker interface {
	CheckBulk(ctx context.Context, reqs []relations.CheckRequest) ([]relations.BulkResult, error)
}

// bulk answers reqs in one round trip where the engine can, one by one otherwise. Any
// failure is an error: the caller denies.
func (a *Authorizer) bulk(ctx context.Context, reqs []relations.CheckRequest) ([]bool, error) {
	out := make([]bool, len(reqs))
	if b, ok := a.rel.(bulkChecker); ok {
		res, err := b.CheckBulk(ctx, reqs)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			if r.Err != nil {
				return nil, r.Err
			}
			out[i] = r.Allowed
		}
		return out, nil
	}
	for i, r := range reqs {
		res, err := a.rel.Check(ctx, r)
		if err != nil {
			return nil, err
		}
		out[i] = res.Allowed
	}
	return out, nil
}

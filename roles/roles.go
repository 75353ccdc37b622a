// Package roles owns repo roles (R1-R3): a repo's direct grants, a subject's effective
// (highest) role, and setting a role, which replaces the subject's previous direct role
// on the repo in one atomic relationship write ("none" removes it). Who may read or set
// them is decided in authz (OpRepoRolesRead, OpRepoRolesSet); writes go through the
// guarded engine like every other.
//
// Subjects are typed (ID6): user:<email>, robot:<name>, sa:<name>@<org>, a team's members
// as team:<org>/<team> (stored team:<org>/<team>#member) and an org's members as
// org:<org>#member. A pipeline holds no role (PL4): setting one is refused.
package roles

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Grant is one direct role of a subject on a repo.
type Grant struct {
	Subject string // typed, as Subject formats it
	Role    string // schema.RelReader, RelWriter or RelOwner
}

// Service reads and sets repo roles.
type Service struct {
	rel relations.Engine
}

// New returns a role service writing through rel (the guarded engine).
func New(rel relations.Engine) *Service { return &Service{rel: rel} }

// RepoObject validates org and repo names and returns repo:<org>/<repo>; a bad name is
// NotFound, like an absent repo (the route names no field the caller could fix).
func RepoObject(org, repo string) (relations.Object, error) {
	if !identity.ValidName(org) || !identity.ValidName(repo) {
		return relations.Object{}, apperr.New(apperr.NotFound, "not_found", "no repo %q", org+"/"+repo)
	}
	return relations.Object{Type: schema.TypeRepo, ID: org + "/" + repo}, nil
}

// ParseSubject reads the subject of a role (field names it in errors): a user (a bare
// email is one), robot or service account; team:<org>/<team>[#member];
// org:<org>[#member]. A pipeline is refused (PL4), and so is any other subject relation.
func ParseSubject(field, s string) (relations.Subject, error) { return parse(field, s, false) }

// ParseAnySubject is ParseSubject that also accepts a pipeline, whose effective role can
// be read (Effective), never set.
func ParseAnySubject(field, s string) (relations.Subject, error) { return parse(field, s, true) }

func parse(field, s string, pipelineOK bool) (relations.Subject, error) {
	if !strings.Contains(s, ":") && strings.Contains(s, "@") {
		s = schema.TypeUser + ":" + s // a bare email is a person, as in the CLI
	}
	sub, err := identity.ParseSubject(field, s)
	if err != nil {
		return sub, err
	}
	switch sub.Type {
	case schema.TypePipeline:
		if pipelineOK && sub.Relation == "" {
			return sub, nil
		}
		return sub, apperr.InvalidField(field, "%s is a pipeline: a pipeline holds no role, it acts for its creator (PL4)", s)
	case schema.TypeTeam, schema.TypeOrg:
		if sub.Relation == "" {
			sub.Relation = schema.RelMember
		}
		if sub.Relation != schema.RelMember {
			return sub, apperr.InvalidField(field, "%q: a team or org is granted a role through its members, %s:<id>#member", s, sub.Type)
		}
	case schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount:
		if sub.Relation != "" || sub.ID == "*" {
			return sub, apperr.InvalidField(field, "%q: give the subject itself, without #relation or wildcard", s)
		}
	default:
		return sub, apperr.InvalidField(field, "%q cannot hold a repo role (users, robots, service accounts, teams and org members can)", s)
	}
	return sub, nil
}

// Subject formats a role's subject: team members as team:<org>/<team> (ID6), org members
// as org:<org>#member, others as they are.
func Subject(s relations.Subject) string {
	if s.Type == schema.TypeTeam && s.Relation == schema.RelMember {
		return s.Object.String()
	}
	return s.String()
}

// List returns the direct grants on repo: subjects sorted, each with its roles highest
// first.
func (s *Service) List(ctx context.Context, repo relations.Object) ([]Grant, error) {
	var out []Grant
	for _, role := range schema.Roles {
		rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: repo.Type, ResourceID: repo.ID, Relation: role}, relations.Consistency{})
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			out = append(out, Grant{Subject: Subject(r.Subject), Role: role})
		}
	}
	rank := func(role string) int { return -slices.Index(schema.Roles, role) }
	slices.SortFunc(out, func(a, b Grant) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return rank(a.Role) - rank(b.Role)
	})
	if out == nil {
		out = []Grant{}
	}
	return out, nil
}

// Effective returns the highest role sub holds on repo now, by any path (R1, R2, R3):
// "owner", "writer", "reader" or "none". A pipeline's is read from the pipelines' halves
// of read and write (PL3): "writer" on its output, "reader" on its inputs, never owner.
func (s *Service) Effective(ctx context.Context, repo relations.Object, sub relations.Subject) (string, error) {
	perms := []string{schema.PermOwnerRole, schema.PermWriterRole, schema.PermReaderRole}
	names := []string{schema.RelOwner, schema.RelWriter, schema.RelReader}
	if sub.Type == schema.TypePipeline {
		perms, names = []string{schema.PermPipelineWrite, schema.PermPipelineRead}, names[1:]
	}
	reqs := make([]relations.CheckRequest, len(perms))
	for i, p := range perms {
		reqs[i] = relations.CheckRequest{Resource: repo, Permission: p, Subject: sub}
	}
	res, err := s.rel.CheckBulk(ctx, reqs)
	if err != nil {
		return "", err
	}
	for i, r := range res {
		if r.Err != nil {
			return "", r.Err
		}
		if r.Allowed {
			return names[i], nil
		}
	}
	return schema.RoleNone, nil
}

// CheckRole validates a role name (field "role").
func CheckRole(role string) error {
	if role == schema.RoleNone || slices.Contains(schema.Roles, role) {
		return nil
	}
	return apperr.InvalidField("role", "%q is not a repo role: reader, writer, owner, or none to remove it (R1, R2)", role)
}

// Set gives sub the direct role on repo, replacing its previous direct role, in one
// atomic write whose precondition is that the repo still exists (repo#org): a repo
// deleted meanwhile gets no dangling grant (R5). "none" removes every direct role.
// Returns the write's consistency token.
func (s *Service) Set(ctx context.Context, repo relations.Object, sub relations.Subject, role string) (string, error) {
	if err := CheckRole(role); err != nil {
		return "", err
	}
	updates := make([]relations.Update, 0, len(schema.Roles))
	for _, r := range schema.Roles {
		op := relations.OpDelete
		if r == role {
			op = relations.OpTouch
		}
		updates = append(updates, relations.Update{Operation: op, Relationship: relations.Relationship{Resource: repo, Relation: r, Subject: sub}})
	}
	exists := relations.Precondition{MustExist: true, Filter: relations.Filter{ResourceType: repo.Type, ResourceID: repo.ID, Relation: schema.RelOrg}}
	token, err := s.rel.Write(ctx, updates, []relations.Precondition{exists})
	if errors.Is(err, relations.ErrPrecondition) {
		return "", apperr.New(apperr.NotFound, "not_found", "no repo %q", repo.ID)
	}
	return token, err
}

// Package orgs owns orgs (O1), their members and roles (O2, O3), teams (O4) and API
// keys (ID2). An org is a row in the store and relationships in SpiceDB. Changes to
// several store records run in one store transaction (store.WithTx); SpiceDB cannot join
// it, so every act that touches both orders the transaction and the SpiceDB write so that
// a crash between them leaves nothing usable, and Reconcile removes what such a crash
// left behind.
//
// Its relationship writes are expected to go through a guarded engine (package guard),
// which refuses removing an org's last admin (O2, O3) and team cycles (O4) against every
// writer and race; this package holds no read-then-write checks of its own.
package orgs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Roles of org members (O2), as the API names them. Each is written as the org relation
// of the same name (roleRelation).
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
)

// roleRelation returns the org relation that grants role; "" for an unknown role.
func roleRelation(role string) string {
	switch role {
	case RoleMember:
		return schema.RelMember
	case RoleAdmin:
		return schema.RelAdmin
	}
	return ""
}

// orgRoles are the org roles with their relations, highest first.
var orgRoles = []struct{ role, relation string }{{RoleAdmin, schema.RelAdmin}, {RoleMember, schema.RelMember}}

// DefaultKeyLifetime is an API key's lifetime when none is asked (ID2).
const DefaultKeyLifetime = 365 * 24 * time.Hour

// Service manages orgs, members, teams and API keys.
type Service struct {
	rel    relations.Engine
	store  store.Store
	tokens *tokens.Service
	domain string // service accounts are <name>@<org>.service.<domain>
	now    func() time.Time
}

// New returns an org service. domain names service accounts (ID2).
func New(rel relations.Engine, st store.Store, tok *tokens.Service, domain string) *Service {
	return &Service{rel: rel, store: st, tokens: tok, domain: domain, now: time.Now}
}

func orgObj(name string) relations.Object { return relations.Object{Type: schema.TypeOrg, ID: name} }

func sub(o relations.Object, rel string) relations.Subject {
	return relations.Subject{Object: o, Relation: rel}
}

func rel(res relations.Object, relation string, s relations.Subject) relations.Relationship {
	return relations.Relationship{Resource: res, Relation: relation, Subject: s}
}

func touch(r relations.Relationship) relations.Update {
	return relations.Update{Operation: relations.OpTouch, Relationship: r}
}

func del(r relations.Relationship) relations.Update {
	return relations.Update{Operation: relations.OpDelete, Relationship: r}
}

func notFound(format string, args ...any) error {
	return apperr.New(apperr.NotFound, "not_found", format, args...)
}

// checkName validates an org, team or key name.
func checkName(field, name string) error {
	if !identity.ValidName(name) {
		return apperr.InvalidField(field, "%q is not a valid name (lowercase letters, digits, '-', '_', at most 63)", name)
	}
	return nil
}

// Get returns an org, NotFound when absent.
func (s *Service) Get(ctx context.Context, name string) (store.Org, error) {
	o, err := s.store.GetOrg(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return o, notFound("no org %q", name)
	}
	return o, err
}

// Create creates an org open to its members (O1, O2). The row, one record and the gate
// for a unique name, is written first and the relationships second: SpiceDB cannot join
// a store transaction, and an org row without relationships grants nothing. If they
// fail the row is removed again.
func (s *Service) Create(ctx context.Context, actor, name string) (store.Org, error) {
	if err := checkName("name", name); err != nil {
		return store.Org{}, err
	}
	o := store.Org{Name: name, RepoAccess: store.RepoAccessMembers, CreatedAt: s.now().UTC(), CreatedBy: actor}
	if err := s.store.CreateOrg(ctx, o); errors.Is(err, store.ErrExists) {
		return o, apperr.New(apperr.Conflict, "already_exists", "org %q already exists", name)
	} else if err != nil {
		return o, err
	}
	org := orgObj(name)
	_, err := s.rel.Write(ctx, []relations.Update{
		touch(rel(org, schema.RelPlatform, sub(relations.Object{Type: schema.TypePlatform, ID: schema.PlatformID}, ""))),
		touch(rel(org, schema.RelReposOpenTo, sub(org, ""))),
	}, nil)
	if err != nil {
		_ = s.store.DeleteOrg(ctx, name)
		return o, err
	}
	return o, nil
}

// List returns the orgs the caller can read; every org for a platform admin.
func (s *Service) List(ctx context.Context, caller relations.Subject, platformAdmin bool) ([]store.Org, error) {
	all, err := s.store.ListOrgs(ctx)
	if err != nil || platformAdmin {
		return all, err
	}
	visible, err := s.rel.LookupResources(ctx, caller, schema.PermRead, schema.TypeOrg, relations.Consistency{})
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, o := range visible {
		names[o.ID] = true
	}
	return slices.DeleteFunc(all, func(o store.Org) bool { return !names[o.Name] }), nil
}

// SetRepoAccess switches an org between "members" and "acl_only" (O2).
func (s *Service) SetRepoAccess(ctx context.Context, name, mode string) (store.Org, error) {
	o, err := s.Get(ctx, name)
	if err != nil {
		return o, err
	}
	org := orgObj(name)
	link := rel(org, schema.RelReposOpenTo, sub(org, ""))
	var u relations.Update
	switch mode {
	case store.RepoAccessMembers:
		u = touch(link)
	case store.RepoAccessACLOnly:
		u = del(link)
	default:
		return o, apperr.InvalidField("repo_access", "must be %q or %q", store.RepoAccessMembers, store.RepoAccessACLOnly)
	}
	// SpiceDB decides access, so it is written first; the row only reports the mode.
	if _, err := s.writeWhile(ctx, orgAlive(name), []relations.Update{u}, func() error { return notFound("no org %q", name) }); err != nil {
		return o, err
	}
	o.RepoAccess = mode
	return o, s.store.UpdateOrg(ctx, o)
}

// Delete deletes an empty org: refused (Conflict, details.repos) while repos remain.
// Relationships go first, so a crash leaves an org row that grants nothing. Its last
// admins go with it (guard.DeletingOrg).
//
// It holds the lock of every bucket config of the org (buckets.LockName) from its check
// to its last delete: a repo is created holding its config's lock and re-reads the
// config under it, so a creation either lands before the check (and the org is refused
// as in use) or finds the config deleted; never between the two, where its relationships
// would outlive the org (R5).
func (s *Service) Delete(ctx context.Context, name string) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	configs, err := s.store.ListBuckets(ctx, name)
	if err != nil {
		return err
	}
	locks := make([]string, 0, len(configs))
	for _, b := range configs {
		locks = append(locks, buckets.LockName(b.ID))
	}
	slices.Sort(locks)
	return s.holding(ctx, locks, func(ctx context.Context) error { return s.deleteLocked(ctx, name) })
}

// holding runs fn holding every lock in names, in order.
func (s *Service) holding(ctx context.Context, names []string, fn func(ctx context.Context) error) error {
	if len(names) == 0 {
		return fn(ctx)
	}
	return s.store.Lock(ctx, names[0], func(ctx context.Context) error { return s.holding(ctx, names[1:], fn) })
}

// deleteLocked is Delete under the org's config locks.
func (s *Service) deleteLocked(ctx context.Context, name string) error {
	ctx = guard.DeletingOrg(ctx, name)
	repos, err := s.rel.Read(ctx, relations.Filter{ResourceType: schema.TypeRepo, Relation: schema.RelOrg, SubjectType: schema.TypeOrg, SubjectID: name}, relations.Consistency{})
	if err != nil {
		return err
	}
	rows, err := s.store.ListRepos(ctx, name) // repos (store rows) too: repos/
	if err != nil {
		return err
	}
	if len(repos) > 0 || len(rows) > 0 {
		names := make([]string, 0, len(repos)+len(rows))
		for _, r := range repos {
			names = append(names, r.Resource.ID)
		}
		for _, r := range rows {
			if !slices.Contains(names, r.Org+"/"+r.Name) {
				names = append(names, r.Org+"/"+r.Name)
			}
		}
		return apperr.New(apperr.Conflict, "in_use", "org %q still has %d repos; delete them first", name, len(names)).WithDetails("repos", names)
	}
	if err := s.noPipelines(ctx, name); err != nil { // contract D2 (h/pipe)
		return err
	}
	teams, err := s.Teams(ctx, name)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if err := s.DeleteTeam(ctx, name, t); err != nil {
			return err
		}
	}
	keys, err := s.store.ListAPIKeys(ctx, name)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := relations.DeleteSubject(ctx, s.rel, saObj(k.Org, k.Name)); err != nil {
			return err
		}
	}
	for _, f := range []relations.Filter{
		{ResourceType: schema.TypeOrg, ResourceID: name},
		{ResourceType: schema.TypeRepo, SubjectType: schema.TypeOrg, SubjectID: name},
		{ResourceType: schema.TypeTeam, SubjectType: schema.TypeOrg, SubjectID: name},
		// Its bucket configs' relationships; DeleteOrg deletes their rows (buckets/).
		{ResourceType: schema.TypeBucket, SubjectType: schema.TypeOrg, SubjectID: name},
	} {
		if _, err := s.rel.DeleteMatching(ctx, f); err != nil {
			return err
		}
	}
	return s.store.DeleteOrg(ctx, name)
}

// ---- members (O3) ----

// Member is a subject with a role in an org.
type Member struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// SetMember adds a person by email, or changes their role, in one atomic write that also
// removes the other role. Demoting the org's last admin is refused (409 last_admin, O2). The person need not have logged in yet (ID1); being added is
// the only grant (ID5).
func (s *Service) SetMember(ctx context.Context, org, email, role string) (Member, error) {
	if _, err := s.Get(ctx, org); err != nil {
		return Member{}, err
	}
	e, err := identity.NormalizeEmail(email)
	if err != nil {
		return Member{}, apperr.InvalidField("email", "%s", err)
	}
	relation, other := roleRelation(role), schema.RelMember
	switch role {
	case RoleMember:
		other = schema.RelAdmin
	case RoleAdmin:
	default:
		return Member{}, apperr.InvalidField("role", "must be %q or %q", RoleMember, RoleAdmin)
	}
	if _, err := s.store.UpsertUser(ctx, store.User{Email: e}); err != nil {
		return Member{}, err
	}
	u := sub(relations.Object{Type: schema.TypeUser, ID: e}, "")
	_, err = s.writeWhile(ctx, orgAlive(org), []relations.Update{touch(rel(orgObj(org), relation, u)), del(rel(orgObj(org), other, u))},
		func() error { return notFound("no org %q", org) })
	return Member{Subject: u.String(), Role: role}, err
}

// RemoveMember removes a person from an org, with every grant they hold directly in it
// (memberRemoval), in one guarded write; effective at the next check (O3, PL3). Removing
// the org's last admin is refused (409 last_admin, O2) and then nothing changes.
func (s *Service) RemoveMember(ctx context.Context, org, email string) error {
	e, err := identity.NormalizeEmail(email)
	if err != nil {
		return apperr.InvalidField("email", "%s", err)
	}
	members, err := s.Members(ctx, org)
	if err != nil {
		return err
	}
	u := sub(relations.Object{Type: schema.TypeUser, ID: e}, "")
	if !slices.ContainsFunc(members, func(m Member) bool { return m.Subject == u.String() }) {
		return notFound("%s is not a member of %s", u, org)
	}
	updates, err := s.memberRemoval(ctx, org, u.Object)
	if err != nil {
		return err
	}
	_, err = s.rel.Write(ctx, updates, nil)
	return err
}

// Members lists an org's direct members and admins, people, robots, service accounts and
// teams alike.
func (s *Service) Members(ctx context.Context, org string) ([]Member, error) {
	if _, err := s.Get(ctx, org); err != nil {
		return nil, err
	}
	var out []Member
	for _, r := range orgRoles {
		rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: schema.TypeOrg, ResourceID: org, Relation: r.relation}, relations.Consistency{})
		if err != nil {
			return nil, err
		}
		for _, rl := range rels {
			out = append(out, Member{Subject: rl.Subject.String(), Role: r.role})
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Subject, b.Subject) })
	return out, nil
}

// ---- teams (O4) ----

func teamObj(org, team string) relations.Object {
	return relations.Object{Type: schema.TypeTeam, ID: org + "/" + team}
}

// CreateTeam creates a team in org; idempotent.
func (s *Service) CreateTeam(ctx context.Context, org, team string) error {
	if err := checkName("team", team); err != nil {
		return err
	}
	if _, err := s.Get(ctx, org); err != nil {
		return err
	}
	_, err := s.writeWhile(ctx, orgAlive(org), []relations.Update{touch(rel(teamObj(org, team), schema.RelOrg, sub(orgObj(org), "")))},
		func() error { return notFound("no org %q", org) })
	return err
}

// Teams lists the teams of org.
func (s *Service) Teams(ctx context.Context, org string) ([]string, error) {
	rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: schema.TypeTeam, Relation: schema.RelOrg, SubjectType: schema.TypeOrg, SubjectID: org}, relations.Consistency{})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rels))
	for _, r := range rels {
		out = append(out, strings.TrimPrefix(r.Resource.ID, org+"/"))
	}
	slices.Sort(out)
	return out, nil
}

func (s *Service) teamExists(ctx context.Context, org, team string) error {
	teams, err := s.Teams(ctx, org)
	if err != nil {
		return err
	}
	if !slices.Contains(teams, team) {
		return notFound("no team %q in org %q", team, org)
	}
	return nil
}

// DeleteTeam deletes a team, its memberships and every grant to it. Refused (409
// last_admin, before anything is deleted) when the team is the org's last admin (O2).
func (s *Service) DeleteTeam(ctx context.Context, org, team string) error {
	if err := s.teamExists(ctx, org, team); err != nil {
		return err
	}
	t := teamObj(org, team)
	if err := relations.DeleteSubject(ctx, s.rel, t); err != nil {
		return err
	}
	_, err := s.rel.DeleteMatching(ctx, relations.Filter{ResourceType: schema.TypeTeam, ResourceID: t.ID})
	return err
}

// teamMember resolves a team member: a team of the same org becomes its #member set.
func teamMember(org, subject string) (relations.Subject, error) {
	m, err := identity.ParseSubject("subject", subject)
	if err != nil {
		return m, err
	}
	switch m.Type {
	case schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount:
		if m.Relation != "" {
			return m, apperr.InvalidField("subject", "%s cannot have a relation", m.Type)
		}
	case schema.TypeTeam:
		if identity.OrgOf(m.Object) != org {
			return m, apperr.InvalidField("subject", "a team can only contain teams of its own org")
		}
		m.Relation = schema.RelMember
	default:
		return m, apperr.InvalidField("subject", "team members are users, robots, service accounts or teams (PL4: never pipelines)")
	}
	return m, nil
}

// AddTeamMember puts a subject (possibly another team) in a team (O4). A team that would
// contain itself, directly or through other teams, is refused (409 team_cycle).
func (s *Service) AddTeamMember(ctx context.Context, org, team, subject string) (string, error) {
	m, err := teamMember(org, subject)
	if err != nil {
		return "", err
	}
	if err := s.teamExists(ctx, org, team); err != nil {
		return "", err
	}
	_, err = s.writeWhile(ctx, teamAlive(org, team), []relations.Update{touch(rel(teamObj(org, team), schema.RelMember, m))},
		func() error { return notFound("no team %q in org %q", team, org) })
	return m.String(), err
}

// RemoveTeamMember takes a subject out of a team.
func (s *Service) RemoveTeamMember(ctx context.Context, org, team, subject string) error {
	m, err := teamMember(org, subject)
	if err != nil {
		return err
	}
	if err := s.teamExists(ctx, org, team); err != nil {
		return err
	}
	_, err = s.rel.Write(ctx, []relations.Update{del(rel(teamObj(org, team), schema.RelMember, m))}, nil)
	return err
}

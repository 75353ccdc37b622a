// Package orgs owns orgs (O1), their members and roles (O2, O3), teams (O4) and API
// keys (ID2). An org is a row in the store and relationships in SpiceDB; every act that
// touches both orders its writes so that a crash at any point leaves nothing usable, and
// Reconcile removes what such a crash left behind.
//
// Its relationship writes are expected to go through a guarded engine (package guard),
// which refuses removing an org's last admin (O2, O3) and team cycles (O4) against every
// writer and race; this package holds no read-then-write checks of its own.
package orgs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// Roles of org members (O2).
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
)

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

func orgObj(name string) relations.Object { return relations.Object{Type: "org", ID: name} }

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

// Create creates an org open to its members (O1, O2). The row is written first and the
// relationships second; if they fail the row is removed again.
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
		touch(rel(org, "platform", sub(relations.Object{Type: "platform", ID: "root"}, ""))),
		touch(rel(org, "repos_open_to", sub(org, ""))),
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
	visible, err := s.rel.LookupResources(ctx, caller, "read", "org", relations.Consistency{})
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
	link := rel(org, "repos_open_to", sub(org, ""))
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
	if _, err := s.rel.Write(ctx, []relations.Update{u}, nil); err != nil {
		return o, err
	}
	o.RepoAccess = mode
	return o, s.store.UpdateOrg(ctx, o)
}

// Delete deletes an empty org: refused (Conflict, details.repos) while repos remain.
// Relationships go first, so a crash leaves an org row that grants nothing. Its last
// admins go with it (guard.DeletingOrg).
func (s *Service) Delete(ctx context.Context, name string) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	ctx = guard.DeletingOrg(ctx, name)
	repos, err := s.rel.Read(ctx, relations.Filter{ResourceType: "repo", Relation: "org", SubjectType: "org", SubjectID: name}, relations.Consistency{})
	if err != nil {
		return err
	}
	if len(repos) > 0 {
		names := make([]string, 0, len(repos))
		for _, r := range repos {
			names = append(names, r.Resource.ID)
		}
		return apperr.New(apperr.Conflict, "in_use", "org %q still has %d repos; delete them first", name, len(names)).WithDetails("repos", names)
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
		{ResourceType: "org", ResourceID: name},
		{ResourceType: "repo", SubjectType: "org", SubjectID: name},
		{ResourceType: "team", SubjectType: "org", SubjectID: name},
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
	other := RoleMember
	switch role {
	case RoleMember:
		other = RoleAdmin
	case RoleAdmin:
	default:
		return Member{}, apperr.InvalidField("role", "must be %q or %q", RoleMember, RoleAdmin)
	}
	if _, err := s.store.UpsertUser(ctx, store.User{Email: e}); err != nil {
		return Member{}, err
	}
	u := sub(relations.Object{Type: "user", ID: e}, "")
	_, err = s.rel.Write(ctx, []relations.Update{touch(rel(orgObj(org), role, u)), del(rel(orgObj(org), other, u))}, nil)
	return Member{Subject: u.String(), Role: role}, err
}

// RemoveMember removes a person from an org; effective at the next check (O3). Removing
// the org's last admin is refused (409 last_admin, O2).
func (s *Service) RemoveMember(ctx context.Context, org, email string) error {
	e, err := identity.NormalizeEmail(email)
	if err != nil {
		return apperr.InvalidField("email", "%s", err)
	}
	members, err := s.Members(ctx, org)
	if err != nil {
		return err
	}
	u := sub(relations.Object{Type: "user", ID: e}, "")
	if !slices.ContainsFunc(members, func(m Member) bool { return m.Subject == u.String() }) {
		return notFound("%s is not a member of %s", u, org)
	}
	_, err = s.rel.Write(ctx, []relations.Update{del(rel(orgObj(org), RoleMember, u)), del(rel(orgObj(org), RoleAdmin, u))}, nil)
	return err
}

// Members lists an org's direct members and admins, people, robots, service accounts and
// teams alike.
func (s *Service) Members(ctx context.Context, org string) ([]Member, error) {
	if _, err := s.Get(ctx, org); err != nil {
		return nil, err
	}
	var out []Member
	for _, role := range []string{RoleAdmin, RoleMember} {
		rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: "org", ResourceID: org, Relation: role}, relations.Consistency{})
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			out = append(out, Member{Subject: r.Subject.String(), Role: role})
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Subject, b.Subject) })
	return out, nil
}

// ---- teams (O4) ----

func teamObj(org, team string) relations.Object {
	return relations.Object{Type: "team", ID: org + "/" + team}
}

// CreateTeam creates a team in org; idempotent.
func (s *Service) CreateTeam(ctx context.Context, org, team string) error {
	if err := checkName("team", team); err != nil {
		return err
	}
	if _, err := s.Get(ctx, org); err != nil {
		return err
	}
	_, err := s.rel.Write(ctx, []relations.Update{touch(rel(teamObj(org, team), "org", sub(orgObj(org), "")))}, nil)
	return err
}

// Teams lists the teams of org.
func (s *Service) Teams(ctx context.Context, org string) ([]string, error) {
	rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: "team", Relation: "org", SubjectType: "org", SubjectID: org}, relations.Consistency{})
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
	_, err := s.rel.DeleteMatching(ctx, relations.Filter{ResourceType: "team", ResourceID: t.ID})
	return err
}

// teamMember resolves a team member: a team of the same org becomes its #member set.
func teamMember(org, subject string) (relations.Subject, error) {
	m, err := identity.ParseSubject("subject", subject)
	if err != nil {
		return m, err
	}
	switch m.Type {
	case "user", "robot", "sa":
		if m.Relation != "" {
			return m, apperr.InvalidField("subject", "%s cannot have a relation", m.Type)
		}
	case "team":
		if identity.OrgOf(m.Object) != org {
			return m, apperr.InvalidField("subject", "a team can only contain teams of its own org")
		}
		m.Relation = "member"
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
	_, err = s.rel.Write(ctx, []relations.Update{touch(rel(teamObj(org, team), "member", m))}, nil)
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
	_, err = s.rel.Write(ctx, []relations.Update{del(rel(teamObj(org, team), "member", m))}, nil)
	return err
}

// ---- API keys (ID2) ----

func saObj(org, name string) relations.Object {
	return relations.Object{Type: "sa", ID: name + "@" + org}
}

// KeyInfo is an API key's metadata; the secret appears only in CreateAPIKey's answer.
type KeyInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Account   string    `json:"service_account"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedBy string    `json:"created_by"`
}

func (s *Service) info(k store.APIKey) KeyInfo {
	return KeyInfo{ID: k.TokenID, Name: k.Name, Subject: saObj(k.Org, k.Name).String(),
		Account: fmt.Sprintf("%s@%s.service.%s", k.Name, k.Org, s.domain), Role: k.Role,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, CreatedBy: k.CreatedBy}
}

// NewKey is a created API key with its token, shown once.
type NewKey struct {
	KeyInfo
	Token string `json:"token"`
}

// CreateAPIKey creates service account sa:<name>@<org> with an org role and its token.
// Writes go row, relationships, token: the token is what makes the key usable, so a
// crash before it leaves nothing usable, and Reconcile removes the rest.
func (s *Service) CreateAPIKey(ctx context.Context, actor, org, name string, lifetime time.Duration, role string) (NewKey, error) {
	if err := checkName("name", name); err != nil {
		return NewKey{}, err
	}
	if role == "" {
		role = RoleMember
	}
	if role != RoleMember && role != RoleAdmin {
		return NewKey{}, apperr.InvalidField("role", "must be %q or %q", RoleMember, RoleAdmin)
	}
	if lifetime == 0 {
		lifetime = DefaultKeyLifetime
	}
	if _, err := s.Get(ctx, org); err != nil {
		return NewKey{}, err
	}
	sa := saObj(org, name)
	m, rec, err := s.tokens.Prepare(tokens.MintRequest{Subject: sa.String(), Kind: "api_key", Role: role, TTL: lifetime})
	if err != nil {
		if ae := (*apperr.Error)(nil); errors.As(err, &ae) && ae.Field == "ttl" {
			ae.Field = "lifetime"
		}
		return NewKey{}, err
	}
	k := store.APIKey{Org: org, Name: name, TokenID: m.ID, Role: role, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt, CreatedBy: actor}
	if err := s.store.CreateAPIKey(ctx, k); errors.Is(err, store.ErrExists) {
		return NewKey{}, apperr.New(apperr.Conflict, "already_exists", "API key %q already exists in org %q", name, org)
	} else if err != nil {
		return NewKey{}, err
	}
	undo := func(cause error) (NewKey, error) {
		_ = relations.DeleteSubject(guard.Undoing(ctx), s.rel, sa)
		_ = s.store.DeleteAPIKey(ctx, org, name)
		return NewKey{}, cause
	}
	if _, err := s.rel.Write(ctx, []relations.Update{touch(rel(orgObj(org), role, sub(sa, "")))}, nil); err != nil {
		return undo(err)
	}
	if err := s.store.CreateToken(ctx, rec); err != nil {
		return undo(err)
	}
	return NewKey{KeyInfo: s.info(k), Token: m.Token}, nil
}

// APIKeys lists an org's keys (metadata only).
func (s *Service) APIKeys(ctx context.Context, org string) ([]KeyInfo, error) {
	if _, err := s.Get(ctx, org); err != nil {
		return nil, err
	}
	keys, err := s.store.ListAPIKeys(ctx, org)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.info(k))
	}
	return out, nil
}

// DeleteAPIKey deletes a key. Its org role goes first, through the guard: refused (409
// last_admin) when the key is the org's last admin (O2), before anything else changes.
// Then its row and token, so it is refused at the very next request, then its other
// relationships.
func (s *Service) DeleteAPIKey(ctx context.Context, org, name string) error {
	k, err := s.store.GetAPIKey(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no API key %q in org %q", name, org)
	}
	if err != nil {
		return err
	}
	sa := sub(saObj(org, name), "")
	roles := []relations.Update{del(rel(orgObj(org), RoleAdmin, sa)), del(rel(orgObj(org), RoleMember, sa))}
	if _, err := s.rel.Write(ctx, roles, nil); err != nil {
		return err
	}
	err = s.store.DeleteAPIKey(ctx, org, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no API key %q in org %q", name, org)
	}
	if err != nil {
		// Give the key its role back: nothing is half-applied.
		_, _ = s.rel.Write(ctx, []relations.Update{touch(rel(orgObj(org), k.Role, sa))}, nil)
		return err
	}
	return relations.DeleteSubject(ctx, s.rel, saObj(org, name))
}

// Reconcile removes what an interrupted API-key creation or deletion left behind: keys
// whose token was never stored, and service-account relationships without a key. It is
// safe to run at every start.
func (s *Service) Reconcile(ctx context.Context) (removed int, err error) {
	orgs, err := s.store.ListOrgs(ctx)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	for _, o := range orgs {
		keys, err := s.store.ListAPIKeys(ctx, o.Name)
		if err != nil {
			return removed, err
		}
		for _, k := range keys {
			if _, err := s.store.GetToken(ctx, k.TokenID); errors.Is(err, store.ErrNotFound) {
				if err := s.store.DeleteAPIKey(ctx, k.Org, k.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
					return removed, err
				}
				removed++
				continue
			} else if err != nil {
				return removed, err
			}
			known[saObj(k.Org, k.Name).ID] = true
		}
	}
	for _, rt := range schema.SubjectHolders {
		rels, err := s.rel.Read(ctx, relations.Filter{ResourceType: rt, SubjectType: "sa"}, relations.Consistency{Full: true})
		if err != nil {
			return removed, err
		}
		for _, r := range rels {
			if known[r.Subject.ID] || r.Subject.ID == relations.Wildcard {
				continue // a live key, or platform:root#unlocked@sa:* (P4), not a leftover
			}
			// A key-less service account can never act: even as an org's last admin
			// it is a leftover, not an admin (guard.Undoing).
			if _, err := s.rel.Write(guard.Undoing(ctx), []relations.Update{del(r)}, nil); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}

package pipelines_test

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// graph is one random world of the property test: orgs, people, nested teams, repos
// with grants, pipelines wired to repos, and scoped tokens. Every id carries the round,
// so rounds share one SpiceDB without seeing each other.
type graph struct {
	round     int
	orgs      []relations.Object
	users     []relations.Subject
	teams     []relations.Object // team i may contain teams j < i: never a cycle
	repos     []relations.Object
	pipelines []pipeline
	tokens    []tokens.Principal // scoped tokens of users
	rels      []relations.Relationship
}

type pipeline struct {
	obj     relations.Object
	creator relations.Subject
	inputs  []relations.Object
	output  relations.Object
}

func obj(typ, id string) relations.Object       { return relations.Object{Type: typ, ID: id} }
func subj(o relations.Object) relations.Subject { return relations.Subject{Object: o} }
func set(o relations.Object, rel string) relations.Subject {
	return relations.Subject{Object: o, Relation: rel}
}

func (g *graph) add(res relations.Object, rel string, s relations.Subject) {
	g.rels = append(g.rels, relations.Relationship{Resource: res, Relation: rel, Subject: s})
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// newGraph draws a world: up to 50 users, 20 repos, 3 orgs, 8 teams, 10 pipelines and
// 6 scoped tokens.
func newGraph(r *rand.Rand, round int) *graph {
	g := &graph{round: round}
	for i := range 1 + r.IntN(3) {
		o := obj(schema.TypeOrg, fmt.Sprintf("o%d-r%d", i, round))
		g.orgs = append(g.orgs, o)
		g.add(o, schema.RelPlatform, subj(obj(schema.TypePlatform, schema.PlatformID)))
		if r.IntN(2) == 0 { // members mode (O2)
			g.add(o, schema.RelReposOpenTo, subj(o))
		}
	}
	for i := range 2 + r.IntN(49) {
		g.users = append(g.users, subj(obj(schema.TypeUser, fmt.Sprintf("u%d-r%d@example.com", i, round))))
	}
	if r.IntN(3) == 0 { // a platform admin (P2, R3): every repo of the platform
		g.add(obj(schema.TypePlatform, schema.PlatformID), schema.RelAdmin, pick(r, g.users))
	}
	for i := range r.IntN(9) {
		o := pick(r, g.orgs)
		t := obj(schema.TypeTeam, fmt.Sprintf("%s/t%d", o.ID, i))
		g.teams = append(g.teams, t)
		g.add(t, schema.RelOrg, subj(o))
	}
	g.memberships(r)
	for i := range 1 + r.IntN(20) {
		o := pick(r, g.orgs)
		repo := obj(schema.TypeRepo, fmt.Sprintf("%s/repo%d", o.ID, i))
		g.repos = append(g.repos, repo)
		g.add(repo, schema.RelOrg, subj(o))
		for range r.IntN(5) {
			g.add(repo, pick(r, schema.Roles), g.grantee(r))
		}
	}
	g.wirePipelines(r)
	g.scopedTokens(r)
	return g
}

// memberships puts people in orgs (member or admin) and teams, and teams in teams and orgs.
func (g *graph) memberships(r *rand.Rand) {
	for _, u := range g.users {
		for _, o := range g.orgs {
			switch r.IntN(6) {
			case 0, 1, 2:
				g.add(o, schema.RelMember, u)
			case 3:
				g.add(o, schema.RelAdmin, u)
			}
		}
	}
	for i, t := range g.teams {
		for range r.IntN(4) {
			g.add(t, schema.RelMember, pick(r, g.users))
		}
		if i > 0 && r.IntN(2) == 0 {
			g.add(t, schema.RelMember, set(g.teams[r.IntN(i)], schema.RelMember))
		}
		switch r.IntN(6) {
		case 0, 1:
			g.add(pick(r, g.orgs), schema.RelMember, set(t, schema.RelMember))
		case 2:
			g.add(pick(r, g.orgs), schema.RelAdmin, set(t, schema.RelMember))
		}
	}
}

// grantee draws a subject of a repo role: a user, a team's members or an org's members.
func (g *graph) grantee(r *rand.Rand) relations.Subject {
	switch n := r.IntN(10); {
	case n < 7 || (n < 9 && len(g.teams) == 0):
		return pick(r, g.users)
	case n < 9:
		return set(pick(r, g.teams), schema.RelMember)
	}
	return set(pick(r, g.orgs), schema.RelMember)
}

// wirePipelines wires pipelines as the pipeline service does, for creators who may or
// may not hold the rights PL1 asks: the property must hold whatever the wiring.
func (g *graph) wirePipelines(r *rand.Rand) {
	for i := range r.IntN(11) {
		o := pick(r, g.orgs)
		p := pipeline{obj: obj(schema.TypePipeline, fmt.Sprintf("%s/p%d", o.ID, i)), creator: pick(r, g.users), output: pick(r, g.repos)}
		for range 1 + r.IntN(3) {
			if in := pick(r, g.repos); in != p.output && !slices.Contains(p.inputs, in) {
				p.inputs = append(p.inputs, in)
			}
		}
		g.pipelines = append(g.pipelines, p)
		ps := subj(p.obj)
		g.add(p.obj, schema.RelOrg, subj(o))
		g.add(p.obj, schema.RelCreator, p.creator)
		g.add(p.creator.Object, schema.RelAgent, ps)
		for _, in := range p.inputs {
			g.add(in, schema.RelInputOf, ps)
		}
		g.add(p.output, schema.RelOutputOf, ps)
	}
}

var grantFunctions = []string{tokens.FuncRead, tokens.FuncWrite, tokens.FuncDelete, tokens.FuncManage, tokens.Any}

// scopedTokens draws scoped tokens of users with random grants (T3).
func (g *graph) scopedTokens(r *rand.Rand) {
	for i := range r.IntN(7) {
		var grants []tokens.Grant
		for range 1 + r.IntN(2) {
			gr := tokens.Grant{Functions: []string{pick(r, grantFunctions)}, Resources: []string{pick(r, []string{schema.TypeRepo, schema.TypePipeline, tokens.Any})}}
			if r.IntN(3) == 0 {
				gr.Orgs = []string{tokens.Any}
			} else {
				gr.Orgs = []string{pick(r, g.orgs).ID}
			}
			grants = append(grants, gr)
		}
		owner := pick(r, g.users)
		g.tokens = append(g.tokens, tokens.Principal{Subject: owner.String(), TokenID: fmt.Sprintf("tok%d-r%d", i, g.round), Kind: tokens.KindScoped, Grants: grants})
	}
}

// mutate makes n random rights changes to the owners of pipelines and tokens (and to
// anyone): roles removed or granted, people leaving or joining orgs and teams, orgs
// switching access mode. Returns the updates.
func (g *graph) mutate(r *rand.Rand, n int) []relations.Update {
	var owners []relations.Subject
	for _, p := range g.pipelines {
		owners = append(owners, p.creator)
	}
	for _, t := range g.tokens {
		s, _ := relations.ParseSubject(t.Subject)
		owners = append(owners, s)
	}
	owners = append(owners, g.users...)
	var ups []relations.Update
	// n distinct updates: a draw that repeats one, or asks for a team where there is none,
	// is drawn again (a write needs at least one update).
	for tries := 0; len(ups) < n && tries < 100*n; tries++ {
		u := pick(r, owners)
		op := relations.OpDelete
		if r.IntN(3) == 0 {
			op = relations.OpTouch
		}
		var rel relations.Relationship
		switch r.IntN(4) {
		case 0:
			rel = relations.Relationship{Resource: pick(r, g.repos), Relation: pick(r, schema.Roles), Subject: u}
		case 1:
			rel = relations.Relationship{Resource: pick(r, g.orgs), Relation: pick(r, []string{schema.RelMember, schema.RelAdmin}), Subject: u}
		case 2:
			if len(g.teams) == 0 {
				continue
			}
			rel = relations.Relationship{Resource: pick(r, g.teams), Relation: schema.RelMember, Subject: u}
		default:
			o := pick(r, g.orgs)
			rel = relations.Relationship{Resource: o, Relation: schema.RelReposOpenTo, Subject: subj(o)}
		}
		if !slices.ContainsFunc(ups, func(x relations.Update) bool { return x.Relationship == rel }) {
			ups = append(ups, relations.Update{Operation: op, Relationship: rel})
		}
	}
	return ups
}

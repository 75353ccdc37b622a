package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// The data set: numOrgs orgs (even ones in "members" repo-access mode, odd ones ACL-only)
// with usersPerOrg members each, teamsPerOrg teams of membersPerTeam members, repos spread
// over the orgs, pipelines wired to repos, and then direct and team grants on repos, drawn
// from a seed, up to the requested number of relationships.
const (
	numOrgs          = 10
	usersPerOrg      = 100
	teamsPerOrg      = 10
	membersPerTeam   = 10
	pipelinesPerOrg  = 20
	skeletonPerRepo  = 1 // repo#org
	skeletonFixedRel = numOrgs * (2 + usersPerOrg + teamsPerOrg*(1+membersPerTeam) + pipelinesPerOrg*2)
)

func orgName(o int) string       { return fmt.Sprintf("org%d", o) }
func repoID(o, r int) string     { return fmt.Sprintf("org%d/repo%d", o, r) }
func userID(o, u int) string     { return fmt.Sprintf("u%d@org%d.example.com", u, o) }
func teamID(o, t int) string     { return fmt.Sprintf("org%d/team%d", o, t) }
func pipelineID(o, p int) string { return fmt.Sprintf("org%d/pl%d", o, p) }
func openOrg(o int) bool         { return o%2 == 0 }
func teamOf(u int) int           { return u / membersPerTeam }

// repoRoles are the repo roles, lowest first (R1).
var repoRoles = schema.Roles

func obj(t, id string) relations.Object { return relations.Object{Type: t, ID: id} }
func subj(t, id, rel string) relations.Subject {
	return relations.Subject{Object: obj(t, id), Relation: rel}
}
func rel(res relations.Object, r string, s relations.Subject) relations.Relationship {
	return relations.Relationship{Resource: res, Relation: r, Subject: s}
}

// pipeline is a pipeline created by user (o,u) reading repo (o,r).
type pipeline struct{ o, r, u int }

// model is the ground truth of the generated grants, to compute expected answers.
type model struct {
	reposPerOrg int
	direct      map[[2]int]map[int]int // {org, repo} -> user -> highest role index
	team        map[[2]int]map[int]int // {org, repo} -> team -> highest role index
	pipelines   map[[2]int]pipeline    // {org, p}
}

// minRels is the smallest data set for repos repos: the fixed skeleton.
func minRels(repos int) int { return skeletonFixedRel + repos*skeletonPerRepo }

// dataset builds n relationships over repos repos (repos a multiple of numOrgs).
func dataset(n, repos int, seed uint64) ([]relations.Relationship, *model) {
	rng := rand.New(rand.NewPCG(seed, 0x6761746568))
	m := &model{reposPerOrg: repos / numOrgs, direct: map[[2]int]map[int]int{}, team: map[[2]int]map[int]int{}, pipelines: map[[2]int]pipeline{}}
	out := skeleton(m, rng)
	seen := map[string]bool{}
	for len(out) < n {
		o, r, role := rng.IntN(numOrgs), rng.IntN(m.reposPerOrg), rng.IntN(3)
		repo := obj(schema.TypeRepo, repoID(o, r))
		grants, sub, who := m.direct, subj(schema.TypeUser, userID(o, 0), ""), 0
		if rng.IntN(10) < 8 {
			who = rng.IntN(usersPerOrg)
			sub = subj(schema.TypeUser, userID(o, who), "")
		} else {
			grants, who = m.team, rng.IntN(teamsPerOrg)
			sub = subj(schema.TypeTeam, teamID(o, who), schema.RelMember)
		}
		r1 := rel(repo, repoRoles[role], sub)
		if k := r1.String(); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		out = append(out, r1)
		mm := grants[[2]int{o, r}]
		if mm == nil {
			mm = map[int]int{}
			grants[[2]int{o, r}] = mm
		}
		if cur, ok := mm[who]; !ok || role > cur {
			mm[who] = role
		}
	}
	return out, m
}

// skeleton is what every size shares: org links and modes, memberships, teams, repos,
// pipelines.
func skeleton(m *model, rng *rand.Rand) []relations.Relationship {
	var out []relations.Relationship
	for o := range numOrgs {
		org := obj(schema.TypeOrg, orgName(o))
		out = append(out, rel(org, schema.RelPlatform, subj(schema.TypePlatform, schema.PlatformID, "")))
		if openOrg(o) {
			out = append(out, rel(org, schema.RelReposOpenTo, subj(schema.TypeOrg, orgName(o), "")))
		} else {
			out = append(out, rel(org, schema.RelAdmin, subj(schema.TypeRobot, "bench-admin", "")))
		}
		for u := range usersPerOrg {
			out = append(out, rel(org, schema.RelMember, subj(schema.TypeUser, userID(o, u), "")))
		}
		for t := range teamsPerOrg {
			team := obj(schema.TypeTeam, teamID(o, t))
			out = append(out, rel(team, schema.RelOrg, subj(schema.TypeOrg, orgName(o), "")))
			for u := t * membersPerTeam; u < (t+1)*membersPerTeam; u++ {
				out = append(out, rel(team, schema.RelMember, subj(schema.TypeUser, userID(o, u), "")))
			}
		}
		for r := range m.reposPerOrg {
			out = append(out, rel(obj(schema.TypeRepo, repoID(o, r)), schema.RelOrg, subj(schema.TypeOrg, orgName(o), "")))
		}
		for p := range pipelinesPerOrg {
			pl := pipeline{o: o, r: rng.IntN(m.reposPerOrg), u: rng.IntN(usersPerOrg)}
			m.pipelines[[2]int{o, p}] = pl
			out = append(out, rel(obj(schema.TypeUser, userID(o, pl.u)), schema.RelAgent, subj(schema.TypePipeline, pipelineID(o, p), "")))
			out = append(out, rel(obj(schema.TypeRepo, repoID(o, pl.r)), schema.RelInputOf, subj(schema.TypePipeline, pipelineID(o, p), "")))
		}
	}
	return out
}

// check is one query, in the three forms the cases ask it.
type check struct {
	req     relations.CheckRequest
	proto   *v1.CheckPermissionRequest // for SpiceDB's gRPC API (consistency set by the case)
	body    []byte                     // JSON body of POST /api/v1/check
	allowed bool                       // expected answer, from the model
}

var checkPerms = []string{schema.PermRead, schema.PermRead, schema.PermWrite, schema.PermDelete, schema.PermManageACL}

// expect answers a user's check on repo (o,r) for user (uo,u) from the model.
func (m *model) expect(o, r, uo, u int, perm string) bool {
	if uo != o {
		return false // users only hold grants in their own org
	}
	role := -1
	if v, ok := m.direct[[2]int{o, r}][u]; ok {
		role = v
	}
	if v, ok := m.team[[2]int{o, r}][teamOf(u)]; ok && v > role {
		role = v
	}
	open := openOrg(o)
	switch perm {
	case schema.PermRead:
		return role >= 0 || open
	case schema.PermWrite:
		return role >= 1 || open
	case schema.PermDelete:
		return role >= 2 || open
	case schema.PermManageACL:
		return role >= 2
	}
	return false
}

// distinctChecks returns n user checks, no two alike, drawn from rng and not in used
// (which it extends): every one is a first question for every cache.
func distinctChecks(n int, rng *rand.Rand, m *model, used map[string]bool) []check {
	out := make([]check, 0, n)
	for len(out) < n {
		o, r := rng.IntN(numOrgs), rng.IntN(m.reposPerOrg)
		uo := o
		if rng.IntN(5) == 0 {
			uo = rng.IntN(numOrgs)
		}
		u := rng.IntN(usersPerOrg)
		perm := checkPerms[rng.IntN(len(checkPerms))]
		k := fmt.Sprintf("%d/%d/%d/%d/%s", o, r, uo, u, perm)
		if used[k] {
			continue
		}
		used[k] = true
		out = append(out, newCheck(obj(schema.TypeRepo, repoID(o, r)), perm, subj(schema.TypeUser, userID(uo, u), ""), m.expect(o, r, uo, u, perm)))
	}
	return out
}

// pipelineChecks asks, for every pipeline, whether it may read its input repo (its
// creator's read there, PL3) and a repo it is not wired to (never).
func pipelineChecks(m *model) []check {
	var out []check
	for k, pl := range m.pipelines {
		p := subj(schema.TypePipeline, pipelineID(k[0], k[1]), "")
		out = append(out, newCheck(obj(schema.TypeRepo, repoID(pl.o, pl.r)), schema.PermRead, p, m.expect(pl.o, pl.r, pl.o, pl.u, schema.PermRead)))
		other := (pl.r + 1) % m.reposPerOrg
		out = append(out, newCheck(obj(schema.TypeRepo, repoID(pl.o, other)), schema.PermRead, p, false))
	}
	return out
}

func newCheck(res relations.Object, perm string, sub relations.Subject, allowed bool) check {
	body, _ := json.Marshal(map[string]string{"resource": res.Type + ":" + res.ID, "permission": perm, "subject": sub.Type + ":" + sub.ID})
	return check{
		req:     relations.CheckRequest{Resource: res, Permission: perm, Subject: sub},
		proto:   &v1.CheckPermissionRequest{Resource: objectProto(res), Permission: schema.SubjectPermission(res.Type, perm, sub.Type), Subject: &v1.SubjectReference{Object: objectProto(sub.Object), OptionalRelation: sub.Relation}},
		body:    body,
		allowed: allowed,
	}
}

// objectProto is o with SpiceDB's stored type name and id encoding.
func objectProto(o relations.Object) *v1.ObjectReference {
	t, err := relations.StoredType(o.Type)
	if err != nil {
		panic(err)
	}
	id, err := relations.EncodeID(o.ID)
	if err != nil {
		panic(err)
	}
	return &v1.ObjectReference{ObjectType: t, ObjectId: id}
}

func relationshipProto(r relations.Relationship) *v1.Relationship {
	return &v1.Relationship{
		Resource: objectProto(r.Resource), Relation: r.Relation,
		Subject: &v1.SubjectReference{Object: objectProto(r.Subject.Object), OptionalRelation: r.Subject.Relation},
	}
}

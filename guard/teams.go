package guard

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// teamGraph maps a team id to the ids of the teams it directly contains.
type teamGraph map[string]map[string]bool

func (g teamGraph) add(from, to string) {
	if g[from] == nil {
		g[from] = map[string]bool{}
	}
	g[from][to] = true
}

// path returns a chain of containment from -> ... -> to, or nil. Neighbours are walked
// in sorted order, so the answer is stable.
func (g teamGraph) path(from, to string) []string {
	seen := map[string]bool{}
	var walk func(n string) []string
	walk = func(n string) []string {
		if n == to {
			return []string{n}
		}
		if seen[n] {
			return nil
		}
		seen[n] = true
		next := make([]string, 0, len(g[n]))
		for m := range g[n] {
			next = append(next, m)
		}
		slices.Sort(next)
		for _, m := range next {
			if p := walk(m); p != nil {
				return append([]string{n}, p...)
			}
		}
		return nil
	}
	return walk(from)
}

// noTeamCycle: O4. Teams may contain teams, never themselves, directly or transitively;
// SpiceDB would answer "max depth exceeded" to every check through such a cycle. The
// refusal names the cycle: team:acme/a -> team:acme/b -> team:acme/a.
func (g *guarded) noTeamCycle(ctx context.Context, updates []relations.Update, field string) ([]relations.Precondition, error) {
	edges, err := g.Engine.Read(ctx, relations.Filter{ResourceType: schema.TypeTeam, Relation: schema.RelMember, SubjectType: schema.TypeTeam}, relations.Consistency{Full: true})
	if err != nil {
		return nil, err
	}
	graph := teamGraph{}
	for _, e := range edges {
		graph.add(e.Resource.ID, e.Subject.ID)
	}
	for _, u := range updates {
		if isTeamEdge(u.Relationship) && u.Operation == relations.OpDelete {
			delete(graph[u.Relationship.Resource.ID], u.Relationship.Subject.ID)
		} else if isTeamEdge(u.Relationship) {
			graph.add(u.Relationship.Resource.ID, u.Relationship.Subject.ID)
		}
	}
	for i, u := range updates {
		r := u.Relationship
		if !isTeamEdge(r) || u.Operation == relations.OpDelete || !graph[r.Resource.ID][r.Subject.ID] {
			continue
		}
		p := graph.path(r.Subject.ID, r.Resource.ID)
		if p == nil {
			continue
		}
		cycle := make([]string, 0, len(p)+1)
		for _, id := range append([]string{r.Resource.ID}, p...) {
			cycle = append(cycle, schema.TypeTeam+":"+id)
		}
		e := apperr.New(apperr.Conflict, "team_cycle", "team %s would contain itself: %s (O4: teams may contain teams, never themselves)",
			r.Resource.ID, strings.Join(cycle, " -> "))
		e.Field = fieldOf(field, i)
		return nil, e.WithDetails("cycle", cycle)
	}
	return nil, nil
}

package pipelines_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TestPropertyPL3T3 (issue 9.8): on random worlds (up to 50 users, 20 repos, nested
// teams, pipelines and scoped tokens), seeded and reproducible, and again after random
// rights changes of the owners:
//   - PL3: no pipeline holds read or write on a repo its creator lacks now;
//   - PL4: a pipeline reads only its inputs and output, writes only its output, and
//     manages nothing; it holds exactly what its wiring and its creator give it;
//   - T3: no scoped token is allowed (authz.DecideObject, authz.PipelineWiring, the
//     check route's CheckGrant) what its owner lacks now, or its grants do not cover;
//   - check agrees with lookup resources and lookup subjects, for people and pipelines;
//   - all of it in admin-only mode too (P4), where pipelines get nothing.
//
// GATEHOUSE_PROPERTY_SEED replays a seed; GATEHOUSE_PROPERTY_ROUNDS sets the number of
// worlds (default 16, each checked three times).
func TestPropertyPL3T3(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GATEHOUSE_PROPERTY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "GATEHOUSE_PROPERTY_SEED")
		seed = v
	}
	rounds := 16
	if s := os.Getenv("GATEHOUSE_PROPERTY_ROUNDS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "GATEHOUSE_PROPERTY_ROUNDS")
		rounds = v
	}
	fmt.Printf("property PL3/T3: seed %d (replay: GATEHOUSE_PROPERTY_SEED=%d), %d rounds\n", seed, seed, rounds)
	t.Logf("seed %d (replay with GATEHOUSE_PROPERTY_SEED=%d)", seed, seed)

	ctx := context.Background()
	eng, err := relations.NewEmbedded(ctx, relations.EmbeddedConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	require.NoError(t, eng.WriteSchema(ctx, schema.Text))
	root := obj(schema.TypePlatform, schema.PlatformID)
	var open []relations.Relationship
	for _, typ := range []string{schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount, schema.TypePipeline} {
		open = append(open, relations.Relationship{Resource: root, Relation: schema.RelUnlocked, Subject: subj(obj(typ, "*"))})
	}
	_, err = eng.Import(ctx, open)
	require.NoError(t, err)

	p := &prop{t: t, ctx: ctx, eng: eng, az: authz.New(eng, nil)}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // G404: reproducible test data
	start := time.Now()
	for round := range rounds {
		g := newGraph(r, round)
		_, err := eng.Import(ctx, g.rels)
		require.NoError(t, err)
		for phase := range 3 {
			if phase > 0 {
				_, err := eng.Write(ctx, g.mutate(r, 1+r.IntN(12)), nil)
				require.NoError(t, err, "round %d phase %d: mutate", round, phase)
			}
			adminOnly := phase == 2 && r.IntN(3) == 0 // P4: only platform admins get anything
			if adminOnly {
				_, err := eng.Write(ctx, updates(relations.OpDelete, open), nil)
				require.NoError(t, err)
			}
			p.where, p.adminOnly = fmt.Sprintf("seed %d round %d phase %d admin-only %v", seed, round, phase, adminOnly), adminOnly
			p.verify(g, r)
			if adminOnly {
				_, err := eng.Write(ctx, updates(relations.OpTouch, open), nil)
				require.NoError(t, err)
			}
		}
	}
	fmt.Printf("property PL3/T3: %d cases in %d rounds (%d worlds x 3 states) in %s, seed %d\n", p.cases, rounds, rounds, time.Since(start).Round(time.Millisecond), seed)
	t.Logf("%d cases", p.cases)
}

func updates(op relations.Operation, rels []relations.Relationship) []relations.Update {
	out := make([]relations.Update, len(rels))
	for i, r := range rels {
		out[i] = relations.Update{Operation: op, Relationship: r}
	}
	return out
}

type prop struct {
	t     *testing.T
	ctx   context.Context
	eng   relations.Engine
	az    *authz.Authorizer
	where string
	cases int
	// adminOnly: the platform is in admin-only mode (P4): no pipeline holds anything.
	adminOnly bool
}

type key struct {
	sub  relations.Subject
	repo relations.Object
	perm string
}

var matrixPerms = []string{schema.PermRead, schema.PermWrite, schema.PermManageACL}

// matrix checks every user and pipeline against every repo of g, for read, write and
// manage_acl, in bulk.
func (p *prop) matrix(g *graph) map[key]bool {
	subs := slices.Clone(g.users)
	for _, pl := range g.pipelines {
		subs = append(subs, subj(pl.obj))
	}
	var reqs []relations.CheckRequest
	var keys []key
	for _, s := range subs {
		for _, repo := range g.repos {
			for _, perm := range matrixPerms {
				reqs = append(reqs, relations.CheckRequest{Resource: repo, Permission: perm, Subject: s})
				keys = append(keys, key{s, repo, perm})
			}
		}
	}
	res, err := p.eng.CheckBulk(p.ctx, reqs)
	require.NoError(p.t, err, p.where)
	out := make(map[key]bool, len(res))
	for i, r := range res {
		require.NoError(p.t, r.Err, p.where)
		out[keys[i]] = r.Allowed
	}
	return out
}

func (p *prop) verify(g *graph, r *rand.Rand) {
	m := p.matrix(g)
	p.pipelinesPL3(g, m)
	p.tokensT3(g, m, r)
	p.lookups(g, m)
}

// pipelinesPL3: a pipeline holds exactly what its wiring and its creator give it now.
func (p *prop) pipelinesPL3(g *graph, m map[key]bool) {
	for _, pl := range g.pipelines {
		ps := subj(pl.obj)
		for _, repo := range g.repos {
			pr, pw := m[key{ps, repo, schema.PermRead}], m[key{ps, repo, schema.PermWrite}]
			cr, cw := m[key{pl.creator, repo, schema.PermRead}], m[key{pl.creator, repo, schema.PermWrite}]
			what := fmt.Sprintf("%s: %s (creator %s) on %s", p.where, pl.obj, pl.creator, repo)
			require.False(p.t, pr && !cr, "PL3: %s reads what its creator cannot", what)
			require.False(p.t, pw && !cw, "PL3: %s writes what its creator cannot", what)
			input, output := slices.Contains(pl.inputs, repo), repo == pl.output
			on := !p.adminOnly
			require.Equal(p.t, on && ((input && cr) || (output && cw)), pr, "PL3/PL4/P4 read: %s", what)
			require.Equal(p.t, on && output && cw, pw, "PL3/PL4/P4 write: %s", what)
			require.False(p.t, m[key{ps, repo, schema.PermManageACL}], "PL4: %s manages an ACL", what)
			p.cases += 5
		}
	}
}

// tokensT3: a scoped token is allowed exactly its grants intersected with its owner's
// permissions now, by every decision that serves it.
func (p *prop) tokensT3(g *graph, m map[key]bool, r *rand.Rand) {
	for _, tok := range g.tokens {
		owner, err := relations.ParseSubject(tok.Subject)
		require.NoError(p.t, err)
		for _, repo := range g.repos {
			org := identity.OrgOf(repo)
			read, manage := m[key{owner, repo, schema.PermRead}], m[key{owner, repo, schema.PermManageACL}]
			what := fmt.Sprintf("%s: token %v of %s on %s", p.where, tok.Grants, owner, repo)
			err := p.az.DecideObject(p.ctx, tok, authz.OpRepoRolesRead, repo)
			require.Equal(p.t, tok.Allows(tokens.FuncRead, schema.TypeRepo, org) && read, err == nil, "T3 roles read: %s: %v", what, err)
			err = p.az.DecideObject(p.ctx, tok, authz.OpRepoRolesSet, repo)
			require.Equal(p.t, tok.Allows(tokens.FuncManage, schema.TypeRepo, org) && read && manage, err == nil, "T3 roles set: %s: %v", what, err)
			for _, perm := range []string{schema.PermRead, schema.PermWrite} {
				has := authz.CheckGrant(tok, true, repo, perm) && m[key{owner, repo, perm}]
				require.False(p.t, has && !m[key{owner, repo, perm}], "T3 check: %s %s", what, perm)
			}
			p.cases += 4
		}
		in, out := pick(r, g.repos), pick(r, g.repos)
		err = p.az.PipelineWiring(p.ctx, tok, []relations.Object{in}, out)
		want := m[key{owner, in, schema.PermRead}] && m[key{owner, out, schema.PermWrite}] &&
			tok.Allows(tokens.FuncRead, schema.TypeRepo, identity.OrgOf(in)) && tok.Allows(tokens.FuncWrite, schema.TypeRepo, identity.OrgOf(out))
		require.Equal(p.t, want, err == nil, "T3 PL1: %s token of %s wiring %s -> %s: %v", p.where, owner, in, out, err)
		p.cases++
	}
}

// lookups: lookup resources and lookup subjects answer what check answers, for people
// and pipelines, on read and write.
func (p *prop) lookups(g *graph, m map[key]bool) {
	subs := slices.Clone(g.users)
	for _, pl := range g.pipelines {
		subs = append(subs, subj(pl.obj))
	}
	for _, perm := range []string{schema.PermRead, schema.PermWrite} {
		for _, s := range subs {
			objs, err := p.eng.LookupResources(p.ctx, s, perm, schema.TypeRepo, relations.Consistency{})
			require.NoError(p.t, err, p.where)
			var got, want []string
			for _, o := range objs {
				if slices.Contains(g.repos, o) { // a platform admin reaches other rounds' repos too
					got = append(got, o.ID)
				}
			}
			for _, repo := range g.repos {
				if m[key{s, repo, perm}] {
					want = append(want, repo.ID)
				}
			}
			require.ElementsMatch(p.t, want, got, "%s: lookup resources %s %s", p.where, s, perm)
			p.cases++
		}
		for _, repo := range g.repos {
			for _, typ := range []string{schema.TypeUser, schema.TypePipeline} {
				objs, err := p.eng.LookupSubjects(p.ctx, repo, perm, typ, relations.Consistency{})
				require.NoError(p.t, err, p.where)
				var got, want []string
				for _, o := range objs {
					if slices.Contains(subs, subj(o)) { // other rounds' platform admins too
						got = append(got, o.String())
					}
				}
				for _, s := range subs {
					if s.Type == typ && m[key{s, repo, perm}] {
						want = append(want, s.String())
					}
				}
				require.ElementsMatch(p.t, want, got, "%s: lookup subjects %s %s %s", p.where, repo, perm, typ)
				p.cases++
			}
		}
	}
}
